"""The cloner's training loop, for one process or several (notebook 08; ``ddp_train`` runs it under
torchrun, notebook 09), and its live loss plot.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils.cloning.config import ClonerConfig
from course_utils.cloning.model import AcousticModel
from course_utils.cloning.data import Example, collate, mean_embedding


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


def _initial_model(examples: list[Example], embeddings: dict[str, np.ndarray], config: ClonerConfig) -> AcousticModel:
    """A fresh model (seeded by ``config.seed``) with the data's mel and speaker statistics."""
    torch.manual_seed(config.seed)
    model = AcousticModel(config)
    frames = torch.cat([e.mel for e in examples])
    model.mel_mean.copy_(frames.mean(0))
    model.mel_std.copy_(frames.std(0).clamp_min(1e-3))
    return _with_speaker_statistics(model, embeddings)


def _continued_model(start: AcousticModel, embeddings: dict[str, np.ndarray]) -> AcousticModel:
    """A copy of a trained model to train further on new data (the real-speech stage): same weights
    and mel statistics, speaker statistics of all of ``embeddings`` (the new speakers too)."""
    import copy

    return _with_speaker_statistics(copy.deepcopy(start), embeddings)


def _with_speaker_statistics(model: AcousticModel, embeddings: dict[str, np.ndarray]) -> AcousticModel:
    """``model`` standardising speaker embeddings with the mean and spread of ``embeddings``' speakers."""
    speaker_means = np.stack([mean_embedding(e) for e in embeddings.values()])
    model.speaker_mean.copy_(torch.from_numpy(speaker_means.mean(0)))
    model.speaker_std.copy_(torch.from_numpy(speaker_means.std(0) + 1e-3))
    return model


def _mean_over_ranks(parts: dict, world: int) -> dict:
    """The step's losses averaged over the ``world`` processes (as floats)."""
    if world == 1:
        return parts
    import torch.distributed as dist

    values = torch.tensor([parts[k] for k in _LOSSES], dtype=torch.float64)
    dist.all_reduce(values)
    return dict(zip(_LOSSES, (values / world).tolist()))


_LOSSES = ("loss", "mel", "postnet", "duration")


def train_model(examples: list[Example], embeddings: dict[str, np.ndarray], config: ClonerConfig,
                device: str = "cpu", progress: bool = True, callback: Callable[[int, dict], None] | None = None,
                rank: int = 0, world: int = 1, start: AcousticModel | None = None) -> tuple[AcousticModel, dict]:
    """Train an :class:`AcousticModel` on prepared examples and per-utterance speaker embeddings.

    Each example is conditioned on the mean embedding of ``references_per_embedding`` random
    utterances of its speaker (as at cloning time, where a few references make the speaker).
    Returns ``(model, history)``: history has the losses at every step and the training time.
    ``callback(step, losses)`` is called after every step (for live loss curves).

    The same loop serves several processes, nanoGPT's pattern, as notebook 09 shows with
    ``course_utils.ddp_train``: with ``world > 1`` (an initialised ``torch.distributed`` process
    group) the model is wrapped in ``DistributedDataParallel``, process ``rank`` trains on its
    shard ``examples[rank::world]`` and the losses in ``history`` are the means over all
    processes (used by cloning.cloner.train, ddp_train.main).

    ``start``: a trained model to continue from (the real-speech stage, notebook 09) instead of
    a fresh one; ``config`` then gives the steps and learning rate of this stage.
    """
    from tqdm.auto import tqdm

    model = _initial_model(examples, embeddings, config) if start is None else _continued_model(start, embeddings)
    model = model.to(device).train()
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        gpu = [torch.device(device).index] if "cuda" in device else None
        forward = DistributedDataParallel(model, device_ids=gpu)
    rng = np.random.default_rng(config.seed + rank)
    normalised = [Example(e.speaker, e.ids, e.durations, model.normalise(e.mel.to(device)).cpu())
                  for e in examples[rank::world]]
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.98), weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _lr_factor(s, config))
    history = {"step": [], **{k: [] for k in _LOSSES}}
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
        loss, parts = model.loss(batch, forward(batch["ids"], batch["lengths"], batch["speaker"], batch["durations"]))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()                      # with DDP, the gradients are averaged over the processes here
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        parts = _mean_over_ranks(parts, world)
        history["step"].append(step)
        for k in _LOSSES:
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
    """The training corpus of a configuration: ``voices.build_corpus``, cached (notebook 08)."""
    from course_utils import voices

    n = min(config.n_speakers, len(voices.speakers("train")))
    return voices.build_corpus(n, config.utterances_per_speaker, seed=config.corpus_seed, split="train",
                               progress=progress)


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
