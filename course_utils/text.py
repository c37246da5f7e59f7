"""The text front end: normalisation, phonemes (espeak-ng) and symbol vocabularies.

Introduced in ``05_text_front_end.ipynb``::

    from course_utils import text
    text.normalize("Dr. Lee paid $3.50 on 3 May")
    # -> 'doctor lee paid three dollars fifty cents on the third of may'
    text.phonemize("Hello, world!")          # -> 'həlˈoʊ, wˈɜːld!'
    ids = text.text_to_ids("Hello, world!")  # phoneme ids for a model (ends with <eos>)
    text.ids_to_text(ids)                    # -> 'həlˈoʊ, wˈɜːld!'

``normalize`` writes everything out as lower-case English words: what is left is only the
letters a-z, spaces, apostrophes and the punctuation ``, . ? !`` (which a synthesiser uses for
phrasing).  Things it cannot read (emoji, other scripts) are dropped, so
``normalize("😀") == ""``; :func:`text_to_ids` then raises a ``ValueError`` that says what to do.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from typing import Iterable, Sequence

__all__ = [
    "normalize", "number_to_words", "ordinal_to_words", "year_to_words", "digits_to_words",
    "phonemize", "phoneme_tokens", "Vocabulary", "PHONEME_VOCAB", "CHAR_VOCAB", "text_to_ids",
    "ids_to_text", "PAD", "BOS", "EOS", "PUNCTUATION", "STRESS",
]

# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SCALES = [(10 ** 18, "quintillion"), (10 ** 15, "quadrillion"), (10 ** 12, "trillion"),
          (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand")]
_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                      "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
MAX_NUMBER = 10 ** 21 - 1


def _check_int(n: object, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            import numpy as np
            if isinstance(n, np.integer):
                return int(n)
        except ImportError:  # pragma: no cover
            pass
        raise TypeError(f"{what} must be an integer, got {type(n).__name__} {n!r}")
    return n


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
        if n:
            words.append(ONES[n])
    elif n or not words:
        words.append(ONES[n])
    return words


def number_to_words(n: int) -> str:
    """Cardinal number in words: ``1234 -> 'one thousand two hundred thirty four'`` (notebook 05).

    Negative numbers start with ``minus``; numbers beyond ``10**21 - 1`` are read digit by digit.
    """
    n = _check_int(n)
    if n < 0:
        return "minus " + number_to_words(-n)
    if n > MAX_NUMBER:
        return digits_to_words(str(n))
    if n < 1000:
        return " ".join(_below_thousand(n))
    words: list[str] = []
    for value, name in SCALES:
        if n >= value:
            words += _below_thousand(n // value) + [name]
            n %= value
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal_to_words(n: int) -> str:
    """Ordinal number in words: ``3 -> 'third'``, ``21 -> 'twenty first'`` (notebook 05)."""
    n = _check_int(n)
    if n < 0:
        raise ValueError(f"ordinals are for numbers >= 0, got {n}")
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join(words[:-1] + [last])


def year_to_words(n: int) -> str:
    """A year as people say it: ``1999 -> 'nineteen ninety nine'``, ``2005 -> 'two thousand five'``,
    ``1905 -> 'nineteen oh five'``, ``2024 -> 'twenty twenty four'`` (notebook 05)."""
    n = _check_int(n)
    if not 0 < n < 10000:
        return number_to_words(n)
    high, low = divmod(n, 100)
    if n < 1000 or (2000 <= n < 2010) or (low == 0 and high % 10 == 0):
        return number_to_words(n)
    if low == 0:
        return f"{number_to_words(high)} hundred"
    if low < 10:
        return f"{number_to_words(high)} oh {ONES[low]}"
    return f"{number_to_words(high)} {number_to_words(low)}"


def digits_to_words(digits: str) -> str:
    """Read a string of digits one by one: ``'007' -> 'zero zero seven'`` (notebook 05)."""
    if not isinstance(digits, str) or not digits.isdigit():
        raise ValueError(f"expected a string of digits 0-9, got {digits!r}")
    return " ".join(ONES[int(d)] for d in digits if d in "0123456789")


def _int_words(digits: str) -> str:
    digits = digits.replace(",", "")
    if len(digits) > 1 and digits.startswith("0"):
        return digits_to_words(digits)
    return number_to_words(int(digits))


def _decimal_words(integer: str, fraction: str | None) -> str:
    words = _int_words(integer) if integer else ""
    if fraction:
        words = (words + " point " if words else "point ") + digits_to_words(fraction)
    return words.strip()


def _plural(word: str, n_words: str) -> str:
    if n_words == "one":
        return word
    if word in _PLURALS:
        return _PLURALS[word]
    first, _, rest = word.partition(" ")
    return (_PLURALS.get(first, first + "s") + (" " + rest if rest else ""))


_PLURALS = {"penny": "pence", "foot": "feet", "inch": "inches", "yen": "yen", "hertz": "hertz",
            "kilohertz": "kilohertz", "century": "centuries"}

# ---------------------------------------------------------------------------------------------
# Normalisation rules
# ---------------------------------------------------------------------------------------------

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
_MONTH_ABBR = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
               "sept": 9, "oct": 10, "nov": 11, "dec": 12}
_MONTH_RE = (r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
             r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?")

#: Abbreviations with a full stop (case-sensitive) -> words.
ABBREVIATIONS = {
    "Mr": "mister", "Mrs": "missus", "Ms": "miz", "Prof": "professor", "Jr": "junior",
    "Sr": "senior", "Capt": "captain", "Gen": "general", "Gov": "governor",
    "Lt": "lieutenant", "Col": "colonel", "Sgt": "sergeant", "Rev": "reverend",
    "Hon": "honorable", "Mt": "mount", "Ave": "avenue", "Rd": "road", "Blvd": "boulevard",
    "Co": "company", "Corp": "corporation", "Inc": "incorporated", "Ltd": "limited",
    "Dept": "department", "Univ": "university", "approx": "approximately", "etc": "et cetera",
    "vs": "versus", "Fig": "figure", "fig": "figure", "Vol": "volume", "vol": "volume",
    "Ch": "chapter", "ch": "chapter", "Est": "established", "min": "minutes", "hr": "hours",
    "hrs": "hours", "pp": "pages", "Jan": "January", "Feb": "February", "Aug": "August",
    "Sept": "September", "Oct": "October", "Nov": "November", "Dec": "December",
}
_DOTTED = {"e.g.": "for example", "i.e.": "that is", "a.k.a.": "also known as", "p.s.": "p s",
           "P.S.": "p s", "U.S.": "u s", "U.K.": "u k", "U.S.A.": "u s a", "E.U.": "e u"}

#: Units after a number -> (singular) words.
UNITS = {
    "km/h": "kilometer per hour", "kph": "kilometer per hour", "mph": "mile per hour",
    "km": "kilometer", "cm": "centimeter", "mm": "millimeter", "m": "meter", "mi": "mile",
    "kg": "kilogram", "mg": "milligram", "g": "gram", "lb": "pound", "lbs": "pound",
    "oz": "ounce", "ml": "milliliter", "l": "liter", "ft": "foot", "kHz": "kilohertz",
    "Hz": "hertz", "ms": "millisecond", "GB": "gigabyte", "MB": "megabyte", "kB": "kilobyte",
    "TB": "terabyte", "kW": "kilowatt", "W": "watt", "V": "volt", "°C": "degree celsius",
    "°F": "degree fahrenheit", "°": "degree",
}
#: Currency symbols -> (unit, subunit).
CURRENCIES = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent"),
              "¥": ("yen", None), "₹": ("rupee", "paisa")}
_SCALE_WORDS = {"thousand": "thousand", "k": "thousand", "million": "million", "m": "million",
                "mn": "million", "billion": "billion", "bn": "billion", "b": "billion",
                "trillion": "trillion", "tn": "trillion"}
#: Symbols -> words (after numbers, currency and units have taken theirs).
SYMBOLS = {"&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "%": " percent ",
           "°": " degrees ", "×": " times ", "÷": " divided by ", "~": " about ",
           "<": " less than ", ">": " greater than ", "#": " number ", "/": " slash ",
           "$": " dollars ", "£": " pounds ", "€": " euros ", "¥": " yen ", "§": " section ",
           "±": " plus or minus ", "½": " one half ", "¼": " one quarter ", "¾": " three quarters "}
#: Letters that Unicode cannot decompose to ASCII.
TRANSLITERATE = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                 "ð": "th", "Ð": "Th", "þ": "th", "Þ": "Th", "ł": "l", "Ł": "L", "đ": "d",
                 "Đ": "D", "ı": "i"}
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
           "\u2013": "-", "\u2014": " - ", "\u2015": " - ", "\u2212": "-", "\u2026": ".",
           "\u00a0": " ", "\u2009": " ", "\u202f": " "}
_READ_AS_WORD = {"NASA", "NATO", "UNESCO", "UNICEF", "LASER", "RADAR", "SCUBA", "AIDS", "OPEC",
                 "FIFA", "NAFTA", "COVID", "GIF", "JPEG", "PIN", "SIM", "LOL", "ASCII", "WASP"}
_YEAR_CUES = r"(?:in|since|until|till|by|from|during|before|after|circa|around|year|of)"
#: A number with optional thousands commas ("1,234,567") or plain digits.
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)"
_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅛": "1/8",
           "⅜": "3/8", "⅝": "5/8", "⅞": "7/8"}


def _sub(pattern: str, repl, text: str, flags: int = 0) -> str:
    return re.sub(pattern, repl, text, flags=flags)


def _unicode(text: str) -> str:
    text = "".join(_QUOTES.get(c, c) for c in text)
    # before NFKC turns them into digits: m² -> square meters, other ² -> squared
    text = _sub(r"(?<![A-Za-z])(km|cm|mm|m|ft)([²³])",
                lambda m: (" square " if m.group(2) == "²" else " cubic ") + _plural(UNITS[m.group(1)], "many"), text)
    text = text.replace("²", " squared ").replace("³", " cubed ")
    # a web address is read as its host name: https://www.example.com/a?b -> www.example.com
    text = _sub(r"\b(?:https?://|ftp://)([^\s/?#]+)[^\s]*", r"\1", text)
    text = _sub("(\\d)?([" + "".join(_VULGAR) + "])",
                lambda m: (m.group(1) + " and " if m.group(1) else " ") + _VULGAR[m.group(2)] + " ", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2044", "/")  # NFKC turns ½ into 1⁄2 (fraction slash)
    return "".join(TRANSLITERATE.get(c, c) for c in text)


def _abbreviations(text: str) -> str:
    for dotted, words in sorted(_DOTTED.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(r"(?<![\w.])" + re.escape(dotted) + r"(?=\s|$|[,;:!?])", f" {words} ", text)
    # Dr/St: a title before a capitalised name, a street after one.
    text = _sub(r"\bDr\.?(?=\s+[A-Z])", "doctor", text)
    text = _sub(r"\bSt\.?(?=\s+[A-Z])", "saint", text)
    text = _sub(r"\bDr\.(?=\s*$)", "drive.", text)
    text = _sub(r"\bSt\.(?=\s*$)", "street.", text)
    text = _sub(r"\bDr\b\.?", "drive", text)
    text = _sub(r"\bSt\b\.?", "street", text)
    text = _sub(r"\b(Mr|Mrs|Ms)\b\.?(?=\s)", lambda m: ABBREVIATIONS[m.group(1)], text)
    text = _sub(r"\b[Nn]o\.\s?(?=\d)", "number ", text)
    text = _sub(r"#(?=[A-Za-z])", "hashtag ", text)
    for short, words in ABBREVIATIONS.items():
        text = re.sub(r"\b" + re.escape(short) + r"\.(\s*$)?",
                      lambda m, w=words: w + ("." if m.group(1) is not None else ""), text)
    return text


def _month(name: str) -> str:
    key = name.lower().rstrip(".")
    return MONTHS[_MONTH_ABBR[key] - 1] if key in _MONTH_ABBR else key


def _dates(text: str) -> str:
    def iso(m):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"the {ordinal_to_words(day)} of {MONTHS[month - 1]} {year_to_words(year)}"

    text = _sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", iso, text)

    def day_month(m):
        if not 1 <= int(m.group("day")) <= 31:
            return m.group(0)
        out = f"the {ordinal_to_words(int(m.group('day')))} of {_month(m.group('month'))}"
        return out + (f" {year_to_words(int(m.group('year')))}" if m.group("year") else "")

    text = _sub(r"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RE +
                r"(?:,?\s+(?P<year>\d{4})\b)?", day_month, text)

    def month_day(m):
        if not 1 <= int(m.group("day")) <= 31:
            return m.group(0)
        out = f"{_month(m.group('month'))} {ordinal_to_words(int(m.group('day')))}"
        return out + (f" {year_to_words(int(m.group('year')))}" if m.group("year") else "")

    text = _sub(r"\b" + _MONTH_RE + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b(?!:)(?:,?\s+(?P<year>\d{4})\b)?",
                month_day, text)
    # month + year: "May 2024"
    text = _sub(r"\b" + _MONTH_RE + r"\s+(?P<year>\d{4})\b",
                lambda m: f"{_month(m.group('month'))} {year_to_words(int(m.group('year')))}", text)
    return text


_AMPM_DOT = r"(?:\.(?=\s+[a-z0-9]))?"


def _times(text: str) -> str:
    def clock(m):
        hour, minute = int(m.group("h")), int(m.group("m"))
        if hour > 24 or minute > 59:
            return m.group(0)
        ampm = m.group("ampm")
        words = number_to_words(hour)
        if minute == 0:
            words += "" if ampm else " o'clock"
        elif minute < 10:
            words += f" oh {ONES[minute]}"
        else:
            words += " " + number_to_words(minute)
        if m.group("s"):
            words += f" and {number_to_words(int(m.group('s')))} seconds"
        if ampm:
            words += " " + " ".join(ampm.lower().replace(".", "").replace(" ", ""))
        return words

    # "a.m." keeps its final full stop when it ends a sentence
    text = _sub(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp]\.?\s?[Mm]\b" + _AMPM_DOT + "))?",
                clock, text)
    text = _sub(r"\b(?P<h>\d{1,2})\s*(?P<ampm>[AaPp])\.?\s?[Mm]\b" + _AMPM_DOT,
                lambda m: f"{number_to_words(int(m.group('h')))} {m.group('ampm').lower()} m", text)
    return text


def _currency(text: str) -> str:
    symbols = "".join(re.escape(s) for s in CURRENCIES)

    def money(m):
        unit, sub = CURRENCIES[m.group("cur")]
        integer, fraction = m.group("int").replace(",", ""), m.group("frac")
        scale = m.group("scale")
        if scale:
            amount = _decimal_words(integer, fraction)
            return f"{amount} {_SCALE_WORDS[scale.lower()]} {_plural(unit, 'many')}"
        if fraction and (len(fraction) != 2 or sub is None):
            amount = _decimal_words(integer, fraction)
            return f"{amount} {_plural(unit, 'many')}"
        major = int(integer) if integer else 0
        minor = int(fraction) if fraction else 0
        parts = []
        if major or not minor:
            words = number_to_words(major)
            parts.append(f"{words} {_plural(unit, words)}")
        if minor:
            words = number_to_words(minor)
            parts.append(f"{words} {_plural(sub, words)}")
        return " ".join(parts)

    return _sub(r"(?P<cur>[" + symbols + r"])\s?(?P<int>" + _NUM + r"|(?=\.\d))(?:\.(?P<frac>\d+))?"
                r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|[kKmMbB])\b)?", money, text)


def _percent(text: str) -> str:
    return _sub(r"(?P<neg>(?<![\w.])-)?(?P<int>" + _NUM + r")(?:\.(?P<frac>\d+))?\s?%",
                lambda m: ("minus " if m.group("neg") else "")
                + _decimal_words(m.group("int"), m.group("frac")) + " percent", text)


def _ordinals(text: str) -> str:
    return _sub(r"\b(" + _NUM + r")(st|nd|rd|th)\b",
                lambda m: ordinal_to_words(int(m.group(1).replace(",", ""))), text)


def _units(text: str) -> str:
    names = sorted(UNITS, key=len, reverse=True)
    alternatives = "|".join(re.escape(u) for u in names)

    def unit(m):
        amount = _decimal_words(m.group("int"), m.group("frac"))
        if m.group("neg"):
            amount = "minus " + amount
        return f"{amount} {_plural(UNITS[m.group('unit')], amount)}"

    return _sub(r"(?P<neg>(?<![\w.])-)?(?P<int>" + _NUM + r")(?:\.(?P<frac>\d+))?\s?(?P<unit>" + alternatives +
                r")(?![\w])", unit, text)


def _years(text: str) -> str:
    text = _sub(r"\b(1[1-9]|20)(\d0)'?s\b",
                lambda m: _plural_decade(year_to_words(int(m.group(1) + m.group(2)))), text)
    text = _sub(r"\b(" + _YEAR_CUES + r")\s+(1[1-9]\d\d|20\d\d)\b(?![.,]\d)",
                lambda m: f"{m.group(1)} {year_to_words(int(m.group(2)))}", text, flags=re.I)
    text = _sub(r"\b(\d{3,4})\s?(AD|BC|BCE|CE)\b",
                lambda m: f"{year_to_words(int(m.group(1)))} {' '.join(m.group(2).lower())}", text)
    return text


def _plural_decade(words: str) -> str:
    last = words.split()[-1]
    if last.endswith("y"):
        return words[: -1] + "ies"
    return words + "s"


def _numbers(text: str) -> str:
    text = _sub(r"(?<![\d,])(\d+)\s?/\s?(\d+)(?![\d/])", _fraction, text)
    text = _sub(r"(?<=\d)\s?[-–]\s?(?=\d)", " to ", text)
    text = _sub(r"(?<![\w.,])-(?=\d)", "minus ", text)
    text = _sub(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)?\.(\d+)",
                lambda m: _decimal_words(m.group(1) or "", m.group(2)), text)
    text = _sub(r"\d{1,3}(?:,\d{3})+|\d+", lambda m: _int_words(m.group(0)), text)
    return text


def _fraction(m) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if den == 0 or den > 100:
        return f"{number_to_words(num)} slash {number_to_words(den)}"
    if den == 2:
        name = "half" if num == 1 else "halves"
    elif den == 4:
        name = "quarter" if num == 1 else "quarters"
    else:
        name = ordinal_to_words(den) + ("" if num == 1 else "s")
    return f"{number_to_words(num)} {name}"


def _acronyms(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters) and len(text.split()) > 2:
        return text  # shouting, not acronyms

    def spell(m):
        word, plural = m.group(1), m.group(2)
        if word in _READ_AS_WORD or (len(word) >= 4 and re.search("[AEIOU]", word)
                                     and not re.search("[^AEIOU]{3}", word)):
            return word.lower() + ("s" if plural else "")
        spelled = " ".join(word.lower())
        if spelled.startswith("a "):  # a lone "a" first would be read as the article
            spelled = "ay" + spelled[1:]
        return spelled + ("'s" if plural else "")

    return _sub(r"\b([A-Z]{2,6})(s)?\b", spell, text)


def _symbols(text: str) -> str:
    text = _sub(r"(?<=\w)'(?=\w)", "\u0000", text)  # keep apostrophes inside words
    text = _sub(r"(\w)-(?=\w)", r"\1 ", text)        # well-known -> well known
    text = _sub(r"(?<=[A-Za-z])\.(?=[A-Za-z])", " dot ", text)  # example.com
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    text = _sub(r"[;:]|\s-+\s|--+|[()\[\]{}]", ",", text)
    text = _sub(r"[\"'`*^_|\\-]", " ", text)
    return text.replace("\u0000", "'")


def _ascii_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _cleanup(text: str, punctuation: bool) -> str:
    text = text.lower()
    text = _sub(r"[!?]+", lambda m: m.group(0)[0], text)
    text = _sub(r"[^a-z' ,.?!]+", " ", text)
    text = _sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
    if not punctuation:
        text = _sub(r"[,.?!]", " ", text)
    text = _sub(r"\s+([,.?!])", r"\1", text)
    text = _sub(r"([,.?!])(?:\s*[,.?!])+", lambda m: _strongest(m.group(0)), text)
    text = _sub(r"^[\s,.?!]+", "", text)
    text = _sub(r"([,.?!])(?=[a-z])", r"\1 ", text)
    text = _sub(r"\s+", " ", text).strip()
    return text.rstrip(",").rstrip()


def _strongest(marks: str) -> str:
    for mark in "?!.,":
        if mark in marks:
            return mark
    return ","


def normalize(text: str, punctuation: bool = True) -> str:
    """Write ``text`` as words a synthesiser can say (notebook 05).

    Handles unicode (NFKC, smart quotes, accents -> ASCII), abbreviations (Dr., St., Mr.,
    Mrs., e.g., ...), dates, times, currency, percentages, units, ordinals, years, decimals,
    fractions, numbers and symbols, then lower-cases.  The result holds only ``a-z``, spaces,
    apostrophes and (with ``punctuation=True``) ``, . ? !``; emoji and other scripts are
    dropped, so the result can be ``""``.

    >>> normalize("Dr. Lee paid $3.50 on 3 May")
    'doctor lee paid three dollars fifty cents on the third of may'
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize expects a str, got {type(text).__name__}; convert it with str(...) first")
    for step in (_unicode, _abbreviations, _dates, _times, _currency, _percent, _units, _ordinals,
                 _years, _numbers, _acronyms, _symbols, _ascii_letters):
        text = step(text)
    return _cleanup(text, punctuation)


