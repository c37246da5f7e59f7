"""Quality margins: every asserted quality number of notebooks 07-11, across seeds and CPU variants.

    python -m benchmarks margins                          # the whole matrix (RUNS: hours on 2 cores, one run at a time)
    python -m benchmarks.bench_margins --variant avx2 --seed 1 --out DIR    # one run of it
    python -m benchmarks.bench_margins --summarize DIR [DIR ...] [--record]   # table from saved runs

A run executes the solution notebooks 07-11 in a fresh kernel with ``SEED`` set (the seed of
the speaker encoder's and the cloner's training, and of fine-tuning), from an empty
``COURSE_CACHE`` (so it trains its own models), under a CPU variant: environment variables that
make PyTorch, oneDNN and MKL take other kernels, as on another processor. Afterwards it reads,
in the same kernel, each number that an ``assert`` of the notebooks checks, and the summary
gives, per assert, the worst case over all runs and its margin to the threshold. The notebooks'
quick-profile thresholds are set from this table (``benchmarks/margins.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = ["07_speaker_encoder", "08_multispeaker_synthesis", "09_few_shot_finetuning", "10_evaluation",
             "11_ethics_safety_and_applications"]
VARIANTS = {
    "default": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "compatible-1thread": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1"},
}
RUNS = [("default", 0), ("default", 1), ("default", 2), ("avx2", 0), ("compatible-1thread", 0)]
TABLE_START, TABLE_END = "<!-- margins:start -->", "<!-- margins:end -->"

_FULL5, _ZERO5 = 'results[("full", 5)]["score"]', 'results[("zero-shot", 5)]["score"]'
_CLOSEST = 'verification.set_index("encoder").loc[judges["{}"].name, "clones {}"]'
_ROBUST = 'robust.loc["{}", judges[independent].name]'
#: (notebook, what, expression read in the notebook's kernel, comparison, threshold): the asserts.
ASSERTS = [
    ("07", "course encoder EER", "course_eer", "<=", 0.010),
    ("07", "pretrained EER - course EER", "pretrained_eer - course_eer", ">", 0.0),
    ("08", "zero-shot cloning score (espeak-ng held-out, pretrained judge)", "score.score", ">=", 0.45),
    ("08", "untrained - quick model, word error rate", "untrained_words.wer - words.wer", ">", 0.0),
    ("08", "course checkpoint WER - espeak-ng itself", "course_words.wer - own_words.wer", "<=", 0.10),
    ("08", "quick model - course checkpoint, word error rate", "words.wer - course_words.wer", ">=", 0.10),
    ("08", "course checkpoint cloning score (pretrained judge)", "course_score.score", ">=", 0.45),
    ("09", "DTW boundary error below two frames (ms)", '2 * errors["frame_ms"] - errors["dtw_ms"]', ">", 0.0),
    ("09", "DTW beats the uniform stretch (ms)", 'errors["stretch_ms"] - errors["dtw_ms"]', ">", 0.0),
    ("09", "full fine-tuning, 5 utterances", _FULL5, ">=", 0.65),
    ("09", "full - zero-shot, 5 utterances", f"{_FULL5} - {_ZERO5}", ">", 0.05),
    ("09", "adapter - zero-shot, 5 utterances", f'results[("adapter", 5)]["score"] - {_ZERO5}', ">", -0.03),
    ("09", "full - adapter, 5 utterances", f'{_FULL5} - results[("adapter", 5)]["score"]', ">", 0.0),
    ("09", "full - embedding-only, 5 utterances", f'{_FULL5} - results[("embedding", 5)]["score"]', ">", 0.05),
    ("09", "full: 5 utterances - 1 utterance", f'{_FULL5} - results[("full", 1)]["score"]', ">", 0.0),
    ("09", "post-filter lift, full fine-tuning", f'{_FULL5} - without["full"]["score"]', ">", 0.0),
    ("09", "post-filter lift, zero-shot", f'{_ZERO5} - without["zero-shot"]["score"]', ">", 0.0),
    ("10", "clones closest to their target, course judge", _CLOSEST.format("course", "closest to their target"),
     ">=", 0.7),
    ("10", "clones closest to their target, pretrained judge",
     _CLOSEST.format("pretrained", "closest to their target"), ">=", 0.7),
    ("10", "clones accepted as another speaker, course judge",
     _CLOSEST.format("course", "accepted as another speaker"), "<=", 0.1),
    ("10", "clones accepted as another speaker, pretrained judge",
     _CLOSEST.format("pretrained", "accepted as another speaker"), "<=", 0.1),
    ("10", "word error rate of LJ Speech recordings", 'w["real people (LJ Speech)"]', "<", 0.15),
    ("10", "HiFi-GAN copy-synthesis - LJ Speech recordings, WER",
     'w["  their copy-synthesis, HiFi-GAN"] - w["real people (LJ Speech)"]', "<=", 0.1),
    ("10", "quick model - course checkpoint, WER",
     'w[f"zero-shot clones, {PROFILE} model"] - w["zero-shot clones, course checkpoint"]', ">", 0.0),
    ("10", "robustness: clean - 0 dB references (independent judge)",
     f'{_ROBUST.format("clean")} - {_ROBUST.format("0 dB")}', ">", 0.0),
    ("11", "watermark-to-signal ratio, lowest (dB)", "min(wsr)", ">=", 30.0),
    ("11", "watermark detection, worst required attack", "worst", ">=", 0.95),
    ("11", "watermark false alarms, highest", "false_alarms", "<=", 0.02),
    ("11", "cloned-speech detector EER", "clean.eer", "<", 0.35),
    ("11", "vocoder-codec false alarms - clean false alarms",
     "codec.false_alarm_rate - clean.false_alarm_rate", ">=", 0.1),
    ("11", "vocoder-codec EER - clean EER", "codec.eer - clean.eer", ">=", 0.05),
    ("11", "Griffin-Lim detector: HiFi-GAN clones missed", 'cross[("Griffin-Lim", "HiFi-GAN")].miss_rate', ">=", 0.4),
    ("11", "Griffin-Lim detector: HiFi-GAN - Griffin-Lim clones missed",
     'cross[("Griffin-Lim", "HiFi-GAN")].miss_rate - cross[("Griffin-Lim", "Griffin-Lim")].miss_rate', ">=", 0.2),
]

PROBE = '''
import json as _json
_values = {}
for _name, _expr in %r.items():
    try:
        _values[_name] = float(eval(_expr))
    except Exception:  # the cell that defines it failed: reported as missing
        _values[_name] = None
print("MARGINS " + _json.dumps(_values))
'''


def margin(value: float, op: str, threshold: float) -> float:
    """How far ``value`` is on the passing side of ``threshold`` (negative: the assert fails)."""
    return threshold - value if op in ("<", "<=") else value - threshold


def run_one(variant: str, seed: int, out: Path, only: list[str] | None = None) -> dict:
    """Execute notebooks 07-11 (or those ``only`` names by number) with ``SEED = seed`` in this
    process's environment; save them to ``out``."""
    import nbformat

    from course_utils import exercises

    out.mkdir(parents=True, exist_ok=True)
    record = {"variant": variant, "seed": seed, "env": VARIANTS[variant], "values": {}, "seconds": {},
              "errors": {}}
    for name in NOTEBOOKS:
        if only and name[:2] not in only:
            continue
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        params = nb.cells[next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))]
        params.source = params.source.replace("SEED = 0", f"SEED = {seed}")
        exprs = {what: expr for number, what, expr, _, _ in ASSERTS if name.startswith(number)}
        start = time.perf_counter()
        printed = exercises.execute(nb, ROOT / "solutions", timeout=3600, allow_errors=True,
                                    probe=PROBE % exprs)
        record["seconds"][name] = round(time.perf_counter() - start, 1)
        line = next((x for x in printed.splitlines() if x.startswith("MARGINS ")), "MARGINS {}")
        record["values"].update(json.loads(line.removeprefix("MARGINS ")))
        record["errors"][name] = [f"cell {i}: {o.ename}: {o.evalue}"[:400] for i, c in enumerate(nb.cells)
                                  if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
        exercises.save(nb, out / f"{name}.ipynb")
        print(f"[{variant} seed {seed}] {name}: {record['seconds'][name]:.0f} s, "
              f"{len(record['errors'][name])} failed cell(s)", flush=True)
    (out / "margins.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def summarize(records: list[dict]) -> list[dict]:
    """One row per assert: worst margin over ``records``, and the range of the measured values."""
    rows = []
    for number, what, _, op, threshold in ASSERTS:
        values = [r["values"].get(what) for r in records]
        seen = [v for v in values if v is not None]
        worst = min((margin(v, op, threshold) for v in seen), default=None)
        note = (f"nb {number}: {op} {threshold:g}; measured {min(seen):.3f} to {max(seen):.3f} over {len(seen)} "
                f"of {len(records)} runs" if seen else f"nb {number}: not measured")
        rows.append({"name": f"margin: {what}", "value": None if worst is None else round(worst, 4),
                     "unit": "", "note": note})
    return rows


def markdown(records: list[dict]) -> str:
    """The table of benchmarks/margins.md: every run's value of every assert, and the worst margin."""
    runs = [f"{r['variant']} s{r['seed']}" for r in records]
    lines = ["| notebook | asserted quantity | target | " + " | ".join(runs) + " | worst margin |",
             "|---|---|---|" + "---|" * len(runs) + "---|"]
    for (number, what, _, op, threshold), row in zip(ASSERTS, summarize(records)):
        cells = ["-" if r["values"].get(what) is None else f"{r['values'][what]:.3f}" for r in records]
        worst = "-" if row["value"] is None else f"{row['value']:+.3f}"
        lines.append(f"| {number} | {what} | {op} {threshold:g} | " + " | ".join(cells) + f" | {worst} |")
    return "\n".join(lines)


def _spawn(variant: str, seed: int, out: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, **VARIANTS[variant], "COURSE_CACHE": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "benchmarks.bench_margins", "--variant", variant,
                             "--seed", str(seed), "--out", str(out)], cwd=ROOT, env=env)


def write(records: list[dict]) -> None:
    """Keep every run's numbers (``margins.json``) and their table (``margins.md``) in benchmarks/."""
    (HERE / "margins.json").write_text(json.dumps(records, indent=1) + "\n")
    text = (HERE / "margins.md").read_text() if (HERE / "margins.md").exists() else "# Quality margins\n\n"
    head = text.split(TABLE_START)[0] if TABLE_START in text else text
    tail = text.split(TABLE_END, 1)[1] if TABLE_END in text else "\n"
    (HERE / "margins.md").write_text(head + TABLE_START + "\n" + markdown(records) + "\n" + TABLE_END + tail)


def run() -> list[dict]:
    """The harness entry (``python -m benchmarks margins``): every run of ``RUNS``, one after another."""
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, seed in RUNS:
            out = Path(tmp) / f"{variant}-s{seed}"
            if _spawn(variant, seed, out, Path(tmp) / f"cache-{variant}-s{seed}").wait() != 0:
                raise RuntimeError(f"the {variant} run with seed {seed} failed")
            records.append(json.loads((out / "margins.json").read_text()))
    write(records)
    return summarize(records)


def record(records: list[dict]) -> None:
    """Record runs made one by one (in parallel, say) as ``python -m benchmarks margins`` would."""
    from benchmarks.__main__ import RESULTS, machine, markdown_table, update_readme

    write(records)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["margins"] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"),
                          "seconds": round(sum(sum(r["seconds"].values()) for r in records), 1),
                          "results": summarize(records)}
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    update_readme(markdown_table(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_margins", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="folder for the executed notebooks and margins.json")
    parser.add_argument("--notebooks", nargs="+", metavar="NN", help="only these notebooks (e.g. 08 09 10 11, in a "
                        "cache where notebook 07 already trained this seed's encoder)")
    parser.add_argument("--summarize", nargs="+", type=Path, metavar="DIR", help="print the table of saved runs")
    parser.add_argument("--record", action="store_true", help="with --summarize: write them into benchmarks/")
    args = parser.parse_args(argv)
    if args.summarize:
        records = [json.loads((d / "margins.json").read_text()) for d in args.summarize]
        print(markdown(records))
        if args.record:
            record(records)
        return 0
    if args.out is None:
        parser.error("--out is needed for a run")
    missing = {k: v for k, v in VARIANTS[args.variant].items() if os.environ.get(k) != v}
    if missing:
        parser.error(f"set {missing} in the environment before Python starts (they choose CPU kernels at import)")
    run_one(args.variant, args.seed, args.out, args.notebooks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
