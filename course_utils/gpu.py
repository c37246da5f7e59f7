"""Training engineering: device, mixed precision, gradient accumulation, pinned memory, throughput.

Introduced in ``09_few_shot_finetuning.ipynb``.  Each helper comes with the measurement that
justifies it:

* :func:`autocast` runs the forward pass in bf16 (CPU or GPU) or fp16 (GPU) while the weights,
  the optimiser state and the update stay in fp32.  fp16 gradients can underflow to zero, so
  fp16 needs a gradient scaler (:func:`make_scaler`, ``torch.amp.GradScaler``).  Casting the
  whole model with ``model.half()`` is *not* mixed precision: the weights themselves become
  fp16, and an update smaller than half the spacing of fp16 numbers around a weight is rounded
  away (:func:`half_weight_update`), and small gradients flush to zero
  (:func:`fp16_underflow`).
* :func:`accumulation_run`: gradient accumulation sums ``k`` micro-batch gradients per optimiser
  step, and must zero the gradients after each step.  Without that (``zero_after_step=False``,
  the source article's loop) the gradients of all earlier steps stay in ``.grad`` and every step
  is larger than the last.
* :func:`make_loader` / :func:`to_device`: page-locked (pinned) host memory lets
  ``tensor.to("cuda", non_blocking=True)`` copy asynchronously; :func:`copy_bandwidth` measures
  it (needs CUDA; returns ``None`` without it).
* :func:`throughput`: items per second of a training step, after warm-up, with CUDA synchronised.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch
from torch import nn

from course_utils import bench
from course_utils.env import pick_device

__all__ = ["pick_device", "device_type", "precision_dtype", "autocast", "make_scaler", "half_weight_update",
           "fp16_underflow", "accumulation_run", "make_loader", "to_device", "copy_bandwidth", "throughput",
           "synchronize"]

PRECISIONS = ("fp32", "bf16", "fp16")


def device_type(device) -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"`` of a device name or ``torch.device``.

    (used by gpu.autocast, gpu.to_device)
    """
    return torch.device(device).type


