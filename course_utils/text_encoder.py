"""The Tacotron 2 text encoder: symbols in, one context vector per symbol out.

Introduced in ``06_text_encoder.ipynb`` and reused by the synthesiser of notebook 08.

Layers (Shen et al., 2018, "Natural TTS synthesis by conditioning WaveNet on mel spectrogram
predictions", section 2.2)::

    symbol ids (B, T)  --Embedding-->                (B, T, 512)
                       --transpose-->                (B, 512, T)
    3 x [Conv1d(512, 512, kernel 5, padding 2) -> BatchNorm1d -> ReLU -> Dropout(0.5)]
                                                     (B, 512, T)   length kept by the padding
                       --transpose-->                (B, T, 512)
    BiLSTM, 256 units per direction (packed)         (B, T, 512)

Padding: a batch holds sentences of different lengths, padded with the symbol id ``pad_id``.
Every block multiplies its output by the mask of valid positions and the LSTM reads a packed
sequence, so in evaluation mode a sentence encodes to the same vectors alone or in any padded
batch (``tests/test_text_encoder.py`` checks it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PROFILES = ("quick", "full")


@dataclass
class TextEncoderConfig:
    """Sizes of a :class:`TextEncoder` (notebook 06). ``for_profile`` gives the course's two."""

    n_symbols: int
    embedding_dim: int = 512
    n_convolutions: int = 3
    kernel_size: int = 5
    lstm_hidden: int = 256  # per direction: the output has 2 * lstm_hidden channels
    dropout: float = 0.5
    pad_id: int = 0

    def __post_init__(self):
        if self.n_symbols < 2:
            raise ValueError(f"n_symbols must be at least 2 (padding + one symbol), got {self.n_symbols}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd so that padding (k-1)/2 keeps the length, "
                             f"got {self.kernel_size}")
        if not 0 <= self.pad_id < self.n_symbols:
            raise ValueError(f"pad_id {self.pad_id} is not a symbol id (0..{self.n_symbols - 1})")

    @classmethod
    def for_profile(cls, profile: str, n_symbols: int, **overrides) -> "TextEncoderConfig":
        """``"full"``: the paper's sizes (512-d, 3 x 5-wide convs, 2 x 256 BiLSTM).
        ``"quick"``: the same layers, narrower (128-d, 2 x 64 BiLSTM), for a 2-core CPU."""
        if profile == "full":
            sizes = {}
        elif profile == "quick":
            sizes = dict(embedding_dim=128, lstm_hidden=64)
        else:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        sizes.update(overrides)
        return cls(n_symbols=n_symbols, **sizes)

    @property
    def output_dim(self) -> int:
        """Channels of the encoder's output (both LSTM directions concatenated)."""
        return 2 * self.lstm_hidden


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps a stride-1 Conv1d's output as long as its input (used by text_encoder.ConvBlock).

    Output length = T + 2 * padding - dilation * (kernel_size - 1), so padding must be
    dilation * (kernel_size - 1) / 2, which needs an odd kernel.
    """
    if kernel_size < 1 or (dilation * (kernel_size - 1)) % 2:
        raise ValueError(f"no symmetric padding keeps the length for kernel_size={kernel_size}, "
                         f"dilation={dilation}: use an odd kernel")
    return dilation * (kernel_size - 1) // 2


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean mask (B, T): ``True`` where position t < length of sentence b.

    (used by text_encoder.TextEncoder)
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be a 1-D tensor (one length per sentence), got shape {tuple(lengths.shape)}")
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def pad_batch(sequences: list, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad lists of symbol ids into ``(ids (B, T) long, lengths (B,) long)`` (notebook 06)."""
    if not sequences:
        raise ValueError("pad_batch needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    if int(lengths.min()) == 0:
        raise ValueError("every sequence needs at least one symbol (an empty sentence cannot be encoded)")
    ids = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
    return ids, lengths


class ConvBlock(nn.Module):
    """Conv1d (length kept) -> BatchNorm1d -> ReLU -> Dropout, on (B, C, T) (notebook 06)."""

    def __init__(self, channels: int, kernel_size: int = 5, dropout: float = 0.5):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=same_padding(kernel_size))
        self.norm = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.dropout(torch.relu(self.norm(self.conv(x))))
        return y if mask is None else y * mask[:, None, :].to(y.dtype)


class TextEncoder(nn.Module):
    """Tacotron 2 encoder: ``forward(ids (B, T), lengths (B,)) -> (B, T, 2 * lstm_hidden)``.

    Padded positions of the output are zero; the synthesiser of notebook 08 conditions on its
    output (notebook 06).
    """

    def __init__(self, config: TextEncoderConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.n_symbols, config.embedding_dim, padding_idx=config.pad_id)
        self.convolutions = nn.ModuleList(
            ConvBlock(config.embedding_dim, config.kernel_size, config.dropout)
            for _ in range(config.n_convolutions))
        self.lstm = nn.LSTM(config.embedding_dim, config.lstm_hidden, batch_first=True, bidirectional=True)

    @property
    def output_dim(self) -> int:
        """Channels per symbol of the output."""
        return self.config.output_dim

    def _check(self, ids: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        if ids.dtype not in (torch.long, torch.int32, torch.int64):
            raise TypeError(f"ids must be integer symbol ids, got {ids.dtype}: this encoder reads "
                            "symbols, not mel frames")
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, time) symbol ids, got shape {tuple(ids.shape)}; "
                             "for one sentence use ids[None]")
        if lengths is None:
            return torch.full((ids.shape[0],), ids.shape[1], dtype=torch.long)
        lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
        if lengths.shape != (ids.shape[0],):
            raise ValueError(f"lengths must have one entry per sentence ({ids.shape[0]}), got shape {tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > ids.shape[1]:
            raise ValueError(f"lengths must lie in 1..{ids.shape[1]}, got {lengths.tolist()}")
        return lengths

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        lengths = self._check(ids, lengths)
        mask = lengths_to_mask(lengths, ids.shape[1]).to(ids.device)
        x = self.embedding(ids).transpose(1, 2)  # (B, C, T): Conv1d wants channels first
        for block in self.convolutions:
            x = block(x, mask)
        x = x.transpose(1, 2)  # (B, T, C): batch_first LSTM
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out

    def checkpoint(self) -> dict:
        """A ``torch.load(weights_only=True)``-safe dict: configuration and weights."""
        return {"config": asdict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "TextEncoder":
        """Rebuild an encoder from :meth:`checkpoint`'s dict."""
        model = cls(TextEncoderConfig(**checkpoint["config"]))
        model.load_state_dict(checkpoint["state_dict"])
        return model


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module`` (notebook 06)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
