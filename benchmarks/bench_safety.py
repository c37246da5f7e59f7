"""Watermark of notebook 11 (``course_utils.safety``): inaudibility, robustness, false alarms, speed.

Measured over 48 utterances of 48 held-out course voices (espeak-ng, 22.05 kHz, held-out
prompts): the watermark-to-signal ratio, the detection rate after each everyday change in
``safety.robustness_attacks``, the false-alarm rate on the same changes applied to clean audio
and under other keys, the effect of trimming the start (with and without the alignment search), and
embedding/detection speed (x real time on this machine, best of 3).
Takes about 20 s on 2 CPU cores.
"""

from __future__ import annotations

import numpy as np

from course_utils import bench, safety, voices

N_UTTERANCES = 48
OTHER_KEYS = (1, 2, "someone else's key")


def _utterances() -> list[tuple[np.ndarray, int]]:
    specs = voices.speakers("heldout")[:N_UTTERANCES]
    texts = voices.prompts("heldout")
    return [(u.wav, u.sr) for u in (voices.synthesize(texts[i % len(texts)], spec)
                                    for i, spec in enumerate(specs))]


def _best_of(fn, repeat: int = 3) -> float:
    """Best seconds per call of ``fn``, no warm-up (``bench.measure``, notebook 03)."""
    return float(bench.measure(fn, repeat=repeat, number=1, warmup=0)[0].min())


def run() -> list[dict]:
    utts = _utterances()
    seconds = sum(w.size / sr for w, sr in utts)
    marked = [safety.embed_watermark(w, sr) for w, sr in utts]
    wsr = [safety.watermark_to_signal_db(w, m) for (w, _), m in zip(utts, marked)]
    hits: dict[str, list[float]] = {}
    alarms: dict[str, list[float]] = {}
    for i, ((w, sr), m) in enumerate(zip(utts, marked)):
        for name, y in safety.robustness_attacks(m, sr, seed=i).items():
            hits.setdefault(name, []).append(safety.detect_watermark(y, sr)[1])
        for name, y in safety.robustness_attacks(w, sr, seed=i).items():
            alarms.setdefault(name, []).append(safety.detect_watermark(y, sr)[1])
        noise = np.random.default_rng(1000 + i).standard_normal(m.size)
        noise *= np.sqrt(np.mean(m.astype(np.float64) ** 2) / np.mean(noise ** 2)) * 10 ** (-10 / 20)
        hits.setdefault("noise 10 dB SNR (beyond the spec)", []).append(
            safety.detect_watermark((m + noise).astype(np.float32), sr)[1])
        cut = m[int(0.1 * sr):]            # the first 0.1 s trimmed off
        hits.setdefault("start trimmed by 0.1 s, no search", []).append(safety.detect_watermark(cut, sr)[1])
        hits.setdefault("start trimmed by 0.1 s, search_s=1", []).append(
            safety.detect_watermark(cut, sr, search_s=1.0)[1])
        alarms.setdefault("start trimmed by 0.1 s, search_s=1", []).append(
            safety.detect_watermark(w[int(0.1 * sr):], sr, search_s=1.0)[1])
    other = [safety.detect_watermark(m, sr, key=k)[1] for (_, sr), m in zip(utts, marked) for k in OTHER_KEYS]
    where = f"{len(utts)} utterances, {len(utts)} held-out voices, {seconds:.0f} s at {utts[0][1]} Hz"
    rate = lambda scores: float(np.mean(np.asarray(scores) > safety.THRESHOLD))  # noqa: E731
    rows = [
        {"name": "watermark-to-signal ratio, min", "value": round(float(min(wsr)), 2), "unit": "dB",
         "note": f"mean {np.mean(wsr):.2f} dB; 30 dB required; {where}"},
    ]
    for name, scores in hits.items():
        clean = f"; false alarms on clean audio, same change: {100 * rate(alarms[name]):.1f} %" if name in alarms else ""
        rows.append({"name": f"detection: {name}", "value": round(100 * rate(scores), 1), "unit": "%",
                     "note": f"z-scores min {min(scores):.1f}, median {np.median(scores):.1f} "
                             f"(threshold {safety.THRESHOLD}){clean}"})
    all_alarms = [a for v in alarms.values() for a in v]
    rows += [
        {"name": "false alarms: clean audio", "value": round(100 * rate(all_alarms), 2), "unit": "%",
         "note": f"{len(all_alarms)} trials (every change above, unmarked audio), max z {max(all_alarms):.1f}; "
                 "2 % allowed"},
        {"name": "false alarms: other key", "value": round(100 * rate(other), 2), "unit": "%",
         "note": f"{len(other)} trials ({len(OTHER_KEYS)} other keys on marked audio), max z {max(other):.1f}, "
                 f"std {np.std(other):.2f} (1 expected)"},
    ]
    sample = utts[:8]
    sample_seconds = sum(w.size / sr for w, sr in sample)
    t_embed = _best_of(lambda: [safety.embed_watermark(w, sr) for w, sr in sample])
    t_detect = _best_of(lambda: [safety.detect_watermark(w, sr) for w, sr in sample])
    t_search = _best_of(lambda: [safety.detect_watermark(w, sr, search_s=1.0) for w, sr in sample])
    rows += [
        {"name": "embed speed", "value": round(sample_seconds / t_embed), "unit": "x real time",
         "note": f"{sample_seconds:.0f} s of 22.05 kHz audio, best of 3, NumPy/SciPy on CPU"},
        {"name": "detect speed", "value": round(sample_seconds / t_detect), "unit": "x real time",
         "note": f"{sample_seconds:.0f} s of 22.05 kHz audio, best of 3"},
        {"name": "detect speed, search_s=1", "value": round(sample_seconds / t_search), "unit": "x real time",
         "note": "tries 804 alignments"},
    ]
    return rows
