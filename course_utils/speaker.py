"""Speaker encoders: a voice in, a unit-norm vector out (GE2E and a faster TDNN variant).

Introduced in ``07_speaker_encoder.ipynb``; the synthesiser of notebook 08 and the evaluation of
notebook 10 use :func:`course_encoder` and :meth:`SpeakerEncoder.pretrained`.

Pipeline of :meth:`SpeakerEncoder.embed_utterance` (the same as Resemblyzer's, reimplemented):

1. check the audio (mono, finite, not silent), resample to 16 kHz;
2. raise the volume to -30 dBFS (never lower it) and cut long silences with the WebRTC VAD;
3. 40-channel mel power spectrogram, 25 ms window, 10 ms hop (the course's own encoder reads its
   logarithm, the pretrained one the power itself: that is what it was trained on);
4. cut the utterance into 1.6 s partial windows (1.3 per second, the last one kept when at least
   75 % covered), embed each, average, L2-normalise.

The pretrained weights are the ``pretrained.pt`` inside the ``resemblyzer`` wheel, loaded with
``torch.load(weights_only=True)`` into :class:`SpeakerEncoder`; the course does not need to import
``resemblyzer`` itself (its ``webrtcvad`` import fails without ``pkg_resources``, which
setuptools >= 81 no longer ships; see :func:`pkg_resources_shim`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sys
import time
import types
import warnings
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from course_utils import env, verification

SAMPLE_RATE = 16_000
N_MELS = 40
WINDOW_MS, HOP_MS = 25, 10
N_FFT = SAMPLE_RATE * WINDOW_MS // 1000      # 400 samples
HOP = SAMPLE_RATE * HOP_MS // 1000           # 160 samples
PARTIAL_FRAMES = 160                         # 1.6 s windows
AUDIO_NORM_DBFS = -30.0
VAD_WINDOW_MS, VAD_AVERAGE_WIDTH, VAD_MAX_SILENCE = 30, 8, 6
MIN_SPEECH_SECONDS = 0.3
SILENCE_PEAK = 10 ** (-60 / 20)              # peak below -60 dBFS counts as silence
INT16_MAX = 2 ** 15 - 1
PROFILES = ("quick", "full")


class BadAudioError(ValueError):
    """The audio given to a speaker encoder cannot be embedded; the message says why (notebook 07)."""


# ----------------------------------------------------------------------------------------------
# pkg_resources: webrtcvad 2.0.10 asks it for its own version at import time
# ----------------------------------------------------------------------------------------------

@contextmanager
def pkg_resources_shim():
    """Make ``import pkg_resources`` work for the duration of a ``with`` block (notebook 07).

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


def _webrtcvad():
    with pkg_resources_shim():
        import webrtcvad
    return webrtcvad


def import_resemblyzer():
    """Import the reference ``resemblyzer`` package (for parity checks only; notebook 07)."""
    with pkg_resources_shim(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import resemblyzer
    return resemblyzer


def pretrained_weights_path() -> Path:
    """Path of ``pretrained.pt`` inside the installed ``resemblyzer`` wheel (no import needed)."""
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

def check_audio(wav, sr) -> np.ndarray:
    """Return ``wav`` as a 1-D float32 array, or raise :class:`BadAudioError` saying what is wrong."""
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise BadAudioError(f"sr must be a positive integer sample rate in Hz, got {sr!r}")
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    wav = np.asarray(wav)
    if wav.dtype.kind not in "fiu":
        raise BadAudioError(f"audio must be a numeric array, got dtype {wav.dtype}")
    if wav.dtype.kind in "iu":
        wav = wav.astype(np.float32) / np.iinfo(wav.dtype).max
    wav = np.squeeze(wav)
    if wav.ndim != 1:
        raise BadAudioError(f"audio must be mono (1-D), got shape {wav.shape}; "
                            "average the channels first, e.g. wav.mean(axis=1)")
    if wav.size == 0:
        raise BadAudioError("audio is empty")
    if not np.all(np.isfinite(wav)):
        raise BadAudioError(f"audio contains {int(np.sum(~np.isfinite(wav)))} NaN or infinite samples")
    if np.max(np.abs(wav)) < SILENCE_PEAK:
        raise BadAudioError("audio is silent (peak below -60 dBFS): nothing to embed; check the recording")
    return wav.astype(np.float32, copy=False)


def normalize_volume(wav: np.ndarray, target_dbfs: float = AUDIO_NORM_DBFS, increase_only: bool = True) -> np.ndarray:
    """Scale ``wav`` to ``target_dbfs`` RMS; with ``increase_only`` never make it quieter."""
    rms = np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2))
    change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    if change < 0 and increase_only:
        return wav
    return wav * (10 ** (change / 20))


