"""Small, honest timing helpers: tidy tables of repeated ``timeit`` runs, and their plots.

Introduced in ``03_measuring_copies.ipynb``::

    from course_utils import bench
    table = bench.compare({"slice": lambda: xs[:], "list.copy": xs.copy}, repeat=7)
    bench.summarize(table)                      # min / median / spread per case
    sizes = bench.scaling({"copy": copy.copy}, make_input=lambda n: list(range(n)),
                          sizes=[10**3, 10**4, 10**5])
    bench.loglog_slope(sizes)                   # ~1 for an O(n) operation
    bench.plot_scaling(sizes)

Each measurement follows the ``timeit`` recipe: warm up once, pick a loop count so that one
repeat lasts at least ``min_time`` seconds (like ``Timer.autorange``, with a smaller default so
notebooks stay quick), run ``repeat`` repeats and record the time *per call* of each.  Report
the minimum (the least disturbed run) next to the median (what you typically get).
"""

from __future__ import annotations

import gc
import timeit
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

COLUMNS = ["case", "size", "run", "number", "seconds"]


def autorange(func: Callable[[], Any], min_time: float = 0.01) -> int:
    """Loop count (1, 2, 5, 10, 20, 50...) for which ``number`` calls last at least ``min_time`` s.

    Same idea as :meth:`timeit.Timer.autorange` (whose target is 0.2 s) (used by bench.measure, bench.compare).
    """
    if min_time <= 0:
        raise ValueError(f"min_time must be positive, got {min_time!r}")
    timer = timeit.Timer(func)
    i = 1
    while True:
        for multiplier in (1, 2, 5):
            number = i * multiplier
            if timer.timeit(number) >= min_time:
                return number
        i *= 10


def measure(func: Callable[[], Any], repeat: int = 5, number: int | None = None,
            min_time: float = 0.01, warmup: int = 1) -> tuple[np.ndarray, int]:
    """Seconds per call of ``func()`` for each of ``repeat`` repeats, and the loop count used.

    ``timeit`` switches the garbage collector off while timing, as the standard library does
    (used by gpu.throughput, gpu.copy_bandwidth).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat!r}")
    if not callable(func):
        raise TypeError(f"measure() needs a callable taking no arguments, got {type(func).__name__}")
    for _ in range(warmup):
        func()
    if number is None:
        number = autorange(func, min_time)
    times = timeit.Timer(func).repeat(repeat=repeat, number=number)
    return np.asarray(times) / number, number


def compare(cases: dict[str, Callable[[], Any]], repeat: int = 5, number: int | None = None,
            min_time: float = 0.01, size: int | None = None, interleave: bool = True) -> pd.DataFrame:
    """Time several zero-argument callables; one tidy row per (case, repeat) (notebook 03).

    With ``interleave`` the repeats of the cases alternate (a, b, c, a, b, c, ...), so a burst of
    background load hurts every case alike instead of one of them.
    """
    if not cases:
        raise ValueError("compare() needs at least one case, e.g. {'slice': lambda: xs[:]}")
    numbers = {}
    for name, func in cases.items():
        func()  # warm-up
        numbers[name] = number if number is not None else autorange(func, min_time)
    rows = []
    order = [(r, name) for r in range(repeat) for name in cases] if interleave else \
        [(r, name) for name in cases for r in range(repeat)]
    for run, name in order:
        n = numbers[name]
        seconds = timeit.Timer(cases[name]).timeit(n) / n
        rows.append({"case": name, "size": size, "run": run, "number": n, "seconds": seconds})
    gc.collect()
    return pd.DataFrame(rows, columns=COLUMNS)


def scaling(funcs: dict[str, Callable[[Any], Any]], make_input: Callable[[int], Any],
            sizes: Iterable[int], repeat: int = 5, min_time: float = 0.005) -> pd.DataFrame:
    """Time each ``func(input)`` for inputs of each size; tidy rows (case, size, run...) (notebook 03)."""
    frames = []
    for n in sizes:
        data = make_input(int(n))
        cases = {name: (lambda f=f: f(data)) for name, f in funcs.items()}
        frames.append(compare(cases, repeat=repeat, min_time=min_time, size=int(n)))
    return pd.concat(frames, ignore_index=True)


def summarize(table: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Per case (and size): min, median, and spread = (median - min) / min (notebook 03)."""
    _check_table(table)
    by = by or (["case", "size"] if table["size"].notna().any() else ["case"])
    out = table.groupby(by, sort=False)["seconds"].agg(["min", "median", "max", "count"])
    out["spread"] = (out["median"] - out["min"]) / out["min"]
    return out.reset_index()


def ratio(table: pd.DataFrame, numerator: str, denominator: str, stat: str = "min") -> float:
    """``stat`` time of case ``numerator`` divided by that of ``denominator`` (notebook 03)."""
    s = summarize(table, by=["case"]).set_index("case")[stat]
    for name in (numerator, denominator):
        if name not in s.index:
            raise KeyError(f"no case named {name!r}; cases are {list(s.index)}")
    return float(s[numerator] / s[denominator])


def loglog_slope(table: pd.DataFrame, stat: str = "min") -> dict[str, float]:
    """Slope of log(time) against log(size) per case: ~1 means O(n), ~0 means O(1) (notebook 03)."""
    _check_table(table)
    if table["size"].isna().all():
        raise ValueError("this table has no sizes: build it with bench.scaling(...)")
    s = summarize(table, by=["case", "size"])
    slopes = {}
    for name, group in s.groupby("case", sort=False):
        if len(group) < 2:
            raise ValueError(f"case {name!r} has fewer than two sizes; a slope needs at least two")
        slopes[name] = float(np.polyfit(np.log(group["size"]), np.log(group[stat]), 1)[0])
    return slopes


def plot_scaling(table: pd.DataFrame, stat: str = "min", ax=None, title: str | None = None):
    """Log-log plot of time per call against size, one line per case (notebook 03)."""
    import matplotlib.pyplot as plt

    s = summarize(table, by=["case", "size"])
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for name, group in s.groupby("case", sort=False):
        ax.loglog(group["size"], group[stat], "o-", label=name, ms=4)
    ax.set_xlabel("size (items)")
    ax.set_ylabel(f"seconds per call ({stat})")
    ax.set_title(title or "cost against size (log-log)")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_compare(table: pd.DataFrame, ax=None, title: str | None = None, unit: str = "µs"):
    """Every repeat as a dot per case, with the minimum and median marked (notebook 03)."""
    import matplotlib.pyplot as plt

    _check_table(table)
    scale = {"s": 1.0, "ms": 1e3, "µs": 1e6, "us": 1e6, "ns": 1e9}[unit]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 + 0.5 * table["case"].nunique()))
    names = list(dict.fromkeys(table["case"]))
    for i, name in enumerate(names):
        t = table.loc[table["case"] == name, "seconds"].to_numpy() * scale
        ax.plot(t, np.full_like(t, i), "o", alpha=0.5, color="C0", ms=4)
        ax.plot([t.min()], [i], "|", color="C3", ms=14, mew=2)
        ax.plot([np.median(t)], [i], "|", color="C2", ms=14, mew=2)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(f"{unit} per call (red: min, green: median)")
    ax.set_title(title or "repeats of each case")
    ax.figure.tight_layout()
    return ax.figure


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("case", "size", "seconds") if c not in getattr(table, "columns", [])]
    if missing:
        raise ValueError(f"not a bench table (missing columns {missing}); "
                         "make one with bench.compare(...) or bench.scaling(...)")
