"""Numbers as English words: cardinals, ordinals, years, digit strings (notebook 05)."""

from __future__ import annotations


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
    (used by text.normalize)
    ``1905 -> 'nineteen oh five'``, ``2024 -> 'twenty twenty four'``."""
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
    """Read a string of digits one by one: ``'007' -> 'zero zero seven'`` (used by text.number_to_words)."""
    if not isinstance(digits, str) or not digits.isdigit():
        raise ValueError(f"expected a string of digits 0-9, got {digits!r}")
    return " ".join(ONES[int(d)] for d in digits if d in "0123456789")


def _int_words(digits: str) -> str:
    digits = digits.replace(",", "")
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) > len(str(MAX_NUMBER)):
        return digits_to_words(digits)            # a code, or past the named scales: digit by digit
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

