"""Audio in, features out: loading, resampling, trimming, loudness and (log-)mel features.

Introduced in ``04_sound_and_spectrograms.ipynb``; the speaker encoder (notebook 07) and the
synthesiser (notebook 08) compute their inputs with :func:`log_mel` / :func:`log_mel_batch`
and the named presets below::

    wav, sr = audio.load("speech.wav", sr=16000)             # float32 mono, checked
    wav = audio.preprocess(wav, sr, "speaker_encoder")       # resample, trim, loudness
    feats = audio.log_mel(wav, "speaker_encoder")             # (40, frames), like librosa
    batch, lengths = audio.log_mel_batch(paths, "synthesizer", device="cuda")

Conventions: waveforms are 1-D float32 NumPy arrays in [-1, 1]; single-file features are
``(channels, frames)`` like librosa; batches are ``(batch, channels, frames)`` tensors plus a
tensor of valid frame counts.  STFT and mel features equal librosa's (``librosa.stft``,
``librosa.feature.melspectrogram`` with the same parameters, Slaney mel scale and norm) within
1e-5 of the largest value, and log-mel within 1e-3 (natural-log units, 0.1 % of each value);
``tests/test_audio.py`` checks it.

Every check failure raises :class:`AudioError` (a ``ValueError``) that names the file or
array and says what is wrong, instead of a crash deep inside soundfile or torch.

Over 400 lines on purpose: one idea, the audio front end of the whole course, with its sections
(checks, I/O, trimming, is-it-speech checks, loudness, features, pipeline) in the order notebook
04 teaches them; every section uses the same checks and :class:`FeatureConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import soundfile as sf
import soxr
import torch
import torchaudio.functional as AF

#: Sample rates outside this range are treated as a broken header or a wrong argument.
MIN_SR, MAX_SR = 1_000, 384_000
#: A waveform whose peak stays below this (-60 dBFS) counts as silent.
SILENCE_PEAK = 10 ** (-60 / 20)

PathLike = Union[str, os.PathLike]


class AudioError(ValueError):
    """Bad audio input: the message names the file (or array) and the problem (notebook 04)."""


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """A path given to :func:`load` does not exist; also a ``FileNotFoundError`` (used by audio.load)."""


# --------------------------------------------------------------------------- checks


def _check_sr(sr: object, what: str, min_sr: int = MIN_SR) -> int:
    if (isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float, np.floating))
            or not math.isfinite(sr) or sr != int(sr)):
        raise AudioError(f"{what}: sample rate must be a whole number of Hz, got {sr!r}")
    sr = int(sr)
    if sr < min_sr and min_sr > MIN_SR:
        raise AudioError(f"{what}: sample rate {sr} Hz is below the {min_sr} Hz this step needs; "
                         f"resample first (audio.resample) or record at {min_sr} Hz or more")
    if not MIN_SR <= sr <= MAX_SR:
        raise AudioError(f"{what}: sample rate {sr} Hz is outside the plausible range "
                         f"{MIN_SR}..{MAX_SR} Hz (broken header or wrong argument?)")
    return sr


def check_wav(wav: object, sr: int | None = None, *, name: str = "audio array", allow_silent: bool = True,
              min_samples: int = 1, min_sr: int = MIN_SR, floats_only: bool = False) -> np.ndarray:
    """Return ``wav`` as a 1-D float32 array, or raise :class:`AudioError` (used by audio.load, audio.resample).

    The course's one audio validator: numeric 1-D data (use :func:`to_mono` for several
    channels), a whole sample rate of at least ``min_sr`` Hz, at least ``min_samples`` samples,
    no NaN/inf, and (unless ``allow_silent``) a peak above -60 dBFS. Integer PCM is scaled to
    [-1, 1) unless ``floats_only``, where it is refused.
    """
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    try:
        arr = np.asarray(wav)
    except (TypeError, ValueError) as exc:
        raise AudioError(f"{name}: expected a 1-D array of samples, got {type(wav).__name__}") from exc
    if sr is not None:
        sr = _check_sr(sr, name, min_sr)
    if arr.dtype.kind not in "fiu" or (floats_only and arr.dtype.kind != "f"):
        pcm = "; convert 16-bit PCM with wav.astype(np.float32) / 32768" if arr.dtype.kind in "iu" else ""
        raise AudioError(f"{name}: expected numeric samples (floats in [-1, 1]), got dtype {arr.dtype}{pcm}")
    if arr.ndim != 1:
        raise AudioError(f"{name}: expected mono audio of shape (samples,), got shape {arr.shape}; "
                         "mix it down with audio.to_mono(wav)")
    if arr.dtype.kind in "iu":  # integer PCM -> float in [-1, 1)
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.size == 0:
        raise AudioError(f"{name}: empty (0 samples)")
    if arr.size < min_samples:
        length = f"{arr.size} samples" + (f" ({arr.size / sr:.2f} s)" if sr else "")
        needed = f"{min_samples}" + (f" ({min_samples / sr:.2f} s)" if sr else "")
        raise AudioError(f"{name}: too short: {length}, at least {needed} needed")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(f"{name}: {int(bad.sum())} NaN/inf sample(s), the first at index {first}; "
                         "the file or the processing before this step is broken")
    if not allow_silent and float(np.max(np.abs(arr))) < SILENCE_PEAK:
        raise AudioError(f"{name}: silent (peak {peak_dbfs(arr):.1f} dBFS, below -60 dBFS); "
                         "check the microphone or the file")
    return arr


def peak_dbfs(wav: np.ndarray) -> float:
    """Peak level in dB relative to full scale: 0 dBFS = 1.0, -inf for zeros (notebook 04)."""
    peak = float(np.max(np.abs(wav))) if np.size(wav) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def rms_dbfs(wav: np.ndarray) -> float:
    """RMS level in dBFS: a full-scale sine is -3 dBFS, zeros -inf (notebook 04)."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if np.size(wav) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


