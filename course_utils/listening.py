"""A small listening-test kit: blind, randomised A/B, MOS and similarity-MOS pages, and their scores.

Introduced in ``10_evaluation.ipynb``, where it complements the automatic proxies (SECS, MCD,
DNSMOS) with what they stand in for: people listening. ::

    from course_utils import listening
    items = (listening.ab_items(zero_shot_wavs, few_shot_wavs, names=("zero-shot", "few-shot"))
             + listening.mos_items({"zero-shot": zero_shot_wavs, "few-shot": few_shot_wavs})
             + listening.smos_items({"few-shot": few_shot_wavs}, references=target_wavs))
    test = listening.build_test(items, listeners=["ana", "ben"], out_dir="listening", seed=0)
    # send each listener their own page (test["pages"]); keep key.json to yourself
    answers = listening.read_answers(["answers_ana.csv", "answers_ben.csv"])
    listening.score_ab(answers, test["key"])      # preference rates, exact binomial CIs
    listening.score_mos(answers, test["key"])     # MOS / SMOS means with 95 % t intervals

Each listener gets a self-contained HTML page (audio embedded as base64 WAV, or copied next to
the page under neutral names with ``embed=False``): neither file names nor system names appear
in it, the trial order is shuffled per listener, and in A/B trials each system is played first
in half of the trials (counterbalanced). The page's buttons download the answers as CSV or JSON;
the key (``key.json``) maps them back to systems.

Over 400 lines on purpose: one idea, a blind listening test from items to pages to scores; the
sections (items, randomisation, pages, answers, statistics) share the item and key formats, and
notebook 10 reads them in this order.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: A stimulus: an audio file path, or a ``(wav, sr)`` pair.
Stimulus = Union[str, os.PathLike, tuple]

KINDS = ("ab", "mos", "smos")
AB_ANSWERS = ("first", "second", "tie")
MOS_LABELS = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}
SMOS_LABELS = {1: "Not at all similar", 2: "Slightly similar", 3: "Moderately similar",
               4: "Very similar", 5: "Extremely similar"}
QUESTIONS = {
    "ab": "Which sample sounds more natural?",
    "ab_ref": "Which sample sounds more like the speaker of the reference?",
    "mos": "How natural does this sample sound?",
    "smos": "How similar is the voice of the sample to the voice of the reference? "
            "Ignore the words and the recording quality.",
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass
class Item:
    """One thing to judge: an A/B pair, or one sample to rate (MOS / similarity MOS).

    ``stimuli`` maps system name -> stimulus (two systems for ``"ab"``, one otherwise);
    ``reference`` is the target speaker's recording (similarity trials), or ``None``
    (used by listening.ab_items, listening.mos_items, listening.smos_items).
    """

    item_id: str
    kind: str
    stimuli: dict
    question: str
    reference: Stimulus | None = None
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- building items


def _check_stimulus(x, what: str):
    if isinstance(x, (str, os.PathLike)):
        if not Path(x).is_file():
            raise ValueError(f"{what}: no such audio file: {x}")
        return x
    if isinstance(x, tuple) and len(x) == 2 and np.ndim(x[0]) == 1:
        from course_utils import audio

        wav = audio.check_wav(x[0], x[1], name=what)
        return (wav, int(x[1]))
    raise ValueError(f"{what}: a stimulus is an audio file path or a (wav, sr) pair, got {type(x).__name__}")


def _label(x) -> str:
    """How the key names a stimulus: its path, or a hash of an in-memory waveform."""
    if isinstance(x, tuple):
        digest = hashlib.sha1(np.ascontiguousarray(x[0], dtype=np.float32).tobytes()).hexdigest()[:12]
        return f"array:{digest}@{x[1]}Hz"
    return str(x)


def _as_list(wavs, what: str) -> list:
    if isinstance(wavs, (str, os.PathLike)) or (isinstance(wavs, tuple) and len(wavs) == 2
                                                and np.ndim(wavs[0]) == 1):
        raise ValueError(f"{what}: expected a list of stimuli, got a single one; wrap it in a list")
    wavs = list(wavs)
    if not wavs:
        raise ValueError(f"{what}: no stimuli given")
    return [_check_stimulus(w, f"{what}[{i}]") for i, w in enumerate(wavs)]


def _check_systems(names) -> None:
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"system names must be non-empty strings, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"system names must be distinct, got {list(names)}")


def ab_items(a: Sequence[Stimulus], b: Sequence[Stimulus], names: tuple[str, str] = ("A", "B"),
             references: Sequence[Stimulus] | None = None, question: str | None = None,
             prefix: str = "ab") -> list[Item]:
    """A/B preference items: ``a[i]`` against ``b[i]`` (same text), optionally with a reference (notebook 10).

    Without ``references`` the question is about naturalness; with them, about which sample
    sounds more like the reference speaker. ``prefix`` keeps item ids unique when a test holds
    several comparisons.
    """
    _check_systems(names)
    if len(names) != 2:
        raise ValueError(f"an A/B test compares two systems, got names={names!r}")
    a, b = _as_list(a, names[0]), _as_list(b, names[1])
    if len(a) != len(b):
        raise ValueError(f"A/B items pair a[i] with b[i]: got {len(a)} and {len(b)} stimuli")
    refs = _as_list(references, "references") if references is not None else None
    if refs is not None and len(refs) != len(a):
        raise ValueError(f"need one reference per pair: {len(refs)} references for {len(a)} pairs")
    q = question or QUESTIONS["ab_ref" if refs else "ab"]
    return [Item(f"{prefix}{i:03d}", "ab", {names[0]: x, names[1]: y}, q, refs[i] if refs else None)
            for i, (x, y) in enumerate(zip(a, b))]


def mos_items(systems: dict, question: str | None = None, prefix: str = "mos") -> list[Item]:
    """Naturalness MOS items: every stimulus of every system, rated alone on 1..5 (notebook 10).

    ``systems`` maps a system name (e.g. ``"ground truth"``, ``"few-shot"``) to its stimuli.
    Include real recordings as a system: they anchor the scale.
    """
    if not systems:
        raise ValueError("mos_items: no systems given")
    _check_systems(list(systems))
    items, k = [], 0
    for name, wavs in systems.items():
        for w in _as_list(wavs, name):
            items.append(Item(f"{prefix}{k:03d}", "mos", {name: w}, question or QUESTIONS["mos"]))
            k += 1
    return items


def smos_items(systems: dict, references: Sequence[Stimulus], question: str | None = None,
               prefix: str = "smos") -> list[Item]:
    """Similarity-MOS items: each sample rated 1..5 for speaker similarity to its reference (notebook 10).

    ``systems[name][i]`` is compared with ``references[i]`` (a different recording of the target
    speaker, ideally saying something else, so that listeners judge the voice, not the words).
    """
    if not systems:
        raise ValueError("smos_items: no systems given")
    _check_systems(list(systems))
    refs = _as_list(references, "references")
    items, k = [], 0
    for name, wavs in systems.items():
        wavs = _as_list(wavs, name)
        if len(wavs) != len(refs):
            raise ValueError(f"{name}: {len(wavs)} stimuli for {len(refs)} references; pair them one to one")
        for w, r in zip(wavs, refs):
            items.append(Item(f"{prefix}{k:03d}", "smos", {name: w}, question or QUESTIONS["smos"], r))
            k += 1
    return items


# --------------------------------------------------------------------------- randomisation


def _rng(seed: int, listener: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(listener.encode("utf-8"))])


def randomize(items: Sequence[Item], listener: str, seed: int = 0) -> list[dict]:
    """One listener's trials: items in a shuffled order, A/B sides counterbalanced (used by listening.build_test).

    Returns ``[{"trial_id", "item_id", "order"}]`` where ``order`` lists the systems in the
    order they are played. The same ``(seed, listener)`` always gives the same page; each
    listener gets a different order. Half of the A/B trials (rounded at random) play the first
    system first.
    """
    items = list(items)
    rng = _rng(seed, listener)
    ab = [i for i, it in enumerate(items) if it.kind == "ab"]
    flips = np.zeros(len(items), dtype=bool)
    pattern = np.arange(len(ab)) % 2 == 1
    if len(ab) % 2 and rng.random() < 0.5:
        pattern = ~pattern
    flips[ab] = rng.permutation(pattern)
    trials = []
    for n, i in enumerate(rng.permutation(len(items))):
        names = list(items[i].stimuli)
        order = names[::-1] if flips[i] else names
        trials.append({"trial_id": f"t{n + 1:03d}", "item_id": items[i].item_id, "order": order})
    return trials


# --------------------------------------------------------------------------- pages


def _wav_bytes(x) -> bytes:
    """16-bit PCM WAV bytes of a stimulus (files are decoded and re-encoded: no name leaks)."""
    import soundfile as sf

    from course_utils import audio

    wav, sr = (x if isinstance(x, tuple) else audio.load(x, allow_silent=True))
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1.0, 1.0), int(sr), format="WAV", subtype="PCM_16")
    return buffer.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.4}
fieldset.trial{margin:1em 0;padding:.6em 1em;border:1px solid #bbb;border-radius:6px}
fieldset.trial.missing{border-color:#c00}
.player{margin:.3em 0}.player span{display:inline-block;min-width:6.5em}
.choices label{margin-right:1.2em;white-space:nowrap}
textarea{width:100%;height:8em;font-family:monospace}
"""

