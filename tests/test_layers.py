"""course_utils is layered like the story: a module imports only modules of its own layer or below.

Every import counts, the lazy ones inside functions included (only ``if TYPE_CHECKING:`` blocks,
which never run, are skipped), so an import circle cannot hide in a function body. A new
module must be given its layer here, in CONTRIBUTING.md's map.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"

#: The floor of every module, lowest first. Same layer: allowed as long as there is no cycle.
LAYERS = [
    ("foundation", ["env", "check", "plots", "bench", "exercises", "copying", "diagrams"]),
    ("signal", ["audio", "evaluation", "gpu", "safety.consent", "safety.watermark", "safety", "vocoder"]),
    ("speech: espeak-ng", ["voices.engine"]),
    ("speech: speakers and prompts", ["voices.roster"]),
    ("speech: corpora", ["voices.corpus"]),
    ("text: numbers", ["text.numbers"]),
    ("text: rules", ["text.rules"]),
    ("text: phonemes", ["text.phonemes"]),
    ("speech and text", ["voices.real", "voices", "text.vocabulary", "text", "text_encoder", "listening", "transcribe"]),
    ("speaker encoders: input", ["verification", "speaker.features"]),
    ("speaker encoders: networks", ["speaker.model"]),
    ("speaker encoders: training", ["speaker.training", "speaker"]),
    ("metrics: similarity", ["metrics.similarity"]),
    ("metrics: spectral", ["metrics.spectral"]),
    ("metrics", ["metrics.mos", "metrics.speed", "metrics.intelligibility", "metrics"]),
    ("synthesis: configuration", ["cloning.config"]),
    ("synthesis: model", ["cloning.model"]),
    ("synthesis: data", ["cloning.data"]),
    ("synthesis: training", ["cloning.train"]),
    ("synthesis: evaluation", ["cloning.evaluate"]),
    ("synthesis: alignment", ["cloning.alignment"]),
    ("the real-speech stage", ["cloning.real"]),
    ("fine-tuning: adapters", ["finetune.adapters"]),
    ("fine-tuning: the loop", ["finetune.tune"]),
    ("fine-tuning: comparisons", ["finetune.sweep", "finetune"]),
    ("the cloner", ["cloning.cloner", "cloning.checkpoint", "cloning"]),
    ("applications", ["detect", "ddp_train", "__main__", "__init__"]),
]
RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _skip_type_checking(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                setattr(node, field, [n for n in body if not (
                    isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))])


def imported_names(source: str, is_module=lambda name: False) -> set[str]:
    """Every dotted name imported anywhere in ``source``, lazy imports included, ``TYPE_CHECKING`` not.

    ``from a.b import c`` gives ``a.b.c`` when ``is_module("a.b.c")`` (a submodule), else ``a.b``.
    """
    tree = ast.parse(source)
    _skip_type_checking(tree)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if is_module(full) else node.module)
    return names


def course_imports(path: Path) -> set[str]:
    """The course_utils modules that ``path`` imports anywhere."""
    def is_module(name):
        return name.removeprefix("course_utils.") in MODULES

    found = {name.removeprefix("course_utils.") for name in imported_names(path.read_text(encoding="utf-8"), is_module)}
    return {m for m in found if m in MODULES and m != module_name(path)}


GRAPH = {name: course_imports(path) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    missing = sorted(set(MODULES) - set(RANK))
    assert not missing, f"give these modules a layer in tests/test_layers.py (and CONTRIBUTING.md): {missing}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_import(name):
    upward = sorted(t for t in GRAPH[name] if RANK.get(t, -1) > RANK.get(name, -1))
    assert not upward, (f"course_utils.{name} ({LAYERS[RANK[name]][0]}) imports a higher layer: "
                        + ", ".join(f"{t} ({LAYERS[RANK[t]][0]})" for t in upward))


def test_no_import_cycle():
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target, stack + [target])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def test_the_checker_sees_lazy_imports():
    names = imported_names("from typing import TYPE_CHECKING\n"
                           "if TYPE_CHECKING:\n    from course_utils import cloning\n"
                           "def f():\n    from course_utils import finetune\n    import course_utils.metrics\n")
    assert {"course_utils", "course_utils.metrics"} <= names and "course_utils.cloning" not in names
    assert "course_utils.finetune" in imported_names("from course_utils import finetune", lambda n: True)