# --------------------------------------------------------------------------- I/O


def to_mono(wav: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(samples, channels)`` array into 1-D float32 (used by audio.load)."""
    arr = np.asarray(wav, dtype=np.float32)
    return arr if arr.ndim == 1 else arr.mean(axis=1, dtype=np.float32)


def load(path: PathLike, sr: int | None = None, *, allow_silent: bool = False,
         min_duration: float = 0.0) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 mono, resampled to ``sr`` if given (notebook 04).

    Returns ``(wav, sr)``.  Uses soundfile (WAV, FLAC, OGG, MP3 with libsndfile >= 1.1), mixes
    channels down, resamples with :func:`resample`.  Raises :class:`AudioError` naming the
    file when it is missing, empty, not audio or corrupt, has NaN/inf samples, an absurd
    sample rate, is shorter than ``min_duration`` seconds, or is silent (unless
    ``allow_silent``).
    """
    path = Path(path)
    name = str(path)
    if sr is not None:
        sr = _check_sr(sr, f"load({name!r}, sr=...)")
    if not path.exists():
        raise AudioFileNotFoundError(f"{name}: no such file")
    if path.is_dir():
        raise AudioError(f"{name}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes)")
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except PermissionError:
        raise AudioError(f"{name}: no permission to read the file") from None
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise AudioError(f"{name}: not a readable audio file or corrupt "
                         f"({type(exc).__name__}: {exc})") from None
    file_sr = _check_sr(file_sr, f"{name} (header)")
    if data.shape[0] == 0:
        raise AudioError(f"{name}: the file holds no samples")
    wav = check_wav(to_mono(data), file_sr, name=name, allow_silent=allow_silent)
    if min_duration and wav.size < min_duration * file_sr:
        raise AudioError(f"{name}: too short: {wav.size / file_sr:.3f} s, "
                         f"at least {min_duration:g} s needed")
    if sr is not None and sr != file_sr:
        wav = resample(wav, file_sr, sr)
    return wav, (sr or file_sr)


def save(path: PathLike, wav: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    """Write mono audio with soundfile (16-bit PCM WAV by default); return the path (notebook 04)."""
    path = Path(path)
    wav = check_wav(wav, sr, name=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wav, -1.0, 1.0), _check_sr(sr, str(path)), subtype=subtype)
    return path


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling, the course's only resampler (notebook 04).

    soxr's high-quality polyphase filter (what ``librosa.resample`` uses by default): content
    above the new Nyquist frequency is filtered out first, so downsampling does not alias.
    Returns a copy, ``ceil``-free: ``round(len(wav) * target_sr / orig_sr)`` samples.
    """
    orig_sr, target_sr = _check_sr(orig_sr, "resample(orig_sr)"), _check_sr(target_sr, "resample(target_sr)")
    wav = check_wav(wav, orig_sr)
    if orig_sr == target_sr:
        return wav.copy()
    return soxr.resample(wav, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


# --------------------------------------------------------------------------- trimming


def _frame_db(wav: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """RMS level in dB of frames starting every ``hop`` samples (last frame zero-padded)."""
    n = 1 + max(0, math.ceil((wav.size - frame) / hop))
    padded = np.zeros((n - 1) * hop + frame, dtype=np.float32)
    padded[: wav.size] = wav
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


#: Samples in one frame of WebRTC's VAD: 30 ms at 16 kHz.
VAD_FRAME = 480


def pcm16(wav: np.ndarray) -> np.ndarray:
    """``wav`` as 16-bit little-endian PCM, clipped to full scale, as WebRTC's VAD and pocketsphinx
    take it (used by transcribe.pocketsphinx, transcribe.heard_phones)."""
    return (np.clip(wav, -1.0, 1.0) * 32767).astype("<i2")


def vad_frames(pcm: np.ndarray, aggressiveness: int) -> np.ndarray:
    """WebRTC's voice activity decisions, one per 30-ms frame of 16 kHz 16-bit ``pcm`` (a last partial
    frame is dropped) (used by speaker.features.trim_long_silences)."""
    # The C extension is imported directly: webrtcvad.py imports pkg_resources, which
    # setuptools >= 81 no longer ships.
    import _webrtcvad

    vad = _webrtcvad.create()
    _webrtcvad.init(vad)
    _webrtcvad.set_mode(vad, int(aggressiveness))
    pcm = np.ascontiguousarray(pcm, dtype="<i2")
    step = VAD_FRAME
    return np.array([_webrtcvad.process(vad, 16000, pcm[i * step:(i + 1) * step].tobytes(), step)
                     for i in range(pcm.size // step)], dtype=bool)


def _webrtc_voiced(wav: np.ndarray, sr: int, aggressiveness: int) -> tuple[np.ndarray, int]:
    """Per-30-ms-frame speech decisions of WebRTC's VAD (on a 16 kHz copy) and the frame hop."""
    x16 = resample(wav, sr, 16000) if sr != 16000 else wav
    return vad_frames(pcm16(x16), aggressiveness), round(VAD_FRAME * sr / 16000)


