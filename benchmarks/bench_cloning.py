"""Zero-shot cloning (notebook 08): cloning score, real-time factor and training time.

Uses the cached quick-profile cloner (``VoiceCloner.trained("quick")``; trained once if the
cache is empty, which takes minutes) and scores it on 8 held-out speakers with the pretrained
speaker encoder (5 references each).  The injection comparison (speaker added to the encoder
outputs vs FiLM in the decoder vs both) evaluates the other variants when their checkpoints are
cached; ``python -c "from benchmarks import bench_cloning; bench_cloning.train_variants()"``
trains them (several minutes each on 2 CPU cores).  Under two minutes with cached checkpoints.
"""

from __future__ import annotations

import torch

from course_utils import cloning

PROFILE = "quick"


def _variant(injection: str) -> cloning.ClonerConfig:
    return cloning.ClonerConfig.for_profile(PROFILE, injection=injection)


def train_variants(injections=cloning.INJECTIONS) -> None:
    """Train (and cache) the quick cloner with each speaker injection."""
    for injection in injections:
        cloning.VoiceCloner.trained(PROFILE, config=_variant(injection))


def run() -> list[dict]:
    default = cloning.ClonerConfig.for_profile(PROFILE)
    heldout = cloning.heldout_speakers(8, 8, progress=False)
    rows = []
    for injection in cloning.INJECTIONS:
        config = _variant(injection)
        is_default = injection == default.injection
        if not is_default and not cloning.VoiceCloner.checkpoint_path(config).exists():
            rows.append({"name": f"cloning score, injection {injection!r}", "value": "not trained", "unit": "",
                         "note": "run bench_cloning.train_variants() to compare"})
            continue
        cloner = cloning.VoiceCloner.trained(PROFILE, config=config, progress=False)
        result = cloning.evaluate(cloner, heldout, n_references=5, progress=False)
        history = cloner.history
        rows.append({"name": f"cloning score, injection {injection!r}" + (" (default)" if is_default else ""),
                     "value": round(result["score"].score, 3), "unit": "",
                     "note": f"8 held-out speakers, 5 references, pretrained-encoder judge; "
                             f"sim clone {result['score'].sim_clone:.3f}, own {result['score'].sim_own:.3f}, "
                             f"others {result['score'].sim_other:.3f}"})
        if is_default:
            voice = cloner.enroll([heldout.load(i)[0] for i in heldout.by_speaker()[heldout.speakers[0]][:5]],
                                  heldout.items[0].sr)
            rtf = cloning.real_time_factor(cloner, voice, repeats=3)
            rows += [
                {"name": "synthesis real-time factor (cpu)", "value": round(rtf, 4), "unit": "x",
                 "note": f"phonemes + model + Griffin-Lim ({cloner.config.griffin_lim_iters} it.) + watermark, "
                         f"best of 3, {torch.get_num_threads()} threads; target <= 0.05"},
                {"name": "training time (quick)", "value": round(history.get("seconds", float("nan")), 1), "unit": "s",
                 "note": f"{len(history.get('loss', []))} steps on {history.get('device', '?')}, plus "
                         f"{history.get('prepare_seconds', float('nan')):.0f} s of data preparation; target <= 360 s"},
            ]
    return rows
