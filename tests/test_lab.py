"""`make lab` works: the course kernel is registered and JupyterLab answers on /lab."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from course_utils import exercises
from course_utils.env import REPO_ROOT

JUPYTER = Path(sys.executable).with_name("jupyter")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_course_kernel_is_registered():
    out = subprocess.run([str(JUPYTER), "kernelspec", "list", "--json"], capture_output=True,
                         text=True, check=True).stdout
    specs = json.loads(out)["kernelspecs"]
    name = exercises.KERNEL["name"]
    assert name in specs, (f"kernel {name!r} missing: run `make lab` (or `python -m ipykernel install "
                           f"--sys-prefix --name {name}`)")
    argv0 = specs[name]["spec"]["argv"][0]
    assert Path(argv0).resolve().parent == Path(sys.executable).resolve().parent, argv0


def test_jupyterlab_serves_the_lab_page(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [str(JUPYTER), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--notebook-dir={REPO_ROOT}",
         "--ServerApp.open_browser=False", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5) as response:
                    status = response.status
            except OSError:
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer 200 on /lab within 90 s"
    finally:
        server.terminate()
        server.wait(timeout=30)
