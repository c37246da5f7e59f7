"""Timing helpers (course_utils.bench): tidy tables, ratios, slopes and plots."""

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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


def test_ratio_finds_the_slower_case():
    table = bench.compare({"fast": lambda: None, "slow": lambda: time.sleep(0.002)},
                          repeat=3, number=3)
    assert bench.ratio(table, "slow", "fast") > 10
    with pytest.raises(KeyError, match="no case named"):
        bench.ratio(table, "missing", "fast")


def test_loglog_slope_of_linear_and_constant_work():
    table = bench.scaling({"copy": list.copy, "len": len}, make_input=lambda n: list(range(n)),
                          sizes=[20_000, 80_000, 320_000], repeat=3, min_time=0.002)
    slopes = bench.loglog_slope(table)
    assert 0.6 < slopes["copy"] < 1.5
    assert abs(slopes["len"]) < 0.4
    fig = bench.plot_scaling(table)
    plt.close(fig)
    fig = bench.plot_compare(table[table["size"] == 20_000])
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
