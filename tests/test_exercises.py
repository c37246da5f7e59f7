"""Single-source exercises: stubs, stale student notebooks, checker cells, notebook hygiene."""

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_utils import check, exercises
from course_utils.env import REPO_ROOT

SOLUTIONS = exercises.solution_notebooks()
MIN_EXERCISES = 4          # every notebook from 01 on has at least this many checked exercises
HEAVY_FROM = 4             # notebooks 04 onwards start with a papermill parameters cell
MAX_NOTEBOOK_BYTES = 3_000_000
NBVAL_MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_CHECK_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION"}
#: A cell tagged so measures what no exercise needs (a table, a figure, its assert): the stub runs leave it out.
MEASUREMENT = "measurement"


def number(path):
    return int(path.name[:2])


def checker_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and "checker" in c.metadata.get("tags", [])]


# --- stubs ------------------------------------------------------------------------------------

def test_strip_solutions_default_stub_keeps_indentation():
    source = "def f(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\nprint(f)"
    assert exercises.strip_solutions(source) == (
        "def f(x):\n    " + exercises.DEFAULT_STUB + "\nprint(f)")


def test_strip_solutions_uses_stub_lines():
    source = "# BEGIN SOLUTION\n# STUB: answer = ...  # fill in\nanswer = 42\n# END SOLUTION"
    assert exercises.strip_solutions(source) == "answer = ...  # fill in"


@pytest.mark.parametrize("source, message", [
    ("# BEGIN SOLUTION\nx = 1", "without # END"),
    ("x = 1\n# END SOLUTION", "without # BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested"),
])
def test_strip_solutions_rejects_broken_markers(source, message):
    with pytest.raises(ValueError, match=message):
        exercises.strip_solutions(source, "nb.ipynb, cell 3")


def test_student_notebooks_are_up_to_date():
    stale = exercises.build(check_only=True)
    assert not stale, (f"notebooks/ is stale for {stale}: run "
                       "`python -m course_utils.exercises build` (or `make notebooks`)")


def test_student_notebooks_hold_no_solutions_and_no_outputs():
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
                assert exercises.BEGIN not in cell.source, path.name


# --- checker helper ---------------------------------------------------------------------------

def test_checker_reports_expected_and_got():
    with pytest.raises(check.ExerciseFailed, match=r"(?s)\[FAIL\] x: sum.*expected: 3.*got:      4.*Hint: add"):
        with check.exercise("x", hint="add") as ex:
            ex.equal(4, 3, "sum")


def test_checker_says_todo_on_a_stub():
    def stub():
        raise NotImplementedError("Exercise")

    with pytest.raises(check.ExerciseFailed, match=r"\[TODO\] y"):
        with check.exercise("y", hint="h") as ex:
            ex.equal(stub(), 1, "value")


def test_checker_passes_and_counts(capsys):
    with check.exercise("z", hint="h") as ex:
        ex.close(0.1 + 0.2, 0.3, "float sum")
        ex.raises(ZeroDivisionError, lambda: 1 / 0, "division by zero")
        ex.true([1], "non-empty")
    assert capsys.readouterr().out == "[OK] z: all 3 checks passed\n"


# --- solution notebook hygiene ----------------------------------------------------------------

