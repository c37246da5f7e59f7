"""Comparing the strategies on held-out speakers, and the throughput table of notebook 09."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import nn

from course_utils import metrics
from course_utils.evaluation import CachedEncoder
from course_utils.cloning.config import ClonerConfig, PAD, UNK
from course_utils.cloning.model import AcousticModel
from course_utils.cloning.evaluate import cloning_score
from course_utils.cloning.alignment import FinetuneError
from course_utils.finetune.tune import finetune

if TYPE_CHECKING:  # for type hints only: the cloner sits above this package (cloning.cloner)
    from course_utils.cloning.cloner import VoiceCloner


# ----------------------------------------------------------------------------------------------
# evaluation of strategies
# ----------------------------------------------------------------------------------------------

def heldout_data(corpus, n_finetune: int, n_own: int = 2):
    """Per speaker: the first ``n_finetune`` (wav, sr, text) for fine-tuning, the next ``n_own`` as own recordings
    (notebook 09)."""
    out = {}
    for spk, idx in corpus.by_speaker().items():
        if len(idx) < n_finetune + n_own:
            raise FinetuneError(f"speaker {spk} has {len(idx)} utterances; need {n_finetune + n_own}")
        take = lambda ids: [(*corpus.load(i), corpus.items[i].text) for i in ids]  # noqa: E731
        out[spk] = {"train": take(idx[:n_finetune]), "own": take(idx[n_finetune:n_finetune + n_own])}
    return out


def score_strategy(cloner: VoiceCloner, data: dict, strategy: str, steps: int | None = None,
                   texts: Sequence[str] | None = None, encoder=None, eval_every: int | None = None,
                   words: bool = False, **options) -> dict:
    """Fine-tune on each speaker of ``data`` (from :func:`heldout_data`) and compute the cloning score
    (notebook 09).

    Clones speak ``texts`` (default: two held-out prompts, never in the fine-tuning data), and are
    scored with :func:`cloning_score` against the speaker's fine-tuning recordings
    (references) and other recordings (own).  With ``eval_every``, the score is also computed
    every that many steps (``curve``: list of ``(step, score)``), which shows overfitting; ``seen``
    is the score on two texts of the fine-tuning data (a large gap to ``score`` = memorising).
    Returns ``{"score", "seen", "seconds" (mean fine-tuning time per speaker), "gv_scale" (mean
    post-filter scale), "curve", "details"}``; with ``words=True`` also ``"wer"``: Whisper's word
    error rate of the unseen-text clones (:func:`metrics.intelligibility`), the other half of a clone.
    """
    from course_utils import speaker as speaker_mod, voices

    texts = list(texts) if texts is not None else voices.prompts("heldout")[:2]
    encoder = encoder or speaker_mod.SpeakerEncoder.pretrained()
    if not isinstance(encoder, CachedEncoder):
        encoder = CachedEncoder(encoder)
    references = {s: [(w, r) for w, r, _ in d["train"]] for s, d in data.items()}
    own = {s: [(w, r) for w, r, _ in d["own"]] for s, d in data.items()}
    clones, seen, seconds, scales, snapshots = {}, {}, [], [], {}
    for spk, d in data.items():
        pairs = [(w, t) for w, _, t in d["train"]]
        sr = d["train"][0][1]
        snaps: dict[int, list] = {}

        def snapshot(step, tuned, snaps=snaps):
            if eval_every and (step + 1) % eval_every == 0:
                snaps[step + 1] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for t in texts]

        tuned = finetune(cloner, pairs, sr, steps=steps, strategy=strategy,
                         callback=snapshot if eval_every else None, **options)
        seconds.append(tuned.finetune_result.seconds + tuned.finetune_result.align_seconds)
        scales.append(tuned.gv_scale)
        clones[spk] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for t in texts]
        seen[spk] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for _, t in pairs[:2]]
        snapshots[spk] = snaps
    result = cloning_score(clones, references, own, encoder=encoder)
    curve = []
    if eval_every:
        steps_seen = sorted(set.intersection(*(set(s) for s in snapshots.values()))) if snapshots else []
        for k in steps_seen:
            curve.append((k, cloning_score({s: snapshots[s][k] for s in data}, references, own,
                                                   encoder=encoder).score))
    seen_score = cloning_score(seen, references, own, encoder=encoder).score
    scored = {"score": result.score, "seen": seen_score, "seconds": float(np.mean(seconds)),
              "gv_scale": float(np.mean(scales)), "curve": curve, "details": result}
    if words:
        scored["wer"] = metrics.intelligibility([(t, *clip) for spk in data for t, clip in zip(texts, clones[spk])]).wer
    return scored


def parameters_equal(a: nn.Module, b: nn.Module) -> bool:
    """True when two models have bit-identical parameters and buffers (same names) (notebook 09)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def state_fingerprint(model: nn.Module) -> str:
    """A SHA-256 of every parameter and buffer's bytes (to show that a model did not change) (notebooks 09, 10)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# throughput
# ----------------------------------------------------------------------------------------------

def _throughput_config():
    path = ClonerConfig.for_profile("quick").checkpoint_path()
    if path.exists():
        return ClonerConfig.from_dict(torch.load(path, map_location="cpu", weights_only=True)["config"])
    symbols = [PAD, UNK, "_"] + [f"s{i}" for i in range(190)]
    return ClonerConfig.for_profile("quick", symbols=symbols, speaker_dim=256)


def _batch(config, n: int = 8, seconds: float = 3.0, phonemes: int = 36, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    frames = int(seconds * config.sr / config.hop_length) + 1
    ids = torch.randint(3, len(config.symbols), (n, phonemes), generator=g)
    base = frames // phonemes
    durations = torch.full((n, phonemes), base)
    durations[:, -1] += frames - base * phonemes
    return {"ids": ids, "lengths": torch.full((n,), phonemes), "durations": durations,
            "mel": torch.randn(n, frames, config.n_mels, generator=g),
            "speaker": torch.nn.functional.normalize(torch.randn(n, config.speaker_dim, generator=g), dim=1)}


def throughput_rows(devices=None, repeats: int = 5) -> list[dict]:
    """Utterances per second of full fine-tuning steps of the quick model (3-s utterances), per device and
    precision (fp32, bf16, and fp16 + GradScaler on CUDA), plus pinned/pageable copy bandwidth on CUDA
    (notebook 09)."""
    from course_utils import gpu

    config = _throughput_config()
    devices = devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    rows = []
    for device in devices:
        precisions = ["fp32", "bf16"] + (["fp16"] if device == "cuda" else [])
        for precision in precisions:
            torch.manual_seed(0)
            model = AcousticModel(config).to(device).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            scaler = gpu.make_scaler(device, precision)
            host = _batch(config, n=32 if device == "cuda" else 8)
            if device == "cuda":
                host = {k: v.pin_memory() for k, v in host.items()}

            def step():
                batch = gpu.to_device(host, device)
                with gpu.autocast(device, precision):
                    loss, _ = model.loss(batch)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                return len(host["ids"])

            r = gpu.throughput(step, device, warmup=2, repeats=repeats)
            name = torch.cuda.get_device_name(0) if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
            rows.append({"name": f"fine-tuning throughput, {device} {precision}", "value": round(r["items_per_s"], 2),
                         "unit": "utt/s", "note": f"full fine-tuning steps of the quick model, batch "
                                                  f"{len(host['ids'])} x 3 s; {name}"})
    if torch.cuda.is_available():
        bw = gpu.copy_bandwidth(64)
        for k, v in bw.items():
            rows.append({"name": f"host-to-GPU copy, {k}", "value": round(v, 2), "unit": "GB/s",
                         "note": "64 MB tensor, best of 5"})
    return rows