# ---------------------------------------------------------------------------------------------
# Phonemes (espeak-ng through the espeakng-loader wheel)
# ---------------------------------------------------------------------------------------------

PUNCTUATION = (",", ".", "?", "!")
STRESS = ("ˈ", "ˌ")
_LOCK = threading.Lock()
_STATE: dict = {}
_SEPARATOR = "|"
_PHONEMES_IPA, _CHARS_UTF8 = 0x02, 1


def _library():
    if "lib" not in _STATE:
        from course_utils.voices import (_AUDIO_OUTPUT_SYNCHRONOUS, _INIT_DONT_EXIT, _data_path,
                                         _declare, _library_path)

        lib = _declare(ctypes.CDLL(str(_library_path())))
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(_data_path()).encode(),
                                     _INIT_DONT_EXIT)
        if rate <= 0:
            raise RuntimeError("espeak-ng did not initialise; reinstall the espeakng-loader wheel")
        _STATE.update(lib=lib, voice=None)
    return _STATE["lib"]


def _espeak_phonemes(chunk: str, voice: str) -> list[str]:
    """Phoneme tokens of one clause, ``" "`` between words (stress marks split off)."""
    lib = _library()
    if _STATE["voice"] != voice:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}; try 'en-us' or 'en' "
                             "(see voices.accents())")
        _STATE["voice"] = voice
    buffer = ctypes.create_string_buffer(chunk.encode("utf-8") + b"\0")
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    mode = _PHONEMES_IPA | (ord(_SEPARATOR) << 8)
    tokens: list[str] = []
    while pointer.value:
        out = lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
        for word in (out or b"").decode("utf-8", "replace").split():
            if tokens:
                tokens.append(" ")
            for piece in word.split(_SEPARATOR):
                while piece and piece[0] in STRESS:
                    tokens.append(piece[0])
                    piece = piece[1:]
                if piece:
                    tokens.append(piece)
    return tokens


