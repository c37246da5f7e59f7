"""Reference diagrams: which objects an original and its copies share.

Introduced in ``01_names_references_and_copies.ipynb`` and used again in ``02_copy_protocols``::

    from course_utils import diagrams
    a = [[1, 2], [3, 4]]
    diagrams.draw_references(original=a, shallow=copy.copy(a), deep=copy.deepcopy(a))

Each box is one object (one ``id``); an arrow is a reference (labelled ``[0]``, ``['key']`` or
``.attr``).  A box reachable from only one of the named roots takes that root's colour; a box
reachable from two or more is drawn in the "shared" colour.  Atoms (numbers, strings, None) are
folded into their container's label unless ``show_atoms=True``: they are immutable, so sharing
them is harmless (and ``deepcopy`` shares them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt

ATOMIC = (type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis))
ROOT_COLOURS = ["#4C72B0", "#55A868", "#8172B2", "#64B5CD", "#937860"]
SHARED_COLOUR = "#DD8452"


@dataclass
class Node:
    """One object of a reference graph: its label, depth and the roots that reach it.

    (used by diagrams.reference_graph)
    """

    obj_id: int
    label: str
    depth: int
    owners: set[str] = field(default_factory=set)
    atomic: bool = False


@dataclass
class Graph:
    """Objects (``nodes`` by id, in discovery order) and references ``(src, dst, label)``.

    (used by diagrams.reference_graph)
    """

    nodes: dict[int, Node]
    edges: list[tuple[int, int, str]]
    roots: dict[str, int]
    truncated: bool = False

    def shared(self) -> list[Node]:
        """Nodes reachable from two or more roots (atoms only if the graph kept them)."""
        return [n for n in self.nodes.values() if len(n.owners) > 1]


def _is_atom(obj) -> bool:
    return isinstance(obj, ATOMIC)


def _short(obj, limit: int = 14) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 2] + ".."


def _children(obj) -> list[tuple[str, object]]:
    if isinstance(obj, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        return [(f"[{_short(k, 8)}]", v) for k, v in obj.items()]
    if isinstance(obj, (set, frozenset)):
        return [("", v) for v in sorted(obj, key=repr)]
    attrs = getattr(obj, "__dict__", None)
    kids = [(f".{k}", v) for k, v in attrs.items()] if isinstance(attrs, dict) else []
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            kids.append((f".{slot}", getattr(obj, slot)))
    return kids


def _label(obj, show_atoms: bool) -> str:
    if _is_atom(obj):
        return _short(obj)
    name = type(obj).__name__
    kids = _children(obj)
    if not show_atoms and kids and all(_is_atom(v) for _, v in kids):
        inner = _short(obj, 18) if isinstance(obj, (list, tuple, dict, set, frozenset)) else \
            ", ".join(f"{k}={_short(v, 6)}" for k, v in kids[:3])
        return f"{name}\n{inner}"
    return f"{name}({len(kids)})" if isinstance(obj, (list, tuple, dict, set, frozenset)) else name


def reference_graph(roots: dict[str, object], show_atoms: bool = False, max_nodes: int = 40) -> Graph:
    """Walk the objects reachable from each named root (breadth first) into a :class:`Graph`.

    ``max_nodes`` bounds the walk (``truncated`` says so) (used by diagrams.draw_references).
    """
    if not roots:
        raise ValueError("give at least one root, e.g. reference_graph({'original': a, 'copy': b})")
    nodes: dict[int, Node] = {}
    edges: list[tuple[int, int, str]] = []
    keep: dict[int, object] = {}  # keeps walked objects alive so their ids stay unique
    truncated = False
    for name, root in roots.items():
        frontier, depth = [root], 0
        seen_here: set[int] = set()
        while frontier:
            nxt = []
            for obj in frontier:
                if id(obj) in seen_here:
                    continue
                seen_here.add(id(obj))
                node = nodes.get(id(obj))
                if node is None:
                    if len(nodes) >= max_nodes:
                        truncated = True
                        continue
                    node = nodes[id(obj)] = Node(id(obj), _label(obj, show_atoms), depth,
                                                 atomic=_is_atom(obj))
                    keep[id(obj)] = obj
                    first_visit = True
                else:
                    first_visit = False
                node.owners.add(name)
                if node.atomic:
                    continue
                kids = _children(obj)
                if not show_atoms and kids and all(_is_atom(v) for _, v in kids):
                    continue  # atoms are folded into the label
                for key, child in kids:
                    if _is_atom(child) and not show_atoms:
                        continue
                    if first_visit:
                        edges.append((id(obj), id(child), key))
                    nxt.append(child)
            frontier, depth = nxt, depth + 1
    edges = [e for e in edges if e[1] in nodes]
    return Graph(nodes, edges, {n: id(r) for n, r in roots.items()}, truncated)


def draw_references(*args, show_atoms: bool = False, title: str | None = None, ax=None,
                    max_nodes: int = 40, **roots):
    """Draw the objects reachable from the named roots; shared objects stand out (notebook 01).

    ``draw_references(original=a, copy=b)``; positional roots are named ``x0``, ``x1``...
    Returns the matplotlib Figure (end the cell with ``plt.show()``).
    """
    for i, obj in enumerate(args):
        roots.setdefault(f"x{i}", obj)
    graph = reference_graph(roots, show_atoms=show_atoms, max_nodes=max_nodes)
    columns: dict[int, list[Node]] = {}
    for node in graph.nodes.values():
        columns.setdefault(node.depth, []).append(node)
    tallest = max(len(c) for c in columns.values())
    if ax is None:
        width = min(9.0, 1.8 + 1.9 * len(columns))
        height = min(3.5, 0.9 + 0.55 * tallest)
        fig, ax = plt.subplots(figsize=(width, height))
    else:
        fig = ax.figure
    colour_of = {name: ROOT_COLOURS[i % len(ROOT_COLOURS)] for i, name in enumerate(roots)}
    pos = {}
    for depth, col in columns.items():
        for row, node in enumerate(col):
            pos[node.obj_id] = (depth * 2.0, -(row - (len(col) - 1) / 2))
    merged: dict[tuple[int, int], list[str]] = {}
    for src, dst, key in graph.edges:  # several references from one object to another: one arrow
        merged.setdefault((src, dst), []).append(key)
    for (src, dst), keys in merged.items():
        key = ",".join(k for k in keys if k)
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        if src == dst:
            ax.annotate("", xy=(x0 + 0.25, y0 + 0.2), xytext=(x0 + 0.5, y0 + 0.05),
                        arrowprops=dict(arrowstyle="->", connectionstyle="arc3,rad=1.4", color="0.4"))
            continue
        ax.annotate("", xy=(x1 - 0.45, y1), xytext=(x0 + 0.45, y0),
                    arrowprops=dict(arrowstyle="->", color="0.45", lw=1,
                                    connectionstyle="arc3,rad=0.15" if x1 <= x0 else "arc3,rad=0"))
        if key and len(merged) <= 30:
            if x1 <= x0:  # a reference back to an earlier column: label above the arc
                ax.text((x0 + x1) / 2, max(y0, y1) + 0.32, key, fontsize=7, ha="center", color="0.3")
            else:
                ax.text(x0 + 0.35 * (x1 - x0), y0 + 0.35 * (y1 - y0) + 0.08, key, fontsize=7,
                        ha="center", color="0.3")
    for node in graph.nodes.values():
        x, y = pos[node.obj_id]
        colour = SHARED_COLOUR if len(node.owners) > 1 else colour_of[next(iter(node.owners))]
        roots_here = [n for n, i in graph.roots.items() if i == node.obj_id]
        text = ("/".join(roots_here) + ": " if roots_here else "") + node.label
        ax.text(x, y, text, ha="center", va="center", fontsize=8, color="white",
                bbox=dict(boxstyle="round,pad=0.3", fc=colour, ec="none"))
    handles = [plt.Line2D([], [], marker="s", ls="", color=c, label=f"only {n}")
               for n, c in colour_of.items()]
    handles.append(plt.Line2D([], [], marker="s", ls="", color=SHARED_COLOUR, label="shared"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_xlim(-1.0, 2.0 * max(columns) + 1.0)
    ax.set_ylim(-tallest / 2 - 0.3, tallest / 2 + 0.3)
    ax.axis("off")
    ax.set_title(title or ("reference diagram" + (" (truncated)" if graph.truncated else "")),
                 fontsize=10)
    fig.tight_layout()
    return fig


def shared_objects(a, b, show_atoms: bool = False) -> list:
    """The objects reachable from both ``a`` and ``b``, atoms left out unless asked.

    (tests only: tests/test_diagrams.py)
    """
    found, todo, seen = {}, [a], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        found[id(obj)] = obj
        todo.extend(v for _, v in _children(obj))
    shared, todo, seen = [], [b], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if id(obj) in found and (show_atoms or not _is_atom(obj)):
            shared.append(obj)
        todo.extend(v for _, v in _children(obj))
    return shared
