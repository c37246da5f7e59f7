"""Multi-speaker synthesis and zero-shot voice cloning.

Introduced in ``08_multispeaker_synthesis.ipynb`` (fine-tuning builds on it in notebook 09, the
safety rules of notebook 11 apply to it)::

    from course_utils import cloning
    cloner = cloning.VoiceCloner.pretrained(profile="quick")   # loads (or trains) the checkpoint
    speaker = cloner.enroll([wav1, wav2, wav3], sr)             # any sample rate
    wav, sr = cloner.synthesize("Hello there.", speaker)        # float32, watermarked

The acoustic model (a FastSpeech-style, non-autoregressive synthesiser)::

    phoneme ids (B, T) --TextEncoder (notebook 06)-------------> h (B, T, C)
    speaker embedding s (unit norm, from a speaker encoder) --standardise--> z
        injection "encoder": h <- h + W z                 (every symbol hears the speaker)
    duration predictor (convs, FiLM by z)  -> log(1 + frames per phoneme)
    length regulator: repeat h_i d_i times  -> (B, F, C), + position inside the phoneme
    decoder: residual dilated convs, injection "film": x <- x * (1 + g(z)) + b(z) in each block
    -> log-mel frames (B, F, n_mels), postnet (convs) adds a residual correction

Training durations come from the corpus's phoneme spans (samples -> frames, see
:func:`spans_to_durations`); the loss is an L1 distance on standardised log-mel frames (before
and after the postnet), plus a mean squared error on log durations, all masked to the valid
positions.  The vocoder is Griffin-Lim (:mod:`course_utils.vocoder`).

Cloning is scored with the *pretrained* speaker encoder, which the model never saw
(:func:`cloning_score`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils import audio, env
from course_utils.text_encoder import TextEncoder, TextEncoderConfig, lengths_to_mask, pad_batch

PROFILES = ("quick", "full")
INJECTIONS = ("encoder", "film", "both")
SPEAKER_ENCODERS = ("course", "pretrained")
PAD, UNK = "<pad>", "<unk>"
#: Symbol of silence in the corpus spans (``voices.PAUSE``).
SILENCE = "_"
CHECKPOINT_VERSION = 1


class CloningError(ValueError):
    """Bad input to the cloner (text, audio, speaker, checkpoint); the message says what to do."""


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------

@dataclass
class ClonerConfig:
    """Everything that defines a cloner: features, model sizes, training and data (notebook 08).

    ``for_profile("quick")`` fits a 2-core CPU (training in a few minutes), ``"full"`` a GPU.
    Stored in every checkpoint, so a checkpoint rebuilds its own model.
    """

    profile: str = "quick"
    # features: 16 kHz log-mel, 80 channels, 64 ms window, 16 ms hop (cheap to train and to vocode)
    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmax: float = 8000.0
    log_floor: float = 1e-5
    # model
    symbols: list = field(default_factory=list)
    encoder_embedding: int = 128
    encoder_lstm: int = 64
    encoder_convs: int = 3
    encoder_dropout: float = 0.1
    speaker_encoder: str = "pretrained"
    speaker_dim: int = 256
    injection: str = "film"
    duration_channels: int = 128
    decoder_channels: int = 128
    decoder_dilations: list = field(default_factory=lambda: [1, 3, 9, 1])
    decoder_kernel: int = 5
    postnet_channels: int = 128
    postnet_layers: int = 2
    dropout: float = 0.0
    # training
    steps: int = 1500
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 60
    duration_weight: float = 1.0
    references_per_embedding: int = 5
    seed: int = 0
    # data: a voices.build_corpus call
    n_speakers: int = 206
    utterances_per_speaker: int = 8
    corpus_seed: int = 0
    embed_utterances: int = 4
    # synthesis
    accent: str = "en-us"
    griffin_lim_iters: int = 16

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {self.profile!r}")
        if self.injection not in INJECTIONS:
            raise ValueError(f"injection must be one of {INJECTIONS}, not {self.injection!r}")
        if self.speaker_encoder not in SPEAKER_ENCODERS:
            raise ValueError(f"speaker_encoder must be one of {SPEAKER_ENCODERS}, not {self.speaker_encoder!r}")
        self.symbols = list(self.symbols)
        self.decoder_dilations = list(self.decoder_dilations)

    @classmethod
    def for_profile(cls, profile: str = "quick", **overrides) -> "ClonerConfig":
        """The course's settings: ``"quick"`` (2 CPU cores, a few minutes) or ``"full"`` (GPU)."""
        if profile == "quick":
            base = {}
        elif profile == "full":
            base = dict(encoder_embedding=512, encoder_lstm=256, encoder_dropout=0.2, duration_channels=256,
                        decoder_channels=384, decoder_dilations=[1, 2, 4, 8, 1, 2, 4, 8], postnet_channels=256,
                        postnet_layers=5, dropout=0.1, steps=20000, batch_size=32, lr=1e-3, warmup=500,
                        speaker_dim=256, utterances_per_speaker=40, embed_utterances=20, griffin_lim_iters=48)
        else:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        base.update(overrides)
        return cls(profile=profile, **base)

    def features(self) -> audio.FeatureConfig:
        """The :class:`audio.FeatureConfig` of the model's log-mel frames."""
        return audio.FeatureConfig(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                                   fmax=self.fmax, power=1.0, log_floor=self.log_floor, trim=None,
                                   loudness_dbfs=None)

    def text_encoder(self) -> TextEncoderConfig:
        """The notebook 06 encoder's configuration (the quick one is narrower)."""
        return TextEncoderConfig(n_symbols=max(len(self.symbols), 2), embedding_dim=self.encoder_embedding,
                                 n_convolutions=self.encoder_convs, lstm_hidden=self.encoder_lstm,
                                 dropout=self.encoder_dropout, pad_id=0)

    def to_dict(self) -> dict:
        """Plain types only: safe for ``torch.load(weights_only=True)``."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "ClonerConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def key(self) -> str:
        """A short hash of everything but the vocabulary: names the cached checkpoint."""
        d = self.to_dict()
        d.pop("symbols")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


# ----------------------------------------------------------------------------------------------
# durations, length regulator, masks (the exercises of notebook 08)
# ----------------------------------------------------------------------------------------------

def spans_to_durations(spans: Sequence[tuple], n_samples: int, hop_length: int) -> np.ndarray:
    """Frames per phoneme from sample spans ``[(symbol, start, end), ...]`` (notebook 08).

    Frame ``k`` of a centred STFT looks at sample ``k * hop_length``; it belongs to the span that
    contains that sample (the last frame, which may sit on ``n_samples``, to the last span).
    The durations sum to the number of frames, ``1 + n_samples // hop_length``; a phoneme
    shorter than a hop can get 0 frames.
    """
    if n_samples < 1 or hop_length < 1:
        raise ValueError(f"need n_samples >= 1 and hop_length >= 1, got {n_samples}, {hop_length}")
    n_frames = 1 + n_samples // hop_length
    starts = np.array([s[1] for s in spans], dtype=np.int64)
    first_frame = -(-starts // hop_length)                      # ceil(start / hop)
    bounds = np.append(np.minimum(first_frame, n_frames), n_frames)
    return np.diff(bounds).astype(np.int64)


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
    """For every frame, where it sits inside its symbol: ``(k + 0.5) / d`` in (0, 1) (notebook 08)."""
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
    """Mean squared error over the valid positions of ``mask`` (notebook 08)."""
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
    """Residual block on (B, T, C): Conv1d -> [FiLM] -> ReLU -> LayerNorm -> Dropout, masked."""

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
    """Two convolutions and a linear layer: ``log(1 + frames)`` per symbol (notebook 08)."""

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
                               f"{mask.shape[1]}: durations must come from spans_to_durations on the same audio")
        mel_loss = masked_l1(out["mel"], target, mask)
        post_loss = masked_l1(out["mel_post"], target, mask)
        dur_loss = masked_mse(out["log_durations"], torch.log1p(batch["durations"].float()), out["symbol_mask"])
        total = mel_loss + post_loss + self.config.duration_weight * dur_loss
        parts = {"loss": total, "mel": mel_loss, "postnet": post_loss, "duration": dur_loss}
        return total, {k: float(v.detach()) for k, v in parts.items()}


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------

def symbol_ids(symbols: Sequence[str], vocabulary: Sequence[str]) -> list[int]:
    """Ids of phoneme symbols; an unknown one falls back to its unstressed form, then to ``<unk>``."""
    index = {s: i for i, s in enumerate(vocabulary)}
    out = []
    for s in symbols:
        if s in index:
            out.append(index[s])
        elif s.strip("ˈˌ") in index:
            out.append(index[s.strip("ˈˌ")])
        else:
            out.append(index.get(UNK, 1))
    return out


def build_vocabulary(items) -> list[str]:
    """``<pad>``, ``<unk>``, then every symbol of the corpus items (and unstressed forms), sorted."""
    seen = set()
    for item in items:
        for span in item.phonemes:
            seen.add(span[0])
            seen.add(span[0].strip("ˈˌ") or span[0])
    return [PAD, UNK] + sorted(seen)


@dataclass
class Example:
    """One training utterance: symbol ids, durations (frames), standardisable log-mel (F, n_mels)."""

    speaker: str
    ids: torch.Tensor
    durations: torch.Tensor
    mel: torch.Tensor


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Fast resampling (soxr, as librosa does; torchaudio's sinc resampler when soxr is missing)."""
    if orig_sr == target_sr:
        return np.asarray(wav, dtype=np.float32)
    try:
        import soxr
    except ImportError:  # pragma: no cover
        return audio.resample(wav, orig_sr, target_sr)
    return soxr.resample(np.asarray(wav, dtype=np.float32), orig_sr, target_sr).astype(np.float32)


