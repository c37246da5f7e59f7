"""Symbol vocabularies and text-to-ids for the models (notebook 05)."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from course_utils.text.phonemes import PUNCTUATION, STRESS, phoneme_tokens
from course_utils.text.rules import normalize


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
    """A fixed list of symbols with stable ids (used by text.text_to_ids).

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
