"""An inaudible, keyed spread-spectrum watermark: embed, detect, attack
(notebook 11; how it works: the package docstring)."""

from __future__ import annotations

import hashlib


import numpy as np
from scipy.signal import convolve2d

from course_utils import audio

#: Key of the course's cloner output (``cloning.VoiceCloner.synthesize`` marks with it).
DEFAULT_KEY = "cloning-in-python"
#: Watermark energy this many dB below the signal's (the issue asks for at least 30).
WSR_DB = 31.0
#: The mark is made and looked for at 16 kHz (other rates go through audio.resample).
WORK_SR = 16000
#: Frame hop in seconds (the window is two hops, 20 ms, with 50 % overlap).
HOP_S = 0.01
#: Watermarked band and tile width, in Hz: below 16 kHz audio's Nyquist frequency.
LOW_HZ, HIGH_HZ, BAND_HZ = 200.0, 7000.0, 100.0
#: Detection threshold on the z-score (a standard normal exceeds it 3 times in 100 000).
THRESHOLD = 4.0
#: Shortest clip that can carry (and be tested for) a mark, in seconds.
MIN_SECONDS = 0.5
#: Lowest sample rate: the band must fit below Nyquist.
MIN_SR = 16000
#: Largest change of a tile's amplitude (+-20 %, about 1.6 dB).
MAX_ALPHA = 0.2
#: How much more (relative) mark quiet tiles get: gain ~ (tile energy)^-SHAPING.
SHAPING = 0.35


# --------------------------------------------------------------------------- watermark


def _check_audio(wav: object, sr: object, what: str) -> tuple[np.ndarray, int]:
    """Float mono audio at ``MIN_SR`` Hz or more, at least ``MIN_SECONDS`` long (:func:`audio.check_wav`)."""
    wav = audio.check_wav(wav, sr, name=what, min_sr=MIN_SR, floats_only=True)
    sr = int(sr)
    if wav.size < MIN_SECONDS * sr:
        raise audio.AudioError(f"{what}: {wav.size / sr:.2f} s is too short to carry a watermark; "
                               f"give at least {MIN_SECONDS:g} s")
    return wav, sr


def canonical_key(key: int | str) -> str:
    """The one form of a watermark key: its text, so ``123``, ``"123"`` and ``np.int64(123)`` are one key
    (used by safety.embed_watermark, safety.detect_watermark).

    Integers (Python's or NumPy's) become their decimal digits, strings (``str``, ``np.str_``)
    stay as they are; anything else (a float, a bool, bytes, None) raises ``ValueError``.
    """
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer, str)):
        raise ValueError(f"key must be an int or a str (the same key either way: 123 is '123'), "
                         f"got {type(key).__name__}")
    return str(int(key)) if isinstance(key, (int, np.integer)) else str(key)


