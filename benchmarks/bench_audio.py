"""Batched log-mel features (``audio.log_mel_batch``) against a per-file librosa loop.

Both sides compute the same numbers (the parity is measured too) for the same synthetic
utterances of 1-4 s; the speed-up is the ratio of the two wall-clock times measured in this
run, best of five (interleaved), so it says how much batching helps on this machine (CPU, and CUDA when
there is a GPU).  Takes well under 30 s on 2 CPU cores.
"""

from __future__ import annotations


import librosa
import numpy as np
import torch

from course_utils import audio, bench

N_FILES = 48
REPEATS = 5


def _utterances(sr: int, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    wavs = []
    for _ in range(n):
        seconds = rng.uniform(1.0, 4.0)
        t = np.arange(int(seconds * sr)) / sr
        f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
        wavs.append((0.1 * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return wavs


def _best(*fns) -> list[float]:
    """Best-of-REPEATS time of each function (``bench.compare``, interleaved so load changes hit all)."""
    table = bench.compare({str(i): fn for i, fn in enumerate(fns)}, repeat=REPEATS, number=1)
    return [float(table.loc[table["case"] == str(i), "seconds"].min()) for i in range(len(fns))]


def _librosa_loop(wavs, cfg):
    kwargs = cfg.librosa_kwargs()
    return [np.log(np.maximum(librosa.feature.melspectrogram(y=w, **kwargs), cfg.log_floor))
            for w in wavs]


def run() -> list[dict]:
    rows = []
    for name in ("speaker_encoder", "synthesizer"):
        cfg = audio.preset(name)
        wavs = _utterances(cfg.sr, N_FILES)
        seconds_audio = sum(w.size for w in wavs) / cfg.sr
        ref = _librosa_loop(wavs, cfg)
        feats, lengths = audio.log_mel_batch(wavs, cfg, device="cpu")
        error = max(float(np.abs(a - b).max()) for a, b in zip(audio.unbatch(feats, lengths), ref))
        t_librosa, t_batch = _best(lambda: _librosa_loop(wavs, cfg),
                                   lambda: audio.log_mel_batch(wavs, cfg, device="cpu"))
        where = f"{N_FILES} files, {seconds_audio:.0f} s of audio at {cfg.sr} Hz, {cfg.n_mels} mels"
        rows += [
            {"name": f"{name}: librosa loop", "value": round(seconds_audio / t_librosa), "unit": "x real time",
             "note": where},
            {"name": f"{name}: batched, cpu", "value": round(seconds_audio / t_batch), "unit": "x real time",
             "note": f"{torch.get_num_threads()} torch threads"},
            {"name": f"{name}: speed-up batched cpu / librosa", "value": round(t_librosa / t_batch, 2),
             "unit": "x", "note": "ratio of wall-clock times in this run, best of 5, interleaved"},
            {"name": f"{name}: max |log-mel - librosa|", "value": float(f"{error:.2g}"), "unit": "",
             "note": "natural-log units, float32"},
        ]
        if torch.cuda.is_available():
            audio.log_mel_batch(wavs, cfg, device="cuda")  # warm-up: kernels, filterbank on the GPU

            def on_gpu():
                audio.log_mel_batch(wavs, cfg, device="cuda")
                torch.cuda.synchronize()

            (t_gpu,) = _best(on_gpu)
            rows.append({"name": f"{name}: speed-up batched cuda / librosa",
                         "value": round(t_librosa / t_gpu, 2), "unit": "x",
                         "note": f"{torch.cuda.get_device_name(0)}, includes host-to-device copies"})
    return rows
