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

The package: :mod:`~course_utils.text.numbers`, :mod:`~course_utils.text.rules` (what
:func:`normalize` applies), :mod:`~course_utils.text.phonemes` and
:mod:`~course_utils.text.vocabulary`; every public name is re-exported here.
"""

from course_utils.text.numbers import (MAX_NUMBER, ONES, SCALES, TENS, digits_to_words, number_to_words,
                                       ordinal_to_words, year_to_words)
from course_utils.text.rules import (ABBREVIATIONS, CURRENCIES, MONTHS, SYMBOLS, TRANSLITERATE, UNITS, normalize)
from course_utils.text.phonemes import PUNCTUATION, STRESS, phoneme_tokens, phonemize
from course_utils.text.vocabulary import (BOS, CHAR_VOCAB, ENGLISH_PHONEMES, EOS, IPA_CHARACTERS, MAX_TEXT_CHARS,
                                          PAD, PHONEME_VOCAB, SPECIALS, Vocabulary, ids_to_text, text_to_ids)

__all__ = [
    "MAX_NUMBER", "ONES", "SCALES", "TENS", "digits_to_words", "number_to_words", "ordinal_to_words",
    "year_to_words", "ABBREVIATIONS", "CURRENCIES", "MONTHS", "SYMBOLS", "TRANSLITERATE", "UNITS", "normalize",
    "PUNCTUATION", "STRESS", "phoneme_tokens", "phonemize", "BOS", "CHAR_VOCAB", "ENGLISH_PHONEMES", "EOS",
    "IPA_CHARACTERS", "MAX_TEXT_CHARS", "PAD", "PHONEME_VOCAB", "SPECIALS", "Vocabulary", "ids_to_text",
    "text_to_ids",
]