def _key_seed(key: int | str) -> int:
    digest = hashlib.sha256(f"str:{canonical_key(key)}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _pattern(key: int | str, n_frames: int, n_bands: int) -> np.ndarray:
    """+-1 pattern of shape (frames, bands); a prefix of a longer one for the same key."""
    rng = np.random.default_rng(_key_seed(key))
    return np.where(rng.random((n_frames, n_bands)) < 0.5, -1.0, 1.0)


def _to_work(x: np.ndarray, sr: int) -> np.ndarray:
    """Resample to the working rate with :func:`audio.resample` (the mark lives below 7 kHz)."""
    return x if sr == WORK_SR else audio.resample(x, sr, WORK_SR).astype(np.float64)


def _from_work(x: np.ndarray, sr: int, length: int) -> np.ndarray:
    y = x if sr == WORK_SR else audio.resample(x, WORK_SR, sr).astype(np.float64)
    return np.pad(y, (0, max(0, length - y.size)))[:length]


_HOP = int(round(HOP_S * WORK_SR))
_BIN_HZ = WORK_SR / (2 * _HOP)
_BAND = np.floor((np.arange(_HOP + 1) * _BIN_HZ - LOW_HZ) / BAND_HZ).astype(int)
_BAND[(np.arange(_HOP + 1) * _BIN_HZ < LOW_HZ) | (np.arange(_HOP + 1) * _BIN_HZ >= HIGH_HZ)] = -1
_INSIDE = _BAND >= 0
N_BANDS = int(_BAND.max()) + 1
_WINDOW = np.sqrt(0.5 - 0.5 * np.cos(np.pi * np.arange(2 * _HOP) / _HOP))  # periodic sqrt-Hann


def _stft(x: np.ndarray) -> np.ndarray:
    """Spectra (frames, bins) of x padded by one hop on each side; frame t starts at (t-1)*hop."""
    n_frames = -(-x.size // _HOP) + 1
    padded = np.zeros((n_frames + 1) * _HOP)
    padded[_HOP:_HOP + x.size] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, 2 * _HOP)[::_HOP][:n_frames]
    return np.fft.rfft(frames * _WINDOW, axis=1)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`_stft` (sqrt-Hann at 50 % overlap reconstructs exactly)."""
    frames = np.fft.irfft(spec, n=2 * _HOP, axis=1) * _WINDOW
    out = np.zeros((spec.shape[0] + 1) * _HOP)
    out[:spec.shape[0] * _HOP] += frames[:, :_HOP].reshape(-1)
    out[_HOP:] += frames[:, _HOP:].reshape(-1)
    return out[_HOP:_HOP + length]


def _tile_energy(spec: np.ndarray) -> np.ndarray:
    """Energy of every (frame, band) tile."""
    energy = np.zeros((spec.shape[0], N_BANDS))
    np.add.at(energy.T, _BAND[_INSIDE], (np.abs(spec[:, _INSIDE]) ** 2).T)
    return energy


def embed_watermark(wav: np.ndarray, sr: int, key: int | str = DEFAULT_KEY) -> np.ndarray:
    """Return ``wav`` with an inaudible watermark for ``key``: float32, same length (notebook 11).

    The mark is at least ``WSR_DB`` dB below the signal, changes no tile by more than
    ``MAX_ALPHA`` of its amplitude, follows the signal's envelope between ``LOW_HZ`` and
    ``HIGH_HZ`` and is deterministic: the same audio and key give the same output. Raises
    ``ValueError`` on empty, non-finite, stereo or integer audio, on clips shorter than
    ``MIN_SECONDS`` and on audio that is silent in the watermark band.
    """
    x, sr = _check_audio(wav, sr, "embed_watermark")
    x64 = x.astype(np.float64)
    work = _to_work(x64, sr)
    spec = _stft(work)
    energy = _tile_energy(spec)
    signal_energy = float(np.sum(x64 ** 2))
    if signal_energy <= 0 or not np.any(energy > 1e-12 * signal_energy):
        raise ValueError("embed_watermark: the audio is silent between "
                         f"{LOW_HZ:.0f} and {HIGH_HZ:.0f} Hz, so there is nothing to carry a watermark")
    ref = float(np.percentile(energy[energy > 0], 90))
    shaping = (np.maximum(energy, 1e-12 * ref) / ref) ** -SHAPING   # quieter tiles: relatively more
    signs = _pattern(key, spec.shape[0], N_BANDS)
    target = 10 ** (-WSR_DB / 20) * np.sqrt(signal_energy)
    rate_ratio = np.sqrt(sr / WORK_SR)      # a band-limited signal's energy grows with the rate
    scale, gains = 0.01, np.zeros(spec.shape)
    for _ in range(4):   # scale to the WSR target; tiles that would exceed MAX_ALPHA are capped
        gains[:, _INSIDE] = (signs * np.minimum(scale * shaping, MAX_ALPHA))[:, _BAND[_INSIDE]]
        norm = float(np.sqrt(np.sum(_istft(spec * gains, work.size) ** 2))) * rate_ratio
        if norm == 0.0:
            raise ValueError("embed_watermark: the audio is silent between "
                             f"{LOW_HZ:.0f} and {HIGH_HZ:.0f} Hz, so there is nothing to carry a watermark")
        scale *= target / norm
    mark = _from_work(_istft(spec * gains, work.size), sr, x.size)
    norm = float(np.sqrt(np.sum(mark ** 2)))
    if norm > target:
        mark *= target / norm                # never louder than the target
    return (x64 + mark).astype(np.float32)


_HIGHPASS = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]) / 4.0


def _evidence(work: np.ndarray) -> np.ndarray:
    """Per-tile evidence g: the score for a pattern p is <p, g> / ||g|| (16 kHz audio in)."""
    energy = _tile_energy(_stft(work))
    log_e = np.log(energy + 1e-12 + 1e-9 * float(energy.max()))
    residual = convolve2d(log_e, _HIGHPASS, mode="same")          # remove the speech envelope
    weight = np.clip(log_e - np.percentile(log_e, 10), 0.0, 3.0)  # silence carries no mark
    # <H(pattern), weight * H(log_e)> = <pattern, H(weight * H(log_e))> because the
    # zero-padded high-pass H is symmetric; with random +-1 signs its variance is ||g||^2.
    return convolve2d(weight * residual, _HIGHPASS, mode="same")


def _aligned_scores(g: np.ndarray, key: int | str, max_shift: int) -> np.ndarray:
    """z-scores of the pattern shifted by -max_shift..max_shift frames against g."""
    n_frames = g.shape[0]
    pattern = _pattern(key, n_frames + max_shift, g.shape[1])
    row_energy = np.concatenate([[0.0], np.cumsum(np.sum(g ** 2, axis=1)[::-1])])[::-1]
    scores = []
    for shift in range(-max_shift, max_shift + 1):   # frame t of the audio is frame t+shift of the mark
        first = max(0, -shift)
        if first >= n_frames:
            scores.append(0.0)
            continue
        norm = np.sqrt(row_energy[first])
        dot = float(np.sum(pattern[first + shift:n_frames + shift] * g[first:]))
        scores.append(dot / norm if norm > 0 else 0.0)
    return np.asarray(scores)


def detect_watermark(wav: np.ndarray, sr: int, key: int | str = DEFAULT_KEY, *,
                     search_s: float = 0.0) -> tuple[bool, float]:
    """Look for ``key``'s watermark: ``(detected, score)`` (notebook 11).

    ``score`` is a z-score: about standard normal for audio without this key's mark (clean
    audio, or marked with another key), large and positive for marked audio; ``detected`` is
    ``score > THRESHOLD``. Silent audio gives ``(False, 0.0)``. Raises ``ValueError`` on the
    same bad input as :func:`embed_watermark`.

    The mark is looked for where it was put: cutting 10 ms off the start loses it. With
    ``search_s > 0`` every alignment up to that many seconds either way is tried (in steps of
    a quarter of a 10 ms frame) and the best z is corrected for the number of tries, so the
    false-alarm rate stays the same and the same ``THRESHOLD`` applies; the price is that a
    weak mark (short or noisy clip) needs a higher raw z to be found.
    """
    x, sr = _check_audio(wav, sr, "detect_watermark")
    if isinstance(search_s, bool) or not isinstance(search_s, (int, float)) or not 0 <= search_s <= 60:
        raise ValueError(f"search_s must be a number of seconds between 0 and 60, got {search_s!r}")
    if not np.any(x):
        return False, 0.0
    work = _to_work(x.astype(np.float64), sr)
    if search_s == 0:
        g = _evidence(work)
        norm = float(np.sqrt(np.sum(g ** 2)))
        score = float(np.sum(_pattern(key, *g.shape) * g) / norm) if norm > 0 else 0.0
        return bool(score > THRESHOLD), score
    max_shift = int(round(search_s / HOP_S))
    offsets = [o * _HOP // 4 for o in range(4)]
    best = max(float(_aligned_scores(_evidence(np.concatenate([np.zeros(o), work])), key, max_shift).max())
               for o in offsets)
    tries = len(offsets) * (2 * max_shift + 1)
    score = _bonferroni_z(best, tries)
    return bool(score > THRESHOLD), score


def _bonferroni_z(z: float, tries: int) -> float:
    """The z-score whose tail probability equals ``tries`` times that of ``z`` (at least 0)."""
    from scipy.stats import norm

    log_p = np.log(tries) + norm.logsf(z)
    if log_p >= np.log(0.5):
        return 0.0
    if log_p > -700:
        return float(norm.isf(np.exp(log_p)))
    return float(np.sqrt(max(z * z - 2 * np.log(tries), 0.0)))   # far tail: Gaussian asymptotics


def watermark_to_signal_db(original: np.ndarray, marked: np.ndarray) -> float:
    """Watermark-to-signal ratio in dB, reported positive: how far ``marked - original`` lies
    below ``original``; the course asks for at least 30 dB (notebook 11)."""
    a, b = np.asarray(original, np.float64), np.asarray(marked, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"original and marked must have the same shape, got {a.shape} and {b.shape}")
    diff = float(np.sum((b - a) ** 2))
    return float("inf") if diff == 0 else 10 * np.log10(float(np.sum(a ** 2)) / diff)


def robustness_attacks(wav: np.ndarray, sr: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The everyday changes a watermark must survive, applied to ``wav`` (notebook 11).

    Returns float32 arrays of the same length: ``"none"``, ``"resample and back"`` (to 16 kHz,
    or to 22.05 kHz when ``sr`` is 16 kHz, and back, with :func:`audio.resample`), ``"noise 20 dB
    SNR"`` (white, seeded), ``"low-pass 5 kHz"`` (4th-order Butterworth, causal), ``"FIR 3 taps"`` ([0.25, 0.5, 0.25], a one-sample delay),
    ``"gain -6 dB"`` and ``"16-bit PCM"`` (what saving to a WAV file does).
    """
    from scipy.signal import butter, sosfilt

    x, sr = _check_audio(wav, sr, "robustness_attacks")
    x64 = x.astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(x.size)
    noise *= np.sqrt(np.mean(x64 ** 2) / np.mean(noise ** 2)) * 10 ** (-20 / 20)
    other = 22050 if sr == 16000 else 16000         # resampling to the same rate would change nothing
    back = audio.resample(audio.resample(x, sr, other), other, sr).astype(np.float64)
    out = {
        "none": x64,
        "resample and back": np.pad(back, (0, max(0, x.size - back.size)))[:x.size],
        "noise 20 dB SNR": x64 + noise,
        "low-pass 5 kHz": sosfilt(butter(4, 5000, fs=sr, output="sos"), x64),
        "FIR 3 taps": np.convolve(x64, [0.25, 0.5, 0.25])[:x.size],
        "gain -6 dB": x64 * 0.5,
        "16-bit PCM": np.round(np.clip(x64, -1, 1) * 32767) / 32767,
    }
    return {name: np.asarray(y, dtype=np.float32) for name, y in out.items()}
