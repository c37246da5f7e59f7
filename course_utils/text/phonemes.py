"""Phonemes from espeak-ng (through the espeakng-loader wheel), stress and punctuation kept (notebook 05)."""

from __future__ import annotations

import ctypes
import re
import threading

from course_utils.text.rules import normalize


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
        from course_utils.voices.engine import (_AUDIO_OUTPUT_SYNCHRONOUS, _INIT_DONT_EXIT, _data_path,
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


