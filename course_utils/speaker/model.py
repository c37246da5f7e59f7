"""The speaker-encoder networks (notebook 07): GE2E's LSTM (Resemblyzer's sizes), a faster TDNN, the GE2E loss."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from course_utils import audio, env
from course_utils.speaker.features import (N_MELS, PARTIAL_FRAMES, SAMPLE_RATE, mel_power, partial_slices,
                                           preprocess, pretrained_weights_path)


# ----------------------------------------------------------------------------------------------
# the networks
# ----------------------------------------------------------------------------------------------

@dataclass
class SpeakerEncoderConfig:
    """Architecture and input of a :class:`SpeakerEncoder` (used by speaker.SpeakerEncoder).

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
            raise audio.AudioError(f"preprocessed audio must be at {SAMPLE_RATE} Hz, got {sr}")
        wavs16k = [audio.check_wav(wav, sr, name="audio", allow_silent=False) if preprocessed else preprocess(wav, sr) for wav in wavs]
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
        bad audio (empty, NaN, silent, too short) raises :class:`audio.AudioError`.
        """
        return self.embed_utterances([wav], sr, rate, min_coverage, preprocessed)[0]

    def embed_speaker(self, wavs: list, sr: int, **kwargs) -> np.ndarray:
        """Unit-norm speaker embedding: the normalised mean of the utterances' embeddings."""
        if len(wavs) == 0:
            raise audio.AudioError("embed_speaker needs at least one utterance")
        mean = self.embed_utterances(list(wavs), sr, **kwargs).mean(0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# GE2E loss
# ----------------------------------------------------------------------------------------------

class GE2ELoss(nn.Module):
    """Generalised end-to-end loss, softmax variant (Wan et al., 2018; notebook 07) (notebook 07).

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