def _drop_short_runs(flags: np.ndarray, min_run: int) -> np.ndarray:
    """Clear runs of True shorter than ``min_run``, unless nothing longer exists."""
    edges = np.flatnonzero(np.diff(np.r_[0, flags.astype(np.int8), 0]))
    runs = list(zip(edges[::2], edges[1::2]))
    if not any(b - a >= min_run for a, b in runs):
        return flags
    out = flags.copy()
    for a, b in runs:
        if b - a < min_run:
            out[a:b] = False
    return out


def speech_bounds(wav: np.ndarray, sr: int, method: str = "energy", *, top_db: float = 40.0,
                  aggressiveness: int = 2, margin: float = 0.02) -> tuple[int, int]:
    """``(start, end)`` sample indices of the speech in ``wav``, silence excluded (notebook 04).

    ``method="energy"``: 25 ms frames whose RMS is within ``top_db`` dB of the loudest frame
    (like ``librosa.effects.trim``).  ``method="vad"``: WebRTC's voice activity detector
    (``aggressiveness`` 0-3; voiced runs under 150 ms are ignored); ``method="torchaudio"``: ``torchaudio.functional.vad`` (a SoX
    port; it trims the front, so it runs on the reversed signal for the end).  ``margin``
    seconds are kept on each side.  Raises :class:`AudioError` if nothing is found.
    """
    sr = _check_sr(sr, "speech_bounds")
    wav = check_wav(wav, sr, allow_silent=False, name="audio array (trimming)")
    if method == "energy":
        frame, hop = max(1, round(0.025 * sr)), max(1, round(0.010 * sr))
        db = _frame_db(wav, frame, hop)
        loud = np.flatnonzero(db >= db.max() - top_db)
        start, end = int(loud[0]) * hop, min(wav.size, int(loud[-1]) * hop + frame)
    elif method == "vad":
        if wav.size < 0.03 * sr:
            raise AudioError(f"audio array: too short for the VAD ({wav.size} samples, 30 ms needed)")
        voiced, hop = _webrtc_voiced(wav, sr, aggressiveness)
        voiced = _drop_short_runs(voiced, 5)  # < 150 ms: clicks, and the VAD's start-up guesses
        idx = np.flatnonzero(voiced)
        if idx.size == 0:
            raise AudioError("audio array: the voice activity detector found no speech "
                             "(try method='energy' or a lower aggressiveness)")
        start, end = int(idx[0]) * hop, min(wav.size, (int(idx[-1]) + 1) * hop)
    elif method == "torchaudio":
        x = torch.from_numpy(wav)
        front = AF.vad(x, sr)
        both = AF.vad(front.flip(0), sr) if front.numel() else front
        if both.numel() == 0:
            raise AudioError("audio array: torchaudio's VAD found no speech (try method='energy')")
        start = wav.size - front.numel()
        end = start + both.numel()
    else:
        raise AudioError(f"unknown trimming method {method!r}; use 'energy', 'vad' or 'torchaudio'")
    pad = round(margin * sr)
    return max(0, start - pad), min(wav.size, end + pad)


def trim_silence(wav: np.ndarray, sr: int, method: str = "energy", **options) -> np.ndarray:
    """Cut leading and trailing silence; options as in :func:`speech_bounds` (notebook 04)."""
    start, end = speech_bounds(wav, sr, method, **options)
    return np.asarray(wav, dtype=np.float32)[start:end].copy()