def prepare_examples(corpus, config: ClonerConfig, progress: bool = True) -> list[Example]:
    """Resample the corpus to ``config.sr``, log-mel it, turn its phoneme spans into frame durations."""
    from tqdm.auto import tqdm

    feats = config.features()
    out = []
    for i in tqdm(range(len(corpus.items)), desc="features", disable=not progress, leave=False):
        item = corpus.items[i]
        wav, sr = corpus.load(i)
        wav16 = resample(wav, sr, config.sr)
        scale = config.sr / sr
        spans = [(s, int(round(a * scale)), int(round(b * scale))) for s, a, b in item.phonemes]
        mel = audio.log_mel(wav16, feats).T                      # (F, n_mels)
        durations = spans_to_durations(spans, len(wav16), config.hop_length)
        assert durations.sum() == len(mel), (durations.sum(), len(mel))
        out.append(Example(item.speaker, torch.tensor(symbol_ids([s[0] for s in spans], config.symbols)),
                           torch.from_numpy(durations), torch.from_numpy(np.ascontiguousarray(mel))))
    return out


def collate(examples: Sequence[Example], speakers: torch.Tensor, model: AcousticModel | None = None) -> dict:
    """Pad a list of examples into a batch (ids, lengths, durations, mel, speaker)."""
    ids, lengths = pad_batch([e.ids.tolist() for e in examples])
    durations = torch.zeros_like(ids)
    n_frames = max(len(e.mel) for e in examples)
    mel = torch.zeros(len(examples), n_frames, examples[0].mel.shape[1])
    for row, e in enumerate(examples):
        durations[row, : len(e.durations)] = e.durations
        m = e.mel if model is None else model.normalise(e.mel)
        mel[row, : len(m)] = m
    return {"ids": ids, "lengths": lengths, "durations": durations, "mel": mel, "speaker": speakers}


