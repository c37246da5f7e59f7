"""Environment of the course: paths, cache, seeds, device choice and the set-up check.

Introduced in ``00_welcome_and_setup.ipynb``; every later notebook uses ``cache_dir``,
``seed_everything`` and ``pick_device``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"

#: Packages the course imports, as (distribution name, import name).
PACKAGES = [
    ("numpy", "numpy"), ("scipy", "scipy"), ("pandas", "pandas"), ("matplotlib", "matplotlib"),
    ("torch", "torch"), ("torchaudio", "torchaudio"), ("librosa", "librosa"),
    ("soundfile", "soundfile"), ("scikit-learn", "sklearn"), ("tqdm", "tqdm"),
    ("espeakng-loader", "espeakng_loader"), ("resemblyzer", None), ("speechmos", None),
    ("onnxruntime", "onnxruntime"), ("ipywidgets", "ipywidgets"), ("papermill", "papermill"),
    ("nbval", "nbval"),
]
MIN_FREE_GB = 2.0


def cache_dir(*parts: str) -> Path:
    """Folder for generated audio, features and checkpoints (git ignores it); created on demand.

    ``$COURSE_CACHE`` overrides the default ``<repo>/.cache`` (notebook 00).
    """
    root = Path(os.environ.get("COURSE_CACHE", REPO_ROOT / ".cache")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 4 MiB blocks: how the course checks the weights it loads
    (the course checkpoint, HiFi-GAN, Whisper) (used by cloning.cloner.VoiceCloner)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file beside ``path``; it replaces ``path`` only if the block succeeds.

    Every cache writer uses it, so an interrupted run never leaves a half-written file
    (used by cloning.cloner.VoiceCloner.save). The file gets the mode the user's umask gives new
    files (``mkstemp`` alone would give 0600); temporary files of this name left by a run killed
    more than an hour ago are removed first (:func:`handle_sigterm` makes a ``kill`` clean up too).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent.glob(f".{glob_escape(path.name)}.*.tmp"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Temporary files older than this (seconds) belong to a run that was killed.
STALE_SECONDS = 3600


def _remove_stale(paths) -> None:
    now = time.time()
    for p in paths:
        try:
            if now - p.stat().st_mtime > STALE_SECONDS:
                p.unlink()
        except OSError:
            pass


def glob_escape(name: str) -> str:
    """``name`` with the glob wildcards ``*?[`` escaped (used by env.atomic_path)."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def handle_sigterm() -> None:
    """Turn ``SIGTERM`` (``kill``) into ``SystemExit``, so ``finally`` blocks and :func:`atomic_path`
    clean up their temporary files (command line: python -m course_utils)."""
    import signal

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


@contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block; another process or thread
    asking for it waits (used by cloning.cloner.VoiceCloner.trained). Without ``fcntl`` (Windows) it
    does not lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and GPU) for a reproducible run (notebook 00)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> str:
    """Return ``"cuda"``, ``"mps"`` or ``"cpu"``; ``"auto"`` takes the best available (notebook 00).

    Asking for a device that is not there raises a ``RuntimeError`` that says what is available.
    """
    import torch

    available = ["cpu"]
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        available.insert(0, "mps")
    if name == "auto":
        return available[0]
    if name not in ("cuda", "mps", "cpu"):
        raise ValueError(f"DEVICE must be 'auto', 'cuda', 'mps' or 'cpu', not {name!r}")
    if name not in available:
        raise RuntimeError(f"DEVICE={name!r} is not available here; available: {available}. "
                           "Use DEVICE='auto' to pick the best one.")
    return name


@dataclass
class CheckItem:
    """One line of the environment check: what was checked, whether it passed, details.

    (used by env.environment_report)
    """

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'OK' if self.ok else 'FAIL'}] {self.name}: {self.detail}"


def _check_package(dist: str, module: str | None) -> CheckItem:
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return CheckItem(dist, False, "not installed: run `make lab` or `pip install -e .`")
    if module:
        try:
            __import__(module)
        except Exception as exc:  # a broken install shows up here, not deep in a notebook
            return CheckItem(dist, False, f"{version} installed but import failed: {exc}")
    return CheckItem(dist, True, version)


def _check_espeak() -> CheckItem:
    import espeakng_loader

    voices = Path(espeakng_loader.get_data_path()) / "voices"
    lib = Path(espeakng_loader.get_library_path())
    if not lib.exists():
        return CheckItem("espeak-ng", False, f"library missing at {lib}")
    count = sum(1 for p in voices.rglob("*") if p.is_file())
    languages = sum(1 for _ in (Path(espeakng_loader.get_data_path()) / "lang").rglob("*") if _.is_file())
    ok = count > 0 and languages > 0
    return CheckItem("espeak-ng", ok, f"{languages} languages, {count} voice variants (from the wheel)")


def _check_resemblyzer_weights() -> CheckItem:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        return CheckItem("speaker-encoder weights", False, "resemblyzer is not installed")
    weights = Path(spec.origin).parent / "pretrained.pt"
    if not weights.exists():
        return CheckItem("speaker-encoder weights", False, f"missing: {weights.name} not in the wheel")
    return CheckItem("speaker-encoder weights", True, f"pretrained.pt, {weights.stat().st_size / 1e6:.1f} MB")


def _check_dnsmos() -> CheckItem:
    spec = importlib.util.find_spec("speechmos")
    if spec is None or spec.origin is None:
        return CheckItem("DNSMOS models", False, "speechmos is not installed")
    models = sorted(Path(spec.origin).parent.rglob("*.onnx"))
    return CheckItem("DNSMOS models", bool(models), f"{len(models)} ONNX models in the wheel")


def environment_report() -> list[CheckItem]:
    """Check Python, packages, device, espeak-ng, pretrained weights and disk (notebook 00)."""
    items = [CheckItem("Python", sys.version_info >= (3, 11),
                       f"{platform.python_version()} (3.11 or newer needed)")]
    items += [_check_package(dist, module) for dist, module in PACKAGES]
    try:
        items.append(CheckItem("torch device", True, pick_device("auto")))
    except Exception as exc:
        items.append(CheckItem("torch device", False, str(exc)))
    for check in (_check_espeak, _check_resemblyzer_weights, _check_dnsmos):
        try:
            items.append(check())
        except Exception as exc:
            items.append(CheckItem(check.__name__.removeprefix("_check_"), False, str(exc)))
    free = shutil.disk_usage(cache_dir()).free / 1e9
    items.append(CheckItem("free disk for the cache", free >= MIN_FREE_GB,
                           f"{free:.1f} GB free (at least {MIN_FREE_GB:.0f} GB needed)"))
    return items
