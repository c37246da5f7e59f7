"""Bottleneck adapters after the decoder blocks: the parameter-efficient strategy of notebook 09."""

from __future__ import annotations

import torch
from torch import nn

from course_utils.cloning.model import AcousticModel


# ----------------------------------------------------------------------------------------------
# adapters
# ----------------------------------------------------------------------------------------------

class Adapter(nn.Module):
    """Bottleneck residual layer ``x + up(relu(down(x)))`` on (B, T, C); starts as the identity
    (used by finetune.adapters.AdaptedBlock).

    ``up`` is zero-initialised, so inserting an adapter does not change the model until it is trained.
    """

    def __init__(self, channels: int, bottleneck: int = 16):
        super().__init__()
        self.down = nn.Linear(channels, bottleneck)
        self.up = nn.Linear(bottleneck, channels)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(torch.relu(self.down(x)))


class AdaptedBlock(nn.Module):
    """A decoder block followed by an :class:`Adapter`, same call signature ``(x, mask, z)``
    (used by finetune.add_adapters)."""

    def __init__(self, block: nn.Module, adapter: Adapter):
        super().__init__()
        self.block, self.adapter = block, adapter

    def forward(self, x: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.block(x, mask, z)) * mask[..., None].to(x.dtype)


def add_adapters(model: AcousticModel, bottleneck: int = 64) -> list[nn.Parameter]:
    """Wrap every decoder block of ``model`` (in place) with an adapter; return the adapters' parameters
    (used by finetune.finetune)."""
    params = []
    for i, block in enumerate(model.decoder):
        if isinstance(block, AdaptedBlock):
            params += list(block.adapter.parameters())
            continue
        adapter = Adapter(model.config.decoder_channels, bottleneck)
        model.decoder[i] = AdaptedBlock(block, adapter)
        params += list(adapter.parameters())
    return params


def count_parameters(params) -> int:
    """Number of scalars in an iterable of tensors (used by finetune.finetune)."""
    return int(sum(p.numel() for p in params))


