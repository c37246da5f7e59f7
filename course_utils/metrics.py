"""Evaluation metrics of the course.

``eer`` and ``error_rates`` are introduced in ``07_speaker_encoder.ipynb`` (speaker
verification; they live in :mod:`course_utils.verification`, below the speaker encoder, and
are re-exported here); notebook 10 adds speaker similarity and spectral distances.
"""

from __future__ import annotations

import numpy as np

from course_utils.verification import EERResult, eer, error_rates, verification_trials

# ==========================================================================================
# Notebook 10 (evaluation): speaker similarity, mel-cepstral distortion, automatic MOS, speed.
# ==========================================================================================

import inspect as _inspect
import math as _math
import os as _os
import statistics as _statistics
import time as _time
from collections.abc import Iterator as _Iterator
from functools import lru_cache as _lru_cache
from pathlib import Path as _Path

#: Name of the default encoder of :func:`secs`: Resemblyzer's GE2E weights (``pretrained.pt``
#: shipped in the ``resemblyzer`` wheel), loaded by ``speaker.SpeakerEncoder.pretrained()``.
PRETRAINED_ENCODER = "pretrained GE2E (resemblyzer wheel)"

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


class Similarity(float):
    """A cosine similarity that remembers which encoder measured it (notebook 10).

    Behaves as a ``float``; ``.encoder`` names the encoder, and the repr shows it, so a
    printed score never hides which model produced it.
    """

    encoder: str

    def __new__(cls, value: float, encoder: str):
        obj = super().__new__(cls, value)
        obj.encoder = encoder
        return obj

    def __repr__(self) -> str:
        return f"Similarity({float(self):.4f}, encoder={self.encoder!r})"

    def __reduce__(self):
        return (Similarity, (float(self), self.encoder))


@_lru_cache(maxsize=1)
def _pretrained_encoder():
    from course_utils import speaker

    return speaker.SpeakerEncoder.pretrained()


def encoder_name(encoder) -> str:
    """Human-readable name of a speaker encoder, for tables and plot legends (notebook 10)."""
    if encoder is None or (isinstance(encoder, str) and encoder == "pretrained"):
        return PRETRAINED_ENCODER
    name = getattr(encoder, "name", None)
    if isinstance(name, str) and name:
        return name
    config = getattr(encoder, "config", None)
    if config is not None:
        try:
            from course_utils import speaker

            if config == speaker.SpeakerEncoderConfig.pretrained():
                return PRETRAINED_ENCODER
        except Exception:  # speaker module changing under us: fall back to a generic name
            pass
        arch = getattr(config, "arch", None)
        if arch:
            return f"course {arch} encoder"
    return type(encoder).__name__


def _resolve_encoder(encoder):
    if encoder is None or (isinstance(encoder, str) and encoder == "pretrained"):
        return _pretrained_encoder()
    if isinstance(encoder, str):
        raise ValueError(f"unknown encoder {encoder!r}: pass 'pretrained', None (the same) or an object "
                         "with embed_utterance(wav, sr), e.g. speaker.course_encoder('quick')")
    if not callable(getattr(encoder, "embed_utterance", None)):
        raise ValueError(f"encoder must have an embed_utterance(wav, sr) method, got {type(encoder).__name__}")
    return encoder


def _is_wav_pair(x) -> bool:
    return (isinstance(x, tuple) and len(x) == 2 and not isinstance(x[1], bool)
            and isinstance(x[1], (int, np.integer, float)) and np.ndim(x[0]) == 1)


def _embedding(x, encoder, what: str) -> np.ndarray:
    """``x`` as a unit-norm embedding: a path or (wav, sr) pair is embedded, a vector is checked."""
    if isinstance(x, (str, _os.PathLike)):
        from course_utils import audio

        x = audio.load(x)
    if _is_wav_pair(x):
        from course_utils import audio

        wav = audio.check_wav(x[0], x[1], name=f"{what} (wav)")
        return np.asarray(_resolve_encoder(encoder).embed_utterance(wav, int(x[1])), dtype=np.float64)
    if isinstance(x, tuple):
        raise ValueError(f"{what}: a tuple must be (wav, sr) with a 1-D wav and a sample rate in Hz")
    vec = np.asarray(x, dtype=np.float64)
    if vec.ndim != 1 or vec.size == 0:
        raise ValueError(f"{what}: expected a 1-D embedding, a (wav, sr) pair or a path, got shape {vec.shape}")
    if vec.size > 4096:
        raise ValueError(f"{what}: a 1-D array of {vec.size} values looks like a waveform, not an "
                         "embedding: pass it as (wav, sr)")
    if not np.all(np.isfinite(vec)):
        raise ValueError(f"{what}: the embedding contains NaN or infinite values")
    norm = np.linalg.norm(vec)
    if norm == 0:
        raise ValueError(f"{what}: the embedding is all zeros")
    return vec / norm


