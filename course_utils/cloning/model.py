"""The acoustic model of notebook 08: durations, length regulator, masks, FiLM, the model itself,
and what its output passes through (the global-variance post-filter of notebook 09).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from course_utils.text_encoder import TextEncoder, lengths_to_mask
from course_utils.cloning.config import ClonerConfig, CloningError


# ----------------------------------------------------------------------------------------------
# durations, length regulator, masks (the exercises of notebook 08)
# ----------------------------------------------------------------------------------------------

def length_regulate(h: torch.Tensor, durations: torch.Tensor,
                    max_frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat each symbol's vector ``durations`` times (notebook 08).

    ``h`` (B, T, C), ``durations`` (B, T) non-negative integers (0 drops a symbol; padded symbols
    must have 0).  Returns ``(frames (B, F, C), frame_lengths (B,))`` where ``F`` is the longest
    total (or ``max_frames``); frames past an item's length are zero.
    """
    durations = durations.long().clamp_min(0)
    ends = durations.cumsum(1)                                   # (B, T)
    lengths = ends[:, -1]
    total = int(lengths.max()) if max_frames is None else int(max_frames)
    total = max(total, 1)
    frames = torch.arange(total, device=h.device)
    index = torch.searchsorted(ends, frames.expand(h.shape[0], total).contiguous(), right=True)
    index = index.clamp_max(h.shape[1] - 1)
    out = torch.gather(h, 1, index[..., None].expand(-1, -1, h.shape[2]))
    valid = frames[None, :] < lengths[:, None]
    return out * valid[..., None].to(out.dtype), lengths


def position_in_symbol(durations: torch.Tensor, total: int) -> torch.Tensor:
    """For every frame, where it sits inside its symbol: ``(k + 0.5) / d`` in (0, 1).

    (used by cloning.model.AcousticModel)
    """
    durations = durations.long().clamp_min(0)
    ends = durations.cumsum(1)
    frames = torch.arange(total, device=durations.device).expand(durations.shape[0], total).contiguous()
    index = torch.searchsorted(ends, frames, right=True).clamp_max(durations.shape[1] - 1)
    start = torch.gather(ends - durations, 1, index)
    length = torch.gather(durations, 1, index).clamp_min(1)
    return ((frames - start).float() + 0.5) / length.float()


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the valid frames only: ``mask`` (B, F) is True where valid (notebook 08)."""
    weight = mask[..., None].to(prediction.dtype)
    total = weight.sum() * prediction.shape[-1]
    return ((prediction - target).abs() * weight).sum() / total.clamp_min(1.0)


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid positions of ``mask`` (used by cloning.model.AcousticModel)."""
    weight = mask.to(prediction.dtype)
    return ((prediction - target).square() * weight).sum() / weight.sum().clamp_min(1.0)


