"""Voices for the course: espeak-ng speakers, a deterministic multi-speaker corpus, real corpora.

Introduced in ``04_sound_and_spectrograms.ipynb``.  espeak-ng ships inside the
``espeakng-loader`` wheel (library and voice data), so everything here works offline::

    from course_utils import voices
    spec = voices.VoiceSpec(accent="en-us", variant="f3", pitch=60)
    utt = voices.synthesize("Hello there.", spec)      # utt.wav, utt.sr, utt.phonemes
    corpus = voices.build_corpus(20, 10, seed=0)        # cached wavs + manifest.json
    wav, sr = corpus.load(0)

Determinism.  espeak-ng keeps state between calls inside one loaded library (its pitch
"flutter" and a random generator that it seeds from the clock), so the same text synthesised
twice in one process can differ by a few samples, and two fresh processes can differ too.
:func:`synthesize` therefore loads a *private, fresh copy* of the library for every call
(a few milliseconds), seeds espeak's generator with ``seed`` and unloads the copy afterwards:
same text + same spec + same seed -> the same samples, in any process, in any order.
"""

from __future__ import annotations

import _ctypes
import ctypes
import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from course_utils.env import DATA_DIR, atomic_path, cache_dir

__all__ = [
    "VoiceSpec", "Utterance", "synthesize", "accents", "variants", "speakers", "speaker", "speaker_table",
    "prompts", "CorpusItem", "Corpus", "build_corpus", "load_libritts", "load_vctk",
    "load_recordings", "SAMPLE_RATE", "PAUSE", "CORPUS_VERSION",
]

