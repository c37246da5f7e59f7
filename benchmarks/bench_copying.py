"""Benchmarks of course_utils.copying against the standard library's copy module (notebooks 02-03).

``run()`` returns the ratios course/stdlib of ``deepcopy`` on ordinary nested data (minimum of
interleaved repeats, so background load hurts both sides alike), the deepest list each one copies,
and the log-log slope of shallow-copy cost against size.
"""

from __future__ import annotations

import copy as std
import random
import sys
import time

from course_utils import bench, copying


def _nested(depth: int, width: int, rng: random.Random):
    if depth == 0:
        return rng.choice([1, 2.5, "text", None, True, (1, 2)])
    if depth % 2:
        return [_nested(depth - 1, width, rng) for _ in range(width)]
    return {f"k{i}": _nested(depth - 1, width, rng) for i in range(width)}


def datasets() -> dict[str, object]:
    """Ordinary nested data: a JSON-like tree, a list of records, a matrix of floats."""
    rng = random.Random(0)
    records = [{"id": i, "name": f"user{i}", "tags": ["a", "b"], "scores": [1.0, 2.0, 3.0],
                "address": {"city": "x", "zip": [i, i + 1]}} for i in range(1000)]
    return {"nested dicts/lists": _nested(5, 6, rng), "list of records": records,
            "matrix 200x50 floats": [[float(i * j) for j in range(50)] for i in range(200)]}


def deepcopy_ratios(repeat: int = 9) -> dict[str, float]:
    """min(course) / min(stdlib) deepcopy time for each dataset."""
    out = {}
    for name, data in datasets().items():
        table = bench.compare({"stdlib": lambda d=data: std.deepcopy(d),
                               "course": lambda d=data: copying.deepcopy(d)},
                              repeat=repeat, min_time=0.02)
        out[name] = bench.ratio(table, "course", "stdlib")
    return out


def deepest(depth: int = 100_000) -> tuple[bool, bool, float]:
    """(stdlib copes, course copes, course seconds) on a list nested ``depth`` deep."""
    x = []
    for _ in range(depth):
        x = [x]
    try:
        std.deepcopy(x)
        stdlib_ok = True
    except RecursionError:
        stdlib_ok = False
    start = time.perf_counter()
    copying.deepcopy(x)
    return stdlib_ok, True, time.perf_counter() - start


def run() -> list[dict]:
    """The measurements, as rows of name/value/unit/note."""
    rows = []
    for name, r in deepcopy_ratios().items():
        rows.append({"name": f"deepcopy ratio course/stdlib ({name})", "value": round(r, 3),
                     "unit": "x", "note": "min of 9 interleaved repeats; must stay below 1.5"})
    stdlib_ok, _, seconds = deepest()
    rows.append({"name": "deepcopy of a list nested 100,000 deep (course)", "value": round(seconds, 3),
                 "unit": "s", "note": "stdlib: " + ("ok" if stdlib_ok else
                                                    f"RecursionError (limit {sys.getrecursionlimit()})")})
    table = bench.scaling({"copy.copy": std.copy}, make_input=lambda n: list(range(n)),
                          sizes=[10_000, 30_000, 100_000, 300_000], repeat=5)
    rows.append({"name": "shallow copy cost vs size, log-log slope", "value":
                 round(bench.loglog_slope(table)["copy.copy"], 2), "unit": "",
                 "note": "1 means O(n): a shallow copy is not O(1)"})
    return rows