def split_at_pauses(wav: np.ndarray, sr: int, n: int = 6, window_s: float = 0.5) -> list[np.ndarray]:
    """``wav`` cut into ``n`` parts at its quietest 50-ms frames.

    Each cut is the quietest frame within ``window_s`` of one of ``n - 1`` evenly spaced points:
    one long recording of a person becomes several references to enrol from, or references and
    held-out recordings to compare a clone with (used by cloning.real).
    """
    hop = int(0.05 * sr)
    frames = wav[: len(wav) // hop * hop].reshape(-1, hop)
    energy = (frames.astype(np.float64) ** 2).mean(1)
    reach = int(round(window_s / 0.05))
    cuts = []
    for k in range(1, n):
        centre = int(len(energy) * k / n)
        lo, hi = max(1, centre - reach), min(len(energy) - 1, centre + reach)
        cuts.append((lo + int(np.argmin(energy[lo:hi]))) * hop)
    bounds = [0, *cuts, len(wav)]
    return [wav[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


#: What :func:`check_speech` expects of a voice recording (measured: see its docstring).
MIN_VOICED_SHARE = 0.02
MIN_PITCH_SPREAD_SEMITONES = 0.2
NARROW_BAND_HZ = 5000.0
MAX_CLIPPED_SHARE = 0.001
#: Highest float peak accepted. Decoders of lossy formats overshoot full scale a little (3 of the 231
#: Ogg Vorbis readings in ``data/real_speech`` peak at 1.02-1.05); a file not scaled to [-1, 1]
#: peaks at hundreds or thousands (16-bit integers read as floats).
MAX_PEAK = 1.5


def check_speech(wav: np.ndarray, sr: int, name: str = "audio") -> dict:
    """Is this a usable recording of a voice? Raise :class:`AudioError` or warn, with the measured reason
    (used by cloning.cloner.VoiceCloner.enroll).

    Refused: a sample rate below 16 kHz; float samples far beyond full scale (above ``MAX_PEAK``:
    a file not scaled to [-1, 1]); sound whose frames are mostly not voiced (periodic between 60
    and 400 Hz: noise, clicks); a steady tone (voiced, but its pitch never moves). Warned: a narrow band (less than
    0.01 % of the energy above ``NARROW_BAND_HZ``: a telephone or a low-pass), clipping (more than
    0.1 % of the samples at full scale). Measured (voiced share of the sounding frames): clean
    espeak-ng speech 41-94 %, with white noise at 10 dB SNR 29 % or more, at 0 dB SNR 4 % or more;
    2-s parts of LibriSpeech readings 8 % or more, with a pitch spread over 0.37 semitones; white
    noise 0 %; a pure tone 100 % voiced with no spread. The thresholds sit in the gaps, at about
    half the lowest speech.
    Returns the measurements: ``voiced`` (share), ``pitch_spread`` (semitones), ``bandwidth_hz``,
    ``clipped`` (share) and ``peak``.
    """
    wav = check_wav(wav, sr, name=name, allow_silent=False)
    if sr < 16000:
        raise AudioError(f"{name}: recorded at {sr} Hz; the cloner needs 16000 Hz or more (a telephone or "
                         "8 kHz recording lacks the upper half of the voice): record again at 16 kHz or above")
    peak = float(np.max(np.abs(wav)))
    if peak > MAX_PEAK:
        raise AudioError(f"{name}: peaks at {peak:.3g} times full scale: float samples must lie in [-1, 1]; "
                         "divide by the peak (wav / abs(wav).max()) or export the file again")
    voiced, spread = _voicing(resample(wav, sr, 16000))
    if voiced < MIN_VOICED_SHARE:
        raise AudioError(f"{name}: not speech: {100 * voiced:.1f} % of its sounding frames are voiced "
                         f"(speech, even in loud noise, has 4 % or more); is it noise or clicks?")
    if voiced > 0.8 and spread < MIN_PITCH_SPREAD_SEMITONES:
        raise AudioError(f"{name}: a steady tone, not speech: its pitch moves by {spread:.2f} semitones "
                         "(a voice moves by several)")
    bandwidth = _bandwidth(wav, sr)
    clipped = float(np.mean(np.abs(wav) >= 0.999))
    if bandwidth < NARROW_BAND_HZ:
        warnings.warn(f"{name} is narrow-band: less than 0.01 % of its energy lies above {bandwidth / 1000:.1f} kHz "
                      "(a telephone line or a low-pass filter?); the clone will sound muffled", stacklevel=2)
    if clipped > MAX_CLIPPED_SHARE:
        warnings.warn(f"{name} is clipped: {100 * clipped:.1f} % of the samples sit at full scale; the "
                      "distortion goes into the voice: record it less loud", stacklevel=2)
    return {"voiced": voiced, "pitch_spread": spread, "bandwidth_hz": bandwidth, "clipped": clipped, "peak": peak}


def _voicing(x: np.ndarray, sr: int = 16000) -> tuple[float, float]:
    """(share of sounding 40-ms frames that are periodic at 60-400 Hz, spread of their pitch in semitones)."""
    frame, hop = int(0.04 * sr), int(0.02 * sr)
    if len(x) < frame:
        return 0.0, 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), frame)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = (frames ** 2).sum(axis=1)
    sounding = energy > energy.max() * 10 ** (-40 / 10)
    spectrum = np.fft.rfft(frames[sounding], n=2 * frame)
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[:, :frame]
    ac = ac / np.maximum(ac[:, :1], 1e-12)
    lo, hi = sr // 400, sr // 60
    lags = lo + np.argmax(ac[:, lo:hi], axis=1)
    rows = np.arange(len(ac))
    strength = ac[rows, lags]
    is_voiced = strength > 0.5
    if not is_voiced.any():
        return 0.0, 0.0
    left, right = ac[rows, lags - 1], ac[rows, lags + 1]      # parabolic interpolation: sub-sample lags
    bend = left - 2 * strength + right
    shift = np.where(bend < 0, 0.5 * (left - right) / np.where(bend < 0, bend, -1.0), 0.0)
    exact = lags + np.clip(shift, -0.5, 0.5)
    pitch = 12 * np.log2(sr / exact[is_voiced])
    return float(is_voiced.mean()), float(np.percentile(pitch, 90) - np.percentile(pitch, 10))


def _bandwidth(wav: np.ndarray, sr: int) -> float:
    """Frequency above which 0.01 % of the energy lies (the average spectrum of 32-ms frames)."""
    n = 1 << int(np.ceil(np.log2(0.032 * sr)))
    if len(wav) < n:
        return sr / 2
    frames = np.lib.stride_tricks.sliding_window_view(wav.astype(np.float64), n)[:: n // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2).mean(axis=0)
    cumulative = np.cumsum(power) / max(power.sum(), 1e-30)
    return float(np.fft.rfftfreq(n, 1 / sr)[min(np.searchsorted(cumulative, 0.9999), len(power) - 1)])


# --------------------------------------------------------------------------- loudness


def lufs(wav: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770: K-weighting and gating) via torchaudio (notebook 04).

    Needs at least 0.4 s of audio (one gating block).
    """
    sr = _check_sr(sr, "lufs")
    wav = check_wav(wav, sr, min_samples=round(0.4 * sr), name="audio array (LUFS needs 0.4 s)")
    value = float(AF.loudness(torch.from_numpy(wav)[None], sr))
    return value if math.isfinite(value) else -math.inf


def normalize_loudness(wav: np.ndarray, target: float = -20.0, *, sr: int | None = None,
                       measure: str = "rms", max_peak: float = 0.99) -> np.ndarray:
    """Scale ``wav`` to ``target`` dB: RMS dBFS (``measure="rms"``) or LUFS (``"lufs"``, needs ``sr``).

    The gain is reduced when the result would peak above ``max_peak``, so the output never
    clips (it is then quieter than ``target``).  Silent input raises :class:`AudioError`
    (notebook 04).
    """
    wav = check_wav(wav, sr, allow_silent=False, name="audio array (loudness)")
    if measure == "rms":
        level = rms_dbfs(wav)
    elif measure == "lufs":
        if sr is None:
            raise AudioError("normalize_loudness(measure='lufs') needs the sample rate: sr=...")
        level = lufs(wav, sr)
        if not math.isfinite(level):
            raise AudioError("audio array: too quiet for a LUFS measurement (all blocks gated out)")
    else:
        raise AudioError(f"unknown loudness measure {measure!r}; use 'rms' or 'lufs'")
    gain = 10 ** ((target - level) / 20)
    gain = min(gain, max_peak / float(np.max(np.abs(wav))))
    return (wav * np.float32(gain)).astype(np.float32)


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters of the STFT, mel filterbank, log and preprocessing (notebook 04).

    Times are in samples at ``sr``.  ``power`` 2.0 gives a power mel spectrogram (librosa's
    default), 1.0 a magnitude one (Tacotron 2 / HiFi-GAN).  The log is natural:
    ``log(max(mel, log_floor))``.  ``trim`` and ``loudness_dbfs`` are used by :func:`preprocess`.
    Change a field with ``config.replace(n_mels=64)``.
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int | None = None  # None: n_fft
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None  # None: sr / 2
    power: float = 2.0
    center: bool = True
    pad_mode: str = "reflect"
    mel_scale: str = "slaney"  # or "htk"
    mel_norm: str | None = "slaney"  # or None
    log_floor: float = 1e-5
    trim: str | None = "energy"  # "energy", "vad", "torchaudio" or None
    loudness_dbfs: float | None = -20.0  # RMS target, None: leave the level alone

    def __post_init__(self):
        _check_sr(self.sr, "FeatureConfig")
        win = self.win_length or self.n_fft
        problems = []
        if self.n_fft < 2 or self.hop_length < 1 or not 1 <= win <= self.n_fft:
            problems.append(f"need n_fft >= 2, hop_length >= 1, 1 <= win_length <= n_fft "
                            f"(got {self.n_fft}, {self.hop_length}, {self.win_length})")
        fmax = self.sr / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < fmax <= self.sr / 2:
            problems.append(f"need 0 <= fmin < fmax <= sr/2 (got {self.fmin}, {fmax}, sr={self.sr})")
        if self.n_mels < 1:
            problems.append(f"n_mels must be positive (got {self.n_mels})")
        if self.pad_mode not in ("reflect", "constant"):
            problems.append(f"pad_mode must be 'reflect' or 'constant' (got {self.pad_mode!r})")
        if self.mel_scale not in ("slaney", "htk") or self.mel_norm not in ("slaney", None):
            problems.append("mel_scale must be 'slaney' or 'htk', mel_norm 'slaney' or None")
        if problems:
            raise AudioError("FeatureConfig: " + "; ".join(problems))

    def replace(self, **changes) -> "FeatureConfig":
        """A copy with some fields changed (the config itself is immutable)."""
        return dataclasses.replace(self, **changes)

    @property
    def n_freqs(self) -> int:
        """Number of STFT frequency bins, ``1 + n_fft // 2``."""
        return 1 + self.n_fft // 2

    def n_frames(self, n_samples: int) -> int:
        """Number of frames the STFT gives for ``n_samples`` samples."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def librosa_kwargs(self) -> dict:
        """Keyword arguments that make ``librosa.feature.melspectrogram`` compute the same numbers."""
        return dict(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length,
                    win_length=self.win_length, window="hann", center=self.center,
                    pad_mode=self.pad_mode, power=self.power, n_mels=self.n_mels,
                    fmin=self.fmin, fmax=self.fmax, htk=self.mel_scale == "htk",
                    norm=self.mel_norm)


#: Named presets.  GE2E speaker encoder: 16 kHz, 40 mels, 25 ms window, 10 ms hop (power mel,
#: VAD trimming, -30 dBFS as in Resemblyzer).  Synthesiser: 22.05 kHz, 80 mels, n_fft 1024,
#: hop 256, 0-8 kHz, magnitude mel (Tacotron 2 / HiFi-GAN).
PRESETS: dict[str, FeatureConfig] = {
    "speaker_encoder": FeatureConfig(sr=16000, n_fft=400, hop_length=160, n_mels=40, power=2.0,
                                     trim="vad", loudness_dbfs=-30.0),
    "synthesizer": FeatureConfig(sr=22050, n_fft=1024, hop_length=256, n_mels=80, fmax=8000.0,
                                 power=1.0, trim="energy", loudness_dbfs=-20.0),
}

ConfigLike = Union[FeatureConfig, str]


def preset(config: ConfigLike) -> FeatureConfig:
    """Return a :class:`FeatureConfig`; a string names one of :data:`PRESETS` (notebook 04)."""
    if isinstance(config, FeatureConfig):
        return config
    try:
        return PRESETS[config]
    except (KeyError, TypeError):
        raise AudioError(f"unknown feature preset {config!r}; choose one of {sorted(PRESETS)} "
                         "or pass a FeatureConfig") from None


def _device(device: str) -> torch.device:
    from course_utils.env import pick_device

    return torch.device(pick_device(device))


_FBANKS: dict = {}


def mel_filterbank(config: ConfigLike, device: str = "cpu") -> torch.Tensor:
    """The ``(n_mels, n_freqs)`` triangular mel filters, equal to ``librosa.filters.mel`` (notebook 04)."""
    cfg = preset(config)
    key = (cfg.sr, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, cfg.mel_scale, cfg.mel_norm, str(device))
    if key not in _FBANKS:
        fb = AF.melscale_fbanks(cfg.n_freqs, float(cfg.fmin), float(cfg.fmax or cfg.sr / 2),
                                cfg.n_mels, cfg.sr, norm=cfg.mel_norm, mel_scale=cfg.mel_scale)
        _FBANKS[key] = fb.T.contiguous().to(device)
    return _FBANKS[key]


def _stft_frames(x: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Complex STFT of already padded signals ``(batch, samples)`` -> ``(batch, freqs, frames)``."""
    win = cfg.win_length or cfg.n_fft
    window = torch.hann_window(win, periodic=True, device=x.device, dtype=x.dtype)
    return torch.stft(x, cfg.n_fft, hop_length=cfg.hop_length, win_length=win, window=window,
                      center=False, return_complex=True)


def _prepare(wav: np.ndarray, cfg: FeatureConfig, name: str) -> np.ndarray:
    """Check a waveform and apply the ``center`` padding of librosa (so batching stays exact)."""
    half = cfg.n_fft // 2
    need = half + 1 if cfg.center and cfg.pad_mode == "reflect" else (1 if cfg.center else cfg.n_fft)
    wav = check_wav(wav, cfg.sr, name=name, min_samples=need)
    if cfg.center:
        wav = np.pad(wav, half, mode=cfg.pad_mode)
    return wav


def stft(wav: np.ndarray, config: ConfigLike = "synthesizer") -> np.ndarray:
    """Complex STFT ``(1 + n_fft//2, frames)``, equal to ``librosa.stft`` with the same parameters
    (notebook 04)."""
    cfg = preset(config)
    x = torch.from_numpy(_prepare(wav, cfg, "audio array (stft)"))[None]
    return _stft_frames(x, cfg)[0].numpy()


def _features(x: torch.Tensor, cfg: FeatureConfig, kind: str) -> torch.Tensor:
    z = _stft_frames(x, cfg)
    spec = z.real.square() + z.imag.square()  # |z|^2, faster than z.abs() on CPU
    spec = spec if cfg.power == 2.0 else (spec.sqrt() if cfg.power == 1.0 else spec.pow(cfg.power / 2))
    if kind == "spectrogram":
        return spec
    mel = mel_filterbank(cfg, str(x.device)) @ spec
    if kind == "mel":
        return mel
    return torch.log(torch.clamp(mel, min=cfg.log_floor))


def spectrogram(wav: np.ndarray, config: ConfigLike = "synthesizer") -> np.ndarray:
    """``|STFT| ** power`` as ``(freqs, frames)`` float32 (used by vocoder.spectral_convergence)."""
    cfg = preset(config)
    x = torch.from_numpy(_prepare(wav, cfg, "audio array (spectrogram)"))[None]
    return _features(x, cfg, "spectrogram")[0].numpy()


def mel_spectrogram(wav: np.ndarray, config: ConfigLike = "synthesizer") -> np.ndarray:
    """Mel spectrogram ``(n_mels, frames)``, equal to ``librosa.feature.melspectrogram(**config.librosa_kwargs())``
    (notebook 04)."""
    cfg = preset(config)
    x = torch.from_numpy(_prepare(wav, cfg, "audio array (mel)"))[None]
    return _features(x, cfg, "mel")[0].numpy()


def log_mel(wav: np.ndarray, config: ConfigLike = "synthesizer") -> np.ndarray:
    """Log-mel features ``(n_mels, frames)``: ``log(max(mel, log_floor))`` (notebooks 04, 08, 09).

    ``wav`` must already be at ``config.sr`` (see :func:`preprocess`).
    """
    cfg = preset(config)
    x = torch.from_numpy(_prepare(wav, cfg, "audio array (log-mel)"))[None]
    return _features(x, cfg, "log_mel")[0].numpy()


def log_mel_batch(items: Sequence[np.ndarray | PathLike], config: ConfigLike = "synthesizer",
                  device: str = "cpu", *, kind: str = "log_mel",
                  batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of many waveforms (or files) with one batched STFT per chunk (notebook 04).

    ``items`` are 1-D arrays already at ``config.sr``, or paths (read with :func:`load` at
    ``config.sr``, no other preprocessing).  Each signal gets its own ``center`` padding,
    then the batch is zero-padded on the right, so every file's valid frames equal what
    :func:`log_mel` gives for it alone.  Returns ``(features, lengths)`` on ``device``:
    ``(batch, n_mels, max_frames)`` float32 with padded frames set to ``log(log_floor)``
    (0 for ``kind`` "mel"/"spectrogram"), and the number of valid frames of each item.
    """
    cfg = preset(config)
    if kind not in ("log_mel", "mel", "spectrogram"):
        raise AudioError(f"kind must be 'log_mel', 'mel' or 'spectrogram', not {kind!r}")
    items = list(items)
    if not items:
        raise AudioError("log_mel_batch: no items given")
    dev = _device(device)
    wavs = []
    for i, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            wav, _ = load(item, sr=cfg.sr)
            name = str(item)
        else:
            wav, name = item, f"item {i} of the batch"
        wavs.append(_prepare(wav, cfg, name))
    lengths = torch.tensor([cfg.n_frames(w.size - (2 * (cfg.n_fft // 2) if cfg.center else 0))
                            for w in wavs])
    channels = cfg.n_freqs if kind == "spectrogram" else cfg.n_mels
    fill = math.log(cfg.log_floor) if kind == "log_mel" else 0.0
    out = torch.full((len(wavs), channels, int(lengths.max())), fill, dtype=torch.float32, device=dev)
    order = np.argsort([w.size for w in wavs])  # similar lengths together: less padding
    for lo in range(0, len(wavs), batch_size):
        chunk = order[lo:lo + batch_size]
        longest = max(wavs[j].size for j in chunk)
        x = np.zeros((len(chunk), longest), dtype=np.float32)
        for row, j in enumerate(chunk):
            x[row, : wavs[j].size] = wavs[j]
        feats = _features(torch.from_numpy(x).to(dev, non_blocking=True), cfg, kind)
        for row, j in enumerate(chunk):
            n = int(lengths[j])
            out[j, :, :n] = feats[row, :, :n]
    return out, lengths.to(dev)


def unbatch(features: torch.Tensor, lengths: torch.Tensor) -> list[np.ndarray]:
    """Split a padded batch from :func:`log_mel_batch` into per-item ``(channels, frames)`` arrays
    (notebook 04)."""
    return [features[i, :, : int(n)].cpu().numpy() for i, n in enumerate(lengths)]


def durations_in_frames(spans: Sequence[tuple[str, int, int]], n_samples: int,
                        config: ConfigLike = "synthesizer") -> np.ndarray:
    """Frames of each ``(symbol, start_sample, end_sample)`` span, summing to the frame count.

    A frame belongs to the span that holds its centre sample (``t * hop_length``, or
    ``t * hop + n_fft // 2`` without ``center``); frames whose centre lies past the audio go to
    the last span; a span shorter than a hop may get 0 frames.  Spans must cover
    ``[0, n_samples)`` contiguously, as ``voices`` gives them.  The course's one
    spans-to-durations rule: the synthesiser's duration targets of notebook 08 and the alignment
    errors of notebook 09 come from it.
    (notebooks 04, 08, 09)
    """
    cfg = preset(config)
    if not spans:
        raise AudioError("durations_in_frames: no spans given")
    edges = [int(spans[0][1])] + [int(end) for _, _, end in spans]
    if edges[0] != 0 or edges[-1] != n_samples or any(int(s[1]) != edges[i] for i, s in enumerate(spans)):
        raise AudioError(f"durations_in_frames: spans must cover [0, {n_samples}) contiguously, "
                         f"got {edges[0]}..{edges[-1]} (gaps or overlaps?)")
    offset = 0 if cfg.center else cfg.n_fft // 2
    total = cfg.n_frames(n_samples)
    # first frame index whose centre t * hop + offset is >= each edge
    first = np.clip(-(-(np.asarray(edges) - offset) // cfg.hop_length), 0, total)
    first[-1] = total
    return np.diff(first).astype(np.int64)


# --------------------------------------------------------------------------- pipeline


def preprocess(wav: np.ndarray, sr: int, config: ConfigLike = "synthesizer") -> np.ndarray:
    """Resample to ``config.sr``, trim silence (``config.trim``), set loudness (notebook 04).

    The speaker-encoder preset trims with the VAD and sets -30 dBFS RMS; the synthesiser
    preset trims by energy and sets -20 dBFS RMS.
    """
    cfg = preset(config)
    wav = check_wav(wav, sr, allow_silent=False, name="audio array (preprocess)")
    wav = resample(wav, sr, cfg.sr)
    if cfg.trim:
        wav = trim_silence(wav, cfg.sr, cfg.trim)
    if cfg.loudness_dbfs is not None:
        wav = normalize_loudness(wav, cfg.loudness_dbfs)
    return wav


def features_from_file(path: PathLike, config: ConfigLike = "synthesizer") -> np.ndarray:
    """``load`` -> ``preprocess`` -> ``log_mel`` for one file, errors naming the file.

    (tests only: tests/test_audio.py)
    """
    cfg = preset(config)
    wav, sr = load(path)
    try:
        return log_mel(preprocess(wav, sr, cfg), cfg)
    except AudioError as exc:
        raise AudioError(f"{path}: {exc}") from None


__all__ = [
    "AudioError", "AudioFileNotFoundError", "ConfigLike", "FeatureConfig", "PRESETS", "MIN_SR", "MAX_SR",
    "check_wav", "durations_in_frames", "features_from_file", "load", "log_mel", "log_mel_batch", "lufs",
    "mel_filterbank", "mel_spectrogram", "normalize_loudness", "peak_dbfs", "preprocess",
    "preset", "resample", "rms_dbfs", "save", "speech_bounds", "spectrogram", "stft",
    "to_mono", "trim_silence", "unbatch",
]
