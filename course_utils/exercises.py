"""Single source for exercises: ``solutions/`` -> ``notebooks/``, and running the course.

Introduced in ``00_welcome_and_setup.ipynb``.  In a solution notebook, the code a learner must
write sits between two marker lines::

    # BEGIN SOLUTION
    answer = [[0] * 3 for _ in range(3)]
    # END SOLUTION

``build`` writes the student twin with each region replaced by its stub: the region's
``# STUB: ...`` lines (prefix removed) if it has any, else ``raise NotImplementedError``.
Outputs and execution counts are cleared.  Commands::

    python -m course_utils.exercises build          # regenerate notebooks/
    python -m course_utils.exercises check          # exit 1 if notebooks/ is stale
    python -m course_utils.exercises run solutions/01_names_references_and_copies.ipynb
    python -m course_utils.exercises course --profile quick --device auto
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import nbformat

from course_utils.env import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
NOTEBOOKS = REPO_ROOT / "notebooks"
BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB:"
DEFAULT_STUB = 'raise NotImplementedError("Exercise: replace this line with your code")'
#: Appended to the first cell of a student notebook that has exercises.
RUN_ALL_NOTE = ("\n\n> **Working through this notebook.** Each exercise is followed by a checker cell. "
                "*Run All* stops at the first exercise you have not solved yet: its checker fails with "
                "a one-line message. Solve it and run both cells again, or, to see the rest of the "
                "notebook first, click the cell after the checker and choose *Run > Run Selected Cell "
                "and All Below*.")
KERNEL = {"name": "cloning-in-python", "display_name": "Python (Cloning in Python)", "language": "python"}


def solution_notebooks() -> list[Path]:
    """The numbered solution notebooks, in course order (used by exercises.build, exercises.course)."""
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region of ``source`` by its stub.

    (used by exercises.student_version)
    """
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if region is not None:
                raise ValueError(f"{where}, line {number}: nested {BEGIN}")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if region is None:
                raise ValueError(f"{where}, line {number}: {END} without {BEGIN}")
            stubs = [l.strip()[len(STUB):].strip() for l in region if l.strip().startswith(STUB)]
            out += [indent + s for s in (stubs or [DEFAULT_STUB])]
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def student_version(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student twin of a solution notebook: stubs in place, no outputs, and (with exercises)
    :data:`RUN_ALL_NOTE` in its first cell (used by exercises.build)."""
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{name}, cell {index}")
            cell.outputs, cell.execution_count = [], None
    if any("check.exercise(" in c.source for c in student.cells if c.cell_type == "code"):
        student.cells[0].source += RUN_ALL_NOTE
    for key in ("papermill", "widgets"):
        student.metadata.pop(key, None)
    student.metadata["kernelspec"] = dict(KERNEL)
    return student


def _render(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def build(check_only: bool = False) -> list[str]:
    """Write (or, with ``check_only``, compare) every student notebook; return the stale names.

    ``make notebooks`` runs it (used by exercises.main).
    """
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    expected_names = set()
    for path in solution_notebooks():
        nb = nbformat.read(path, as_version=4)
        text = _render(student_version(nb, path.name))
        target = NOTEBOOKS / path.name
        expected_names.add(path.name)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(path.name)
            if not check_only:
                target.write_text(text, encoding="utf-8")
    for orphan in sorted(set(p.name for p in NOTEBOOKS.glob("*.ipynb")) - expected_names):
        stale.append(orphan)
        if not check_only:
            (NOTEBOOKS / orphan).unlink()
    return stale


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 1800, allow_errors: bool = False,
            probe: str | None = None) -> str:
    """Execute ``nb`` in place in a fresh kernel started in ``cwd`` (for authors and benchmarks).

    With ``probe``, that code runs in the same kernel after the last cell (it can read the
    notebook's variables) and its stdout is returned; ``benchmarks/bench_margins.py`` reads
    the asserted quality numbers this way (used by exercises.run).
    """
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    if probe is None:
        client.execute()
        return ""
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        probe_cell = nbformat.v4.new_code_cell(probe)
        nb.cells.append(probe_cell)
        try:
            client.execute_cell(probe_cell, len(nb.cells) - 1)
        finally:
            nb.cells.pop()
    return "".join(o.get("text", "") for o in probe_cell.outputs if o.get("name") == "stdout")


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write an executed notebook as ``solutions/`` keeps it: no timing metadata, no widget state.

    (used by exercises.run)
    """
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)  # saved widget state: large, and stale once the kernel stops
    nb.metadata["kernelspec"] = dict(KERNEL)
    path.write_text(_render(nb), encoding="utf-8")


def run(path: Path, timeout: int = 1800) -> float:
    """Execute a solution notebook in place (outputs stored, for authors); return seconds.

    (used by exercises.main)
    """
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    execute(nb, path.parent, timeout)
    elapsed = time.perf_counter() - start
    save(nb, path)
    return elapsed


def course(profile: str, device: str, out: Path, only: list[str] | None = None) -> dict[str, float]:
    """Run every solution notebook in order with papermill into ``out``; return seconds each.

    ``make course`` runs it (used by exercises.main).
    """
    import papermill

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    for path in solution_notebooks():
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        start = time.perf_counter()
        papermill.execute_notebook(str(path), str(out / path.name), cwd=str(path.parent),
                                   kernel_name="python3", progress_bar=False,
                                   parameters={"PROFILE": profile, "DEVICE": device})
        timings[path.name] = round(time.perf_counter() - start, 1)
        print(f"{path.name}: {timings[path.name]:.1f} s", flush=True)
    (out / "timings.json").write_text(json.dumps({"profile": profile, "device": device,
                                                  "seconds": timings}, indent=1) + "\n")
    return timings


def main(argv: list[str] | None = None) -> int:
    """The ``build``, ``check``, ``run`` and ``course`` commands.

    (command line: python -m course_utils.exercises)
    """
    parser = argparse.ArgumentParser(prog="python -m course_utils.exercises", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="regenerate notebooks/ from solutions/")
    sub.add_parser("check", help="exit 1 if notebooks/ is stale")
    run_p = sub.add_parser("run", help="execute solution notebooks in place")
    run_p.add_argument("paths", nargs="+", type=Path)
    course_p = sub.add_parser("course", help="run every solution notebook with papermill")
    course_p.add_argument("--profile", choices=["quick", "full"], default="quick")
    course_p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    course_p.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "course")
    course_p.add_argument("--only", nargs="*", help="notebook number prefixes, e.g. 01 02")
    args = parser.parse_args(argv)
    if args.command in ("build", "check"):
        stale = build(check_only=args.command == "check")
        verb = "stale" if args.command == "check" else "written"
        print(f"{len(stale)} student notebook(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
        return 1 if stale and args.command == "check" else 0
    if args.command == "run":
        for path in args.paths:
            print(f"{path}: executed in {run(path):.1f} s", flush=True)
        return 0
    course(args.profile, args.device, args.out, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