def precision_dtype(precision: str):
    """``torch.bfloat16`` / ``torch.float16`` / ``None`` (fp32) for a precision name (used by gpu.autocast)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device, precision: str = "bf16"):
    """Mixed-precision context for the forward pass and the loss (notebook 09).

    ``"bf16"`` works on CPU and on recent GPUs and needs no scaler (same exponent range as
    fp32); ``"fp16"`` is for CUDA and needs :func:`make_scaler`; ``"fp32"`` does nothing.
    """
    dtype = precision_dtype(precision)
    kind = device_type(device)
    if dtype is None:
        return contextlib.nullcontext()
    if dtype == torch.float16 and kind == "cpu":
        raise ValueError("fp16 autocast is for GPUs; on CPU use precision='bf16'")
    return torch.autocast(device_type=kind, dtype=dtype)


def make_scaler(device, precision: str = "fp32"):
    """A ``torch.amp.GradScaler`` that is active only for fp16 on CUDA, a no-op otherwise (notebook 09).

    The scaler multiplies the loss before ``backward`` so small fp16 gradients do not flush to
    zero, unscales before clipping/stepping, skips steps with inf/NaN gradients and adapts the
    scale.  Use ``scaler.scale(loss).backward(); scaler.unscale_(opt); clip; scaler.step(opt);
    scaler.update()``.
    """
    enabled = precision == "fp16" and device_type(device) == "cuda"
    return torch.amp.GradScaler("cuda" if enabled else "cpu", enabled=enabled)


def half_weight_update(weight: float = 1.0, update: float = 1e-4, steps: int = 100) -> dict:
    """Apply ``steps`` updates of ``update`` to a weight kept in fp32 and to one kept in fp16 (notebook 09).

    ``model.half()`` stores weights in fp16, whose spacing near 1.0 is 2**-10 (about 0.001):
    an update below half of it rounds back to the same number, so the fp16 weight never moves
    while the fp32 master weight of real mixed precision does.
    """
    w32 = torch.tensor(weight, dtype=torch.float32)
    w16 = torch.tensor(weight, dtype=torch.float16)
    for _ in range(steps):
        w32 = w32 + torch.tensor(update, dtype=torch.float32)
        w16 = w16 + torch.tensor(update, dtype=torch.float16)
    return {"fp32": float(w32), "fp16": float(w16), "expected": weight + update * steps,
            "fp16_spacing": float(torch.finfo(torch.float16).eps * abs(weight))}


def fp16_underflow(gradient: float = 1e-8, scale: float = 2.0 ** 16) -> dict:
    """A small gradient in fp16: flushed to zero as is, kept when scaled first (notebook 09)."""
    plain = float(torch.tensor(gradient, dtype=torch.float16))
    scaled = float(torch.tensor(gradient * scale, dtype=torch.float16)) / scale
    return {"gradient": gradient, "fp16": plain, "fp16_scaled": scaled, "bf16": float(torch.tensor(gradient, dtype=torch.bfloat16)),
            "fp16_smallest": float(torch.finfo(torch.float16).tiny) * 2.0 ** -10}


def accumulation_run(model: nn.Module, batches: list, loss_fn: Callable, accumulate: int, lr: float = 0.1,
                     zero_after_step: bool = True) -> dict:
    """Train ``model`` (in place) with SGD, ``accumulate`` micro-batches per optimiser step (notebook 09).

    ``batches`` are consecutive micro-batches ``(x, y)``; ``loss_fn(model, x, y)`` returns a mean
    loss, divided by ``accumulate`` so the summed gradient equals the mean over the large batch.
    With ``zero_after_step=False`` (the article's bug) ``.grad`` keeps every earlier step's
    gradients.  Returns per step the gradient norm used and the size of the update.
    """
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    optimiser.zero_grad(set_to_none=True)
    grad_norms, updates = [], []
    for i, (x, y) in enumerate(batches):
        (loss_fn(model, x, y) / accumulate).backward()
        if (i + 1) % accumulate == 0:
            before = [p.detach().clone() for p in model.parameters()]
            grad_norms.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))))
            optimiser.step()
            updates.append(float(torch.sqrt(sum(((p.detach() - b) ** 2).sum()
                                                for p, b in zip(model.parameters(), before)))))
            if zero_after_step:
                optimiser.zero_grad(set_to_none=True)
    return {"grad_norms": grad_norms, "updates": updates}


def make_loader(dataset, batch_size: int, device, shuffle: bool = False, collate_fn=None, num_workers: int = 0):
    """A ``DataLoader`` that pins host memory when the target is a CUDA device (tests only: tests/test_gpu.py).

    Pinned (page-locked) batches can be copied to the GPU with ``non_blocking=True``, so the copy
    overlaps with computation; on CPU or MPS pinning buys nothing and is switched off.
    """
    from torch.utils.data import DataLoader

    pin = device_type(device) == "cuda"
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_fn,
                      num_workers=num_workers, pin_memory=pin)


def to_device(batch, device):
    """Move a tensor, or a dict/list/tuple of tensors, to ``device``, non-blocking when possible.

    (used by finetune.throughput_rows)
    """
    non_blocking = device_type(device) == "cuda"
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def synchronize(device) -> None:
    """Wait for queued GPU work (timings of CUDA code are wrong without it); no-op on CPU.

    (used by gpu.throughput, gpu.copy_bandwidth)
    """
    kind = device_type(device)
    if kind == "cuda":
        torch.cuda.synchronize()
    elif kind == "mps":
        torch.mps.synchronize()


def copy_bandwidth(megabytes: int = 64, repeats: int = 5) -> dict | None:
    """Host-to-GPU copy bandwidth (GB/s) from pageable and from pinned memory; ``None`` without CUDA.

    (notebook 09)
    """
    if not torch.cuda.is_available():
        return None
    n = megabytes * 2 ** 20 // 4
    pageable = torch.empty(n, dtype=torch.float32)
    pinned = torch.empty(n, dtype=torch.float32).pin_memory()
    out = {}
    for name, src, nb in (("pageable", pageable, False), ("pinned", pinned, False), ("pinned_non_blocking", pinned, True)):
        def copy(src=src, nb=nb):
            torch.cuda.synchronize()
            src.to("cuda", non_blocking=nb)
            torch.cuda.synchronize()

        times, _ = bench.measure(copy, repeat=repeats, number=1)
        out[name] = megabytes * 2 ** 20 / float(times.min()) / 1e9
    return out


def throughput(step: Callable[[], int], device="cpu", warmup: int = 2, repeats: int = 5,
               min_seconds: float = 0.0) -> dict:
    """Items per second of ``step()``, which returns how many items it processed.

    Runs ``warmup`` untimed steps, then ``repeats`` timed ones (more while under ``min_seconds``),
    synchronising the device around each so queued GPU work is counted.
    (used by finetune.throughput_rows)
    """
    items: list[int] = []

    def timed_step():
        items.append(step())
        synchronize(device)

    for _ in range(warmup):
        timed_step()
    del items[:]
    times: list[float] = []
    while len(times) < repeats or sum(times) < min_seconds:
        times += bench.measure(timed_step, repeat=repeats, number=1, warmup=0)[0].tolist()
    rates = np.asarray(items) / np.asarray(times)
    return {"items_per_s": float(np.sum(items) / np.sum(times)), "best_items_per_s": float(rates.max()),
            "seconds_per_step": float(np.median(times)), "steps": len(times), "device": str(device)}
