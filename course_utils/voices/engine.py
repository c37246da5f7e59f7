"""espeak-ng inside Python (notebook 04): a fresh private copy of the library per call, voices, phoneme spans."""

from __future__ import annotations

import _ctypes
import ctypes
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


SAMPLE_RATE = 22050
#: Symbol of silent spans (leading silence, pauses between phrases, trailing silence).
PAUSE = "_"
#: Bump when the corpus format or the synthesis recipe changes: old caches are then ignored.
CORPUS_VERSION = 1

#: English accents of espeak-ng used for the course speakers: voice name -> description.
ACCENTS = {
    "en-us": "American English",
    "en": "British English (southern)",
    "en-gb-x-rp": "British English, received pronunciation",
    "en-gb-scotland": "Scottish English",
    "en-gb-x-gbclan": "Lancastrian English",
    "en-gb-x-gbcwmd": "West Midlands English",
    "en-us-nyc": "New York City English",
    "en-029": "Caribbean English",
}
#: Voice variants (timbre: formants, pitch base, breathiness) used for the course speakers.
SPEAKER_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8",
                    "f1", "f2", "f3", "f4", "f5", "edward", "grandma", "aunty")
PITCHES = (35, 65)                  # espeak pitch, 0..100 (relative to the variant's base)
PITCH_RANGES = (30, 55, 80)         # espeak pitch range (intonation), 0..100
RATES = (150, 172, 195)             # words per minute
HELDOUT_FRACTION = 5                # one speaker in five is held out

# espeak-ng's C API (speak_lib.h) --------------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA, _INIT_DONT_EXIT = 0x0001, 0x0002, 0x8000
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))
_LOCK = threading.Lock()


def _library_path() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_library_path())


def _data_path() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    return lib


@lru_cache(maxsize=1)
def _private_dir() -> Path:
    """This process's folder for private library copies; removed at exit, and those of processes
    that died without removing theirs (a kill) are removed here."""
    import atexit

    for old in Path(tempfile.gettempdir()).glob("course-espeak-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"course-espeak-{os.getpid()}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:            # another user's process, or no permission to ask: leave it alone
        return True
    return True


class _FreshEspeak:
    """A private copy of libespeak-ng, loaded fresh (no state from earlier calls), used once."""

    count = 0

    def __enter__(self) -> ctypes.CDLL:
        _FreshEspeak.count += 1
        source = _library_path()
        # the process id keeps forked workers (which share the counter) off each other's copies
        self.path = _private_dir() / f"{os.getpid()}-{_FreshEspeak.count}-{source.name}"
        self.path.parent.mkdir(parents=True, exist_ok=True)  # in case a /tmp cleaner removed it
        shutil.copyfile(source, self.path)
        self.lib = _declare(ctypes.CDLL(str(self.path)))
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(_data_path()).encode(),
                                          _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"espeak-ng initialisation failed (returned {rate}); "
                               "reinstall the wheel: pip install --force-reinstall espeakng-loader")
        return self.lib

    def __exit__(self, *exc) -> None:
        try:
            self.lib.espeak_Terminate()
        finally:
            handle = self.lib._handle
            del self.lib
            try:
                (_ctypes.FreeLibrary if os.name == "nt" else _ctypes.dlclose)(handle)
            except Exception:
                pass
            try:
                self.path.unlink()
            except OSError:  # Windows keeps a loaded DLL locked; the temp folder is cleaned later
                pass


# Voices ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def variants() -> tuple[str, ...]:
    """Names of every voice variant in the wheel (``m1``, ``f3``, ``klatt2``...) (used by voices.VoiceSpec)."""
    return tuple(sorted(p.name for p in (_data_path() / "voices" / "!v").iterdir() if p.is_file()))


def accents() -> dict[str, str]:
    """English accents used by the course speakers: espeak voice name -> description (notebook 05)."""
    return dict(ACCENTS)


