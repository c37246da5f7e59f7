"""Mel-cepstral distortion with and without DTW alignment (notebook 10)."""

from __future__ import annotations

import math as _math

import numpy as np

from course_utils.metrics.similarity import _is_wav_pair


#: Cepstral order and frame settings of :func:`mcd_dtw` / :func:`mcd_plain`: coefficients
#: c1..c24 (c0, the energy, is excluded), 25 ms Hann window, 5 ms hop, 40 mel bands over 0..sr/2.
MCD_ORDER = 24
MCD_WINDOW_MS = 25.0
MCD_HOP_MS = 5.0
MCD_N_MELS = 40
#: Largest DTW matrix of :func:`mcd_dtw` (frames x frames): two float64 matrices of ~130 MB.
MAX_DTW_CELLS = 16_000_000
_MCD_FLOOR = 1e-10  # mel power floor (-100 dB): digital silence stays finite
_MCD_K = 10.0 / _math.log(10.0)  # ~4.3429 dB per neper

# ------------------------------------------------------------------------ mel-cepstral distortion


def _wav_and_rate(x, sr, what: str) -> tuple[np.ndarray, int]:
    from course_utils import audio

    if _is_wav_pair(x):
        wav, own = x
        own = int(own)
        if sr is not None and int(sr) != own:
            raise ValueError(f"{what} comes at {own} Hz but sr={sr}: resample with audio.resample first")
        sr = own
    else:
        wav = x
    if sr is None:
        raise ValueError(f"{what}: the sample rate is missing: pass sr=... or a (wav, sr) pair")
    try:
        wav = audio.check_wav(wav, sr, name=what)
    except audio.AudioError as exc:
        raise ValueError(str(exc)) from None
    if wav.size < int(sr * MCD_WINDOW_MS / 1000):
        raise ValueError(f"{what}: too short ({wav.size} samples): at least one {MCD_WINDOW_MS:g} ms "
                         "frame is needed")
    return wav, int(sr)


def _pair(ref_wav, syn_wav, sr) -> tuple[np.ndarray, np.ndarray, int]:
    ref, r_sr = _wav_and_rate(ref_wav, sr, "ref_wav")
    syn, s_sr = _wav_and_rate(syn_wav, sr, "syn_wav")
    if r_sr != s_sr:
        raise ValueError(f"ref_wav is at {r_sr} Hz and syn_wav at {s_sr} Hz: resample one of them "
                         "(audio.resample) so that both share a rate")
    return ref, syn, r_sr


def mcd_config(sr: int, n_mels: int = MCD_N_MELS):
    """The ``audio.FeatureConfig`` of the MCD analysis at ``sr``: 25 ms Hann window, 5 ms hop.

    ``n_fft`` is the next power of two above the window; mel power spectrum over 0..sr/2
    (used by metrics.mel_cepstrum).
    """
    from course_utils import audio

    win = int(round(sr * MCD_WINDOW_MS / 1000))
    hop = int(round(sr * MCD_HOP_MS / 1000))
    n_fft = 1 << (win - 1).bit_length()
    return audio.FeatureConfig(sr=sr, n_fft=n_fft, hop_length=hop, win_length=win, n_mels=n_mels,
                               power=2.0, trim=None, loudness_dbfs=None, log_floor=_MCD_FLOOR)


def mel_cepstrum(wav: np.ndarray, sr: int, order: int = MCD_ORDER, n_mels: int = MCD_N_MELS) -> np.ndarray:
    """Mel cepstra ``(frames, order + 1)``, c0..c_order, of a waveform (notebook 10).

    MFCC-style analysis with :func:`mcd_config` frames: natural log of the mel *amplitude*
    spectrum, then a DCT-II scaled so that ``log|X(w)| = c0 + 2 * sum_n c_n cos(n w)`` on the
    mel-warped axis: the cepstral convention the MCD formula assumes (as with SPTK's ``mcep``).
    """
    from scipy.fft import dct

    from course_utils import audio

    if not 1 <= order < n_mels:
        raise ValueError(f"order must be between 1 and n_mels - 1 = {n_mels - 1}, got {order}")
    wav, sr = _wav_and_rate(wav, sr, "wav")
    mel = audio.mel_spectrogram(wav, mcd_config(sr, n_mels)).astype(np.float64)  # (n_mels, frames)
    log_amp = 0.5 * np.log(np.maximum(mel, _MCD_FLOOR))
    return (dct(log_amp, type=2, axis=0)[: order + 1] / (2 * n_mels)).T


