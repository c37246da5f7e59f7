"""The deterministic multi-speaker corpus: built once, cached with a manifest (notebook 04)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from course_utils.env import atomic_path, cache_dir
from course_utils.voices.engine import CORPUS_VERSION, SAMPLE_RATE, VoiceSpec, synthesize
from course_utils.voices.roster import prompts, speakers


# Corpus ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusItem:
    """One utterance of a corpus: ``speaker`` id, ``utterance`` id, ``text``, (used by voices.build_corpus)
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
    """A list of utterances on disk: ``root``, ``items``, ``load(i) -> (wav, sr)`` (notebook 08).

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
    """Open a corpus folder written by :func:`build_corpus` (its ``manifest.json``)
    (tests only: tests/test_voices.py)."""
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: build the corpus with voices.build_corpus(...)")
    return _read_manifest(path)


