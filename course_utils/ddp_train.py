"""Train the synthesiser on several processes with DistributedDataParallel (notebook 09).

One process per GPU (or several CPU processes for a test), each with its own slice of the data;
after every ``backward`` DDP averages the gradients over all processes (an all-reduce), so every
copy of the model takes the same step and stays identical.  The global batch is
``--batch-size x world size``.

One machine, 2 CPU processes (gloo; what the test suite runs)::

    torchrun --nproc_per_node=2 -m course_utils.ddp_train --data synthetic --tiny --steps 5

One machine, every GPU (nccl; one process per GPU, each on ``cuda:LOCAL_RANK``)::

    torchrun --nproc_per_node=gpu -m course_utils.ddp_train --data corpus --profile full --out cloner.pt

Two machines with 8 GPUs each (run on both; node 0's address must be reachable from node 1)::

    torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500 \\
        -m course_utils.ddp_train --data corpus --profile full        # on node 0
    # same on node 1 with --node_rank=1;  or --rdzv_backend=c10d --rdzv_endpoint=10.0.0.1:29500

Without ``torchrun`` it runs as a single process (world size 1).  ``--report`` writes a JSON
summary from rank 0 (world size, backend, losses, a checksum of each rank's parameters: equal
checksums show the replicas stayed in sync).  Only rank 0 writes files and prints progress.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from course_utils import cloning


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(backend: str | None = None) -> tuple[int, int, int, str]:
    """Join the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``...).

    Backend: ``nccl`` when CUDA is available, else ``gloo``.  Returns (rank, world, local_rank, device)
    (used by ddp_train.main).
    """
    if "RANK" not in os.environ:                       # plain `python -m`: a group of one
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(_free_port()))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    cuda = torch.cuda.is_available()
    backend = backend or ("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    else:
        device = "cpu"
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), local_rank, device


def synthetic_data(config: cloning.ClonerConfig, n_examples: int = 32, n_speakers: int = 4, seed: int = 0):
    """Random but learnable examples: each (symbol, speaker) has a fixed spectrum. Same on every rank.

    (used by ddp_train.main)
    """
    g = torch.Generator().manual_seed(seed)
    n_sym = len(config.symbols)
    table = torch.randn(n_sym, n_speakers, config.n_mels, generator=g)
    speakers = torch.nn.functional.normalize(torch.randn(n_speakers, config.speaker_dim, generator=g), dim=1)
    examples, embeddings = [], {}
    for i in range(n_examples):
        spk = i % n_speakers
        length = int(torch.randint(4, 9, (1,), generator=g))
        ids = torch.randint(2, n_sym, (length,), generator=g)
        durations = torch.randint(1, 4, (length,), generator=g)
        mel = table[torch.repeat_interleave(ids, durations), spk]
        examples.append(cloning.Example(f"spk{spk}", ids, durations, mel))
    for spk in range(n_speakers):
        embeddings[f"spk{spk}"] = speakers[spk][None].repeat(2, 1).numpy()
    return examples, embeddings


def corpus_data(config: cloning.ClonerConfig, rank: int):
    """The course training corpus, features and speaker embeddings; rank 0 builds the cache first.

    (used by ddp_train.main)
    """
    if rank != 0:
        dist.barrier()                                    # wait until rank 0 has built the caches
    corpus = cloning.training_corpus(config, progress=rank == 0)
    encoder = cloning.load_speaker_encoder(config.speaker_encoder, config.profile, progress=rank == 0)
    config.speaker_dim = int(encoder.config.embedding)
    if not config.symbols:
        config.symbols = cloning.build_vocabulary(corpus.items)
    examples = cloning.prepare_examples(corpus, config, progress=rank == 0)
    embeddings = cloning.utterance_embeddings(corpus, encoder, config.embed_utterances, progress=rank == 0)
    if rank == 0:
        dist.barrier()
    return examples, embeddings


def checksum(model: nn.Module) -> str:
    """Short SHA-256 of a model's parameters (equal on every rank when DDP keeps them in sync).

    (used by ddp_train.main)
    """
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _log_every(every: int, world: int):
    """A ``train_model`` callback that prints the loss (the mean over the processes) every ``every`` steps."""
    def log(step: int, losses: dict) -> None:
        if step % every == 0:
            print(f"step {step:5d}  loss {losses['loss']:.4f}  (mean over {world} ranks)", flush=True)
    return log


def main(argv: list[str] | None = None) -> int:
    """Train on every process torchrun started, see the module docstring.

    (command line: python -m course_utils.ddp_train)
    """
    parser = argparse.ArgumentParser(prog="torchrun ... -m course_utils.ddp_train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("synthetic", "corpus"), default="synthetic")
    parser.add_argument("--profile", choices=cloning.PROFILES, default="quick")
    parser.add_argument("--tiny", action="store_true", help="a very small model (tests)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=None, help="per process")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process on CPU")
    parser.add_argument("--report", type=Path, default=None, help="JSON summary (rank 0)")
    parser.add_argument("--out", type=Path, default=None, help="save the trained cloner checkpoint (rank 0)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(max(1, args.threads))
    rank, world, local_rank, device = setup(args.backend)
    try:
        overrides = {"steps": args.steps, "seed": args.seed}
        if args.batch_size is not None:
            overrides["batch_size"] = args.batch_size
        config = cloning.ClonerConfig.tiny(**overrides) if args.tiny else cloning.ClonerConfig.for_profile(args.profile, **overrides)
        if args.data == "synthetic":
            if not config.symbols:
                config.symbols = cloning.ClonerConfig.tiny().symbols
            examples, embeddings = synthetic_data(config, seed=args.seed)
        else:
            examples, embeddings = corpus_data(config, rank)
        log = _log_every(10, world) if rank == 0 else None
        model, history = cloning.train_model(examples, embeddings, config, device, progress=False, callback=log,
                                             rank=rank, world=world)
        losses, seconds = history["loss"], history["seconds"]
        sums = [None] * world
        dist.all_gather_object(sums, checksum(model))
        if rank == 0:
            report = {"world_size": world, "backend": dist.get_backend(), "device": device, "steps": args.steps,
                      "batch_per_rank": config.batch_size, "losses": losses, "checksums": sums,
                      "in_sync": len(set(sums)) == 1, "seconds": seconds}
            print(f"done: {args.steps} steps on {world} process(es) ({report['backend']}), "
                  f"replicas in sync: {report['in_sync']}, {seconds:.1f} s", flush=True)
            if args.report:
                args.report.parent.mkdir(parents=True, exist_ok=True)
                args.report.write_text(json.dumps(report, indent=1))
            if args.out and args.data == "corpus":
                encoder = cloning.load_speaker_encoder(config.speaker_encoder, config.profile, progress=False)
                cloning.VoiceCloner(model.eval().cpu(), encoder).save(args.out)
        dist.barrier()          # every rank done with gloo before any tears it down (else: SIGABRT at exit)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    # gloo's threads can abort the interpreter's teardown ("terminate called without an active
    # exception", SIGABRT) after a run that succeeded; the report is written by now, so flush the
    # streams and leave without running C++ destructors.
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
