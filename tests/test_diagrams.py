"""Reference diagrams (course_utils.diagrams): the graph they draw says who shares what."""

import copy

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_utils import diagrams  # noqa: E402


def test_shallow_copy_shares_inner_lists_deep_copy_does_not():
    a = [[1, 2], [3, 4]]
    g = diagrams.reference_graph({"original": a, "shallow": copy.copy(a), "deep": copy.deepcopy(a)})
    shared = g.shared()
    assert {id(n) for n in a} == {n.obj_id for n in shared}
    assert all(n.owners == {"original", "shallow"} for n in shared)
    assert len(g.nodes) == 3 + 2 + 2  # three outer lists, two shared inner lists, two deep ones


def test_atoms_are_folded_unless_asked():
    a = [1, "x", [2]]
    g = diagrams.reference_graph({"a": a})
    assert len(g.nodes) == 2
    g = diagrams.reference_graph({"a": a}, show_atoms=True)
    assert len(g.nodes) == 5


def test_cycles_objects_and_truncation():
    class Node:
        def __init__(self):
            self.children = []
    n = Node()
    n.children.append(n)
    g = diagrams.reference_graph({"n": n})
    assert len(g.nodes) == 2 and (id(n.children), id(n), "[0]") in g.edges
    big = [[i] for i in range(100)]
    assert diagrams.reference_graph({"big": big}, max_nodes=10).truncated


def test_shared_objects():
    inner = [1]
    a, b = [inner, [2]], [inner, 3]
    assert diagrams.shared_objects(a, b) == [inner]
    assert diagrams.shared_objects(a, copy.deepcopy(a)) == []


def test_draw_returns_a_small_figure():
    a = {"k": [1, 2], "t": (1, [2])}
    fig = diagrams.draw_references(original=a, copy=copy.copy(a))
    w, h = fig.get_size_inches()
    assert w <= 9 and h <= 3.5
    plt.close(fig)
    fig = diagrams.draw_references([1, [2]], title="positional")
    assert fig.axes[0].get_title() == "positional"
    plt.close(fig)


def test_no_roots_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one root"):
        diagrams.reference_graph({})