_JS = """
const STORE = "listening:" + TEST_ID + ":" + LISTENER;
function collect() {
  const rows = [], missing = [];
  document.querySelectorAll("fieldset.trial").forEach(fs => {
    const checked = fs.querySelector("input:checked");
    fs.classList.toggle("missing", !checked);
    if (checked) rows.push({trial_id: fs.dataset.trial, answer: checked.value});
    else missing.push(fs.dataset.trial);
  });
  return {rows, missing};
}
function csvText(rows) {
  return "test_id,listener,trial_id,answer\\n" +
    rows.map(r => [TEST_ID, LISTENER, r.trial_id, r.answer].join(",")).join("\\n") + "\\n";
}
function jsonText(rows) {
  return JSON.stringify({test_id: TEST_ID, listener: LISTENER, answers: rows}, null, 1);
}
function save(kind) {
  const {rows, missing} = collect();
  const status = document.getElementById("status");
  if (missing.length && !confirm(missing.length + " trial(s) unanswered (marked in red). Save anyway?")) return;
  const text = kind === "csv" ? csvText(rows) : jsonText(rows);
  document.getElementById("out").value = text;
  const blob = new Blob([text], {type: kind === "csv" ? "text/csv" : "application/json"});
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "answers_" + LISTENER + "." + kind;
  document.body.appendChild(link); link.click(); link.remove();
  status.textContent = rows.length + " answer(s) saved as " + link.download +
    ". If nothing was downloaded, copy the text below and send it.";
}
document.querySelectorAll("input[type=radio]").forEach(input => input.addEventListener("change", () => {
  try { localStorage.setItem(STORE, jsonText(collect().rows)); } catch (e) {}
}));
try {
  const saved = JSON.parse(localStorage.getItem(STORE) || "null");
  if (saved) saved.answers.forEach(a => {
    const input = document.querySelector(`input[name="${a.trial_id}"][value="${a.answer}"]`);
    if (input) input.checked = true;
  });
} catch (e) {}
document.getElementById("save-csv").addEventListener("click", () => save("csv"));
document.getElementById("save-json").addEventListener("click", () => save("json"));
"""