# ----------------------------------------------------------------------------------------------
# speaker encoders
# ----------------------------------------------------------------------------------------------

def load_speaker_encoder(kind: str = "pretrained", profile: str = "quick", progress: bool = True):
    """The speaker encoder the synthesiser is conditioned on (notebook 08).

    ``"pretrained"``: Resemblyzer's GE2E weights; ``"course"``: the encoder of notebook 07
    (loaded from the cache, trained if missing).
    """
    from course_utils import speaker

    if kind == "pretrained":
        return speaker.SpeakerEncoder.pretrained()
    if kind == "course":
        return speaker.course_encoder(profile=profile, progress=progress)
    raise ValueError(f"speaker encoder must be one of {SPEAKER_ENCODERS}, not {kind!r}")


def utterance_embeddings(corpus, encoder, n_per_speaker: int, progress: bool = True) -> dict[str, np.ndarray]:
    """``{speaker: (n, D) embeddings}`` of the first ``n_per_speaker`` utterances of each speaker."""
    from tqdm.auto import tqdm

    groups = corpus.by_speaker()
    out = {}
    for spk in tqdm(groups, desc="speaker embeddings", disable=not progress, leave=False):
        wavs = [corpus.load(i) for i in groups[spk][:n_per_speaker]]
        out[spk] = encoder.embed_utterances([w for w, _ in wavs], wavs[0][1])
    return out


def mean_embedding(embeddings: np.ndarray) -> np.ndarray:
    """Unit-norm mean of utterance embeddings (a speaker's embedding)."""
    mean = np.asarray(embeddings, dtype=np.float64).mean(0)
    return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------