def secs(a, b, encoder=None) -> Similarity:
    """Speaker-encoder cosine similarity (SECS) of two voices, in [-1, 1] (notebook 10).

    ``a`` and ``b`` are each a ``(wav, sr)`` pair, an audio file path, or an embedding
    (a 1-D vector; it is L2-normalised here). Audio is embedded with ``encoder``: by default
    (``None`` or ``"pretrained"``) Resemblyzer's GE2E weights from the ``resemblyzer`` wheel
    (``speaker.SpeakerEncoder.pretrained()``, 256-d, loaded once); pass e.g.
    ``speaker.course_encoder("quick")`` to use the course's own encoder. The result is a
    :class:`Similarity` (a ``float``) whose ``.encoder`` says which encoder measured it.
    Scoring a clone with the encoder that conditioned the synthesiser flatters it: report a
    second, independent encoder too.
    """
    ea, eb = _embedding(a, encoder, "a"), _embedding(b, encoder, "b")
    if ea.shape != eb.shape:
        raise ValueError(f"embeddings of different sizes ({ea.size} and {eb.size}): were they made by "
                         "the same encoder?")
    embedded = any(_is_wav_pair(x) or isinstance(x, (str, _os.PathLike)) for x in (a, b))
    name = encoder_name(encoder) if (embedded or encoder is not None) else "given embeddings"
    return Similarity(float(np.clip(ea @ eb, -1.0, 1.0)), name)


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
    """The ``audio.FeatureConfig`` of the MCD analysis at ``sr``: 25 ms Hann window, 5 ms hop (notebook 10).

    ``n_fft`` is the next power of two above the window; mel power spectrum over 0..sr/2.
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


# ------------------------------------------------------------------------------ automatic MOS

DNSMOS_SR = 16_000


@_lru_cache(maxsize=1)
def _dnsmos_model():
    """speechmos's DNSMOS with the ONNX files of the wheel (local files only, nothing downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec("speechmos")
    if spec is None or spec.origin is None:
        raise ImportError("speechmos is not installed: `pip install speechmos` (DNSMOS models inside)")
    folder = _Path(spec.origin).parent / "dnsmos_models"
    primary, p808 = folder / "sig_bak_ovr.onnx", folder / "model_v8.onnx"
    for path in (primary, p808):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the speechmos installation; reinstall it")
    from speechmos.dnsmos import DNSMOS

    return DNSMOS(str(primary), str(p808))


def dnsmos(wav, sr: int | None = None) -> dict:
    """Automatic MOS with Microsoft's DNSMOS (P.835 and P.808 heads), offline (notebook 10).

    ``wav`` is a 1-D array at ``sr``, or a ``(wav, sr)`` pair; it is resampled to 16 kHz
    (``audio.resample``) and clipped to [-1, 1]. The ONNX models ship inside the ``speechmos``
    wheel and run with onnxruntime; nothing is downloaded. Clips shorter than 9.01 s are
    repeated to that length (as DNSMOS does); longer ones are scored in 9 s windows, 1 s apart,
    and averaged. Returns ``{"ovrl", "sig", "bak", "p808"}``, each a MOS on the 1..5 scale
    (overall, speech signal, background noise, P.808 overall). DNSMOS was trained on noisy
    recorded speech: on synthetic speech it is a proxy out of its domain, not a listening test.
    """
    from course_utils import audio

    wav, sr = _wav_and_rate(wav, sr, "wav")
    if float(np.max(np.abs(wav))) < audio.SILENCE_PEAK:
        raise ValueError("wav: silent (peak below -60 dBFS): DNSMOS needs speech")
    wav16 = np.clip(audio.resample(wav, sr, DNSMOS_SR), -1.0, 1.0).astype(np.float32)
    out = _dnsmos_model()(wav16, DNSMOS_SR, False)
    return {key: float(out[f"{key}_mos"]) for key in ("ovrl", "sig", "bak", "p808")}


