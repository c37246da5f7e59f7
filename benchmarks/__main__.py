"""Run the benchmarks, record them with the machine they ran on, refresh the README table.

    python -m benchmarks                 # every benchmarks/bench_*.py
    python -m benchmarks copying audio   # only bench_copying.py and bench_audio.py

``margins`` (notebooks 07-11 under several seeds and CPU variants, hours on 2 cores) runs only
when named: ``python -m benchmarks margins``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
README = HERE.parent / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
#: Topics too long for a plain ``python -m benchmarks``: run them by name.
ON_REQUEST = {"margins"}


def machine() -> dict:
    """Where the numbers were measured."""
    import torch

    info = {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    return info


def markdown_table(results: dict) -> str:
    """The README table: one row per measurement, grouped by topic."""
    def cell(text) -> str:
        return str(text).replace("|", "\\|")

    def number(value) -> str:
        if not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"

    rows = ["| topic | measurement | value | note |", "|---|---|---|---|"]
    for topic, entry in sorted(results.items()):
        for r in entry["results"]:
            value = f"{number(r['value'])} {r['unit']}".strip()
            rows.append(f"| {topic} | {cell(r['name'])} | {cell(value)} | {cell(r.get('note', ''))} |")
    machines = sorted({json.dumps(e["machine"], sort_keys=True) for e in results.values()})
    where = "; ".join(f"{m['cpu_count']} CPUs, {m['platform']}, torch {m['torch']}, GPU: {m['gpu'] or 'none'}"
                      for m in map(json.loads, machines))
    return "\n".join(rows) + f"\n\nMeasured on: {where}."


def update_readme(table: str) -> None:
    text = README.read_text(encoding="utf-8")
    if START in text and END in text:
        head, rest = text.split(START, 1)
        README.write_text(head + START + "\n" + table + "\n" + END + rest.split(END, 1)[1], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topics", nargs="*", help="topics to run (default: all)")
    args = parser.parse_args(argv)
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    unknown = set(args.topics) - set(available)
    if unknown:
        parser.error(f"unknown topics {sorted(unknown)}; available: {available}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for topic in args.topics or [t for t in available if t not in ON_REQUEST]:
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{topic}")
        rows = module.run()
        results[topic] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"),
                          "seconds": round(time.perf_counter() - start, 1), "results": rows}
        for r in rows:
            print(f"{topic:10s} {r['name']}: {r['value']} {r['unit']}", flush=True)
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    update_readme(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
