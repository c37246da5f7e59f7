"""Every public function and class of course_utils says, in one machine-readable tag, who uses it.

Issue 16 (libfmp's idea, made true): the docstring of each public top-level function and class
(its name does not start with ``_``) defined in a module under ``course_utils/`` holds exactly
one of these tags, and the tag is checked:

``(notebook NN)`` or ``(notebooks NN, MM)``
    every notebook named (``solutions/NN_*.ipynb``) uses the object in its code cells, as
    ``module.name`` after ``from course_utils import module`` or through
    ``from course_utils.module import name`` (a re-export counts: ``cloning.AcousticModel``
    is ``cloning.model.AcousticModel``).  A bare word is not enough: notebook 01's own
    ``class Speaker`` is not ``cloning.Speaker``, and ``speaker.train`` is not ``cloning.train``.
``(used by module.name)`` or ``(used by module.name, module.name)``
    a building block: each named public object (its path relative to ``course_utils``, e.g.
    ``cloning.model.AcousticModel`` or ``cloning.cloner.VoiceCloner.enroll``) exists and its
    code, or that of the private helpers (``_name``) of its module it calls, refers to this
    object (docstrings and strings do not count).
``(command line: python -m course_utils.module)``
    an entry point: the ``if __name__ == "__main__":`` block of that module (or the package's
    ``__main__.py``) names this object.
``(tests only: tests/test_module.py)``
    no notebook and no other course_utils object uses it, only the named files under ``tests/``
    or ``benchmarks/`` (which must name it): a candidate for a notebook, or for removal.

Modules are found with ``rglob``, so a new module is covered without editing this file;
names a module only imports (``__init__.py`` re-exports) are checked where they are defined.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
SOLUTIONS = ROOT / "solutions"

NOTEBOOK_TAG = re.compile(r"\((notebooks?) (\d\d(?:, \d\d)*)\)")
USED_BY_TAG = re.compile(r"\(used by ([\w.]+(?:, [\w.]+)*)\)")
COMMAND_TAG = re.compile(r"\(command line: python -m (course_utils(?:\.\w+)*)\)")
TESTS_TAG = re.compile(r"\(tests only: ((?:tests|benchmarks)/[\w/]+\.py(?:, (?:tests|benchmarks)/[\w/]+\.py)*)\)")
TAGS = (NOTEBOOK_TAG, USED_BY_TAG, COMMAND_TAG, TESTS_TAG)
#: Anything that looks like a tag; what the patterns above do not match is malformed.
TAG_LIKE = re.compile(r"\((?:notebooks? |used by |command line|tests only)[^)]*\)?")
FORMS = ("(notebook NN), (notebooks NN, MM), (used by module.name), "
         "(command line: python -m course_utils.module) or (tests only: tests/test_x.py)")


def module_name(path: Path) -> str:
    """``course_utils.cloning.model`` for ``course_utils/cloning/model.py``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = sorted(PACKAGE.rglob("*.py"))


