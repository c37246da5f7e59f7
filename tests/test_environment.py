"""The set-up check of notebook 00, device choice, seeds and the cache folder."""

import subprocess
import sys

import pytest
import torch

from course_utils import env


def test_environment_report_all_ok():
    report = env.environment_report()
    failed = [str(item) for item in report if not item.ok]
    assert not failed, failed
    names = {item.name for item in report}
    assert {"Python", "torch", "torch device", "espeak-ng", "speaker-encoder weights",
            "DNSMOS models", "free disk for the cache"} <= names


def test_check_command_prints_ok_lines():
    result = subprocess.run([sys.executable, "-m", "course_utils", "check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("[OK] ") for line in lines)


def test_missing_package_is_a_fail_with_advice():
    item = env._check_package("no-such-course-package", None)
    assert not item.ok and "not installed" in item.detail and str(item).startswith("[FAIL]")


def test_pick_device():
    assert env.pick_device("auto") in ("cuda", "mps", "cpu")
    assert env.pick_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="DEVICE must be"):
        env.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available here"):
            env.pick_device("cuda")


def test_seed_everything_is_reproducible():
    env.seed_everything(123)
    first = (torch.rand(4), __import__("numpy").random.rand(2))
    env.seed_everything(123)
    second = (torch.rand(4), __import__("numpy").random.rand(2))
    assert torch.equal(first[0], second[0]) and (first[1] == second[1]).all()


def test_cache_dir_honours_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    path = env.cache_dir("corpus", "x")
    assert path == tmp_path / "cache" / "corpus" / "x" and path.is_dir()


def test_atomic_path_writes_whole_files_or_nothing(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    with env.atomic_path(target) as tmp:
        tmp.write_bytes(b"first")
    assert target.read_bytes() == b"first"
    with pytest.raises(RuntimeError):
        with env.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]
