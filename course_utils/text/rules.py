"""Normalisation rules: abbreviations, currency, dates, times, units... written out as words (notebook 05)."""

from __future__ import annotations

import re
import unicodedata
import warnings

from course_utils.text.numbers import (ONES, _decimal_words, _int_words, _plural, number_to_words,
                                       ordinal_to_words, year_to_words)


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
    text = _sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]", " ", text)       # terminal colour codes: not words
    text = _sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)               # other control characters
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
        words = _money(m)
        return f"minus {words}" if m.group("neg") else words

    def _money(m):
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

    return _sub(r"(?P<cur>[" + symbols + r"])\s?(?P<neg>-)?(?P<int>" + _NUM + r"|(?=\.\d))(?:\.(?P<frac>\d+))?"
                r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|[kKmMbB])\b)?", money, text)


def _percent(text: str) -> str:
    return _sub(r"(?P<neg>(?<![\w.])-)?(?<!\d)(?P<int>" + _NUM + r")(?:\.(?P<frac>\d+))?\s?%",
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

    return _sub(r"(?P<neg>(?<![\w.])-)?(?<!\d)(?P<int>" + _NUM + r")(?:\.(?P<frac>\d+))?\s?(?P<unit>" + alternatives +
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
    text = _sub(r"(?<=\d)(?=[A-Za-z])|(?<=[A-Za-z])(?=\d)", " ", text)      # "1e309" -> "1 e 309"
    text = _sub(r"(?<![\d,])(\d+)\s?/\s?(\d+)(?![\d/])", _fraction, text)
    text = _sub(r"(?<=\d)\s?[-–]\s?(?=\d)", " to ", text)
    text = _sub(r"(?<![\w.,])-(?=\d)", "minus ", text)
    text = _sub(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)?\.(\d+)",
                lambda m: _decimal_words(m.group(1) or "", m.group(2)), text)
    text = _sub(r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)", lambda m: _int_words(m.group(0)), text)
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
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    unreadable = [c for c in text if c.isalpha() and not c.isascii()]
    if unreadable:
        shown = "".join(dict.fromkeys(unreadable))[:20]
        warnings.warn(f"normalize dropped {len(unreadable)} characters it cannot read ({shown!r}): only English "
                      "in Latin letters is spoken; write the rest in Latin letters", stacklevel=4)
    return text


def _cleanup(text: str, punctuation: bool) -> str:
    text = text.lower()
    text = _sub(r"[!?]+", lambda m: m.group(0)[0], text)
    text = _sub(r"[^a-z' ,.?!]+", " ", text)
    text = _sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
    if not punctuation:
        text = _sub(r"[,.?!]", " ", text)
    text = _sub(r"(?<!\s)\s+([,.?!])", r"\1", text)
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