#: espeak-ng's native output rate (Hz).
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
    import atexit

    path = Path(tempfile.mkdtemp(prefix="course-espeak-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


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
    """Names of every voice variant in the wheel (``m1``, ``f3``, ``klatt2``...) (notebook 04)."""
    return tuple(sorted(p.name for p in (_data_path() / "voices" / "!v").iterdir() if p.is_file()))


def accents() -> dict[str, str]:
    """English accents used by the course speakers: espeak voice name -> description (notebook 04)."""
    return dict(ACCENTS)


@dataclass(frozen=True)
class VoiceSpec:
    """Everything that shapes an espeak-ng voice (notebook 04).

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
    """Synthesised speech (notebook 04): ``wav`` float32 mono in [-1, 1], ``sr`` in Hz and
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


@lru_cache(maxsize=1)
def _all_speakers() -> tuple[VoiceSpec, ...]:
    out = []
    index = 0
    for accent in ACCENTS:
        for variant in SPEAKER_VARIANTS:
            for pitch in PITCHES:
                out.append(VoiceSpec(accent=accent, variant=variant, pitch=pitch,
                                     pitch_range=PITCH_RANGES[index % len(PITCH_RANGES)],
                                     rate=RATES[(index // len(PITCH_RANGES)) % len(RATES)],
                                     name=f"spk{index:03d}"))
                index += 1
    return tuple(out)


def _is_heldout(spec: VoiceSpec) -> bool:
    return int(hashlib.sha1(spec.name.encode()).hexdigest(), 16) % HELDOUT_FRACTION == 0


def speakers(split: str = "train") -> list[VoiceSpec]:
    """The course's espeak speakers (notebook 04): 8 English accents x 16 variants x 2 pitches.

    ``split`` is ``"train"`` (about 80%), ``"heldout"`` (about 20%, never used in training:
    zero-shot cloning is evaluated on them) or ``"all"``.  The list and the ids (``spk000``...)
    are fixed: the same on every machine.
    """
    everyone = _all_speakers()
    if split == "all":
        return list(everyone)
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', not {split!r}")
    return [s for s in everyone if _is_heldout(s) == (split == "heldout")]


def speaker_table(split: str = "all"):
    """The speakers as a pandas DataFrame: id, split, accent, variant, pitch, range, rate (notebook 04).

    ``data/speakers.csv`` holds the same table for reading without Python (a test keeps it equal).
    """
    import pandas as pd

    rows = [{"speaker": s.name, "split": "heldout" if _is_heldout(s) else "train", "accent": s.accent,
             "accent_name": ACCENTS[s.accent], "variant": s.variant, "pitch": s.pitch,
             "pitch_range": s.pitch_range, "rate": s.rate} for s in speakers(split)]
    return pd.DataFrame(rows)


def speaker(name: str) -> VoiceSpec:
    """The course speaker with id ``name`` (e.g. ``"spk042"``) (notebook 04)."""
    for spec in _all_speakers():
        if spec.name == name:
            return spec
    raise KeyError(f"no course speaker {name!r}; ids run from spk000 to spk{len(_all_speakers()) - 1:03d}")


@lru_cache(maxsize=4)
def _read_prompts(name: str) -> tuple[str, ...]:
    path = DATA_DIR / name
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return tuple(line for line in lines if line and not line.startswith("#"))


def prompts(split: str = "train") -> list[str]:
    """Prompt sentences from ``data/`` (notebook 04): ``"train"`` or ``"heldout"`` (never in a
    training corpus; for evaluating synthesis of unseen text)."""
    files = {"train": "prompts_train.txt", "heldout": "prompts_heldout.txt"}
    if split not in files:
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return list(_read_prompts(files[split]))


# Corpus ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusItem:
    """One utterance of a corpus (notebook 04): ``speaker`` id, ``utterance`` id, ``text``,
    ``wav`` path relative to the corpus root, ``phonemes`` spans (empty for real corpora)."""

    speaker: str
    utterance: str
    text: str
    wav: str
    phonemes: tuple[tuple[str, int, int], ...] = ()
    num_samples: int = 0
    sr: int = SAMPLE_RATE


@dataclass
class Corpus:
    """A list of utterances on disk (notebook 04): ``root``, ``items``, ``load(i) -> (wav, sr)``.

    ``specs`` maps speaker ids to their :class:`VoiceSpec` for synthetic corpora.
    """

    root: Path
    items: list[CorpusItem]
    specs: dict[str, VoiceSpec] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[CorpusItem]:
        return iter(self.items)

    @property
    def speakers(self) -> list[str]:
        """Speaker ids in order of first appearance."""
        return list(dict.fromkeys(item.speaker for item in self.items))

    def path(self, i: int) -> Path:
        """Absolute path of item ``i``'s audio file."""
        return self.root / self.items[i].wav

    def load(self, i: int) -> tuple[np.ndarray, int]:
        """Audio of item ``i`` as float32 mono and its sample rate."""
        import soundfile as sf

        if not 0 <= i < len(self.items):
            raise IndexError(f"item {i} is out of range: the corpus has {len(self.items)} items")
        path = self.path(i)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; rebuild or re-download the corpus")
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return wav.mean(axis=1).astype(np.float32), int(sr)

    def by_speaker(self) -> dict[str, list[int]]:
        """Item indices grouped by speaker id."""
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(self.items):
            groups.setdefault(item.speaker, []).append(i)
        return groups

    def to_frame(self):
        """The items as a pandas DataFrame (one row per utterance, without phoneme spans)."""
        import pandas as pd

        rows = [{k: v for k, v in asdict(item).items() if k != "phonemes"} for item in self.items]
        frame = pd.DataFrame(rows)
        if len(frame) and "num_samples" in frame:
            frame["seconds"] = frame["num_samples"] / frame["sr"]
        return frame


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _wav_bytes(wav: np.ndarray, sr: int) -> bytes:
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, wav, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _plan(n_speakers: int, utterances_per_speaker: int, seed: int, split: str,
          text_split: str) -> list[tuple[VoiceSpec, list[tuple[int, str]]]]:
    pool = speakers(split)
    if not 1 <= n_speakers <= len(pool):
        raise ValueError(f"n_speakers must be between 1 and {len(pool)} for split={split!r}, "
                         f"got {n_speakers}")
    texts = prompts(text_split)
    if not 1 <= utterances_per_speaker <= len(texts):
        raise ValueError(f"utterances_per_speaker must be between 1 and {len(texts)}, "
                         f"got {utterances_per_speaker}")
    order = np.random.default_rng([seed, 0]).permutation(len(pool))
    plan = []
    for rank in order[:n_speakers]:
        spec = pool[int(rank)]
        picks = np.random.default_rng([seed, 1, int(spec.name[3:])]).permutation(len(texts))
        plan.append((spec, [(int(t), texts[int(t)]) for t in picks[:utterances_per_speaker]]))
    return plan


def build_corpus(n_speakers: int, utterances_per_speaker: int, seed: int = 0, split: str = "train",
                 text_split: str = "train", progress: bool = True) -> Corpus:
    """Synthesise (or reuse) a multi-speaker corpus in the cache (notebook 04).

    ``n_speakers`` speakers of ``split`` (``"train"``/``"heldout"``) are drawn with ``seed`` and
    each reads ``utterances_per_speaker`` sentences of :func:`prompts` (``text_split``).  Files go
    to ``env.cache_dir("corpus", key)``: ``wavs/<speaker>/<utterance>.wav`` (16-bit PCM,
    22050 Hz) and ``manifest.json`` (speaker, utterance, text, wav path relative to the root,
    phoneme spans).  Every file is written atomically (temporary file + rename) and the
    manifest last, so an interrupted build resumes where it stopped and never leaves a
    corrupted cache.  Two fresh builds are byte-identical.
    """
    for name, value in (("n_speakers", n_speakers), ("utterances_per_speaker", utterances_per_speaker),
                        ("seed", seed)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    plan = _plan(n_speakers, utterances_per_speaker, seed, split, text_split)
    key = f"v{CORPUS_VERSION}-{split}-{text_split}-s{n_speakers}-u{utterances_per_speaker}-seed{seed}"
    root = cache_dir("corpus", key)
    manifest = root / "manifest.json"
    specs = {spec.name: spec for spec, _ in plan}
    if manifest.exists():
        try:
            corpus = _read_manifest(manifest, specs)
            if all((root / item.wav).exists() for item in corpus.items):
                return corpus
        except (ValueError, KeyError, TypeError):
            pass  # unreadable manifest: rebuild it (wavs that exist are reused)
    jobs = [(spec, t, text) for spec, picks in plan for t, text in picks]
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc=f"corpus {key}", disable=not progress, leave=False)
    except ImportError:  # pragma: no cover
        bar = None
    items = []
    for spec, t, text in jobs:
        utt_id = f"{spec.name}_t{t:04d}"
        rel = f"wavs/{spec.name}/{utt_id}.wav"
        utt = synthesize(text, spec, seed=_utterance_seed(seed, spec.name, t))
        wav_path = root / rel
        data = _wav_bytes(utt.wav, utt.sr)
        if not wav_path.exists() or wav_path.read_bytes() != data:
            _atomic_write_bytes(wav_path, data)
        items.append(CorpusItem(speaker=spec.name, utterance=utt_id, text=text, wav=rel,
                                phonemes=tuple(utt.phonemes), num_samples=len(utt.wav), sr=utt.sr))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    payload = {"version": CORPUS_VERSION, "sample_rate": SAMPLE_RATE, "seed": seed, "split": split,
               "text_split": text_split, "speakers": {n: asdict(s) for n, s in specs.items()},
               "items": [asdict(item) for item in items]}
    _atomic_write_bytes(manifest, (json.dumps(payload, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return Corpus(root=root, items=items, specs=specs)


def _utterance_seed(seed: int, speaker_name: str, text_index: int) -> int:
    digest = hashlib.sha1(f"{seed}/{speaker_name}/{text_index}".encode()).hexdigest()
    return int(digest[:7], 16)


def _read_manifest(path: Path, specs: dict[str, VoiceSpec] | None = None) -> Corpus:
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("version") != CORPUS_VERSION:
        raise ValueError("old corpus version")
    items = [CorpusItem(**{**item, "phonemes": tuple(tuple(p) for p in item["phonemes"])})
             for item in payload["items"]]
    specs = specs or {n: VoiceSpec(**s) for n, s in payload.get("speakers", {}).items()}
    return Corpus(root=path.parent, items=items, specs=specs)


def load_corpus(root: str | os.PathLike) -> Corpus:
    """Open a corpus folder written by :func:`build_corpus` (its ``manifest.json``) (notebook 04)."""
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: build the corpus with voices.build_corpus(...)")
    return _read_manifest(path)


# Real corpora ---------------------------------------------------------------------------------

def _missing(name: str, root: Path, how: str) -> FileNotFoundError:
    return FileNotFoundError(f"{name} was not found under {root}. {how} Nothing is downloaded "
                             f"unless you ask: pass download=True (several GB) or download it "
                             f"yourself and point root= at the folder that contains it.")


def load_libritts(root: str | os.PathLike, subset: str = "dev-clean", download: bool = False) -> Corpus:
    """LibriTTS (24 kHz, 2456 speakers) through ``torchaudio.datasets.LIBRITTS`` (notebook 04).

    ``root`` holds ``LibriTTS/<subset>/<speaker>/<chapter>/*.wav`` (from openslr.org/60).
    ``download=False`` (default) never downloads; a missing folder raises a FileNotFoundError
    that says how to get it.  Audio is read with soundfile by :meth:`Corpus.load`.
    """
    from torchaudio.datasets import LIBRITTS

    root = Path(root)
    folder = root / "LibriTTS" / subset
    if not download and not folder.is_dir():
        raise _missing(f"LibriTTS subset {subset!r}", root,
                       f"Get it with voices.load_libritts({str(root)!r}, {subset!r}, download=True) "
                       f"or from https://www.openslr.org/60/ ({subset}.tar.gz, extracted in root).")
    dataset = LIBRITTS(str(root), url=subset, download=download)
    base = Path(dataset._path)
    items = []
    for fileid in dataset._walker:
        spk, chapter = fileid.split("_")[:2]
        rel = Path(spk) / chapter / f"{fileid}.wav"
        text_file = base / spk / chapter / f"{fileid}.normalized.txt"
        text = text_file.read_text(encoding="utf-8").strip() if text_file.exists() else ""
        items.append(CorpusItem(speaker=spk, utterance=fileid, text=text, wav=rel.as_posix(), sr=24000))
    return Corpus(root=base, items=items)


def load_vctk(root: str | os.PathLike, mic: str = "mic2", download: bool = False) -> Corpus:
    """VCTK 0.92 (110 English speakers, 48 kHz FLAC) through ``torchaudio.datasets.VCTK_092`` (notebook 04).

    ``root`` holds ``VCTK-Corpus-0.92/`` (``txt/`` and ``wav48_silence_trimmed/``).
    ``download=False`` (default) never downloads; a missing folder raises a FileNotFoundError
    that says how to get it.
    """
    from torchaudio.datasets import VCTK_092

    root = Path(root)
    folder = root / "VCTK-Corpus-0.92"
    if not download and not folder.is_dir():
        raise _missing("VCTK 0.92", root,
                       f"Get it with voices.load_vctk({str(root)!r}, download=True) or from "
                       "https://datashare.ed.ac.uk/handle/10283/3443 (VCTK-Corpus-0.92.zip, "
                       "extracted as root/VCTK-Corpus-0.92).")
    dataset = VCTK_092(str(root), mic_id=mic, download=download)
    base = Path(dataset._path)
    items = []
    for spk, utt in dataset._sample_ids:
        rel = Path("wav48_silence_trimmed") / spk / f"{spk}_{utt}_{mic}{dataset._audio_ext}"
        text_file = Path(dataset._txt_dir) / spk / f"{spk}_{utt}.txt"
        text = text_file.read_text(encoding="utf-8").strip() if text_file.exists() else ""
        items.append(CorpusItem(speaker=spk, utterance=f"{spk}_{utt}", text=text, wav=rel.as_posix(), sr=48000))
    return Corpus(root=base, items=items)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def load_recordings(folder: str | os.PathLike, speaker_name: str = "me") -> Corpus:
    """Your own recordings with transcripts (notebook 04).

    Either ``name.wav`` files each with a ``name.txt`` transcript beside it, or a
    ``metadata.csv`` with ``file|text`` or ``file,text[,speaker]`` rows (LJSpeech style ids
    without extension are accepted).  Sub-folders are read too (their name is the speaker when
    there is no speaker column).  A missing folder, no audio, or audio without transcript
    raises an error that names the files.
    """
    import csv

    import soundfile as sf

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder: put your .wav files (and .txt transcripts "
                                "or a metadata.csv) in one folder and pass its path")
    items: list[CorpusItem] = []
    metadata = root / "metadata.csv"
    if metadata.exists():
        raw = metadata.read_text(encoding="utf-8-sig")
        delimiter = "|" if "|" in raw.splitlines()[0] else ","
        rows = [r for r in csv.reader(raw.splitlines(), delimiter=delimiter) if r and any(c.strip() for c in r)]
        if rows and rows[0][0].strip().lower() in ("file", "filename", "path", "id", "wav"):
            rows = rows[1:]
        for number, row in enumerate(rows, 1):
            if len(row) < 2 or not row[1].strip():
                raise ValueError(f"{metadata}, row {number}: expected `file{delimiter}text`, got {row!r}")
            name = row[0].strip()
            path = root / name
            if not path.suffix:
                found = [path.with_suffix(s) for s in AUDIO_SUFFIXES if path.with_suffix(s).exists()]
                found += [root / "wavs" / f"{name}{s}" for s in AUDIO_SUFFIXES if (root / "wavs" / f"{name}{s}").exists()]
                path = found[0] if found else path.with_suffix(".wav")
            if not path.exists():
                raise FileNotFoundError(f"{metadata}, row {number}: audio file {path.name} not found in {path.parent}")
            spk = row[2].strip() if len(row) > 2 and row[2].strip() else speaker_name
            items.append(_own_item(root, path, row[1].strip(), spk))
    else:
        audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not audio:
            raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {root}")
        missing = [p.name for p in audio if not p.with_suffix(".txt").exists()]
        if missing:
            raise FileNotFoundError(f"no transcript for {', '.join(missing[:5])}"
                                    f"{' ...' if len(missing) > 5 else ''}: add a same-name .txt file "
                                    f"with the words spoken, or a metadata.csv (file|text) in {root}")
        for path in audio:
            text = path.with_suffix(".txt").read_text(encoding="utf-8").strip()
            if not text:
                raise ValueError(f"{path.with_suffix('.txt')} is empty: write the words spoken in it")
            spk = path.parent.name if path.parent != root else speaker_name
            items.append(_own_item(root, path, text, spk))
    for item in items:
        try:
            info = sf.info(str(root / item.wav))
        except Exception as exc:
            raise ValueError(f"{root / item.wav} is not readable audio: {exc}") from None
        object.__setattr__(item, "sr", int(info.samplerate))
        object.__setattr__(item, "num_samples", int(info.frames))
    return Corpus(root=root, items=items)


def _own_item(root: Path, path: Path, text: str, spk: str) -> CorpusItem:
    rel = path.relative_to(root).as_posix()
    return CorpusItem(speaker=spk, utterance=path.stem, text=text, wav=rel)


def real_time_factor(texts: Sequence[str] | None = None, spec: VoiceSpec | None = None) -> dict:
    """Measure synthesis speed (notebook 04): ``rtf`` is compute / audio seconds, as everywhere in the
    course (below 1: faster than real time); ``x_real_time`` is its inverse (audio per compute second)."""
    import time

    texts = list(texts or prompts("train")[:20])
    start = time.perf_counter()
    audio = sum(synthesize(t, spec).duration for t in texts)
    compute = time.perf_counter() - start
    return {"audio_s": audio, "compute_s": compute, "rtf": compute / audio, "x_real_time": audio / compute,
            "utterances": len(texts)}