@dataclass(frozen=True)
class VoiceSpec:
    """Everything that shapes an espeak-ng voice (notebooks 05, 11).

    ``accent``: espeak voice/language name (``"en-us"``, ``"en-gb-scotland"``, ...; any espeak
    language works, see :func:`accents` for the English ones); ``variant``: timbre file from
    :func:`variants` (``"m3"``, ``"f2"``, ``None`` for the default); ``pitch`` and
    ``pitch_range``: 0..100; ``rate``: words per minute (80..450); ``volume``: 0..200;
    ``word_gap``: extra pause between words in units of 10 ms; ``name``: a speaker id.
    """

    accent: str = "en-us"
    variant: str | None = None
    pitch: int = 50
    pitch_range: int = 50
    rate: int = 175
    volume: int = 100
    word_gap: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        for attr, low, high in (("pitch", 0, 100), ("pitch_range", 0, 100), ("rate", 80, 450),
                                ("volume", 0, 200), ("word_gap", 0, 100)):
            value = getattr(self, attr)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"VoiceSpec.{attr} must be an integer in [{low}, {high}], got {value!r}")
        if not isinstance(self.accent, str) or not self.accent or "+" in self.accent:
            raise ValueError(f"VoiceSpec.accent must be an espeak voice name such as 'en-us' "
                             f"(put the variant in `variant=`), got {self.accent!r}")
        if self.variant is not None and self.variant not in variants():
            raise ValueError(f"unknown voice variant {self.variant!r}; choose one of voices.variants(), "
                             f"e.g. {', '.join(SPEAKER_VARIANTS[:6])}")

    @property
    def voice_name(self) -> str:
        """The name espeak-ng is given, e.g. ``"en-us+f3"``."""
        return self.accent + (f"+{self.variant}" if self.variant else "")

    def describe(self) -> str:
        """One line for tables: accent, variant, pitch, range and rate."""
        return (f"{self.name or 'voice'}: {ACCENTS.get(self.accent, self.accent)}, variant "
                f"{self.variant or 'default'}, pitch {self.pitch}, range {self.pitch_range}, "
                f"rate {self.rate} wpm")


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech: ``wav`` float32 mono in [-1, 1], ``sr`` in Hz and (used by voices.synthesize)
    ``phonemes``, a list of ``(symbol, start_sample, end_sample)`` spans that cover
    ``[0, len(wav))`` contiguously (``"_"`` marks silence)."""

    wav: np.ndarray
    sr: int
    phonemes: list[tuple[str, int, int]]
    text: str = ""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.wav) / self.sr


def _spans(events: list[tuple[int, str]], n_samples: int) -> list[tuple[str, int, int]]:
    """Turn espeak phoneme onsets ``(sample, symbol)`` (sorted) into contiguous spans over the audio.

    Silence before the first phoneme and espeak's empty "pause" phonemes become ``"_"`` and
    neighbouring pauses merge.  espeak synthesises some phonemes as part of the one before
    (a vowel and a following /l/ as in "sells"): both onsets then carry the same sample, and
    the shared span is split evenly between them, so every phoneme of the transcription keeps
    a span of its own.  Every span has length > 0, the first starts at 0, each starts where the
    previous one ends and the last ends at ``n_samples``.
    """
    groups: list[list] = [[0, [PAUSE]]]          # [start, symbols sharing the span]
    for sample, symbol in events:
        sample, symbol = min(max(sample, 0), n_samples), symbol or PAUSE
        if sample == groups[-1][0] and symbol != PAUSE and groups[-1][1] == [PAUSE]:
            groups[-1] = [sample, [symbol]]      # a phoneme replaces an empty pause
        elif sample == groups[-1][0]:
            if symbol != PAUSE:
                groups[-1][1].append(symbol)
        else:
            # same-sample onsets before this one had no span of their own: they share the previous one
            if len(groups[-1][1]) > 1 and len(groups) > 1:
                *early, last = groups[-1][1]
                groups[-2][1].extend(early)
                groups[-1][1] = [last]
            groups.append([sample, [symbol]])
    if len(groups[-1][1]) > 1 and len(groups) > 1:
        *early, last = groups[-1][1]
        groups[-2][1].extend(early)
        groups[-1][1] = [last]
    spans: list[tuple[str, int, int]] = []
    for i, (start, symbols) in enumerate(groups):
        end = groups[i + 1][0] if i + 1 < len(groups) else n_samples
        if end <= start:
            continue
        if len(symbols) > 1 and PAUSE in symbols:
            symbols = [s for s in symbols if s != PAUSE]
        symbols = symbols[: end - start]
        cuts = [start + (end - start) * j // len(symbols) for j in range(len(symbols))] + [end]
        for symbol, a, b in zip(symbols, cuts, cuts[1:]):
            if spans and spans[-1][0] == PAUSE and symbol == PAUSE:
                spans[-1] = (PAUSE, spans[-1][1], b)
            else:
                spans.append((symbol, a, b))
    return spans


def synthesize(text: str, spec: VoiceSpec | None = None, seed: int = 0) -> Utterance:
    """Speak ``text`` with espeak-ng in voice ``spec``; deterministic for a given seed (notebook 04).

    Returns an :class:`Utterance` at espeak's native 22050 Hz with sample-accurate phoneme
    spans (from espeak's phoneme events, their ``sample`` field).  Each call uses a fresh copy
    of the library, so earlier calls never change the result.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: give at least one word to speak")
    spec = spec or VoiceSpec()
    if not isinstance(spec, VoiceSpec):
        raise TypeError(f"spec must be a voices.VoiceSpec, got {type(spec).__name__}")
    chunks: list[np.ndarray] = []
    events: list[tuple[int, str]] = []

    def callback(wav, n, event_ptr):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while event_ptr[i].type != _EVENT_LIST_TERMINATED:
            ev = event_ptr[i]
            if ev.type == _EVENT_PHONEME:
                name = bytes(ev.id).split(b"\0", 1)[0].decode("utf-8", "ignore")
                events.append((int(ev.sample), name))
            i += 1
        return 0

    c_callback = _CALLBACK(callback)
    data = text.encode("utf-8") + b"\0"
    with _LOCK, _FreshEspeak() as lib:
        lib.espeak_SetSynthCallback(c_callback)
        if lib.espeak_SetVoiceByName(spec.voice_name.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {spec.accent!r}; use one of "
                             f"{', '.join(ACCENTS)} (or another espeak language code)")
        for param, value in ((_PARAM_RATE, spec.rate), (_PARAM_VOLUME, spec.volume),
                             (_PARAM_PITCH, spec.pitch), (_PARAM_RANGE, spec.pitch_range),
                             (_PARAM_WORDGAP, spec.word_gap)):
            lib.espeak_SetParameter(param, int(value), 0)
        lib.espeak_ng_SetRandSeed(int(seed))
        status = lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
    if status != 0:
        raise RuntimeError(f"espeak-ng failed to synthesise (status {status}) for {text[:60]!r}")
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    if len(pcm) == 0:
        raise ValueError(f"espeak-ng produced no audio for {text[:60]!r}: "
                         "give text with pronounceable words")
    wav = (pcm.astype(np.float32) / 32768.0)
    return Utterance(wav=wav, sr=SAMPLE_RATE, phonemes=_spans(sorted(events, key=lambda e: e[0]), len(wav)),
                     text=text)