def trim_long_silences(wav: np.ndarray) -> np.ndarray:
    """Cut silences longer than 6 x 30 ms with the WebRTC VAD (16 kHz input; notebook 07)."""
    from scipy.ndimage import binary_dilation

    window = VAD_WINDOW_MS * SAMPLE_RATE // 1000
    wav = wav[: len(wav) - len(wav) % window]
    if len(wav) == 0:
        return wav
    pcm = np.round(wav * INT16_MAX).astype("<i2").tobytes()  # 16-bit little-endian PCM
    vad = _webrtcvad().Vad(mode=3)
    flags = np.array([vad.is_speech(pcm[start * 2:(start + window) * 2], sample_rate=SAMPLE_RATE)
                      for start in range(0, len(wav), window)])
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
    :class:`BadAudioError` on empty, non-finite, silent or too short (< 0.3 s of speech) audio.
    """
    wav = check_audio(wav, sr)
    if sr != SAMPLE_RATE:
        import librosa
        wav = librosa.resample(wav, orig_sr=sr, target_sr=SAMPLE_RATE).astype(np.float32)
    wav = normalize_volume(wav)
    if trim_silences:
        wav = trim_long_silences(wav)
    seconds = len(wav) / SAMPLE_RATE
    if seconds < MIN_SPEECH_SECONDS:
        raise BadAudioError(f"too short: {seconds:.2f} s of speech after removing silences, at least "
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
    """Where to cut an utterance into partial windows: ``(wav_slices, frame_slices)`` (notebook 07).

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


# ----------------------------------------------------------------------------------------------
# the networks
# ----------------------------------------------------------------------------------------------

@dataclass
class SpeakerEncoderConfig:
    """Architecture and input of a :class:`SpeakerEncoder` (notebook 07).

    ``arch="lstm"``: GE2E (Wan et al., 2018): an LSTM stack over the frames, the last hidden
    state of the top layer projected to ``embedding`` dimensions. ``arch="tdnn"``: dilated 1-D
    convolutions, statistics pooling (mean and standard deviation over time), a projection; much
    faster on a CPU. ``features``: ``"logmel"`` (course encoders) or ``"mel"`` (the pretrained
    Resemblyzer weights were trained on mel power). ``relu_output``: ReLU before the
    normalisation, as in Resemblyzer.
    """

    arch: str = "lstm"
    n_mels: int = N_MELS
    hidden: int = 256
    layers: int = 3
    embedding: int = 256
    features: str = "logmel"
    relu_output: bool = False
    partial_frames: int = PARTIAL_FRAMES
    dilations: tuple = (1, 2, 3)
    whole_utterance: bool = False   # embed the whole utterance at once (TDNN) instead of partials

    def __post_init__(self):
        if self.arch not in ("lstm", "tdnn"):
            raise ValueError(f"arch must be 'lstm' or 'tdnn', not {self.arch!r}")
        if self.features not in ("logmel", "mel"):
            raise ValueError(f"features must be 'logmel' or 'mel', not {self.features!r}")
        self.dilations = tuple(self.dilations)

    @classmethod
    def pretrained(cls) -> "SpeakerEncoderConfig":
        """Resemblyzer's sizes: 3 x 256 LSTM, 256-d embedding, mel-power input, ReLU output."""
        return cls(arch="lstm", hidden=256, layers=3, embedding=256, features="mel", relu_output=True)


class _LSTMNet(nn.Module):
    def __init__(self, c: SpeakerEncoderConfig):
        super().__init__()
        self.lstm = nn.LSTM(c.n_mels, c.hidden, c.layers, batch_first=True)
        self.linear = nn.Linear(c.hidden, c.embedding)

    def forward(self, x):  # (B, T, n_mels)
        _, (hidden, _) = self.lstm(x)
        return self.linear(hidden[-1])


