"""The set-up files agree with each other: pyproject, environment.yml, Makefile, CI, README."""

import re
import tomllib

import pytest
import yaml

from course_utils.env import REPO_ROOT


def pyproject():
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_environment_yml_equals_pyproject_dependencies():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert sorted(r for r in pip_section if r != "-e .") == sorted(pyproject()["project"]["dependencies"])
    assert "-e ." in pip_section, "environment.yml must install the course package itself"
    assert ">=3.11" in conda_python and pyproject()["project"]["requires-python"] == ">=3.11"


def test_dependencies_are_ranges_not_loose():
    for requirement in pyproject()["project"]["dependencies"]:
        assert re.search(r"(<|==)", requirement), f"{requirement}: give a tested upper bound"


def test_make_targets_and_ci_run_the_readme_command():
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target in ("lab", "test", "course", "notebooks", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile lacks `{target}`"
    assert re.search(r"^test: setup\n\t\$\(PY\) -m pytest --nbval$", makefile, re.M)
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme


def test_conftest_refuses_an_untested_nbval(monkeypatch):
    """conftest.py patches a private nbval function: another release must fail loudly, not silently."""
    import importlib.metadata

    import conftest

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.12.0" if name == "nbval" else real(name))
    with pytest.raises(RuntimeError, match=r"nbval 0\.12\.0 is installed"):
        conftest._check_nbval_version()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.11.0" if name == "nbval" else real(name))
    conftest._check_nbval_version()
