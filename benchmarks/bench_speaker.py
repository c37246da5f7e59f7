"""Speaker encoders (notebook 07): pretrained parity and the LSTM-vs-TDNN cost trade-off.

Measures, on this machine: the cosine between the course's reimplementation of the pretrained
GE2E encoder and the reference ``resemblyzer`` package on espeak utterances; the time of one
GE2E training step and of embedding an utterance, for the quick-profile LSTM (the GE2E paper's
architecture) and TDNN (statistics pooling) encoders; and, when notebook 07 has saved the course
encoder, its recorded training time. Best of two, after a warm-up. Well under 60 s on 2 cores.
"""

from __future__ import annotations

import torch

from course_utils import bench, speaker, voices

REPEATS = 2


def _best(fn, repeats: int = REPEATS) -> float:
    """Best seconds per call of ``fn``, after one warm-up call (``bench.measure``, notebook 03)."""
    return float(bench.measure(fn, repeat=repeats, number=1)[0].min())


def _utterances() -> list:
    specs = voices.speakers("heldout")[:2]
    texts = ["The quick brown fox jumps over the lazy dog.", "She sells seashells by the seashore every summer."]
    return [voices.synthesize(t, s) for s, t in zip(specs, texts)]


def run() -> list[dict]:
    """Measurements as ``{name, value, unit, note}`` dicts."""
    torch.manual_seed(0)
    out = []
    utts = _utterances()
    pretrained = speaker.SpeakerEncoder.pretrained()
    resemblyzer = speaker.import_resemblyzer()
    reference = resemblyzer.VoiceEncoder(device="cpu", verbose=False)
    cosines = [float(pretrained.embed_utterance(u.wav, u.sr)
                     @ reference.embed_utterance(resemblyzer.preprocess_wav(u.wav, u.sr))) for u in utts]
    out.append({"name": "pretrained parity: min cosine course vs resemblyzer", "value": min(cosines), "unit": "",
                "note": f"{len(utts)} espeak utterances; target > 0.99"})

    wav16 = speaker.preprocess(utts[0].wav, utts[0].sr)
    seconds = len(wav16) / speaker.SAMPLE_RATE
    t = _best(lambda: pretrained.embed_utterance(wav16, speaker.SAMPLE_RATE, preprocessed=True))
    out.append({"name": "pretrained LSTM 3x256: embed 1 s of speech", "value": 1000 * t / seconds, "unit": "ms",
                "note": "partial 1.6 s windows, CPU"})

    for arch in ("lstm", "tdnn"):
        config = speaker.TrainConfig.for_profile("quick", arch)
        model = speaker.SpeakerEncoder(config.model)
        loss_fn = speaker.GE2ELoss()
        optimiser = torch.optim.Adam(list(model.parameters()) + list(loss_fn.parameters()), lr=1e-3)
        n, m = config.speakers_per_batch, config.utterances_per_speaker
        batch = torch.randn(n * m, config.crop_frames, speaker.N_MELS)

        def step():
            loss = loss_fn(model(batch).reshape(n, m, -1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        model.train()
        out.append({"name": f"quick {arch}: one GE2E training step", "value": _best(step), "unit": "s",
                    "note": f"{n} speakers x {m} windows of {config.crop_frames} frames, "
                            f"{sum(p.numel() for p in model.parameters()):,} parameters"})
        model.eval()
        t = _best(lambda: model.embed_utterance(wav16, speaker.SAMPLE_RATE, preprocessed=True))
        out.append({"name": f"quick {arch}: embed 1 s of speech", "value": 1000 * t / seconds, "unit": "ms",
                    "note": "whole utterance" if config.model.whole_utterance else "partial windows"})

    path = speaker.checkpoint_path("quick")
    if path.exists():
        meta = torch.load(path, weights_only=True)["meta"]
        out.append({"name": "quick course encoder: recorded training time", "value": float(meta["seconds"]),
                    "unit": "s", "note": f"{speaker.COURSE_ARCH['quick']}, as saved by notebook 07 (other load "
                                         "on the machine counts too)"})
    return out
