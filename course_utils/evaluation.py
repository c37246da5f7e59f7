"""Helpers of the evaluation notebook that are not metrics: degraded references and cached embeddings.

Introduced in ``10_evaluation.ipynb`` (the metrics themselves live in :mod:`course_utils.metrics`)::

    from course_utils import evaluation
    noisy = evaluation.mix_at_snr(wav, evaluation.white_noise(len(wav), seed=0), snr_db=10)
    wet = evaluation.reverberate(wav, sr, rt60=0.6, seed=0)
    judge = evaluation.CachedEncoder(speaker.SpeakerEncoder.pretrained(), "pretrained GE2E")
"""

from __future__ import annotations

import hashlib

import numpy as np


def _as_float(wav, what: str) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D waveform, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return x


def white_noise(n_samples: int, seed: int = 0) -> np.ndarray:
    """Seeded Gaussian white noise of unit variance, float32 (notebook 10)."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    return np.random.default_rng(seed).standard_normal(int(n_samples)).astype(np.float32)


def mix_at_snr(clean, noise, snr_db: float) -> np.ndarray:
    """``clean`` plus ``noise`` scaled so that the signal-to-noise ratio is ``snr_db`` dB (notebook 10).

    SNR = 10 log10(mean(clean^2) / mean(scaled_noise^2)), both powers over the clean signal's
    length. A shorter noise is repeated, a longer one cut. Returns float32 (not clipped: loud
    mixtures may exceed [-1, 1]; normalise before saving).
    """
    x, n = _as_float(clean, "clean"), _as_float(noise, "noise")
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of dB, got {snr_db}")
    n = np.resize(n, x.size)  # repeats a short noise, cuts a long one
    p_clean, p_noise = np.mean(x * x), np.mean(n * n)
    if p_clean == 0:
        raise ValueError("clean is silent: an SNR needs signal power")
    if p_noise == 0:
        raise ValueError("noise is silent: an SNR needs noise power")
    gain = np.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (x + gain * n).astype(np.float32)


def room_impulse_response(sr: int, rt60: float = 0.6, seed: int = 0) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then exponentially decaying noise.

    The tail's energy falls by 60 dB in ``rt60`` seconds (the reverberation time); it starts
    2.5 ms after the direct path, lasts ``rt60`` seconds and carries as much energy as the
    direct path (a direct-to-reverberant ratio of 0 dB). Normalised to unit energy
    (used by evaluation.reverberate).
    """
    if sr < 1 or not 0.05 <= rt60 <= 3.0:
        raise ValueError(f"need sr >= 1 and rt60 between 0.05 and 3 s, got sr={sr}, rt60={rt60}")
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = np.random.default_rng(seed).standard_normal(n) * 10.0 ** (-3.0 * t / rt60)  # -60 dB at rt60
    gap = int(0.0025 * sr)
    h = np.zeros(gap + n)
    h[0] = 1.0
    h[gap:] += tail / np.linalg.norm(tail)
    return (h / np.linalg.norm(h)).astype(np.float32)


def reverberate(wav, sr: int, rt60: float = 0.6, seed: int = 0) -> np.ndarray:
    """``wav`` as heard in a room of reverberation time ``rt60`` s (notebook 10).

    Convolves with :func:`room_impulse_response`, keeps the original length (the tail that
    rings past the end is cut) and the original RMS level. Returns float32.
    """
    from scipy.signal import fftconvolve

    x = _as_float(wav, "wav")
    wet = fftconvolve(x, room_impulse_response(sr, rt60, seed).astype(np.float64))[: x.size]
    rms_in, rms_out = np.sqrt(np.mean(x * x)), np.sqrt(np.mean(wet * wet))
    return (wet * (rms_in / rms_out if rms_out > 0 else 1.0)).astype(np.float32)


class CachedEncoder:
    """A speaker encoder that remembers every embedding it computed, and has a ``name`` (notebook 10).

    ``embed_utterance(wav, sr)`` returns the wrapped encoder's embedding, computed once per
    distinct ``(wav, sr)`` (keyed by a hash of the samples), so that several scores over the
    same audio (cloning score, verification, tables; notebook 09's score-against-steps curves)
    embed it only once. ``metrics.secs`` and tables show ``name`` (by default the encoder's own
    ``name``, else its class name).
    """

    def __init__(self, encoder, name: str | None = None):
        if not hasattr(encoder, "embed_utterance"):
            raise TypeError(f"encoder must have embed_utterance(wav, sr), got {type(encoder).__name__}")
        if name is None:
            name = getattr(encoder, "name", None) or type(encoder).__name__
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must say which encoder this is, e.g. 'pretrained GE2E (resemblyzer wheel)'")
        self.encoder, self.name = encoder, name
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    @staticmethod
    def _key(wav, sr: int) -> tuple[str, int]:
        data = np.ascontiguousarray(wav, dtype=np.float32)
        return hashlib.sha1(data.tobytes()).hexdigest() + f":{data.size}", int(sr)

    def embed_utterance(self, wav, sr: int) -> np.ndarray:
        """Unit-norm embedding of one utterance (cached)."""
        key = self._key(wav, sr)
        if key not in self._cache:
            self._cache[key] = np.asarray(self.encoder.embed_utterance(wav, int(sr)), dtype=np.float32)
        return self._cache[key].copy()

    def embed_utterances(self, wavs, sr: int) -> np.ndarray:
        """(N, D) embeddings of N utterances at one sample rate (cached one by one)."""
        return np.stack([self.embed_utterance(w, sr) for w in wavs])

    def __len__(self) -> int:
        return len(self._cache)

    def __repr__(self) -> str:
        return f"CachedEncoder({self.name!r}, {len(self._cache)} embeddings cached)"


__all__ = ["white_noise", "mix_at_snr", "room_impulse_response", "reverberate", "CachedEncoder"]
