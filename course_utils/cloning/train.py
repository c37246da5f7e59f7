"""The cloner's training loop, for one process or several (notebook 08; ``ddp_train`` runs it under
torchrun, notebook 09), and its live loss plot.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils import env
from course_utils.cloning.config import SYNTHESIS_SETTINGS, ClonerConfig
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
                rank: int = 0, world: int = 1, start: AcousticModel | None = None,
                resume: str | Path | None = None, save_every: int = 500,
                snapshots: Sequence[int] = ()) -> tuple[AcousticModel, dict]:
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

    ``resume``: a file for the run's state (weights, optimiser, schedule, random generators,
    losses), written atomically every ``save_every`` steps; if it exists, training continues
    from it, with the same result as a run that never stopped (the course checkpoint is
    trained this way: ``python -m course_utils train-checkpoint``). One process only. After each
    step count in ``snapshots`` the weights are also kept beside it (``<resume>.step<N>.pt``), to
    measure how the model improves with training.
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
    first = 0
    if resume is not None:
        if world > 1:
            raise ValueError("resume works in one process only (world == 1)")
        first, pending, history = _load_run_state(Path(resume), config, model, optimiser, schedule, rng, history)
    start, cpu_start = time.perf_counter(), time.process_time()
    spent, cpu_spent = history.get("seconds", 0.0), history.get("cpu_seconds", 0.0)
    bar = tqdm(range(first, config.steps), desc=f"training ({config.profile})", disable=not progress, leave=False,
               initial=first, total=config.steps)
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
        history["seconds"] = spent + time.perf_counter() - start
        history["cpu_seconds"] = cpu_spent + time.process_time() - cpu_start   # all threads of this process
        if resume is not None and ((step + 1) % save_every == 0 or step + 1 == config.steps):
            _save_run_state(Path(resume), step + 1, config, model, optimiser, schedule, rng, pending, history)
        if resume is not None and step + 1 in snapshots:
            with env.atomic_path(snapshot_path(resume, step + 1)) as tmp:
                torch.save(model.state_dict(), tmp)
    history.setdefault("seconds", spent)
    history.setdefault("cpu_seconds", cpu_spent)
    history["device"] = str(device)
    history["threads"] = torch.get_num_threads()
    return model.eval().cpu(), history


def snapshot_path(resume: str | Path, steps: int) -> Path:
    """Where :func:`train_model` keeps the weights after ``steps`` steps of the run saved at ``resume``
    (used by cloning.checkpoint.train_checkpoint)."""
    resume = Path(resume)
    return resume.with_name(f"{resume.stem}.step{steps}.pt")


def _save_run_state(path: Path, steps_done: int, config: ClonerConfig, model, optimiser, schedule,
                    rng: np.random.Generator, pending: list, history: dict) -> None:
    """Everything :func:`train_model` needs to go on after ``steps_done`` steps, written atomically."""
    state = {"steps_done": steps_done, "config": json.dumps(_training_settings(config), sort_keys=True),
             "model": model.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
             "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
             "pending": json.dumps([list(map(int, b)) for b in pending]), "history": history}
    with env.atomic_path(path) as tmp:
        torch.save(state, tmp)


def _training_settings(config: ClonerConfig) -> dict:
    """The configuration without its :data:`SYNTHESIS_SETTINGS`: what a resumed run must share."""
    return {k: v for k, v in config.to_dict().items() if k not in SYNTHESIS_SETTINGS}


def _load_run_state(path: Path, config: ClonerConfig, model, optimiser, schedule, rng: np.random.Generator,
                    history: dict) -> tuple[int, list, dict]:
    """Restore a run saved by :func:`_save_run_state` into the fresh objects; ``(first step, pending, history)``.

    Nothing to restore (no file yet): ``(0, [], history)``. A run of another configuration is refused.
    """
    if not path.exists():
        return 0, [], history
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = json.loads(state["config"])
    except Exception as exc:
        raise RuntimeError(f"{path} is not a training state this course wrote ({type(exc).__name__}: "
                           f"{str(exc)[:200]}); move it away to start the run afresh") from None
    now = _training_settings(config)
    if saved != now:
        changed = sorted(k for k in {*saved, *now} if saved.get(k) != now.get(k))
        raise RuntimeError(f"{path} belongs to a run with other settings ({', '.join(changed)} differ); "
                           "move it away to start afresh, or resume with the settings it was made with")
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["steps_done"]), json.loads(state["pending"]), state["history"]


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