class _TDNNNet(nn.Module):
    def __init__(self, c: SpeakerEncoderConfig):
        super().__init__()
        layers, channels = [], c.n_mels
        for i, d in enumerate(c.dilations):
            k = 5 if i == 0 else 3
            layers += [nn.Conv1d(channels, c.hidden, k, dilation=d, padding=d * (k - 1) // 2),
                       nn.ReLU(), nn.BatchNorm1d(c.hidden)]
            channels = c.hidden
        layers += [nn.Conv1d(c.hidden, 2 * c.hidden, 1), nn.ReLU(), nn.BatchNorm1d(2 * c.hidden)]
        self.frames = nn.Sequential(*layers)
        self.linear = nn.Linear(4 * c.hidden, c.embedding)

    def forward(self, x):  # (B, T, n_mels)
        h = self.frames(x.transpose(1, 2))                  # (B, C, T)
        stats = torch.cat([h.mean(-1), h.std(-1)], dim=1)   # statistics pooling
        return self.linear(stats)


class SpeakerEncoder(nn.Module):
    """A speaker encoder: ``forward(frames (B, T, 40)) -> (B, D)`` unit-norm embeddings (notebook 07).

    Use :meth:`pretrained` for Resemblyzer's weights, :func:`course_encoder` for the course's
    own, and :meth:`embed_utterance` / :meth:`embed_speaker` on audio.
    """

    def __init__(self, config: SpeakerEncoderConfig | None = None):
        super().__init__()
        self.config = config or SpeakerEncoderConfig()
        self.net = _LSTMNet(self.config) if self.config.arch == "lstm" else _TDNNNet(self.config)
        # input normalisation (log-mel encoders): set from training data by `fit_normalisation`
        self.register_buffer("feature_mean", torch.zeros(self.config.n_mels))
        self.register_buffer("feature_std", torch.ones(self.config.n_mels))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def pretrained(cls, device: str = "cpu") -> "SpeakerEncoder":
        """Resemblyzer's GE2E weights (from the wheel, ``weights_only=True``) in the course's class."""
        checkpoint = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
        state = {f"net.{k}": v for k, v in checkpoint["model_state"].items() if k.startswith(("lstm.", "linear."))}
        model = cls(SpeakerEncoderConfig.pretrained())
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"feature_mean", "feature_std"}:
            raise RuntimeError(f"pretrained.pt does not match the GE2E architecture: missing {missing}, "
                               f"unexpected {unexpected}")
        return model.to(device).eval()

    def checkpoint(self, **meta) -> dict:
        """Configuration, weights and ``meta`` as a ``torch.load(weights_only=True)``-safe dict."""
        config = asdict(self.config)
        config["dilations"] = list(config["dilations"])
        return {"config": config, "state_dict": {k: v.cpu() for k, v in self.state_dict().items()},
                "meta": meta}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, device: str = "cpu") -> "SpeakerEncoder":
        """Rebuild an encoder from :meth:`checkpoint`'s dict."""
        model = cls(SpeakerEncoderConfig(**checkpoint["config"]))
        model.load_state_dict(checkpoint["state_dict"])
        return model.to(device).eval()

    def save(self, path, **meta) -> Path:
        """Write :meth:`checkpoint` to ``path`` atomically (:func:`env.atomic_path`)."""
        with env.atomic_path(path) as tmp:
            torch.save(self.checkpoint(**meta), tmp)
        return Path(path)

    @classmethod
    def load(cls, path, device: str = "cpu") -> "SpeakerEncoder":
        """Load a checkpoint written by :meth:`save` (``torch.load(weights_only=True)``)."""
        return cls.from_checkpoint(torch.load(Path(path), map_location="cpu", weights_only=True), device)

    # -- features and forward -----------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def features(self, wav16k: np.ndarray) -> np.ndarray:
        """(frames, 40) input of the network for preprocessed 16 kHz audio."""
        mel = mel_power(wav16k)
        return np.log(mel + 1e-6) if self.config.features == "logmel" else mel

    def fit_normalisation(self, features: list[np.ndarray]) -> None:
        """Set the per-channel input mean and standard deviation from training features."""
        stacked = np.concatenate(features, axis=0)
        self.feature_mean.copy_(torch.from_numpy(stacked.mean(0)))
        self.feature_std.copy_(torch.from_numpy(stacked.std(0) + 1e-5))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 3 or frames.shape[-1] != self.config.n_mels:
            raise ValueError(f"frames must be (batch, time, {self.config.n_mels}) mel frames, got "
                             f"shape {tuple(frames.shape)}: the input size of a speaker encoder is "
                             "the number of mel channels")
        x = (frames - self.feature_mean) / self.feature_std
        raw = self.net(x)
        if self.config.relu_output:
            raw = torch.relu(raw)
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    # -- audio in, embedding out --------------------------------------------------------------
    def _partials(self, wav16k: np.ndarray, rate: float, min_coverage: float) -> np.ndarray:
        wav_slices, frame_slices = partial_slices(len(wav16k), rate, min_coverage, self.config.partial_frames)
        if wav_slices[-1].stop >= len(wav16k):
            wav16k = np.pad(wav16k, (0, wav_slices[-1].stop - len(wav16k)))
        feats = self.features(wav16k)
        return np.stack([feats[s] for s in frame_slices])

    @torch.no_grad()
    def embed_utterances(self, wavs: list, sr: int, rate: float = 1.3, min_coverage: float = 0.75,
                         preprocessed: bool = False, batch_size: int = 256) -> np.ndarray:
        """(N, D) unit-norm embeddings of N utterances, their partial windows run in batches."""
        self.eval()
        if preprocessed and sr != SAMPLE_RATE:
            raise BadAudioError(f"preprocessed audio must be at {SAMPLE_RATE} Hz, got {sr}")
        wavs16k = [check_audio(wav, sr) if preprocessed else preprocess(wav, sr) for wav in wavs]
        if self.config.whole_utterance:
            return self.embed_features([self.features(w) for w in wavs16k])
        windows, owner = [], []
        for index, wav16k in enumerate(wavs16k):
            parts = self._partials(wav16k, rate, min_coverage)
            windows.append(parts)
            owner += [index] * len(parts)
        frames = torch.from_numpy(np.concatenate(windows))
        partial = torch.cat([self(frames[i:i + batch_size].to(self.device)).cpu()
                             for i in range(0, len(frames), batch_size)]).numpy()
        sums = np.zeros((len(wavs), partial.shape[1]), dtype=np.float64)
        np.add.at(sums, np.asarray(owner), partial)
        counts = np.bincount(owner, minlength=len(wavs))[:, None]
        mean = sums / counts
        return (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)

    @torch.no_grad()
    def embed_features(self, features: list) -> np.ndarray:
        """(N, D) embeddings of N whole feature matrices (T, 40), one forward each."""
        self.eval()
        out = [self(torch.from_numpy(np.asarray(f))[None].to(self.device)).cpu().numpy()[0] for f in features]
        return np.stack(out).astype(np.float32)

    def embed_utterance(self, wav, sr: int, rate: float = 1.3, min_coverage: float = 0.75,
                        preprocessed: bool = False) -> np.ndarray:
        """Unit-norm embedding (numpy, float32) of one utterance at any sample rate (notebook 07).

        The audio is checked and preprocessed (:func:`preprocess`) unless ``preprocessed``;
        bad audio (empty, NaN, silent, too short) raises :class:`BadAudioError`.
        """
        return self.embed_utterances([wav], sr, rate, min_coverage, preprocessed)[0]

    def embed_speaker(self, wavs: list, sr: int, **kwargs) -> np.ndarray:
        """Unit-norm speaker embedding: the normalised mean of the utterances' embeddings."""
        if len(wavs) == 0:
            raise BadAudioError("embed_speaker needs at least one utterance")
        mean = self.embed_utterances(list(wavs), sr, **kwargs).mean(0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# GE2E loss
# ----------------------------------------------------------------------------------------------

class GE2ELoss(nn.Module):
    """Generalised end-to-end loss, softmax variant (Wan et al., 2018; notebook 07).

    For a batch of N speakers x M utterances of unit-norm embeddings ``e[j, i]``:
    centroids ``c_k = mean_i e[k, i]``, except that an utterance is compared with its own
    speaker's centroid computed *without* it, ``(M c_j - e[j, i]) / (M - 1)``;
    similarities ``S[j, i, k] = w * cos(e[j, i], c_k) + b`` with learnable ``w > 0`` (clamped)
    and ``b``; loss = mean over (j, i) of ``-S[j, i, j] + log sum_k exp S[j, i, k]``, the cross
    entropy of "which speaker is this utterance?".
    """

    def __init__(self, init_w: float = 10.0, init_b: float = -5.0, min_w: float = 1e-6):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float(init_w)))
        self.b = nn.Parameter(torch.tensor(float(init_b)))
        self.min_w = min_w

    def similarity(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(N, M, N) scaled cosine similarities of every utterance to every centroid."""
        if embeddings.dim() != 3 or embeddings.shape[0] < 2 or embeddings.shape[1] < 2:
            raise ValueError("GE2E needs embeddings of shape (speakers >= 2, utterances >= 2, dim), "
                             f"got {tuple(embeddings.shape)}")
        n, m, _ = embeddings.shape
        e = nn.functional.normalize(embeddings, dim=-1)
        total = e.sum(1)                                            # (N, D)
        centroids = nn.functional.normalize(total / m, dim=-1)      # (N, D)
        exclusive = nn.functional.normalize((total[:, None] - e) / (m - 1), dim=-1)  # (N, M, D)
        cos = torch.einsum("jid,kd->jik", e, centroids)             # (N, M, N)
        own = (e * exclusive).sum(-1)                               # (N, M)
        eye = torch.eye(n, dtype=torch.bool, device=e.device)[:, None, :].expand(n, m, n)
        cos = torch.where(eye, own[:, :, None].expand(n, m, n), cos)
        return self.w.clamp(min=self.min_w) * cos + self.b

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        s = self.similarity(embeddings)
        n, m, _ = s.shape
        target = torch.arange(n, device=s.device).repeat_interleave(m)
        return nn.functional.cross_entropy(s.reshape(n * m, n), target)


# ----------------------------------------------------------------------------------------------
# training and evaluation
# ----------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """How to train a course speaker encoder (notebook 07); ``for_profile`` gives the course's."""

    model: SpeakerEncoderConfig = field(default_factory=SpeakerEncoderConfig)
    steps: int = 300
    speakers_per_batch: int = 16
    utterances_per_speaker: int = 6
    crop_frames: int = 160
    lr: float = 3e-3
    seed: int = 0

    @classmethod
    def for_profile(cls, profile: str = "quick", arch: str = "lstm", seed: int = 0) -> "TrainConfig":
        """The quick (2-core CPU, under 2 minutes) and full (GPU) settings of each architecture.

        ``seed`` seeds the training run (initial weights, batches); notebook 07's ``SEED``.

        Quick: 64 speakers x 3 windows of 1 s per step (more speakers per batch, more negatives
        for the softmax: held-out EER measured 0.6 % against 0.8 % for 48 x 3 x 1.2 s and 1.2-1.6 %
        for 32 x 4 at equal steps). The LSTM is narrowed to 2 x 128 (the
        paper's 3 x 256 is several times slower on a CPU); notebook 07 trains it only for the
        comparison. Full: the paper's LSTM sizes, a wide TDNN, 64 speakers x 6 windows.
        """
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        quick = dict(speakers_per_batch=64, utterances_per_speaker=3, crop_frames=100, lr=5e-3)
        full = dict(speakers_per_batch=64, utterances_per_speaker=6, crop_frames=160, lr=2e-3, steps=3000)
        if arch == "lstm":
            if profile == "quick":
                return cls(SpeakerEncoderConfig("lstm", hidden=128, layers=2, embedding=128, partial_frames=100),
                           steps=60, seed=seed, **quick)
            return cls(SpeakerEncoderConfig("lstm", hidden=256, layers=3, embedding=256), seed=seed, **full)
        if arch == "tdnn":
            if profile == "quick":
                return cls(SpeakerEncoderConfig("tdnn", hidden=128, embedding=128, partial_frames=100,
                                                whole_utterance=True), steps=350, seed=seed, **quick)
            return cls(SpeakerEncoderConfig("tdnn", hidden=512, embedding=192, dilations=(1, 2, 3, 4),
                                            whole_utterance=True), seed=seed, **full)
        raise ValueError(f"arch must be 'lstm' or 'tdnn', not {arch!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"]["dilations"] = list(d["model"]["dilations"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        return cls(model=SpeakerEncoderConfig(**d.pop("model")), **d)


def _crop_batch(features: dict, speakers: list, m: int, frames: int, rng: np.random.Generator) -> torch.Tensor:
    batch = []
    for spk in speakers:
        utts = features[spk]
        for u in rng.choice(len(utts), size=m, replace=len(utts) < m):
            f = utts[u]
            if len(f) < frames:  # pad short utterances with their own quietest frame
                f = np.concatenate([f, np.repeat(f.min(0, keepdims=True), frames - len(f), 0)])
            start = rng.integers(0, len(f) - frames + 1)
            batch.append(f[start:start + frames])
    return torch.from_numpy(np.stack(batch))


def train(features: dict, config: TrainConfig, device: str = "cpu", progress: bool = True,
          callback=None) -> tuple[SpeakerEncoder, dict]:
    """Train a speaker encoder with the GE2E loss on ``{speaker: [features (T, 40)]}`` (notebook 07).

    Returns ``(encoder, history)``; history holds the loss and GE2E ``w``/``b`` at every step
    and the training time. ``callback(step, loss, model)`` is called after each step (live plots,
    snapshots).
    """
    from tqdm.auto import tqdm

    speakers = sorted(features)
    if len(speakers) < 2:
        raise ValueError("training needs at least 2 speakers")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = SpeakerEncoder(config.model)
    model.fit_normalisation([f for spk in speakers for f in features[spk]])
    model.to(device).train()
    loss_fn = GE2ELoss().to(device)
    optimiser = torch.optim.Adam([{"params": model.parameters()},
                                  {"params": loss_fn.parameters(), "lr": config.lr}], lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.steps,
                                                   pct_start=0.15)
    n = min(config.speakers_per_batch, len(speakers))
    history = {"loss": [], "w": [], "b": []}
    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc=f"GE2E {config.model.arch}", disable=not progress)
    for step in bar:
        chosen = [speakers[i] for i in rng.choice(len(speakers), size=n, replace=False)]
        frames = _crop_batch(features, chosen, config.utterances_per_speaker, config.crop_frames, rng)
        emb = model(frames.to(device)).reshape(n, config.utterances_per_speaker, -1)
        loss = loss_fn(emb)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        optimiser.step()
        schedule.step()
        history["loss"].append(loss.item())
        history["w"].append(loss_fn.w.item())
        history["b"].append(loss_fn.b.item())
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if callback is not None:
            callback(step, loss.item(), model)
    history["seconds"] = time.perf_counter() - start
    return model.eval().cpu(), history


def enrol_and_test(embeddings: np.ndarray, speakers, n_enrol: int = 3):
    """Split utterance embeddings into enrolment and test sets per speaker (notebook 07).

    The first ``n_enrol`` utterances of each speaker (in the given order) make its enrolment
    embedding (normalised mean); the rest are test utterances. Returns
    ``(enrol (S, D), enrol_speakers, test (N, D), test_speakers)``.
    """
    speakers = np.asarray(speakers)
    enrol, enrol_spk, test, test_spk = [], [], [], []
    for spk in dict.fromkeys(speakers.tolist()):
        own = embeddings[speakers == spk]
        if len(own) <= n_enrol:
            raise ValueError(f"speaker {spk!r} has {len(own)} utterances; needs more than n_enrol={n_enrol}")
        mean = own[:n_enrol].mean(0)
        enrol.append(mean / np.linalg.norm(mean))
        enrol_spk.append(spk)
        test.append(own[n_enrol:])
        test_spk += [spk] * (len(own) - n_enrol)
    return np.stack(enrol), enrol_spk, np.concatenate(test), test_spk


def verification_eer(embeddings: np.ndarray, speakers, n_enrol: int = 3):
    """EER of enrol-from-``n_enrol``, test-on-the-rest trials: ``(EERResult, scores, labels)``."""
    enrol, enrol_spk, test, test_spk = enrol_and_test(embeddings, speakers, n_enrol)
    scores, labels = verification.verification_trials(enrol, enrol_spk, test, test_spk)
    return verification.eer(scores, labels), scores, labels


# ----------------------------------------------------------------------------------------------
# the course encoder: load or train
# ----------------------------------------------------------------------------------------------

#: Training and held-out corpora per profile: (speakers or None for all, utterances each).
TRAIN_CORPUS = {"quick": (None, 8), "full": (None, 24)}
HELDOUT_CORPUS = {"quick": (None, 10), "full": (None, 16)}
#: The architecture of the course encoder per profile (notebook 07 compares both).
COURSE_ARCH = {"quick": "tdnn", "full": "tdnn"}


def _config_key(config: TrainConfig, corpus: dict) -> str:
    text = json.dumps({"train": config.to_dict(), "corpus": corpus}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def preprocessed_audio(corpus, progress: bool = True) -> tuple[list[str], list[np.ndarray]]:
    """``(speaker ids, preprocessed 16 kHz waveforms)`` of every item of a corpus (notebook 07)."""
    from tqdm.auto import tqdm

    names, wavs = [], []
    for i in tqdm(range(len(corpus.items)), desc="preprocess", disable=not progress):
        wav, sr = corpus.load(i)
        names.append(_speaker_of(corpus.items[i]))
        wavs.append(preprocess(wav, sr))
    return names, wavs


def corpus_features(corpus, encoder: SpeakerEncoder | None = None, progress: bool = True) -> dict:
    """``{speaker: [log-mel features (T, 40)]}`` of a ``voices`` corpus, preprocessed (notebook 07)."""
    from tqdm.auto import tqdm

    encoder = encoder or SpeakerEncoder(SpeakerEncoderConfig(features="logmel"))
    out: dict = {}
    for i in tqdm(range(len(corpus.items)), desc="features", disable=not progress):
        wav, sr = corpus.load(i)
        spk = _speaker_of(corpus.items[i])
        out.setdefault(spk, []).append(encoder.features(preprocess(wav, sr)))
    return out


def _speaker_of(item) -> str:
    for name in ("speaker", "speaker_id", "spk"):
        value = getattr(item, name, None) if not isinstance(item, dict) else item.get(name)
        if value is not None:
            return str(value)
    raise TypeError(f"cannot find the speaker of corpus item {item!r}")


def course_encoder(profile: str = "quick", arch: str | None = None, device: str = "cpu",
                   train_if_missing: bool = True, progress: bool = True, seed: int = 0) -> SpeakerEncoder:
    """The course's trained speaker encoder for ``profile``: loaded from the cache, else trained.

    Notebook 07 trains it (and saves it where this function looks); later notebooks call
    ``speaker.course_encoder(profile)``. The checkpoint sits in ``env.cache_dir("speaker")``
    with its training configuration and loads with ``torch.load(weights_only=True)``; a
    changed configuration (another ``seed`` included) gets a new file name, so a stale
    checkpoint is never loaded.
    """

    arch = arch or COURSE_ARCH[profile]
    config = TrainConfig.for_profile(profile, arch, seed)
    path = checkpoint_path(profile, arch, seed)
    device = env.pick_device(device)
    if path.exists():
        return SpeakerEncoder.load(path, device)
    if not train_if_missing:
        raise FileNotFoundError(f"no trained speaker encoder at {path}; run notebook 07 or "
                                f"course_encoder(profile={profile!r}) with train_if_missing=True")
    features = corpus_features(_build(training_corpus_spec(profile), progress), progress=progress)
    model, history = train(features, config, device=device, progress=progress)
    save_course_encoder(model, profile, arch, history, seed)
    return model.to(device)


def save_course_encoder(model: SpeakerEncoder, profile: str, arch: str, history: dict, seed: int = 0) -> Path:
    """Save a trained encoder where :func:`course_encoder` finds it, with its configuration."""
    config = TrainConfig.for_profile(profile, arch, seed)
    return model.save(checkpoint_path(profile, arch, seed), train=config.to_dict(), corpus=training_corpus_spec(profile),
                      seconds=float(history["seconds"]), final_loss=float(np.mean(history["loss"][-10:])))


def _build(spec: dict, progress: bool):
    from course_utils import voices

    return voices.build_corpus(**spec, progress=progress)


def _spec(profile: str, split: str, table: dict) -> dict:
    from course_utils import voices

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    n_speakers, n_utts = table[profile]
    return {"n_speakers": n_speakers or len(voices.speakers(split)), "utterances_per_speaker": n_utts,
            "seed": 0, "split": split}


def training_corpus_spec(profile: str = "quick") -> dict:
    """Arguments of ``voices.build_corpus`` for the training corpus of ``profile`` (notebook 07)."""
    return _spec(profile, "train", TRAIN_CORPUS)


def heldout_corpus_spec(profile: str = "quick") -> dict:
    """Arguments of ``voices.build_corpus`` for the held-out evaluation corpus (notebook 07)."""
    return _spec(profile, "heldout", HELDOUT_CORPUS)


def checkpoint_path(profile: str = "quick", arch: str | None = None, seed: int = 0) -> Path:
    """Where :func:`course_encoder` keeps the checkpoint of ``profile``, ``arch`` and ``seed``."""

    arch = arch or COURSE_ARCH[profile]
    config = TrainConfig.for_profile(profile, arch, seed)
    key = _config_key(config, training_corpus_spec(profile))
    return env.cache_dir("speaker") / f"encoder_{arch}_{profile}_{key}.pt"