def phoneme_tokens(text: str, voice: str = "en-us", normalize_first: bool = True) -> list[str]:
    """Phoneme tokens of ``text``: phonemes, stress marks, ``" "`` between words and the
    punctuation ``, . ? !`` kept from the text (notebook 05)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    clean = normalize(text) if normalize_first else text
    tokens: list[str] = []
    with _LOCK:
        for chunk, mark in re.findall(r"([^,.?!]*)([,.?!]|$)", clean):
            if chunk.strip():
                phones = _espeak_phonemes(chunk.strip(), voice)
                if phones:
                    if tokens and tokens[-1] != " ":
                        tokens.append(" ")
                    tokens += phones
            if mark and tokens and tokens[-1] not in PUNCTUATION:
                tokens.append(mark)
    return tokens


def phonemize(text: str, voice: str = "en-us", normalize_first: bool = True, separator: str = "") -> str:
    """IPA transcription of ``text`` with espeak-ng (notebook 05).

    By default the text is normalised first; punctuation ``, . ? !`` is kept; ``separator``
    goes between phonemes inside a word (``"|"`` shows the segmentation).  Empty or
    unpronounceable input gives ``""``.

    >>> phonemize("Hello, world!")
    'həlˈoʊ, wˈɜːld!'
    """
    out = []
    for token in phoneme_tokens(text, voice, normalize_first):
        if token in PUNCTUATION:
            out.append(token)
        elif token == " ":
            out.append(" ")
        else:
            if out and out[-1] not in (" ",) and out[-1] not in PUNCTUATION and out[-1] not in STRESS and separator:
                out.append(separator)
            out.append(token)
    return "".join(out).replace(" ,", ",")


# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)
#: espeak-ng's English phonemes (all eight course accents), in a fixed order: ids never change.
ENGLISH_PHONEMES = (
    "a", "a:", "aa", "aɪ", "aɪə", "aɪɚ", "aʊ", "aː", "b", "d", "dʒ", "e", "ei", "eə", "eɪ",
    "eʲ", "eː", "f", "h", "i", "iə", "iː", "j", "k", "l", "m", "n", "n̩", "o", "oə", "oɪ", "oʊ",
    "oː", "p", "r", "s", "t", "tʃ", "t̪", "uː", "v", "w", "x", "z", "æ", "æʊ", "ð", "ŋ", "ɐ", "ɑə",
    "ɑː", "ɑːɹ", "ɒ", "ɔ", "ɔə", "ɔɪ", "ɔː", "ɔːɹ", "ə", "əl", "əu", "əɪ", "əɹ", "əʊ", "ɚ", "ɛ",
    "ɛə", "ɛɹ", "ɜ", "ɜː", "ɡ", "ɪ", "ɪɹ", "ɹ", "ɾ", "ʃ", "ʉ", "ʉɹ", "ʉː", "ʊ", "ʊə", "ʊɹ", "ʌ",
    "ʌɹ", "ʌʉ", "ʌʊ", "ʍ", "ʒ", "ʔ", "θ", "ᵻ",
)
#: Single IPA characters, so that an unseen multi-letter phoneme can still be spelled out.
IPA_CHARACTERS = ("c", "g", "q", "u", "y", "ç", "ø", "ħ", "ŋ", "ɑ", "ɒ", "ɓ", "ɔ", "ɕ", "ɖ", "ɗ",
                  "ɘ", "ɞ", "ɟ", "ɠ", "ɣ", "ɤ", "ɥ", "ɦ", "ɨ", "ɬ", "ɭ", "ɮ", "ɯ", "ɰ", "ɱ",
                  "ɲ", "ɳ", "ɴ", "ɵ", "ɸ", "ɻ", "ɽ", "ʀ", "ʁ", "ʂ", "ʄ", "ʈ", "ʋ", "ʎ", "ʏ",
                  "ʐ", "ʑ", "ʕ", "ʝ", "ʰ", "ʲ", "ʷ", "ː", "ˑ", "̃", "̩", "̪", "̯", "͡", "β",
                  "χ", "ɹ̩", "ʊ̈")


class Vocabulary:
    """A fixed list of symbols with stable ids (notebook 05).

    Ids 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>``; then the word separator ``" "``, the
    punctuation and the symbols given, in order.  ``encode(tokens)`` and ``decode(ids)`` map
    between the two; an unknown symbol raises a ``ValueError`` that names it.
    """

    def __init__(self, symbols: Iterable[str], name: str = "vocabulary"):
        ordered = list(SPECIALS) + [" "] + list(PUNCTUATION)
        for symbol in symbols:
            if symbol not in ordered:
                ordered.append(symbol)
        self.name = name
        self.symbols: tuple[str, ...] = tuple(ordered)
        self._ids = {s: i for i, s in enumerate(self.symbols)}
        self.pad_id, self.bos_id, self.eos_id = (self._ids[s] for s in SPECIALS)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {len(self)} symbols)"

    def id(self, symbol: str) -> int:
        """Id of one symbol."""
        try:
            return self._ids[symbol]
        except KeyError:
            raise ValueError(f"symbol {symbol!r} is not in the {self.name} vocabulary "
                             f"({len(self)} symbols)") from None

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = True) -> list[int]:
        """Ids of ``tokens``, with ``<bos>``/``<eos>`` added as asked."""
        ids = [self.bos_id] if add_bos else []
        for token in tokens:
            if token in self._ids:
                ids.append(self._ids[token])
            elif all(c in self._ids for c in token):  # unseen phoneme: spell it
                ids += [self._ids[c] for c in token]
            else:
                bad = [c for c in token if c not in self._ids]
                raise ValueError(f"symbol {token!r} (characters {bad}) is not in the {self.name} "
                                 "vocabulary: use an English voice, or build a Vocabulary that "
                                 "includes it")
        return ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Symbols of ``ids``; padding, ``<bos>`` and ``<eos>`` dropped unless ``strip_special=False``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.symbols):
                raise ValueError(f"id {i} is out of range for the {self.name} vocabulary "
                                 f"(0..{len(self) - 1})")
            if strip_special and i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append(self.symbols[i])
        return out


#: Phoneme vocabulary of the course models.
PHONEME_VOCAB = Vocabulary(list(STRESS) + list(ENGLISH_PHONEMES) + list(IPA_CHARACTERS), "phoneme")
#: Character vocabulary (normalised text) for character-input models.
CHAR_VOCAB = Vocabulary(["'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)], "character")
MAX_TEXT_CHARS = 100_000


def _vocab(kind: str) -> Vocabulary:
    if kind == "phonemes":
        return PHONEME_VOCAB
    if kind == "characters":
        return CHAR_VOCAB
    raise ValueError(f"kind must be 'phonemes' or 'characters', not {kind!r}")


def text_to_ids(text: str, kind: str = "phonemes", voice: str = "en-us",
                add_bos: bool = False, add_eos: bool = True) -> list[int]:
    """Model input ids for ``text`` (notebook 05): normalise, then phonemes (or characters).

    Raises ``ValueError`` for text with nothing to say (empty, only emoji or symbols of other
    scripts) and for text longer than 100,000 characters (split it into sentences first).
    """
    vocab = _vocab(kind)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text has {len(text)} characters (limit {MAX_TEXT_CHARS}): split it into "
                         "sentences and convert them one by one")
    clean = normalize(text)
    if not re.search("[a-z]", clean):
        raise ValueError(f"nothing to say in {text[:40]!r}: after normalisation no words are left "
                         "(empty text, emoji or another script?). Give English words.")
    tokens = phoneme_tokens(clean, voice, normalize_first=False) if kind == "phonemes" else list(clean)
    return vocab.encode(tokens, add_bos=add_bos, add_eos=add_eos)


def ids_to_text(ids: Iterable[int], kind: str = "phonemes") -> str:
    """The symbols of ``ids`` joined back into a string (``<pad>``, ``<bos>``, ``<eos>`` dropped) (notebook 05)."""
    return "".join(_vocab(kind).decode(ids))