def public_definitions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """The public functions and classes defined at the top level of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not node.name.startswith("_")]


def notebooks() -> dict[str, Path]:
    """``{"04": solutions/04_sound_and_spectrograms.ipynb, ...}``."""
    return {p.name[:2]: p for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))}


def code_cells(path: Path) -> list[str]:
    """Source of each code cell, IPython magics and shell lines blanked."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        sources.append("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                 for line in source.splitlines()))
    return sources


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def course_references(sources: list[str]) -> set[tuple[str, str]]:
    """``(module, name)`` pairs the code names: ``module.name`` of an imported course module, or
    ``from module import name``; ``module`` is a full dotted name (``course_utils.audio``)."""
    with warnings.catch_warnings():  # a notebook's invalid escape ("\\$" in a plain string) is not ours to report
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        trees = [ast.parse(source) for source in sources]
    aliases, refs = {}, set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "course_utils":
                    aliases.update({a.asname or a.name: f"course_utils.{a.name}" for a in node.names})
                elif node.module.startswith("course_utils."):
                    refs.update((node.module, a.name) for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "course_utils" or a.name.startswith("course_utils."):
                        aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "course_utils"
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and (base := dotted(node.value)):
                head, _, rest = base.partition(".")
                if head in aliases:
                    refs.add((".".join(filter(None, [aliases[head], rest])), node.attr))
    return refs


def definition_key(obj) -> tuple[str, str] | None:
    """Where a function or class is defined: ``(module, qualified name)``."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return (module, qualname) if isinstance(module, str) and isinstance(qualname, str) else None


def resolve(module: str, name: str):
    """``getattr(import_module(module), name)``, or None when either does not exist."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


@functools.cache
def notebook_uses() -> dict[tuple[str, str], frozenset[str]]:
    """``{(module, name) where defined: notebooks whose code cells use it}``."""
    uses: dict[tuple[str, str], set[str]] = {}
    for number, path in notebooks().items():
        for module, name in course_references(code_cells(path)):
            key = definition_key(resolve(module, name))
            if key is not None:
                uses.setdefault(key, set()).add(number)
    return {key: frozenset(numbers) for key, numbers in uses.items()}


def resolve_package_path(path: str):
    """The object at ``path`` relative to ``course_utils`` (``cloning.model.AcousticModel``)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(["course_utils", *parts[:cut]]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def names_in(source: str) -> set[str]:
    """Every name the code of ``source`` refers to: variables, attributes, imported names
    (docstrings, comments and other strings do not count)."""
    names = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[-1] for a in node.names)
            names.update(a.name.split(".")[-1] for a in node.names)
    return names


def main_block_source(module: str) -> str | None:
    """Source that runs under ``python -m module``: the ``__main__`` guard, or a package's ``__main__.py``."""
    relative = Path(*module.split(".")[1:])
    package_main = PACKAGE / relative / "__main__.py"
    if package_main.is_file():
        return package_main.read_text(encoding="utf-8")
    path = (PACKAGE / relative).with_suffix(".py")
    if relative == Path() or not path.is_file():
        return None
    source = path.read_text(encoding="utf-8")
    guards = [node for node in ast.parse(source).body if isinstance(node, ast.If)
              and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"']
    return "\n".join(ast.get_source_segment(source, node) for node in guards) or None


def check_notebook_tag(module: str, name: str, numbers: list[str]) -> list[str]:
    known = notebooks()
    problems = [f"(notebook {n}): there is no solutions/{n}_*.ipynb" for n in numbers if n not in known]
    used_in = notebook_uses().get((module, name), frozenset())
    missing = [n for n in numbers if n in known and n not in used_in]
    if missing:
        where = ", ".join(sorted(used_in)) or "no notebook (tag a building block '(used by module.name)')"
        problems.append(f"the code cells of notebook {', '.join(missing)} do not use {name} "
                        f"(as module.{name} or from ... import {name}); used in: {where}")
    return problems


def check_used_by_tag(name: str, users: list[str]) -> list[str]:
    problems = []
    for user in users:
        if any(part.startswith("_") for part in user.split(".")):
            problems.append(f"(used by {user}): name a public object, not a private one")
            continue
        obj = resolve_package_path(user)
        if obj is None:
            problems.append(f"(used by {user}): course_utils.{user} does not exist")
            continue
        try:
            names = names_with_private_helpers(obj)
        except (TypeError, OSError):
            problems.append(f"(used by {user}): course_utils.{user} has no source to check")
            continue
        if name not in names:
            problems.append(f"(used by {user}): the code of course_utils.{user} (private helpers "
                            f"it calls included) does not refer to {name}")
    return problems


def names_with_private_helpers(obj) -> set[str]:
    """:func:`names_in` the code of ``obj`` and of every private module-level function or class
    of its module that it refers to, recursively (``normalize`` -> ``_years`` -> ``year_to_words``)."""
    module = inspect.getmodule(obj)
    names, seen, todo = set(), set(), [obj]
    while todo:
        found = names_in(inspect.getsource(todo.pop()))
        names |= found
        for helper in {n for n in found if n.startswith("_") and not n.startswith("__")} - seen:
            seen.add(helper)
            value = getattr(module, helper, None)
            if (inspect.isfunction(value) or inspect.isclass(value)) and inspect.getmodule(value) is module:
                todo.append(value)
    return names


def check_tests_tag(name: str, files: list[str]) -> list[str]:
    problems = []
    for file in files:
        path = ROOT / file
        if not path.is_file():
            problems.append(f"(tests only: {file}): there is no {file}")
        elif name not in names_in(path.read_text(encoding="utf-8")):
            problems.append(f"(tests only: {file}): the code of {file} does not refer to {name}")
    return problems


def check_command_tag(name: str, module: str) -> list[str]:
    source = main_block_source(module)
    if source is None:
        return [f"(command line: python -m {module}): {module} has no 'if __name__ == \"__main__\":' "
                f"block and no __main__.py"]
    if name not in names_in(source):
        return [f"(command line: python -m {module}): what runs under python -m {module} does not call {name}"]
    return []


def problems_of(path: Path) -> list[str]:
    module = module_name(path)
    found = []
    for node in public_definitions(path):
        doc = ast.get_docstring(node) or ""
        where = f"{path.relative_to(ROOT)}:{node.lineno}: {module.removeprefix('course_utils.')}.{node.name}"
        tags = TAG_LIKE.findall(doc)
        good = [t for t in tags if any(form.fullmatch(t) for form in TAGS)]
        problems = [f"malformed tag {t!r}; write {FORMS}" for t in tags if t not in good]
        if not tags:
            problems.append(f"no tag in the docstring; add one of {FORMS}")
        elif len(good) > 1:
            problems.append(f"{len(good)} tags {good}; keep one")
        elif good:
            tag = good[0]
            if m := NOTEBOOK_TAG.fullmatch(tag):
                problems += check_notebook_tag(module, node.name, m.group(2).split(", "))
            elif m := USED_BY_TAG.fullmatch(tag):
                problems += check_used_by_tag(node.name, m.group(1).split(", "))
            elif m := COMMAND_TAG.fullmatch(tag):
                problems += check_command_tag(node.name, m.group(1))
            elif m := TESTS_TAG.fullmatch(tag):
                problems += check_tests_tag(node.name, m.group(1).split(", "))
        found += [f"{where}: {p}" for p in problems]
    return found


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_public_names_say_who_uses_them(path: Path):
    problems = problems_of(path)
    if problems:
        pytest.fail("\n".join([f"{len(problems)} docstring tag(s) missing or untrue (forms: tests/test_docstrings.py):",
                               *problems]), pytrace=False)


def test_each_check_can_fail():
    """The tag parser, the notebook index and each kind of check see what they should, not more."""
    refs = course_references(["from course_utils import audio, cloning as cl\n"
                              "from course_utils.env import cache_dir\n"
                              "x = cl.VoiceCloner.load('x.pt'); audio.load\n"
                              "# audio.save in a comment\nprint('voices.speaker in a string')"])
    assert refs == {("course_utils.env", "cache_dir"), ("course_utils.cloning", "VoiceCloner"),
                    ("course_utils.cloning.VoiceCloner", "load"), ("course_utils.audio", "load")}
    assert not check_notebook_tag("course_utils.audio", "lufs", ["04"])
    assert "used in: 04" in check_notebook_tag("course_utils.audio", "lufs", ["04", "05"])[0]
    assert not check_used_by_tag("to_mono", ["audio.load"])
    assert "does not refer to to_mono" in check_used_by_tag("to_mono", ["audio.save"])[0]
    assert "does not exist" in check_used_by_tag("to_mono", ["audio.no_such_function"])[0]
    assert not check_command_tag("main", "course_utils.exercises")
    assert "does not call build" in check_command_tag("build", "course_utils.exercises")[0]
    assert "no 'if __name__" in check_command_tag("load", "course_utils.audio")[0]
    assert "does not refer to" in check_tests_tag("no_such_name", ["tests/test_audio.py"])[0]
    assert NOTEBOOK_TAG.fullmatch("(notebooks 07, 08)") and not NOTEBOOK_TAG.fullmatch("(notebooks 07 and 08)")
    assert TAG_LIKE.findall("Text (notebook 09: fine-tuning).") == ["(notebook 09: fine-tuning)"]
    assert notebooks(), "no solutions/NN_*.ipynb found"
    assert definition_key(resolve("course_utils.cloning", "AcousticModel")) == (
        "course_utils.cloning.model", "AcousticModel")