@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_notebook_hygiene(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < MAX_NOTEBOOK_BYTES, "keep notebooks light: smaller figures, fewer players"
    for leak in (str(REPO_ROOT), "/home/", "/root/"):
        assert leak not in text, f"{path.name} stores an absolute path ({leak})"
    assert "Figure warning:" not in text, f"{path.name}: a figure's titles overlap (plots.warn_overlaps)"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == exercises.KERNEL["name"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "solutions/ must be committed executed"
    for cell in code:
        assert "raises-exception" not in cell.metadata.get("tags", []), "use try/except instead"
        for line in cell.source.splitlines():
            # nbval only honours a marker alone on its line: "# NBVAL_IGNORE_OUTPUT  (why)" is silently compared
            if line.lstrip("# ").startswith("NBVAL_"):
                assert line.lstrip("#").strip() in NBVAL_MARKERS, (
                    f"{path.name}: {line!r} is not an nbval marker nbval recognises; put the reason on the next line")
    for cell in code:
        # a compared output must not hold a package's full version: "pandas 3.1.1" failed CI once PyPI had 3.1.2
        if "NBVAL_IGNORE_OUTPUT" not in cell.source:
            for use in re.finditer(r"__version__(\S{0,20})", cell.source):
                assert use.group(1).startswith('.split(".")[0]'), (
                    f"{path.name}: a compared cell prints a full package version (it changes with every release); "
                    f"print the major version or mark the cell NBVAL_IGNORE_OUTPUT:\n{cell.source[:200]}")
    for cell in code:
        if MEASUREMENT in cell.metadata.get("tags", []):
            assert not {"checker", "parameters"} & set(cell.metadata["tags"]) and "BEGIN SOLUTION" not in cell.source, (
                f"{path.name}: a parameters, checker or exercise cell cannot be tagged {MEASUREMENT!r}:\n{cell.source[:200]}")
    if number(path) >= HEAVY_FROM:
        first = code[0]
        assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged parameters"
        for name in ("PROFILE", "DEVICE", "SEED"):
            assert re.search(rf"^{name}\s*=", first.source, re.M), f"parameters cell lacks {name}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_checkers_pass(path):
    nb = nbformat.read(path, as_version=4)
    checkers = checker_cells(nb)
    if number(path) >= 1:
        assert len(checkers) >= MIN_EXERCISES, f"{path.name}: {len(checkers)} checked exercises"
    for cell in checkers:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "[OK]" in text, f"{path.name}: checker cell did not print [OK]:\n{cell.source}"


# --- the student notebooks: every checker fails on the stub ------------------------------------

@pytest.fixture(scope="module")
def student_cache(tmp_path_factory):
    """A private copy of the course cache for the student runs.

    Their stubs must never write into the cache that the solutions filled (or that a learner
    uses), and the tests must give the same result in any order: copy what is there, or start
    empty when nothing is. The copy (the whole cache after the notebooks: about 260 MB on a clean
    run, more in a learner's cache, and /tmp may be memory) is removed after the student runs, not
    kept until the session ends.
    """
    source = Path(os.environ.get("COURSE_CACHE", REPO_ROOT / ".cache"))
    target = tmp_path_factory.mktemp("student") / "cache"
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("*.tmp", "*.lock"))
    else:
        target.mkdir()
    yield target
    shutil.rmtree(target, ignore_errors=True)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_student_checkers_fail_on_stubs(path, student_cache, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("COURSE_CACHE", str(student_cache))   # the kernel inherits it

    student_path = REPO_ROOT / "notebooks" / path.name
    nb = nbformat.read(student_path, as_version=4)
    checkers = checker_cells(nb)
    if not checkers:
        return
    # Run up to the last checker only: what follows it checks nothing about the exercises. Cells
    # tagged MEASUREMENT are left out too; a checker that needed one fails below with a NameError,
    # not ExerciseFailed.
    last = max(i for i, cell in enumerate(nb.cells) if cell is checkers[-1])
    nb.cells = [c for c in nb.cells[: last + 1] if MEASUREMENT not in c.metadata.get("tags", [])]
    # 1 h per cell: from an empty cache (tests run alone or first) notebook 08's model trains in one cell
    NotebookClient(nb, timeout=3600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(student_path.parent)}}).execute()
    for cell in checker_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[0].ename == "ExerciseFailed", (
            f"{path.name}: a checker passed (or crashed) on the stub:\n{cell.source}\n"
            + json.dumps([dict(o) for o in cell.outputs])[:800])
        assert re.search(r"\[(TODO|FAIL)\]", errors[0].evalue) and "Hint:" in errors[0].evalue


def test_a_checker_failure_shows_as_its_message_not_a_traceback():
    """IPython prints ``_render_traceback_`` instead of the traceback (issue 17): the [FAIL]/[TODO]
    line and the hint come first, then what to do to run the rest of the notebook."""
    with pytest.raises(check.ExerciseFailed) as info:
        with check.exercise("x", hint="add them") as ex:
            ex.equal(4, 3, "sum")
    lines = info.value._render_traceback_()
    assert lines[0].startswith("[FAIL] x: sum") and "Hint: add them" in lines[0]
    assert "Run Selected Cell and All Below" in lines[-1] and not any("File " in line for line in lines)