def _lr_factor(step: int, config: ClonerConfig) -> float:
    if step < config.warmup:
        return (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * 0.95 + 0.05


def _batches(examples: list[Example], config: ClonerConfig, rng: np.random.Generator) -> list[list[int]]:
    """Length-bucketed batches in random order (less padding, same randomness every run)."""
    order = np.argsort([len(e.mel) + rng.uniform(0, 30) for e in examples], kind="stable")
    batches = [order[i:i + config.batch_size].tolist() for i in range(0, len(order), config.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_model(examples: list[Example], embeddings: dict[str, np.ndarray], config: ClonerConfig,
                device: str = "cpu", progress: bool = True,
                callback: Callable[[int, dict], None] | None = None) -> tuple[AcousticModel, dict]:
    """Train an :class:`AcousticModel` on prepared examples and per-utterance speaker embeddings (notebook 08).

    Each example is conditioned on the mean embedding of ``references_per_embedding`` random
    utterances of its speaker (as at cloning time, where a few references make the speaker).
    Returns ``(model, history)``: history has the losses at every step and the training time.
    ``callback(step, losses)`` is called after every step (for live loss curves).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = AcousticModel(config)
    frames = torch.cat([e.mel for e in examples])
    model.mel_mean.copy_(frames.mean(0))
    model.mel_std.copy_(frames.std(0).clamp_min(1e-3))
    speaker_means = np.stack([mean_embedding(e) for e in embeddings.values()])
    model.speaker_mean.copy_(torch.from_numpy(speaker_means.mean(0)))
    model.speaker_std.copy_(torch.from_numpy(speaker_means.std(0) + 1e-3))
    model.to(device).train()
    normalised = [Example(e.speaker, e.ids, e.durations, model.normalise(e.mel.to(device)).cpu()) for e in examples]
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.98), weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _lr_factor(s, config))
    history = {"step": [], "loss": [], "mel": [], "postnet": [], "duration": []}
    pending: list[list[int]] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(config.steps), desc=f"training ({config.profile})", disable=not progress, leave=False)
    for step in bar:
        if not pending:
            pending = _batches(normalised, config, rng)
        chosen = [normalised[i] for i in pending.pop()]
        speakers = []
        for e in chosen:
            own = embeddings[e.speaker]
            k = min(config.references_per_embedding, len(own))
            speakers.append(mean_embedding(own[rng.choice(len(own), size=k, replace=False)]))
        batch = collate(chosen, torch.from_numpy(np.stack(speakers)))
        batch = {k: v.to(device) for k, v in batch.items()}
        loss, parts = model.loss(batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        history["step"].append(step)
        for k in ("loss", "mel", "postnet", "duration"):
            history[k].append(parts[k])
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{parts['loss']:.3f}")
        if callback is not None:
            callback(step, parts)
    history["seconds"] = time.perf_counter() - start
    history["cpu_seconds"] = time.process_time() - cpu_start   # all threads of this process
    history["device"] = str(device)
    history["threads"] = torch.get_num_threads()
    return model.eval().cpu(), history


def training_corpus(config: ClonerConfig, progress: bool = True):
    """The training corpus of a configuration (``voices.build_corpus``, cached)."""
    from course_utils import voices

    n = min(config.n_speakers, len(voices.speakers("train")))
    return voices.build_corpus(n, config.utterances_per_speaker, seed=config.corpus_seed, split="train",
                               progress=progress)


def train(config: ClonerConfig | str = "quick", device: str = "cpu", progress: bool = True,
          callback: Callable[[int, dict], None] | None = None, speaker_encoder=None) -> "VoiceCloner":
    """Build the corpus, features and speaker embeddings, train, return a :class:`VoiceCloner` (notebook 08)."""

    config = ClonerConfig.for_profile(config) if isinstance(config, str) else copy.deepcopy(config)
    device = env.pick_device(device)
    corpus = training_corpus(config, progress)
    encoder = speaker_encoder if speaker_encoder is not None else load_speaker_encoder(
        config.speaker_encoder, config.profile, progress)
    config.speaker_dim = int(encoder.config.embedding) if hasattr(encoder.config, "embedding") else config.speaker_dim
    if not config.symbols:
        config.symbols = build_vocabulary(corpus.items)
    prep_start = time.perf_counter()
    examples = prepare_examples(corpus, config, progress)
    embeddings = utterance_embeddings(corpus, encoder, config.embed_utterances, progress)
    prep_seconds = time.perf_counter() - prep_start
    env.seed_everything(config.seed)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        model, history = train_model(examples, embeddings, config, device, progress, callback)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    history["prepare_seconds"] = prep_seconds
    return VoiceCloner(model, encoder, history=history)


# ----------------------------------------------------------------------------------------------
# the cloner
# ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def single_thread():
    """Run the ``with`` block with one PyTorch CPU thread, then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Speaker:
    """An enrolled voice (notebook 08): its unit-norm ``embedding`` and where it came from."""

    embedding: np.ndarray
    n_references: int = 1
    seconds: float = 0.0

    def __repr__(self) -> str:
        return (f"Speaker({self.embedding.shape[0]}-d embedding from {self.n_references} "
                f"reference(s), {self.seconds:.1f} s of audio)")


def _atomic_torch_save(obj, path: Path) -> Path:
    """``torch.save`` through :func:`env.atomic_path`: never a half-written checkpoint."""
    with env.atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


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


class VoiceCloner:
    """Zero-shot voice cloning: ``enroll`` a few recordings, ``synthesize`` any text (notebook 08).

    Holds ``model`` (an :class:`AcousticModel`, its ``config`` inside), ``speaker_encoder`` and a
    Griffin-Lim ``vocoder``; every attribute deep-copies cleanly (notebook 09 fine-tunes a copy).
    ``gv_scale`` (1.0: off) is the :func:`gv_postfilter` applied before the vocoder; notebook 09's
    ``finetune`` sets it for the voice it adapts to.
    """

    def __init__(self, model: AcousticModel, speaker_encoder, history: dict | None = None,
                 vocoder_iters: int | None = None):
        from course_utils.vocoder import GriffinLimVocoder

        self.model = model.eval()
        self.speaker_encoder = speaker_encoder
        self.history = history or {}
        iters = vocoder_iters or self.config.griffin_lim_iters
        self.vocoder = GriffinLimVocoder(self.config.features(), n_iter=iters, sharpen=1.0)
        self.gv_scale = 1.0

    @property
    def config(self) -> ClonerConfig:
        """The model's :class:`ClonerConfig`."""
        return self.model.config

    @property
    def sr(self) -> int:
        """Sample rate of the synthesised audio."""
        return self.config.sr

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """Configuration, weights, speaker encoder and training history; ``weights_only``-safe."""
        enc = self.speaker_encoder
        encoder_state = None if self.config.speaker_encoder == "pretrained" else enc.checkpoint()
        history = {k: (list(map(float, v)) if isinstance(v, list) else v) for k, v in self.history.items()}
        return {"version": CHECKPOINT_VERSION, "config": self.config.to_dict(),
                "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "speaker_encoder": encoder_state, "history": history}

    def save(self, path) -> Path:
        """Write :meth:`checkpoint` atomically (temporary file + rename)."""
        return _atomic_torch_save(self.checkpoint(), Path(path))

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "VoiceCloner":
        """Rebuild a cloner from :meth:`checkpoint`'s dict."""
        from course_utils import speaker

        if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
            raise CloningError("not a cloner checkpoint (no config/state_dict); make one with VoiceCloner.save")
        if checkpoint.get("version") != CHECKPOINT_VERSION:
            raise CloningError(f"checkpoint version {checkpoint.get('version')} is not {CHECKPOINT_VERSION}: retrain it")
        config = ClonerConfig.from_dict(checkpoint["config"])
        model = AcousticModel(config)
        model.load_state_dict(checkpoint["state_dict"])
        if checkpoint.get("speaker_encoder") is None:
            encoder = speaker.SpeakerEncoder.pretrained()
        else:
            encoder = speaker.SpeakerEncoder.from_checkpoint(checkpoint["speaker_encoder"])
        return cls(model, encoder, history=checkpoint.get("history", {}))

    @classmethod
    def load(cls, path) -> "VoiceCloner":
        """Load a checkpoint written by :meth:`save` (``torch.load(weights_only=True)``)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no cloner checkpoint at {path}")
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CloningError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc}); "
                               "delete it and train again") from None
        return cls.from_checkpoint(checkpoint)

    @staticmethod
    def checkpoint_path(config: ClonerConfig | str = "quick") -> Path:
        """Where :meth:`pretrained` keeps the checkpoint of a configuration."""

        config = ClonerConfig.for_profile(config) if isinstance(config, str) else config
        return env.cache_dir("cloning") / f"cloner_{config.profile}_{config.key()}.pt"

    @classmethod
    def pretrained(cls, profile: str = "quick", device: str = "cpu", train_if_missing: bool = True,
                   progress: bool = True, callback: Callable[[int, dict], None] | None = None,
                   config: ClonerConfig | None = None, seed: int = 0) -> "VoiceCloner":
        """The course cloner of ``profile``: loaded from ``env.cache_dir("cloning")``, else trained and saved.

        ``seed`` seeds the training run (notebooks 08-11 pass their ``SEED``); each seed has its
        own checkpoint. Training shows a progress bar; ``callback(step, losses)`` sees every step
        (live plots).
        """
        config = config or ClonerConfig.for_profile(profile, seed=seed)
        path = cls.checkpoint_path(config)
        if path.exists():
            try:
                return cls.load(path)
            except (CloningError, RuntimeError, KeyError):
                pass  # stale or broken: train again
        if not train_if_missing:
            raise FileNotFoundError(f"no trained cloner at {path}; run notebook 08 or "
                                    f"VoiceCloner.pretrained(profile={profile!r})")
        cloner = train(config, device=device, progress=progress, callback=callback)
        cloner.save(path)
        return cloner

    # -- cloning -------------------------------------------------------------------------------
    def finetune(self, pairs, sr: int, steps: int | None = None, **options) -> "VoiceCloner":
        """Adapt to a voice from ``(wav, transcript)`` pairs; a new cloner, this one untouched.

        See :func:`course_utils.finetune.finetune` for the strategies (notebook 09).
        """
        from course_utils import finetune as _finetune

        return _finetune.finetune(self, pairs, sr, steps=steps, **options)

    def enroll(self, wavs, sr: int) -> Speaker:
        """A :class:`Speaker` from one or more reference recordings at sample rate ``sr`` (notebook 08).

        ``wavs``: a 1-D array or a list of them (any sample rate; mono).  Empty, silent,
        non-finite, multi-channel or too short audio raises ``speaker.BadAudioError`` (a
        ``ValueError``) that names the recording.
        """
        from course_utils import speaker

        if isinstance(wavs, (np.ndarray, torch.Tensor)) and np.ndim(wavs) == 1:
            wavs = [wavs]
        if isinstance(wavs, (str, bytes, os.PathLike)) or not hasattr(wavs, "__len__"):
            raise speaker.BadAudioError("wavs must be a list of 1-D audio arrays (load files with audio.load)")
        wavs = list(wavs)
        if not wavs:
            raise speaker.BadAudioError("no reference recordings given: pass at least one (3-5 give a better voice)")
        checked = []
        for i, wav in enumerate(wavs):
            try:
                checked.append(speaker.preprocess(wav, sr))
            except speaker.BadAudioError as exc:
                raise speaker.BadAudioError(f"reference {i + 1} of {len(wavs)}: {exc}") from None
        embeddings = self.speaker_encoder.embed_utterances(checked, speaker.SAMPLE_RATE, preprocessed=True)
        seconds = sum(len(w) for w in checked) / speaker.SAMPLE_RATE
        return Speaker(mean_embedding(embeddings), len(checked), seconds)

    def phonemes(self, text: str) -> list[str]:
        """Normalise ``text`` (notebook 05) and phonemise it with espeak-ng into the model's symbols."""
        from course_utils import text as text_mod, voices

        if not isinstance(text, str):
            raise CloningError(f"text must be a str, got {type(text).__name__}")
        normalised = text_mod.normalize(text)
        if not normalised.strip(" ,.?!'"):
            raise CloningError(f"nothing to say in {text[:60]!r} after normalisation: give words to speak")
        utt = voices.synthesize(normalised, voices.VoiceSpec(accent=self.config.accent))
        return [s for s, _, _ in utt.phonemes]

    def _embedding(self, speaker: Speaker | np.ndarray) -> torch.Tensor:
        emb = speaker.embedding if isinstance(speaker, Speaker) else np.asarray(speaker, dtype=np.float32)
        if emb.shape != (self.config.speaker_dim,):
            raise CloningError(f"speaker must be a Speaker from enroll (or a {self.config.speaker_dim}-d "
                               f"embedding), got shape {emb.shape}")
        return torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))[None]

    @torch.no_grad()
    def mel(self, text: str, speaker: Speaker | np.ndarray, pace: float = 1.0) -> np.ndarray:
        """Predicted log-mel ``(n_mels, frames)`` for ``text`` in ``speaker``'s voice (before the post-filter)."""
        ids = torch.tensor([symbol_ids(self.phonemes(text), self.config.symbols)])
        out = self.model(ids, torch.tensor([ids.shape[1]]), self._embedding(speaker), pace=pace)
        return self.model.denormalise(out["mel_post"][0]).T.numpy()

    def synthesize(self, text: str, speaker: Speaker | np.ndarray, watermark: bool = True,
                   pace: float = 1.0) -> tuple[np.ndarray, int]:
        """``(wav float32, sr)``: ``text`` spoken in ``speaker``'s voice (notebook 08).

        The output carries the course's inaudible watermark (``safety.embed_watermark`` with
        ``safety.DEFAULT_KEY``, notebook 11) unless ``watermark=False``.  Runs on one CPU thread:
        the tensors of one sentence are too small for several threads to pay off, and on a busy
        machine extra threads only wait for each other.
        """
        with single_thread():
            wav = self.vocoder(gv_postfilter(self.mel(text, speaker, pace), self.gv_scale))
        if watermark:
            from course_utils import safety

            try:
                wav = safety.embed_watermark(wav, self.sr, safety.DEFAULT_KEY)
            except ValueError:
                if len(wav) >= safety.MIN_SECONDS * self.sr:
                    raise
                # too short to carry a mark: pad with silence to the minimum, mark, cut back
                padded = np.pad(wav, (0, int(safety.MIN_SECONDS * self.sr) - len(wav) + 1))
                wav = safety.embed_watermark(padded, self.sr, safety.DEFAULT_KEY)[: len(wav)]
        return wav.astype(np.float32, copy=False), self.sr


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------

@dataclass
class CloningScore:
    """Result of :func:`cloning_score`: the mean ``score`` and the per-speaker details."""

    score: float
    per_speaker: dict
    sim_clone: float
    sim_own: float
    sim_other: float

    def __repr__(self) -> str:
        return (f"CloningScore(score={self.score:.3f}, sim clone={self.sim_clone:.3f}, own={self.sim_own:.3f}, "
                f"other={self.sim_other:.3f}, speakers={len(self.per_speaker)})")


def cloning_score(clones: dict, references: dict, own: dict, encoder=None) -> CloningScore:
    """How close clones sound to their speakers, on the scale own recordings = 1, others = 0 (notebooks 08-10).

    Each argument maps a speaker id to a list of ``(wav, sr)`` pairs: ``clones`` the synthesised
    utterances, ``references`` the recordings that make the speaker's embedding (the ones the
    cloner enrolled from), ``own`` other recordings of the same speaker (not in the references).
    With cosine similarities to the speaker's embedding (from ``encoder``, by default the
    pretrained one, which the synthesiser never saw)::

        score(s) = (sim(clone, s) - sim(other speakers, s)) / (sim(own recording, s) - sim(other, s))

    where "other" averages the ``own`` recordings of every other speaker.  Needs at least two
    speakers.  Returns a :class:`CloningScore` (mean over speakers, and each speaker's numbers).
    """
    from course_utils import speaker as speaker_mod

    speakers = list(references)
    if len(speakers) < 2:
        raise ValueError("cloning_score needs at least two speakers (the others are the baseline)")
    for name, d in (("clones", clones), ("own", own)):
        missing = [s for s in speakers if not d.get(s)]
        if missing:
            raise ValueError(f"{name} has no audio for speakers {missing}")
    encoder = encoder or speaker_mod.SpeakerEncoder.pretrained()

    def embed(pairs):
        return np.stack([encoder.embed_utterance(w, sr) for w, sr in pairs])

    centroid = {s: mean_embedding(embed(references[s])) for s in speakers}
    own_emb = {s: embed(own[s]) for s in speakers}
    clone_emb = {s: embed(clones[s]) for s in speakers}
    per = {}
    for s in speakers:
        c = centroid[s]
        sim_clone = float(np.mean(clone_emb[s] @ c))
        sim_own = float(np.mean(own_emb[s] @ c))
        sim_other = float(np.mean(np.concatenate([own_emb[t] for t in speakers if t != s]) @ c))
        per[s] = {"score": (sim_clone - sim_other) / max(sim_own - sim_other, 1e-6), "sim_clone": sim_clone,
                  "sim_own": sim_own, "sim_other": sim_other}
    mean = lambda key: float(np.mean([p[key] for p in per.values()]))  # noqa: E731
    return CloningScore(mean("score"), per, mean("sim_clone"), mean("sim_own"), mean("sim_other"))


def heldout_speakers(n_speakers: int = 8, utterances_per_speaker: int = 8, seed: int = 0, progress: bool = True):
    """A corpus of held-out speakers (never trained on) for zero-shot evaluation (notebook 08)."""
    from course_utils import voices

    return voices.build_corpus(n_speakers, utterances_per_speaker, seed=seed, split="heldout",
                               progress=progress)


def evaluate(cloner: VoiceCloner, corpus=None, n_references: int = 5, n_own: int = 2,
             texts: Sequence[str] | None = None, encoder=None, progress: bool = True) -> dict:
    """Zero-shot cloning of held-out speakers: score, real-time factor and the audio (notebook 08).

    For each speaker of ``corpus`` (default :func:`heldout_speakers`), enroll from its first
    ``n_references`` recordings, synthesise ``texts`` (default: two held-out prompts), and score
    with :func:`cloning_score` against its next ``n_own`` recordings.  The real-time factor is
    synthesis time (phonemes, model, Griffin-Lim, watermark) over audio duration.
    """
    from tqdm.auto import tqdm

    from course_utils import voices

    corpus = corpus if corpus is not None else heldout_speakers(progress=progress)
    texts = list(texts) if texts is not None else voices.prompts("heldout")[:2]
    groups = corpus.by_speaker()
    clones, references, own = {}, {}, {}
    compute = seconds = 0.0
    for spk in tqdm(groups, desc="cloning held-out speakers", disable=not progress, leave=False):
        idx = groups[spk]
        if len(idx) < n_references + n_own:
            raise ValueError(f"speaker {spk} has {len(idx)} utterances; need {n_references + n_own}")
        references[spk] = [corpus.load(i) for i in idx[:n_references]]
        own[spk] = [corpus.load(i) for i in idx[n_references:n_references + n_own]]
        voice = cloner.enroll([w for w, _ in references[spk]], references[spk][0][1])
        clones[spk] = []
        for t in texts:
            start = time.perf_counter()
            wav, sr = cloner.synthesize(t, voice)
            compute += time.perf_counter() - start
            seconds += len(wav) / sr
            clones[spk].append((wav, sr))
    result = cloning_score(clones, references, own, encoder=encoder)
    return {"score": result, "rtf": compute / seconds, "clones": clones, "references": references, "own": own}


def real_time_factor(cloner: VoiceCloner, voice: Speaker, texts: Sequence[str] | None = None,
                     repeats: int = 3, clock: str = "cpu") -> float:
    """Synthesis time over audio duration, vocoding and watermark included; best of ``repeats`` (notebook 08).

    ``clock="cpu"`` counts the CPU time of this process (what the synthesis costs; synthesis
    runs on one thread, so on an idle machine it equals the wall-clock time), ``"wall"`` the
    elapsed time, which on a shared machine also counts the time spent waiting for other programs.
    """
    from course_utils import voices

    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', not {clock!r}")
    timer = time.process_time if clock == "cpu" else time.perf_counter
    texts = list(texts) if texts is not None else voices.prompts("heldout")[2:5]
    best = math.inf
    for _ in range(repeats):
        compute = seconds = 0.0
        for t in texts:
            start = timer()
            wav, sr = cloner.synthesize(t, voice)
            compute += timer() - start
            seconds += len(wav) / sr
        best = min(best, compute / seconds)
    return best


class LiveLossPlot:
    """A training callback that redraws the loss curve every ``every`` steps in Jupyter (notebook 08).

    Use as ``callback=live`` and call ``live.close()`` at the end; outside a notebook it does nothing.
    """

    def __init__(self, every: int = 100, keys: Sequence[str] = ("mel", "postnet", "duration")):
        self.every, self.keys = every, tuple(keys)
        self.values: dict[str, list[float]] = {k: [] for k in self.keys}
        self._handle = None

    def __call__(self, step: int, losses: dict) -> None:
        for k in self.keys:
            self.values[k].append(losses[k])
        if (step + 1) % self.every == 0:
            self.draw()

    def draw(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover
            return
        if get_ipython() is None:
            return
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 2.6))
        for k in self.keys:
            ax.plot(self.values[k], label=k, lw=0.8)
        ax.set(xlabel="step", ylabel="loss", yscale="log", title=f"training: step {len(self.values[self.keys[0]])}")
        ax.legend(loc="upper right")
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def close(self) -> None:
        """Nothing more to draw (the last figure stays)."""
        self._handle = None
