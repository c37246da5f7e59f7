"""The course as a learner sees it: every solution notebook opened in JupyterLab in a real browser
(headless Chromium), and one student notebook run there (issue 17).

    make browser-check                       # installs playwright (PyPI) if needed, then runs this
    .venv/bin/python tests/browser/check_notebooks.py [--chromium PATH] [--out build/browser]

Needs Debian's ``chromium`` package (``apt-get install chromium``); the browser is driven by
Python playwright through ``executable_path`` (never ``playwright install``). Without Chromium it
says so and exits 0 (skipped). For each notebook it counts, in the rendered page, the figures,
the figures that look blank (no coloured pixel: axes and text only), the figures whose titles or
axis labels overlap (the "Figure warning" that ``plots.use_course_style`` prints), and the audio
players, and
saves a screenshot of every figure under ``--out``; a figure or player stored in the file but not
shown in the page fails. Then it runs the student copy of notebook
00 in the browser with *Run All* and checks that the first unsolved exercise stops it with a
one-line checker message, not a traceback. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
#: A figure with fewer coloured pixels than this share is reported as blank.
MIN_COLOURED_SHARE = 0.001


def find_chromium(given: str | None) -> str | None:
    if given:
        return given if Path(given).exists() else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def coloured_share(png: bytes) -> float:
    """Share of pixels with a hue (saturation above 0.06, not near black): the old blank figure of
    notebook 04 had none, every figure of the course at least 0.7 %."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255
    top, bottom = rgb.max(axis=2), rgb.min(axis=2)
    saturation = (top - bottom) / np.maximum(top, 1e-6)
    return float(((saturation > 0.06) & (top > 0.15)).mean())


def start_lab(root: Path, port: int, token: str) -> subprocess.Popen:
    # every cell rendered at once (JupyterLab 4 otherwise drops the cells that are off screen)
    settings = root / ".lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    command = [str(REPO / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
               f"--LabApp.user_settings_dir={root / '.lab-settings'}",
               f"--LabApp.workspaces_dir={root / '.lab-workspaces'}",
               f"--ServerApp.token={token}", f"--notebook-dir={root}", "--ServerApp.open_browser=False",
               "--LabApp.news_url=None", "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    lab = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return lab
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    raise RuntimeError("JupyterLab did not start within 60 s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_notebook(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".jp-Notebook:visible", timeout=120_000)
    page.wait_for_timeout(1500)
    # scroll through the notebook so every output is rendered (JupyterLab renders lazily)
    for _ in range(200):
        done = page.evaluate("""() => { const p = document.querySelector('.jp-WindowedPanel-outer') ||
                                         document.querySelector('.jp-NotebookPanel-notebook');
                                         if (!p) return true; p.scrollBy(0, 900);
                                         return p.scrollTop + p.clientHeight >= p.scrollHeight - 5; }""")
        page.wait_for_timeout(60)
        if done:
            break
    page.wait_for_timeout(500)


def close_all_tabs(page) -> None:
    """File > Close All Tabs: only one notebook in the page at a time (nothing was edited, so no dialog)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Close All Tabs").first.click()
    page.wait_for_timeout(500)


def stored_outputs(path: Path) -> tuple[int, int]:
    """(figures, audio players) stored in a notebook file: what the page should show."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    outputs = [o.get("data", {}) for c in cells for o in c.get("outputs", [])]
    return (sum("image/png" in d for d in outputs),
            sum("<audio" in "".join(d.get("text/html", "")) for d in outputs))


def check_rendered(page, base: str, name: str, out: Path) -> dict:
    open_notebook(page, f"{base}/lab/tree/solutions/{name}")
    panel = page.locator(".jp-NotebookPanel:visible")       # JupyterLab keeps earlier notebooks as hidden tabs
    images = panel.locator(".jp-OutputArea-output img")
    want_figures, want_players = stored_outputs(REPO / "solutions" / name)
    for _ in range(120):                                     # big notebooks take a while to render
        if images.count() >= want_figures and panel.locator("audio").count() >= want_players:
            break
        page.wait_for_timeout(500)
    shares = []
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        png = image.screenshot()
        (out / f"{Path(name).stem}_figure{i:02d}.png").write_bytes(png)
        shares.append(coloured_share(png))
    blank = [i for i, s in enumerate(shares) if s < MIN_COLOURED_SHARE]
    players = panel.locator(".jp-OutputArea-output audio").count()
    overlaps = panel.locator(".jp-OutputArea-output", has_text="Figure warning").count()
    close_all_tabs(page)
    return {"notebook": name, "figures": len(shares), "stored figures": want_figures, "blank figures": blank,
            "overlapping titles": overlaps, "audio players": players, "stored audio players": want_players}


def check_run_all_stops_with_one_line(page, base: str, root: Path) -> dict:
    """Run All on the student notebook 00: the first unsolved exercise's checker stops the run with
    one line (and the hint), no traceback."""
    open_notebook(page, f"{base}/lab/tree/notebooks/00_welcome_and_setup.ipynb")
    page.wait_for_timeout(5000)                 # the kernel starts; Run All waits for it anyway
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    stderr = ".jp-NotebookPanel:visible .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    page.wait_for_selector(stderr, timeout=300_000)
    error = page.locator(stderr).first.inner_text()
    lines = [line for line in error.splitlines() if line.strip()]
    return {"notebook": "notebooks/00_welcome_and_setup.ipynb (student, Run All)", "error lines": len(lines),
            "first line": lines[0] if lines else "", "traceback": "Traceback" in error or "File " in error}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", help="the Chromium executable (default: chromium on the PATH)")
    parser.add_argument("--out", default=str(REPO / "build" / "browser"), help="screenshots and report.json")
    parser.add_argument("--notebooks", nargs="*", help="solution notebook file names (default: all)")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("skipped: no Chromium found (apt-get install chromium, or pass --chromium PATH)")
        return 0
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: Python playwright is not installed (make browser-check installs it)")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.notebooks or sorted(p.name for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)                     # a copy: the browser's kernel never writes into the repository
        shutil.copytree(REPO / "solutions", root / "solutions")
        shutil.copytree(REPO / "notebooks", root / "notebooks")
        port, token = free_port(), "course-browser-check"
        lab = start_lab(root, port, token)
        base = f"http://127.0.0.1:{port}"
        report = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{base}/lab?token={token}")
                page.wait_for_selector(".jp-LabShell", timeout=120_000)
                for name in names:
                    row = check_rendered(page, base, name, out)
                    report.append(row)
                    print(f"{name:45s} figures {row['figures']:2d} of {row['stored figures']:2d} (blank: "
                          f"{row['blank figures'] or 'none'}; overlapping titles: {row['overlapping titles']}), "
                          f"audio players {row['audio players']:2d} of {row['stored audio players']:2d}", flush=True)
                row = check_run_all_stops_with_one_line(page, base, root)
                report.append(row)
                print(f"{row['notebook']}: {row['error lines']} line(s) of error, first: {row['first line'][:100]!r}")
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    failures = [r["notebook"] for r in report if r.get("blank figures") or r.get("overlapping titles")
                or r.get("figures", 0) < r.get("stored figures", 0)
                or r.get("audio players", 0) < r.get("stored audio players", 0)]
    last = report[-1]
    if last["traceback"] or last["error lines"] > 3:
        failures.append(last["notebook"] + ": the checker failure is not one line")
    print("FAILED: " + "; ".join(failures) if failures else f"all checks passed; screenshots in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
