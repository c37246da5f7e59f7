"""The course's speakers (train and held-out splits), its prompts, and how fast espeak-ng speaks them
(notebook 04)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence


from course_utils.env import DATA_DIR
from course_utils.voices.engine import ACCENTS, HELDOUT_FRACTION, PITCHES, PITCH_RANGES, RATES, SPEAKER_VARIANTS, VoiceSpec, synthesize


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
    """The speakers as a pandas DataFrame: id, split, accent, variant, pitch, range, rate
    (tests only: tests/test_voices.py).

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


def real_time_factor(texts: Sequence[str] | None = None, spec: VoiceSpec | None = None) -> dict:
    """Measure synthesis speed: ``rtf`` is compute / audio seconds, as everywhere in the
    (tests only: tests/test_voices.py)
    course (below 1: faster than real time); ``x_real_time`` is its inverse (audio per compute second)."""
    import time

    texts = list(texts or prompts("train")[:20])
    start = time.perf_counter()
    audio = sum(synthesize(t, spec).duration for t in texts)
    compute = time.perf_counter() - start
    return {"audio_s": audio, "compute_s": compute, "rtf": compute / audio, "x_real_time": audio / compute,
            "utterances": len(texts)}