def _choices(trial_id: str, kind: str, allow_tie: bool) -> str:
    if kind == "ab":
        options = [("first", "Sample 1"), ("second", "Sample 2")] + ([("tie", "No preference")] if allow_tie else [])
    else:
        labels = MOS_LABELS if kind == "mos" else SMOS_LABELS
        options = [(str(k), f"{k} {v}") for k, v in labels.items()]
    return "".join(f'<label><input type="radio" name="{trial_id}" value="{value}"> {html.escape(text)}</label>'
                   for value, text in options)


def write_page(items: Sequence[Item], trials: Sequence[dict], path, listener: str, test_id: str,
               title: str = "Listening test", instructions: str | None = None, embed: bool = True,
               allow_tie: bool = True, max_embed_mb: float = 40.0) -> Path:
    """Write one listener's self-contained HTML page; returns its path (used by listening.build_test).

    ``embed=True`` puts every sample in the page as a base64 WAV (one file to send; keep clips
    short); ``embed=False`` writes them next to the page in ``<page>_audio/`` under neutral
    names (send the folder with the page). No file or system name appears in the page.
    """
    path = Path(path)
    by_id = {it.item_id: it for it in items}
    audio_dir = path.with_name(path.stem + "_audio")
    total = 0

    def source(stimulus, name: str) -> str:
        nonlocal total
        data = _wav_bytes(stimulus)
        total += len(data)
        if embed:
            if total > max_embed_mb * 1e6 * 3 / 4:
                raise ValueError(f"{path.name}: more than {max_embed_mb:g} MB of embedded audio; "
                                 "use shorter clips, fewer trials or embed=False")
            return "data:audio/wav;base64," + base64.b64encode(data).decode("ascii")
        audio_dir.mkdir(parents=True, exist_ok=True)
        (audio_dir / name).write_bytes(data)
        return f"{audio_dir.name}/{name}"

    def player(label: str, src: str) -> str:
        return (f'<div class="player"><span>{html.escape(label)}</span>'
                f'<audio controls preload="none" src="{src}"></audio></div>')

    blocks = []
    for n, trial in enumerate(trials, 1):
        item = by_id[trial["item_id"]]
        tid = trial["trial_id"]
        parts = [f'<fieldset class="trial" data-trial="{tid}" data-kind="{item.kind}">',
                 f"<legend>Trial {n} of {len(trials)}</legend>",
                 f'<p class="question">{html.escape(item.question)}</p>']
        if item.reference is not None:
            parts.append(player("Reference", source(item.reference, f"{tid}_ref.wav")))
        for k, system in enumerate(trial["order"], 1):
            label = f"Sample {k}" if item.kind == "ab" else "Sample"
            parts.append(player(label, source(item.stimuli[system], f"{tid}_{k}.wav")))
        parts.append(f'<div class="choices">{_choices(tid, item.kind, allow_tie)}</div></fieldset>')
        blocks.append("\n".join(parts))
    intro = instructions or ("Use headphones in a quiet room. Play every sample (as often as you like), "
                             "answer each question, then press a button at the bottom to save your answers.")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p><p>Listener: <b>{html.escape(listener)}</b> &middot; {len(trials)} trials</p>
