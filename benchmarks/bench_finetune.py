"""Few-shot fine-tuning (notebook 09): alignment error, scores, fine-tuning time, throughput, AMP facts.

Uses the cached quick cloner (``VoiceCloner.trained("quick")``) and the 8 held-out speakers of
notebook 09 with 5 utterances each.  Rows:

* boundary error of the DTW alignment against espeak's true spans (and of a uniform stretch);
* cloning score zero-shot vs full fine-tuning (same speakers, texts unseen in fine-tuning), with
  and without the global-variance post-filter, on notebook 09's speakers and on 8 others, and the
  fine-tuning time per speaker (alignment and post-filter included);
* training throughput (utterances/s, 3-s utterances, batch 8) of the quick model in fp32 and bf16
  autocast on this machine, and on CUDA (fp32, bf16, fp16 + GradScaler) only when CUDA is present;
* the fp16 facts behind "``model.half()`` is not mixed precision", and the article's
  accumulation bug (gradient norm after 4 steps without ``zero_grad``).

``python -m benchmarks.bench_finetune --throughput`` prints only the throughput rows (no corpus or
checkpoint needed: what the GPU run uses).  Under three minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

STEPS = 60
N_SPEAKERS = 8


def run() -> list[dict]:
    from course_utils import cloning, evaluation, finetune, gpu, speaker

    rows = []
    cloner = cloning.VoiceCloner.trained("quick", progress=False)
    heldout = cloning.heldout_speakers(N_SPEAKERS, 8, progress=False)
    errors = finetune.corpus_alignment_errors(cloner, heldout, [0, 9, 18, 27])
    rows.append({"name": "alignment boundary error, DTW", "value": round(errors["dtw_ms"], 1), "unit": "ms",
                 "note": f"4 held-out utterances vs espeak's true spans; frame = {errors['frame_ms']:.0f} ms"})
    rows.append({"name": "alignment boundary error, uniform stretch", "value": round(errors["stretch_ms"], 1),
                 "unit": "ms", "note": "predicted durations scaled to the recording (baseline)"})
    encoder = evaluation.CachedEncoder(speaker.SpeakerEncoder.pretrained())
    tuned = None
    for seed, which in ((0, "notebook 09's"), (1, "8 other")):
        corpus = heldout if seed == 0 else cloning.heldout_speakers(N_SPEAKERS, 8, seed=seed, progress=False)
        data = finetune.heldout_data(corpus, 5, 2)
        scores = {(strategy, post): finetune.score_strategy(cloner, data, strategy, steps=STEPS, encoder=encoder,
                                                            postfilter=post)
                  for strategy in ("zero-shot", "full") for post in (True, False)}
        for strategy, label in (("zero-shot", "zero-shot"), ("full", f"full fine-tuning {STEPS} steps")):
            target = "; target >= 0.75 and above zero-shot" if strategy == "full" else ""
            rows.append({"name": f"cloning score, {label}, {which} speakers",
                         "value": round(scores[(strategy, True)]["score"], 3), "unit": "",
                         "note": f"{N_SPEAKERS} held-out speakers (seed {seed}), 5 references, unseen texts, "
                                 f"post-filter x{scores[(strategy, True)]['gv_scale']:.2f}; without it "
                                 f"{scores[(strategy, False)]['score']:.3f}{target}"})
        tuned = tuned or scores[("full", True)]
    rows.append({"name": "fine-tuning time, 5 utterances", "value": round(tuned["seconds"], 1), "unit": "s",
                 "note": f"alignment + {STEPS} full fine-tuning steps + post-filter measurement, {torch.get_num_threads()} threads; "
                         "target <= 120 s"})
    half = gpu.half_weight_update(1.0, 1e-4, 100)
    rows.append({"name": "fp16 weight after 100 updates of 1e-4", "value": half["fp16"], "unit": "",
                 "note": f"fp32 master weight: {half['fp32']:.4f} (model.half() loses every update)"})
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = x.sum(1)
    micro = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 64, 4)]
    loss = lambda m, a, b: ((m(a).squeeze(-1) - b) ** 2).mean()  # noqa: E731
    make = lambda: (torch.manual_seed(0), torch.nn.Linear(5, 1))[1]  # noqa: E731
    right = gpu.accumulation_run(make(), micro, loss, 4, lr=0.01)
    wrong = gpu.accumulation_run(make(), micro, loss, 4, lr=0.01, zero_after_step=False)
    rows.append({"name": "accumulation without zero_grad: gradient norm ratio at step 4", "value":
                 round(wrong["grad_norms"][-1] / right["grad_norms"][-1], 2), "unit": "x",
                 "note": "vs the correct loop (4 micro-batches per step)"})
    rows += finetune.throughput_rows()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    from course_utils import finetune

    out = finetune.throughput_rows() if args.throughput else run()
    for r in out:
        print(f"{r['name']}: {r['value']} {r['unit']}  ({r['note']})", flush=True)
    print(f"{time.perf_counter() - start:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": out, "torch": torch.__version__,
                       "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}, f, indent=1)