# ------------------------------------------------------------------------------ speed


def _audio_seconds(result, sr: int | None) -> float:
    """Seconds of audio in a synthesiser's output: (wav, sr), an utterance with .wav/.sr, or a wav."""
    if hasattr(result, "wav") and hasattr(result, "sr"):
        wav, rate = result.wav, result.sr
    elif _is_wav_pair(result):
        wav, rate = result
    else:
        wav, rate = result, sr
    if rate is None:
        raise ValueError("the synthesiser returned a bare waveform: pass sr=... so its duration is known")
    n = int(np.size(wav))
    if n == 0:
        raise ValueError("the synthesiser returned no audio")
    return n / float(rate)


def _chunk_size(chunk) -> int:
    wav = chunk.wav if hasattr(chunk, "wav") else (chunk[0] if _is_wav_pair(chunk) else chunk)
    return int(np.size(wav))


def _is_stream(result) -> bool:
    return isinstance(result, _Iterator) or _inspect.isgenerator(result)


def _run_once(synthesize_fn, text, sr):
    """(total seconds, first-audio seconds, audio seconds) of one call; streams are consumed."""
    start = _time.perf_counter()
    result = synthesize_fn(text)
    if not _is_stream(result):
        total = _time.perf_counter() - start
        return total, total, _audio_seconds(result, sr)
    first, seconds = None, 0.0
    for chunk in result:
        if _chunk_size(chunk) == 0:
            continue
        if first is None:
            first = _time.perf_counter() - start
        seconds += _audio_seconds(chunk, sr)
    total = _time.perf_counter() - start
    if first is None or seconds == 0:
        raise ValueError("the synthesiser's stream yielded no audio")
    return total, first, seconds


def _timings(synthesize_fn, text, repeats: int, warmup: int, sr):
    if not callable(synthesize_fn):
        raise ValueError(f"synthesize_fn must be callable as synthesize_fn(text), got {type(synthesize_fn).__name__}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        _run_once(synthesize_fn, text, sr)
    return [_run_once(synthesize_fn, text, sr) for _ in range(repeats)]


def rtf(synthesize_fn, text: str, *, repeats: int = 3, warmup: int = 1, sr: int | None = None) -> float:
    """Real-time factor: seconds of compute per second of audio, median over ``repeats`` (notebook 10).

    ``synthesize_fn(text)`` returns ``(wav, sr)``, an object with ``.wav`` and ``.sr`` (as
    ``voices.synthesize``), a bare wav (then pass ``sr``), or an iterator of such chunks (a
    streaming synthesiser; it is consumed to the end). ``warmup`` calls are not timed. Below 1
    means faster than real time. Wall-clock time: it depends on the machine and its load.
    """
    runs = _timings(synthesize_fn, text, repeats, warmup, sr)
    return float(_statistics.median(total / seconds for total, _, seconds in runs))


def first_audio_latency(synthesize_fn, text: str, *, repeats: int = 3, warmup: int = 1,
                        sr: int | None = None) -> float:
    """Seconds from the call until the first audio is available, median over ``repeats`` (notebook 10).

    For a streaming synthesiser (``synthesize_fn(text)`` returns an iterator of chunks) it is the
    time to the first non-empty chunk. For a non-streaming one (it returns the whole waveform) it
    equals the total synthesis time: nothing can be played before the call returns.
    """
    runs = _timings(synthesize_fn, text, repeats, warmup, sr)
    return float(_statistics.median(first for _, first, _ in runs))


__all__ = [
    "EERResult", "eer", "error_rates", "verification_trials", "PRETRAINED_ENCODER", "MCD_ORDER",
    "MCD_WINDOW_MS", "MCD_HOP_MS", "MCD_N_MELS", "MAX_DTW_CELLS", "Similarity", "encoder_name",
    "secs", "mcd_config", "mel_cepstrum", "dtw_path", "mcd_dtw", "mcd_plain", "DNSMOS_SR",
    "dnsmos", "rtf", "first_audio_latency"
]