def _frame_mcd(c_ref: np.ndarray, c_syn: np.ndarray) -> np.ndarray:
    """Per-frame MCD in dB of paired frames (c1.. only)."""
    diff = c_ref[:, 1:] - c_syn[:, 1:]
    return _MCD_K * np.sqrt(2.0 * np.sum(diff * diff, axis=1))


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost monotonic alignment of a ``(n, m)`` local cost matrix (notebook 10).

    Steps (1, 0), (0, 1) and (1, 1), each adding the local cost of the cell it lands on; the path
    runs from (0, 0) to (n - 1, m - 1). Returns an ``(L, 2)`` array of index pairs. The
    accumulated cost is computed one anti-diagonal at a time (vectorised NumPy).
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.size == 0:
        raise ValueError(f"cost must be a non-empty 2-D matrix, got shape {cost.shape}")
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost contains NaN or infinite values")
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for d in range(2, n + m + 1):  # cells (i, j) with i + j = d, 1-based
        i = np.arange(max(1, d - m), min(n, d - 1) + 1)
        j = d - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = cost[i - 1, j - 1] + best
    path = [(n - 1, m - 1)]
    i, j = n, m
    while (i, j) != (1, 1):
        if i == 1:
            j -= 1
        elif j == 1:
            i -= 1
        else:
            k = int(np.argmin((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])))
            i, j = (i - 1, j - 1) if k == 0 else ((i - 1, j) if k == 1 else (i, j - 1))
        path.append((i - 1, j - 1))
    return np.asarray(path[::-1], dtype=np.int64)


def mcd_dtw(ref_wav, syn_wav, sr: int | None = None, *, order: int = MCD_ORDER,
            return_path: bool = False):
    """Mel-cepstral distortion in dB after DTW alignment, the standard MCD (notebook 10).

    Both signals are analysed with :func:`mel_cepstrum` (``order`` = 24 coefficients c1..c24,
    c0 excluded; 25 ms window, 5 ms hop at the given rate, 16 or 22.05 kHz typically), aligned
    with :func:`dtw_path` on the Euclidean distance of c1..c24, and the per-frame distortion
    ``(10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d) ** 2)`` is averaged over the aligned path.
    ``ref_wav`` / ``syn_wav`` are 1-D arrays at ``sr`` or ``(wav, sr)`` pairs; different rates
    raise ``ValueError``, and so do clips longer than about 20 s each (the DTW matrices grow with
    the product of the lengths). 0 means identical spectral envelopes; lower is better. Returns a
    float, or ``(mcd, path)`` with ``return_path=True``.
    """
    ref, syn, sr = _pair(ref_wav, syn_wav, sr)
    c_ref, c_syn = mel_cepstrum(ref, sr, order), mel_cepstrum(syn, sr, order)
    if len(c_ref) * len(c_syn) > MAX_DTW_CELLS:
        raise ValueError(f"{len(c_ref)} x {len(c_syn)} frames is too long for DTW (memory grows with the "
                         "product): compare sentence-length clips (up to about 20 s each)")
    a, b = c_ref[:, 1:], c_syn[:, 1:]
    sq = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T
    path = dtw_path(np.sqrt(np.maximum(sq, 0.0)))
    value = float(np.mean(_frame_mcd(c_ref[path[:, 0]], c_syn[path[:, 1]])))
    return (value, path) if return_path else value


def mcd_plain(ref_wav, syn_wav, sr: int | None = None, *, order: int = MCD_ORDER) -> float:
    """MCD without alignment: frame t against frame t, truncated to the shorter signal (notebook 10).

    The pitfall variant, for comparison with :func:`mcd_dtw`: any difference in timing (a slower
    speaking rate, a longer pause) is counted as spectral distortion. Same analysis and units.
    """
    ref, syn, sr = _pair(ref_wav, syn_wav, sr)
    c_ref, c_syn = mel_cepstrum(ref, sr, order), mel_cepstrum(syn, sr, order)
    n = min(len(c_ref), len(c_syn))
    return float(np.mean(_frame_mcd(c_ref[:n], c_syn[:n])))


