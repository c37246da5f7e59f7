"""Speaker-encoder input (notebook 07): checks, 16 kHz, volume, long silences cut, 40-channel mel power,
1.6 s partial windows. The same steps as ``resemblyzer.preprocess_wav`` and Resemblyzer's windows.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_utils import audio

SAMPLE_RATE = 16_000
N_MELS = 40
WINDOW_MS, HOP_MS = 25, 10
N_FFT = SAMPLE_RATE * WINDOW_MS // 1000      # 400 samples
HOP = SAMPLE_RATE * HOP_MS // 1000           # 160 samples
PARTIAL_FRAMES = 160                         # 1.6 s windows
AUDIO_NORM_DBFS = -30.0
VAD_WINDOW_MS, VAD_AVERAGE_WIDTH, VAD_MAX_SILENCE = 30, 8, 6
MIN_SPEECH_SECONDS = 0.3
INT16_MAX = 2 ** 15 - 1
PROFILES = ("quick", "full")


# ----------------------------------------------------------------------------------------------
# pkg_resources: webrtcvad 2.0.10 asks it for its own version at import time
# ----------------------------------------------------------------------------------------------

@contextmanager
def pkg_resources_shim():
    """Make ``import pkg_resources`` work for the duration of a ``with`` block
    (used by speaker.import_resemblyzer).

    ``webrtcvad`` (imported by ``resemblyzer``) runs ``pkg_resources.get_distribution(
    'webrtcvad').version`` when imported, and ``pkg_resources`` is gone from setuptools >= 81.
    If the real module is importable nothing is changed; otherwise a tiny stand-in that answers
    ``get_distribution(name).version`` from :mod:`importlib.metadata` is put in ``sys.modules``
    and removed again on exit, so nothing else ever sees it.
    """
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        yield
        return
    shim = types.ModuleType("pkg_resources")

    class _Distribution:
        def __init__(self, name: str):
            self.project_name = name
            self.version = importlib.metadata.version(name)

    shim.get_distribution = _Distribution
    sys.modules["pkg_resources"] = shim
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]


def import_resemblyzer():
    """Import the reference ``resemblyzer`` package (for parity checks only; notebook 07) (notebook 07)."""
    with pkg_resources_shim(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import resemblyzer
    return resemblyzer


def pretrained_weights_path() -> Path:
    """Path of ``pretrained.pt`` inside the installed ``resemblyzer`` wheel (no import needed)
    (used by speaker.SpeakerEncoder)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the resemblyzer package is not installed: `pip install resemblyzer==0.1.4` "
                                "(it ships the pretrained speaker-encoder weights)")
    path = Path(spec.origin).parent / "pretrained.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path.name} is missing from the resemblyzer installation; reinstall it")
    return path


# ----------------------------------------------------------------------------------------------
# audio preprocessing (the same as resemblyzer.preprocess_wav, with checks)
# ----------------------------------------------------------------------------------------------

def normalize_volume(wav: np.ndarray, target_dbfs: float = AUDIO_NORM_DBFS, increase_only: bool = True) -> np.ndarray:
    """Scale ``wav`` to ``target_dbfs`` RMS; with ``increase_only`` never make it quieter
    (used by speaker.preprocess)."""
    rms = np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2))
    change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    if change < 0 and increase_only:
        return wav
    return wav * (10 ** (change / 20))


def trim_long_silences(wav: np.ndarray) -> np.ndarray:
    """Cut silences longer than 6 x 30 ms with the WebRTC VAD (16 kHz input; notebook 07)
    (used by speaker.preprocess)."""
    from scipy.ndimage import binary_dilation

    window = VAD_WINDOW_MS * SAMPLE_RATE // 1000
    wav = wav[: len(wav) - len(wav) % window]
    if len(wav) == 0:
        return wav
    flags = audio.vad_frames(np.round(wav * INT16_MAX).astype("<i2"), aggressiveness=3)   # 30-ms frames
    width = VAD_AVERAGE_WIDTH
    padded = np.concatenate((np.zeros((width - 1) // 2), flags, np.zeros(width // 2)))
    smoothed = np.cumsum(padded, dtype=float)
    smoothed[width:] = smoothed[width:] - smoothed[:-width]
    mask = np.round(smoothed[width - 1:] / width).astype(bool)
    mask = binary_dilation(mask, np.ones(VAD_MAX_SILENCE + 1))
    return wav[np.repeat(mask, window)]


def preprocess(wav, sr: int, trim_silences: bool = True) -> np.ndarray:
    """Checked, 16 kHz, volume-normalised audio with long silences cut (notebook 07).

    Equals ``resemblyzer.preprocess_wav(wav, sr)`` on valid audio; raises
    :class:`audio.AudioError` on empty, non-finite, silent or too short (< 0.3 s of speech) audio.
    """
    wav = audio.check_wav(wav, sr, name="audio", allow_silent=False)
    if sr != SAMPLE_RATE:
        wav = audio.resample(wav, sr, SAMPLE_RATE)
    wav = normalize_volume(wav)
    if trim_silences:
        wav = trim_long_silences(wav)
    seconds = len(wav) / SAMPLE_RATE
    if seconds < MIN_SPEECH_SECONDS:
        raise audio.AudioError(f"audio: too short: {seconds:.2f} s of speech after removing silences, at least "
                            f"{MIN_SPEECH_SECONDS} s needed (a few seconds give a reliable embedding)")
    return wav


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float64)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1]  # periodic Hann, as librosa's "hann"


def mel_power(wav16k: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram of 16 kHz audio: 25 ms window, 10 ms hop (notebook 07).

    The same numbers as ``librosa.feature.melspectrogram(y, sr=16000, n_fft=400,
    hop_length=160, n_mels=40)`` (periodic Hann window, centred frames, zero padding, Slaney
    mel filters; tested), computed directly with NumPy's FFT.
    """
    x = np.pad(np.asarray(wav16k, dtype=np.float64), N_FFT // 2)
    n_frames = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n_frames]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2      # (frames, 201)
    return (power @ _mel_basis().T).astype(np.float32)


def partial_slices(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75,
                   partial_frames: int = PARTIAL_FRAMES) -> tuple[list[slice], list[slice]]:
    """Where to cut an utterance into partial windows: ``(wav_slices, frame_slices)``
    (used by speaker.SpeakerEncoder).

    Windows of ``partial_frames`` frames start every ``1 / rate`` seconds; the last one is kept if
    at least ``min_coverage`` of it lies inside the audio (or if it is the only one).
    """
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SAMPLE_RATE / rate) / HOP))
    if not 0 < frame_step <= partial_frames:
        raise ValueError(f"rate={rate} gives a step of {frame_step} frames; it must be in 1..{partial_frames}")
    wav_slices, frame_slices = [], []
    for i in range(0, max(1, n_frames - partial_frames + frame_step + 1), frame_step):
        frame_slices.append(slice(i, i + partial_frames))
        wav_slices.append(slice(i * HOP, (i + partial_frames) * HOP))
    last = wav_slices[-1]
    coverage = (n_samples - last.start) / (last.stop - last.start)
    if coverage < min_coverage and len(frame_slices) > 1:
        wav_slices, frame_slices = wav_slices[:-1], frame_slices[:-1]
    return wav_slices, frame_slices

