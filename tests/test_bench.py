"""Timing helpers (course_utils.bench): tidy tables, ratios, slopes and plots."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from course_utils import bench  # noqa: E402


def test_autorange_reaches_min_time():
    n = bench.autorange(lambda: sum(range(100)), min_time=0.002)
    assert n in {k * m for k in (1, 10, 100, 1000, 10_000, 100_000) for m in (1, 2, 5)}
    with pytest.raises(ValueError):
        bench.autorange(lambda: None, min_time=0)


def test_measure_and_compare_shapes():
    times, number = bench.measure(lambda: None, repeat=3, min_time=0.001)
    assert len(times) == 3 and number >= 1 and (times >= 0).all()
    xs = list(range(1000))
    table = bench.compare({"slice": lambda: xs[:], "copy": xs.copy}, repeat=4, min_time=0.001)
    assert list(table.columns) == bench.COLUMNS and len(table) == 8
    assert list(table["case"][:2]) == ["slice", "copy"]  # interleaved
    s = bench.summarize(table)
    assert set(s["case"]) == {"slice", "copy"} and (s["min"] <= s["median"]).all()


def table_of(times: dict[tuple[str, int | None], list[float]]):
    """A tidy table as bench.compare/scaling return it, with chosen (not live) timings."""
    rows = [{"case": case, "size": size, "run": run, "number": 1, "seconds": t}
            for (case, size), ts in times.items() for run, t in enumerate(ts)]
    return pd.DataFrame(rows, columns=bench.COLUMNS)


def test_ratio_finds_the_slower_case():
    table = table_of({("fast", None): [1e-6, 2e-6, 1.5e-6], ("slow", None): [2e-3, 2.1e-3, 2.5e-3]})
    assert bench.ratio(table, "slow", "fast") == pytest.approx(2e-3 / 1e-6)
    assert bench.ratio(table, "slow", "fast", stat="median") == pytest.approx(2.1e-3 / 1.5e-6)
    with pytest.raises(KeyError, match="no case named"):
        bench.ratio(table, "missing", "fast")


def test_loglog_slope_of_linear_and_constant_work():
    sizes = [20_000, 80_000, 320_000]
    table = table_of({**{("copy", n): [n * 1e-9, n * 1.2e-9] for n in sizes},
                      **{("len", n): [5e-8, 6e-8] for n in sizes}})
    slopes = bench.loglog_slope(table)
    assert slopes["copy"] == pytest.approx(1.0)
    assert slopes["len"] == pytest.approx(0.0, abs=1e-9)


def test_scaling_times_every_case_at_every_size():
    table = bench.scaling({"copy": list.copy, "len": len}, make_input=lambda n: list(range(n)),
                          sizes=[100, 1000], repeat=2, min_time=0.0005)
    assert sorted(set(zip(table["case"], table["size"]))) == [("copy", 100), ("copy", 1000), ("len", 100), ("len", 1000)]
    assert (table["seconds"] > 0).all() and set(bench.loglog_slope(table)) == {"copy", "len"}
    fig = bench.plot_scaling(table)
    plt.close(fig)
    fig = bench.plot_compare(table[table["size"] == 1000])
    plt.close(fig)


def test_bad_tables_and_arguments():
    import pandas as pd
    with pytest.raises(ValueError, match="not a bench table"):
        bench.summarize(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError):
        bench.compare({})
    with pytest.raises(TypeError):
        bench.measure(42)
    table = bench.compare({"a": lambda: None}, repeat=2, number=10)
    with pytest.raises(ValueError, match="no sizes"):
        bench.loglog_slope(table)