<form id="test" onsubmit="return false">
{chr(10).join(blocks)}
<p><button type="button" id="save-csv">Save answers (CSV)</button>
<button type="button" id="save-json">Save answers (JSON)</button></p>
<p id="status"></p><textarea id="out" readonly></textarea>
</form>
<script>
const TEST_ID = {json.dumps(test_id)}; const LISTENER = {json.dumps(listener)};
{_JS}</script>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def build_test(items: Sequence[Item], listeners: Sequence[str], out_dir, seed: int = 0,
               title: str = "Listening test", instructions: str | None = None, embed: bool = True,
               allow_tie: bool = True) -> dict:
    """Write one randomised page per listener and the answer key (notebook 10).

    Writes ``out_dir/<listener>.html`` and ``out_dir/key.json`` (which system was played where;
    keep it away from listeners). Returns ``{"pages": {listener: path}, "key": key_dict,
    "key_path": path, "test_id": str}``. Listener names: letters, digits, ``_ . -``.
    """
    items = list(items)
    if not items:
        raise ValueError("build_test: no items given")
    ids = [it.item_id for it in items]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate item ids {dup[:5]}: give each ab_items/mos_items call its own prefix=")
    for it in items:
        if it.kind not in KINDS:
            raise ValueError(f"item {it.item_id}: unknown kind {it.kind!r}; use one of {KINDS}")
    listeners = list(listeners)
    if not listeners:
        raise ValueError("build_test: no listeners given")
    for name in listeners:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"listener name {name!r}: use 1-64 letters, digits, '_', '.' or '-'")
    if len(set(listeners)) != len(listeners):
        raise ValueError("listener names must be distinct")
    out_dir = Path(out_dir)
    key = {
        "title": title, "seed": int(seed), "allow_tie": bool(allow_tie),
        "items": {it.item_id: {"kind": it.kind, "systems": list(it.stimuli), "question": it.question,
                               "stimuli": {s: _label(x) for s, x in it.stimuli.items()},
                               "reference": None if it.reference is None else _label(it.reference),
                               **({"meta": it.meta} if it.meta else {})}
                  for it in items},
        "listeners": {name: randomize(items, name, seed) for name in listeners},
    }
    key["test_id"] = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    pages = {name: write_page(items, key["listeners"][name], out_dir / f"{name}.html", name, key["test_id"],
                              title, instructions, embed, allow_tie)
             for name in listeners}
    key_path = out_dir / "key.json"
    key_path.write_text(json.dumps(key, indent=1) + "\n", encoding="utf-8")
    return {"pages": pages, "key": key, "key_path": key_path, "test_id": key["test_id"]}


