"""Benchmarks of the evaluation metrics of notebook 10 (``course_utils.metrics``).

``run()`` measures, on espeak-ng clips of about 3 s at 22.05 kHz: how fast MCD (with and without
DTW), DNSMOS and the pretrained speaker encoder (SECS) run, as multiples of real time, and two
values that notebook 10 relies on: the MCD of a slower copy of the same voice with and without
alignment (the pitfall of unaligned MCD), and the SECS of the same voice against another voice.
Speeds are medians of a few repeats in this run; takes about 20-40 s on 2 busy CPU cores.
"""

from __future__ import annotations

import numpy as np

from course_utils import bench, metrics, voices

TEXT = "Please call Stella and ask her to bring these things with her from the store."
REPEATS = 3


def _median_seconds(fn, repeats: int = REPEATS) -> float:
    """Median seconds per call of ``fn``, after one warm-up call (imports, filterbanks, ONNX sessions,
    encoder weights); ``bench.measure``, notebook 03."""
    return float(np.median(bench.measure(fn, repeat=repeats, number=1)[0]))


def run() -> list[dict]:
    ref = voices.synthesize(TEXT, voices.VoiceSpec(variant="m3"))
    slow = voices.synthesize(TEXT, voices.VoiceSpec(variant="m3", rate=140))
    other = voices.synthesize(TEXT, voices.VoiceSpec(variant="f2", pitch=70))
    sr, seconds = ref.sr, ref.wav.size / ref.sr
    pair = f"{seconds:.1f} s vs {slow.wav.size / sr:.1f} s at {sr} Hz"
    frames = (1 + ref.wav.size // metrics.mcd_config(sr).hop_length, 1 + slow.wav.size // metrics.mcd_config(sr).hop_length)

    t_dtw = _median_seconds(lambda: metrics.mcd_dtw(ref.wav, slow.wav, sr))
    t_plain = _median_seconds(lambda: metrics.mcd_plain(ref.wav, slow.wav, sr))
    cost = np.random.default_rng(0).random(frames)
    t_path = _median_seconds(lambda: metrics.dtw_path(cost))
    t_dnsmos = _median_seconds(lambda: metrics.dnsmos(ref.wav, sr))
    long = np.tile(ref.wav, int(np.ceil(20 / seconds)))
    t_dnsmos_long = _median_seconds(lambda: metrics.dnsmos(long, sr), repeats=1)
    encoder = metrics.similarity._pretrained_encoder()
    t_secs = _median_seconds(lambda: encoder.embed_utterance(ref.wav, sr))

    aligned, plain = metrics.mcd_dtw(ref.wav, slow.wav, sr), metrics.mcd_plain(ref.wav, slow.wav, sr)
    between = metrics.mcd_dtw(ref.wav, other.wav, sr)
    same = metrics.secs((ref.wav, sr), (slow.wav, sr))
    diff = metrics.secs((ref.wav, sr), (other.wav, sr))
    settings = f"{metrics.MCD_ORDER} mel cepstra (c0 excluded), {metrics.MCD_WINDOW_MS:g}/{metrics.MCD_HOP_MS:g} ms"
    return [
        {"name": "mcd_dtw speed", "value": round(seconds / t_dtw, 1), "unit": "x real time",
         "note": f"{pair}, {frames[0]}x{frames[1]} frames, {t_dtw * 1000:.0f} ms per pair"},
        {"name": "mcd_plain speed", "value": round(seconds / t_plain, 1), "unit": "x real time",
         "note": f"same pair, no alignment, {t_plain * 1000:.0f} ms"},
        {"name": "dtw_path share of mcd_dtw", "value": round(t_path / t_dtw, 2), "unit": "",
         "note": f"anti-diagonal NumPy DTW, {t_path * 1000:.0f} ms for {frames[0]}x{frames[1]}"},
        {"name": "dnsmos speed, short clip", "value": round(seconds / t_dnsmos, 2), "unit": "x real time",
         "note": f"{seconds:.1f} s clip (DNSMOS repeats it to 9.01 s), resampling included"},
        {"name": "dnsmos speed, 20 s clip", "value": round(long.size / sr / t_dnsmos_long, 2),
         "unit": "x real time", "note": "9 s windows 1 s apart, onnxruntime on CPU, one run"},
        {"name": "secs embedding speed", "value": round(seconds / t_secs, 1), "unit": "x real time",
         "note": f"{metrics.PRETRAINED_ENCODER}, one {seconds:.1f} s utterance, CPU"},
        {"name": "mcd same voice, slower rate: with DTW", "value": round(aligned, 2), "unit": "dB",
         "note": f"espeak m3 at 175 vs 140 wpm; {settings}"},
        {"name": "mcd same voice, slower rate: no alignment", "value": round(plain, 2), "unit": "dB",
         "note": "mcd_plain of the same pair: timing counted as distortion"},
        {"name": "mcd other voice, with DTW", "value": round(between, 2), "unit": "dB",
         "note": "espeak m3 vs f2 (pitch 70), same text"},
        {"name": "secs same voice, slower rate", "value": round(float(same), 3), "unit": "",
         "note": f"cosine similarity, {same.encoder}"},
        {"name": "secs other voice", "value": round(float(diff), 3), "unit": "",
         "note": "espeak m3 vs f2 (pitch 70), same encoder"},
    ]
