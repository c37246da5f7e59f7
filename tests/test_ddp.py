"""The DistributedDataParallel script trains 2 CPU processes (gloo) for a few steps under torchrun
and keeps the replicas identical (notebook 09). Its speed is recorded by ``python -m benchmarks``,
never asserted here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ddp_two_processes_on_cpu(tmp_path):
    report = tmp_path / "report.json"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "course_utils.ddp_train", "--tiny", "--steps", "4", "--backend", "gloo", "--report", str(report)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    r = json.loads(report.read_text())
    assert r["world_size"] == 2 and r["backend"] == "gloo" and r["steps"] == 4
    assert r["in_sync"] and len(r["checksums"]) == 2
    assert r["losses"][-1] < r["losses"][0]


def test_ddp_single_process_without_torchrun(tmp_path, monkeypatch):
    from course_utils import ddp_train

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.setenv(name, "x")       # recorded, so the values the script sets are undone afterwards
        monkeypatch.delenv(name)

    report = tmp_path / "r.json"
    assert ddp_train.main(["--tiny", "--steps", "2", "--backend", "gloo", "--report", str(report)]) == 0
    r = json.loads(report.read_text())
    assert r["world_size"] == 1 and r["in_sync"]


def test_ddp_rejects_zero_steps():
    from course_utils import ddp_train

    with pytest.raises(SystemExit):
        ddp_train.main(["--tiny", "--steps", "0"])