def load_key(path) -> dict:
    """Read the ``key.json`` written by :func:`build_test`.

    (used by listening.decode, listening.simulate_answers)
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- answers


def read_answers(sources) -> "pd.DataFrame":  # noqa: F821
    """Answers from the pages' CSV/JSON files (paths), dicts, or a DataFrame (used by listening.decode).

    Returns a DataFrame with columns ``test_id, listener, trial_id, answer`` (answers as strings).
    """
    import pandas as pd

    if isinstance(sources, pd.DataFrame):
        frames = [sources]
    else:
        if isinstance(sources, (str, os.PathLike, dict)):
            sources = [sources]
        frames = []
        for src in sources:
            if isinstance(src, dict):
                data = src
            else:
                p = Path(src)
                if not p.is_file():
                    raise ValueError(f"{p}: no such answer file")
                if p.suffix.lower() == ".csv":
                    frames.append(pd.read_csv(p, dtype=str))
                    continue
                try:
                    data = json.loads(p.read_text(encoding="utf-8"))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{p}: not a CSV or JSON answer file ({exc})") from None
            if "answers" in data:
                frames.append(pd.DataFrame([{"test_id": data.get("test_id"), "listener": data.get("listener"),
                                             **a} for a in data["answers"]]))
            else:
                frames.append(pd.DataFrame([data]))
    if not frames:
        raise ValueError("read_answers: no answers given")
    df = pd.concat(frames, ignore_index=True)
    missing = {"test_id", "listener", "trial_id", "answer"} - set(df.columns)
    if missing:
        raise ValueError(f"answers lack the columns {sorted(missing)}; were they saved by a test page?")
    df = df[["test_id", "listener", "trial_id", "answer"]].astype(str)
    return df.apply(lambda col: col.str.strip())


def decode(answers, key) -> "pd.DataFrame":  # noqa: F821
    """Map each answer back to systems with the key (used by listening.score_ab, listening.score_mos).

    One row per answer: ``listener, trial_id, item_id, kind, answer`` plus, for A/B trials,
    ``system_a, system_b`` (in the item's order, not the play order) and ``preferred``
    (a system name or ``"tie"``); for MOS/SMOS trials ``system`` and ``rating`` (1..5).
    Answers from another test, unknown trials, invalid values or a trial answered twice
    raise ``ValueError``.
    """
    import pandas as pd

    if isinstance(key, (str, os.PathLike)):
        key = load_key(key)
    answers = answers if isinstance(answers, pd.DataFrame) else read_answers(answers)
    wrong = sorted(set(answers["test_id"]) - {key["test_id"]})
    if wrong:
        raise ValueError(f"answers from test(s) {wrong}, but this key is for test {key['test_id']}")
    dup = answers.duplicated(["listener", "trial_id"], keep=False)
    if dup.any():
        row = answers[dup].iloc[0]
        raise ValueError(f"listener {row['listener']} answered trial {row['trial_id']} more than once")
    rows = []
    for r in answers.itertuples(index=False):
        trials = key["listeners"].get(r.listener)
        if trials is None:
            raise ValueError(f"unknown listener {r.listener!r}; the key has {sorted(key['listeners'])}")
        trial = next((t for t in trials if t["trial_id"] == r.trial_id), None)
        if trial is None:
            raise ValueError(f"listener {r.listener}: unknown trial {r.trial_id!r}")
        item = key["items"][trial["item_id"]]
        row = {"listener": r.listener, "trial_id": r.trial_id, "item_id": trial["item_id"],
               "kind": item["kind"], "answer": r.answer}
        if item["kind"] == "ab":
            if r.answer not in AB_ANSWERS or (r.answer == "tie" and not key.get("allow_tie", True)):
                raise ValueError(f"listener {r.listener}, trial {r.trial_id}: A/B answer must be one of "
                                 f"{AB_ANSWERS}, got {r.answer!r}")
            a, b = item["systems"]
            row.update(system_a=a, system_b=b, preferred="tie" if r.answer == "tie" else
                       trial["order"][0 if r.answer == "first" else 1])
        else:
            if r.answer not in {"1", "2", "3", "4", "5"}:
                raise ValueError(f"listener {r.listener}, trial {r.trial_id}: rating must be 1..5, "
                                 f"got {r.answer!r}")
            row.update(system=item["systems"][0], rating=int(r.answer))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- statistics


def binomial_ci(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a proportion ``k / n`` (used by listening.score_ab)."""
    from scipy.stats import beta

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval ``(mean, low, high)`` of ratings (used by listening.score_mos).

    Treats the ratings as independent; with few listeners or items that is optimistic (ratings
    of one listener are correlated), so also look at per-listener means.
    """
    from scipy.stats import t

    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("mean_ci needs at least one finite value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = float(t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def score_ab(answers, key, confidence: float = 0.95) -> "pd.DataFrame":  # noqa: F821
    """Preference rates of A/B trials with exact binomial confidence intervals (notebook 10).

    One row per pair of systems: ``n`` answers, ``a_preferred``, ``b_preferred``, ``ties``,
    ``preference_a`` = a / (a + b) over the decided trials (ties left out), its
    Clopper-Pearson interval ``ci_low``..``ci_high`` and the two-sided exact binomial ``p_value``
    against no preference (0.5). An interval that contains 0.5 means no detectable preference.
    """
    import pandas as pd
    from scipy.stats import binomtest

    df = decode(answers, key)
    df = df[df["kind"] == "ab"] if len(df) else df
    rows = []
    for (a, b), g in (df.groupby(["system_a", "system_b"], sort=False) if len(df) else []):
        wins_a, wins_b = int((g["preferred"] == a).sum()), int((g["preferred"] == b).sum())
        decided = wins_a + wins_b
        low, high = binomial_ci(wins_a, decided, confidence) if decided else (math.nan, math.nan)
        rows.append({"system_a": a, "system_b": b, "n": len(g), "listeners": g["listener"].nunique(),
                     "a_preferred": wins_a, "b_preferred": wins_b, "ties": len(g) - decided,
                     "preference_a": wins_a / decided if decided else math.nan,
                     "ci_low": low, "ci_high": high,
                     "p_value": float(binomtest(wins_a, decided).pvalue) if decided else math.nan})
    columns = ["system_a", "system_b", "n", "listeners", "a_preferred", "b_preferred", "ties",
               "preference_a", "ci_low", "ci_high", "p_value"]
    return pd.DataFrame(rows, columns=columns)


def score_mos(answers, key, confidence: float = 0.95) -> "pd.DataFrame":  # noqa: F821
    """MOS and similarity MOS per system: mean rating with a Student-t interval (notebook 10).

    One row per ``(kind, system)``: ``n`` ratings, ``listeners``, ``mean``, ``std``,
    ``ci_low``..``ci_high`` (see :func:`mean_ci` for what the interval assumes).
    """
    import pandas as pd

    df = decode(answers, key)
    df = df[df["kind"].isin(["mos", "smos"])] if len(df) else df
    rows = []
    for (kind, system), g in (df.groupby(["kind", "system"], sort=False) if len(df) else []):
        mean, low, high = mean_ci(g["rating"], confidence)
        rows.append({"kind": kind, "system": system, "n": len(g), "listeners": g["listener"].nunique(),
                     "mean": mean, "std": float(g["rating"].std(ddof=1)) if len(g) > 1 else math.nan,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["kind", "system", "n", "listeners", "mean", "std", "ci_low", "ci_high"])


def simulate_answers(key, prefer: dict | None = None, mos: dict | None = None, spread: float = 0.8,
                     tie_rate: float = 0.0, seed: int = 0) -> "pd.DataFrame":  # noqa: F821
    """Made-up answers for every trial of ``key``, to try the scoring before real listeners (notebook 10).

    A/B: system ``x`` beats ``y`` with probability ``prefer[x] / (prefer[x] + prefer[y])``
    (weights default to 1), after a tie with probability ``tie_rate``. MOS/SMOS: the rating is
    ``mos[system]`` (default 3) plus Gaussian noise of ``spread``, rounded and clipped to 1..5.
    """
    import pandas as pd

    if isinstance(key, (str, os.PathLike)):
        key = load_key(key)
    prefer, mos = prefer or {}, mos or {}
    rng = np.random.default_rng(seed)
    rows = []
    for listener, trials in key["listeners"].items():
        for trial in trials:
            item = key["items"][trial["item_id"]]
            if item["kind"] == "ab":
                first, second = trial["order"]
                w1, w2 = prefer.get(first, 1.0), prefer.get(second, 1.0)
                if key.get("allow_tie", True) and rng.random() < tie_rate:
                    answer = "tie"
                else:
                    answer = "first" if rng.random() < w1 / (w1 + w2) else "second"
            else:
                mean = mos.get(item["systems"][0], 3.0)
                answer = str(int(np.clip(np.rint(mean + spread * rng.standard_normal()), 1, 5)))
            rows.append({"test_id": key["test_id"], "listener": listener, "trial_id": trial["trial_id"],
                         "answer": answer})
    return pd.DataFrame(rows)


__all__ = [
    "simulate_answers", "Item", "ab_items", "mos_items", "smos_items", "randomize", "write_page", "build_test", "load_key",
    "read_answers", "decode", "binomial_ci", "mean_ci", "score_ab", "score_mos",
]