class FiLM(nn.Module):
    """Feature-wise linear modulation by a speaker vector: ``x * (1 + gamma(z)) + beta(z)`` (notebook 08).

    ``x`` (B, T, C), ``z`` (B, D). The layer starts as the identity (zero weights), so training
    begins from the unconditioned network.
    """

    def __init__(self, speaker_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(speaker_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(z)[:, None, :].chunk(2, dim=-1)
        return x * (1 + gamma) + beta


# ----------------------------------------------------------------------------------------------
# the acoustic model
# ----------------------------------------------------------------------------------------------

class ConvBlock(nn.Module):
    """Residual block on (B, T, C): Conv1d -> [FiLM] -> ReLU -> LayerNorm -> Dropout, masked.

    (used by cloning.model.AcousticModel, cloning.model.DurationPredictor)
    """

    def __init__(self, channels: int, kernel: int, dilation: int, speaker_dim: int | None, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.film = FiLM(speaker_dim, channels) if speaker_dim else None
        self.norm = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        if self.film is not None:
            y = self.film(y, z)
        y = self.dropout(self.norm(torch.relu(y)))
        return (x + y) * mask[..., None].to(y.dtype)


class DurationPredictor(nn.Module):
    """Two convolutions and a linear layer: ``log(1 + frames)`` per symbol.

    (used by cloning.model.AcousticModel)
    """

    def __init__(self, in_dim: int, channels: int, speaker_dim: int | None, dropout: float):
        super().__init__()
        self.inp = nn.Linear(in_dim, channels)
        self.blocks = nn.ModuleList(ConvBlock(channels, 3, 1, speaker_dim, dropout) for _ in range(2))
        self.out = nn.Linear(channels, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.inp(h) * mask[..., None].to(h.dtype)
        for block in self.blocks:
            x = block(x, mask, z)
        return self.out(x).squeeze(-1) * mask.to(x.dtype)


class AcousticModel(nn.Module):
    """Phonemes + speaker embedding -> log-mel frames (notebook 08); see the module docstring.

    ``forward(ids, lengths, speaker, durations=None)`` returns a dict with ``mel`` (before the
    postnet) and ``mel_post`` (B, F, n_mels) in standardised units, ``log_durations`` (B, T),
    ``durations`` used (B, T) and ``frame_mask`` (B, F).  Without ``durations`` the predicted ones
    are used (inference).  :meth:`denormalise` turns standardised frames into log-mel.
    """

    def __init__(self, config: ClonerConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = TextEncoder(c.text_encoder())
        d = self.encoder.output_dim
        film_dim = c.speaker_dim if c.injection in ("film", "both") else None
        self.speaker_to_encoder = nn.Linear(c.speaker_dim, d) if c.injection in ("encoder", "both") else None
        self.duration = DurationPredictor(d, c.duration_channels, film_dim, c.dropout)
        self.decoder_in = nn.Linear(d + 1, c.decoder_channels)
        self.decoder = nn.ModuleList(ConvBlock(c.decoder_channels, c.decoder_kernel, dil, film_dim, c.dropout)
                                     for dil in c.decoder_dilations)
        self.mel_out = nn.Linear(c.decoder_channels, c.n_mels)
        post = []
        for i in range(c.postnet_layers):
            last = i == c.postnet_layers - 1
            post.append(nn.Conv1d(c.n_mels if i == 0 else c.postnet_channels,
                                  c.n_mels if last else c.postnet_channels, 5, padding=2))
        self.postnet = nn.ModuleList(post)
        # standardisation of targets and speaker embeddings (set from the training data)
        self.register_buffer("mel_mean", torch.zeros(c.n_mels))
        self.register_buffer("mel_std", torch.ones(c.n_mels))
        self.register_buffer("speaker_mean", torch.zeros(c.speaker_dim))
        self.register_buffer("speaker_std", torch.ones(c.speaker_dim))

    # -- pieces --------------------------------------------------------------------------------
    def speaker_code(self, speaker: torch.Tensor) -> torch.Tensor:
        """Standardised speaker embedding ``z`` (B, D): each dimension centred and scaled."""
        if speaker.dim() != 2 or speaker.shape[1] != self.config.speaker_dim:
            raise CloningError(f"speaker embeddings must be (batch, {self.config.speaker_dim}), got "
                               f"{tuple(speaker.shape)}; make them with VoiceCloner.enroll")
        return (speaker - self.speaker_mean) / self.speaker_std

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Text encoder outputs with the speaker added (injection "encoder"), and the symbol mask."""
        h = self.encoder(ids, lengths)
        mask = lengths_to_mask(lengths.cpu(), ids.shape[1]).to(ids.device)
        if self.speaker_to_encoder is not None:
            h = (h + self.speaker_to_encoder(z)[:, None, :]) * mask[..., None].to(h.dtype)
        return h, mask

    def decode(self, frames: torch.Tensor, position: torch.Tensor, frame_mask: torch.Tensor,
               z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder and postnet on length-regulated frames: ``(mel, mel_post)`` (B, F, n_mels)."""
        x = self.decoder_in(torch.cat([frames, position[..., None]], dim=-1)) * frame_mask[..., None]
        for block in self.decoder:
            x = block(x, frame_mask, z)
        m = frame_mask[..., None].to(x.dtype)
        mel = self.mel_out(x) * m
        y = mel.transpose(1, 2)
        for i, conv in enumerate(self.postnet):
            y = conv(y)
            if i < len(self.postnet) - 1:
                y = torch.tanh(y) * m.transpose(1, 2)
        mel_post = (mel + y.transpose(1, 2)) * m
        return mel, mel_post

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, speaker: torch.Tensor,
                durations: torch.Tensor | None = None, pace: float = 1.0) -> dict:
        z = self.speaker_code(speaker)
        h, mask = self.encode(ids, lengths, z)
        log_durations = self.duration(h, mask, z)
        if durations is None:
            durations = torch.clamp(torch.round((torch.expm1(log_durations) * pace)), min=0).long() * mask.long()
            durations[:, 0] = durations[:, 0].clamp_min(1)   # never an empty utterance
        frames, frame_lengths = length_regulate(h, durations)
        position = position_in_symbol(durations, frames.shape[1])
        frame_mask = lengths_to_mask(frame_lengths, frames.shape[1])
        mel, mel_post = self.decode(frames, position, frame_mask, z)
        return {"mel": mel, "mel_post": mel_post, "log_durations": log_durations, "durations": durations,
                "frame_mask": frame_mask, "frame_lengths": frame_lengths, "symbol_mask": mask}

    def normalise(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel (..., n_mels) -> standardised units (the training targets)."""
        return (log_mel - self.mel_mean) / self.mel_std

    def denormalise(self, mel: torch.Tensor) -> torch.Tensor:
        """Standardised units -> log-mel (..., n_mels)."""
        return mel * self.mel_std + self.mel_mean

    def loss(self, batch: dict, out: dict | None = None) -> tuple[torch.Tensor, dict]:
        """Masked L1 on mels (before and after the postnet) + weighted MSE on log durations."""
        out = out if out is not None else self(batch["ids"], batch["lengths"], batch["speaker"], batch["durations"])
        target = batch["mel"]
        mask = out["frame_mask"]
        if target.shape[1] != mask.shape[1]:
            raise CloningError(f"mel targets have {target.shape[1]} frames but the durations sum to "
                               f"{mask.shape[1]}: durations must come from audio.durations_in_frames on the same audio")
        mel_loss = masked_l1(out["mel"], target, mask)
        post_loss = masked_l1(out["mel_post"], target, mask)
        dur_loss = masked_mse(out["log_durations"], torch.log1p(batch["durations"].float()), out["symbol_mask"])
        total = mel_loss + post_loss + self.config.duration_weight * dur_loss
        parts = {"loss": total, "mel": mel_loss, "postnet": post_loss, "duration": dur_loss}
        return total, {k: float(v.detach()) for k, v in parts.items()}



@contextlib.contextmanager
def single_thread():
    """Run the ``with`` block with one PyTorch CPU thread, then restore the previous setting.

    (used by cloning.cloner.VoiceCloner.synthesize)
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def gv_postfilter(log_mel: np.ndarray, scale: float) -> np.ndarray:
    """Global-variance post-filter (notebook 09): scale each mel channel's deviation from its mean over time.

    A model trained with an L1/L2 loss predicts the average of the frames a sound could have, so
    its frames vary less than real speech ("over-smoothing"); ``scale`` > 1 gives the variance
    back (Toda & Tokuda, 2007; the scaling form: Silén et al., 2012).  ``scale == 1`` is the identity.
    """
    log_mel = np.asarray(log_mel, dtype=np.float32)
    if scale == 1.0:
        return log_mel
    mean = log_mel.mean(axis=1, keepdims=True)
    return (mean + np.float32(scale) * (log_mel - mean)).astype(np.float32)


#: Share of an utterance's frames, the quietest, that :func:`speech_statistics` leaves out (pauses).
QUIET_SHARE = 0.4
#: How far :func:`match_statistics` may scale a channel's spread (the ratio is clipped to this range).
SPREAD_RATIO = (0.5, 2.0)


def speech_statistics(log_mels) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's mean and standard deviation over the speech frames of one or more
    ``(n_mels, frames)`` log-mels: the frames louder (mean over channels) than the quietest
    :data:`QUIET_SHARE` of their utterance (used by cloning.cloner.VoiceCloner)."""
    if isinstance(log_mels, np.ndarray):
        log_mels = [log_mels]
    kept = []
    for m in log_mels:
        m = np.asarray(m, dtype=np.float64)
        loudness = m.mean(axis=0)
        kept.append(m[:, loudness > np.quantile(loudness, QUIET_SHARE)] if m.shape[1] > 2 else m)
    frames = np.concatenate(kept, axis=1)
    return frames.mean(axis=1).astype(np.float32), frames.std(axis=1).astype(np.float32)


def match_statistics(log_mel: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Give a predicted log-mel a speaker's spectrum: each channel's speech-frame mean and spread
    become ``mean`` and ``std`` (the references', :func:`speech_statistics`)
    (used by cloning.cloner.VoiceCloner.postfilter).

    The long-term spectrum carries much of a voice's colour (vocal-tract length, breathiness,
    the recording's microphone and room); moving each channel by its offset transfers it, and
    scaling the deviations (ratio clipped to :data:`SPREAD_RATIO`) gives back the spread an L1
    loss smooths away, as :func:`gv_postfilter` does with one scale for all channels. Statistics
    matching is an old voice-conversion baseline; it changes the colour, not the rhythm, pitch
    contour or pronunciation.
    """
    log_mel = np.asarray(log_mel, dtype=np.float32)
    own_mean, own_std = speech_statistics(log_mel)
    ratio = np.clip(std / np.maximum(own_std, 1e-6), *SPREAD_RATIO)
    out = mean[:, None] + ratio[:, None] * (log_mel - own_mean[:, None])
    return out.astype(np.float32)


def nearest_frames(log_mel: np.ndarray, frames: np.ndarray, k: int, values: np.ndarray | None = None) -> np.ndarray:
    """Each frame of ``log_mel`` replaced by the mean of the ``values`` (default: ``frames``) of its ``k``
    nearest ``frames`` (Euclidean, over the ``(n_mels, N)`` log-mel frames of the references); ``values``
    is any ``(dim, N)`` array with one column per reference frame (used by cloning.cloner.VoiceCloner.spectrum).

    The k-nearest-neighbour voice conversion of Baas, van Niekerk and Kamper (2023, "kNN-VC"), with
    log-mels instead of WavLM features: every frame of the output is made of the speaker's own
    frames, so it sounds more like them, but a frame whose phone the references never said gets
    the nearest other sound. The cloner matches on log-mels and averages the references' *log
    STFT magnitudes* (``Speaker.spectra``), so the vocoder gets the speaker's harmonics, which the
    80 mel channels blur. Measured in ``benchmarks/bench_real_voices.py``.
    """
    x = np.asarray(log_mel, dtype=np.float32).T                   # (T, n_mels)
    y = np.asarray(frames, dtype=np.float32).T                    # (N, n_mels)
    v = y if values is None else np.asarray(values, dtype=np.float32).T   # (N, dim)
    if len(v) != len(y):
        raise ValueError(f"values has {len(v)} frames, frames has {len(y)}: one value per reference frame")
    k = max(1, min(int(k), len(y)))
    distance = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
    return v[nearest].mean(axis=1).T.astype(np.float32)
