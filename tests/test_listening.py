"""Tests of course_utils.listening: blind randomised pages, answer files and their statistics."""

import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.stats import binomtest

from course_utils import listening

SR = 8000


def tone(freq, seconds=0.3):
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def wav_files(tmp_path):
    """Four files per system, in folders named after the systems (names that must not leak)."""
    files = {}
    for system, base in (("zero_shot", 200), ("few_shot", 300)):
        folder = tmp_path / "src" / system
        folder.mkdir(parents=True)
        files[system] = []
        for i in range(4):
            path = folder / f"{system}_utt{i}.wav"
            sf.write(path, tone(base + 10 * i), SR)
            files[system].append(path)
    return files


@pytest.fixture
def items(wav_files):
    refs = [(tone(500 + 10 * i), SR) for i in range(4)]
    return (listening.ab_items(wav_files["zero_shot"], wav_files["few_shot"], names=("zero_shot", "few_shot"))
            + listening.mos_items({"zero_shot": wav_files["zero_shot"], "few_shot": wav_files["few_shot"]})
            + listening.smos_items({"few_shot": wav_files["few_shot"]}, references=refs))


@pytest.fixture
def test(items, tmp_path):
    return listening.build_test(items, ["ana", "ben"], tmp_path / "out", seed=3, title="Course test")


def test_items(items):
    kinds = [it.kind for it in items]
    assert kinds.count("ab") == 4 and kinds.count("mos") == 8 and kinds.count("smos") == 4
    assert len({it.item_id for it in items}) == len(items)
    assert all(it.reference is not None for it in items if it.kind == "smos")


def test_randomisation_is_seeded_per_listener_and_counterbalanced(items):
    a1, a2 = listening.randomize(items, "ana", seed=3), listening.randomize(items, "ana", seed=3)
    b = listening.randomize(items, "ben", seed=3)
    assert a1 == a2
    assert [t["item_id"] for t in a1] != [t["item_id"] for t in b]
    assert sorted(t["item_id"] for t in a1) == sorted(it.item_id for it in items)
    for trials in (a1, b):
        firsts = [t["order"][0] for t in trials if t["item_id"].startswith("ab")]
        assert firsts.count("zero_shot") == firsts.count("few_shot") == 2


def test_pages_are_blind_and_self_contained(test, wav_files):
    page = test["pages"]["ana"].read_text()
    assert page.count("<fieldset") == 16 and page.count("<audio") == 4 * 2 + 8 + 4 * 2
    folder = str(wav_files["zero_shot"][0].parent.parent)
    for word in ("zero_shot", "few_shot", "utt0", folder, ".wav"):
        assert word not in page, word
    assert "http" not in page  # nothing fetched from elsewhere
    sources = re.findall(r'src="data:audio/wav;base64,([^"]+)"', page)
    assert len(sources) == 24
    wav, sr = sf.read(io.BytesIO(base64.b64decode(sources[0])))
    assert sr == SR and wav.size == int(0.3 * SR)
    assert json.dumps(test["test_id"]) in page and 'const LISTENER = "ana"' in page
    key = listening.load_key(test["key_path"])
    assert key["test_id"] == test["test_id"] and set(key["listeners"]) == {"ana", "ben"}
    assert key["items"]["ab000"]["stimuli"]["zero_shot"] == str(wav_files["zero_shot"][0])


def test_linked_audio_uses_neutral_names(items, tmp_path):
    out = listening.build_test(items[:4], ["ana"], tmp_path / "linked", embed=False)
    page = out["pages"]["ana"].read_text()
    links = re.findall(r'src="([^"]+)"', page)
    assert len(links) == 8 and all(re.fullmatch(r"ana_audio/t\d{3}_[12]\.wav", s) for s in links)
    for link in links:
        assert (tmp_path / "linked" / link).is_file()
    assert "zero_shot" not in page and "base64" not in page


# A minimal stand-in for the browser DOM: each fieldset answered as CHOSEN says; the page's
# script then runs unchanged in node and its CSV/JSON output is read back by the Python side.
HARNESS = """
const saved = {};
const sets = CHOSEN.map(([id, value]) => ({dataset: {trial: id}, classList: {toggle() {}},
                                           querySelector: () => (value ? {value} : null)}));
const elements = {};
globalThis.document = {
  querySelectorAll: sel => (sel === "fieldset.trial" ? sets : []),
  querySelector: () => null,
  getElementById: id => (elements[id] = elements[id] ||
    {addEventListener(ev, fn) { this.fn = fn; }, value: "", textContent: ""}),
  createElement: () => ({click() { saved.download = this.download; }, remove() {}}),
  body: {appendChild() {}},
};
globalThis.localStorage = {getItem: () => null, setItem() {}};
globalThis.confirm = () => true;
globalThis.Blob = class { constructor(parts) { this.text = parts.join(""); } };
globalThis.URL = {createObjectURL: () => "blob:x"};
"""
RUN = """
document.getElementById("save-csv").fn();
const csv = document.getElementById("out").value;
document.getElementById("save-json").fn();
console.log(JSON.stringify({csv, json: document.getElementById("out").value, name: saved.download}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_script_saves_answers_that_score(test, tmp_path):
    """Run the page's own script in node with a fake DOM and score what it saves."""
    key = test["key"]
    chosen = [[t["trial_id"], "first" if t["item_id"].startswith("ab") else "5"] for t in key["listeners"]["ben"]]
    page = test["pages"]["ben"].read_text()
    script = page.split("<script>")[1].split("</script>")[0]
    path = tmp_path / "page.js"
    path.write_text(f"const CHOSEN = {json.dumps(chosen)};" + HARNESS + script + RUN)
    result = subprocess.run(["node", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["name"] == "answers_ben.json"
    (tmp_path / "a.csv").write_text(out["csv"])
    (tmp_path / "a.json").write_text(out["json"])
    from_csv = listening.read_answers(tmp_path / "a.csv")
    assert from_csv.equals(listening.read_answers(tmp_path / "a.json"))
    assert len(from_csv) == 16 and set(from_csv["listener"]) == {"ben"}
    decoded = listening.decode(from_csv, key)
    assert (decoded.loc[decoded["kind"] != "ab", "rating"] == 5).all()
    ab = listening.score_ab(from_csv, key).iloc[0]
    assert ab.a_preferred == ab.b_preferred == 2  # counterbalanced: "always the first" is no preference


def _answers_for(key, pick):
    """Answers where ``pick(listener, trial, item)`` gives the answer string."""
    rows = []
    for listener, trials in key["listeners"].items():
        for t in trials:
            rows.append({"test_id": key["test_id"], "listener": listener, "trial_id": t["trial_id"],
                         "answer": pick(listener, t, key["items"][t["item_id"]])})
    return rows


def test_round_trip_of_csv_and_json_answers(test, tmp_path):
    key = test["key"]

    def always_few_shot(listener, trial, item):
        if item["kind"] == "ab":
            return "first" if trial["order"][0] == "few_shot" else "second"
        return "4" if item["systems"][0] == "few_shot" else "2"

    rows = _answers_for(key, always_few_shot)
    ana = [r for r in rows if r["listener"] == "ana"]
    ben = [r for r in rows if r["listener"] == "ben"]
    pd.DataFrame(ana).to_csv(tmp_path / "answers_ana.csv", index=False)
    (tmp_path / "answers_ben.json").write_text(json.dumps(
        {"test_id": key["test_id"], "listener": "ben",
         "answers": [{"trial_id": r["trial_id"], "answer": r["answer"]} for r in ben]}))
    answers = listening.read_answers([tmp_path / "answers_ana.csv", tmp_path / "answers_ben.json"])
    assert len(answers) == 32

    ab = listening.score_ab(answers, test["key_path"])
    row = ab.iloc[0]
    assert (row.system_a, row.system_b) == ("zero_shot", "few_shot")
    assert (row.n, row.listeners, row.a_preferred, row.b_preferred, row.ties) == (8, 2, 0, 8, 0)
    assert row.preference_a == 0 and row.ci_low == 0
    assert row.ci_high == pytest.approx(listening.binomial_ci(0, 8)[1])
    assert row.p_value == pytest.approx(binomtest(0, 8).pvalue)

    mos = listening.score_mos(answers, key).set_index(["kind", "system"])
    assert mos.loc[("mos", "few_shot"), "mean"] == 4 and mos.loc[("mos", "zero_shot"), "mean"] == 2
    assert mos.loc[("smos", "few_shot"), "n"] == 8


def test_simulated_answers_recover_the_preference(test):
    key = test["key"]
    answers = listening.simulate_answers(key, prefer={"few_shot": 3.0}, mos={"few_shot": 4.2, "zero_shot": 3.1},
                                         tie_rate=0.1, seed=0)
    decoded = listening.decode(answers, key)
    assert set(decoded["kind"]) == {"ab", "mos", "smos"}
    ab = listening.score_ab(answers, key).iloc[0]
    assert ab.n == 8 and ab.a_preferred + ab.b_preferred + ab.ties == 8
    assert 0 <= ab.ci_low <= ab.preference_a <= ab.ci_high <= 1


def test_binomial_ci_known_values():
    low, high = listening.binomial_ci(7, 10)
    assert (low, high) == (pytest.approx(0.3475, abs=1e-4), pytest.approx(0.9333, abs=1e-4))
    assert listening.binomial_ci(0, 5)[0] == 0 and listening.binomial_ci(5, 5)[1] == 1
    with pytest.raises(ValueError, match="0 <= k <= n"):
        listening.binomial_ci(3, 2)


def test_mean_ci():
    mean, low, high = listening.mean_ci([3, 4, 5, 4])
    assert mean == 4 and low == pytest.approx(4 - 3.182446 * np.std([3, 4, 5, 4], ddof=1) / 2, abs=1e-5)
    assert high - mean == pytest.approx(mean - low)
    with pytest.raises(ValueError, match="finite"):
        listening.mean_ci([np.nan])


def test_bad_answers_and_inputs(test, items, wav_files, tmp_path):
    key = test["key"]
    rows = _answers_for(key, lambda l, t, i: "first" if i["kind"] == "ab" else "3")
    listening.decode(pd.DataFrame(rows), key)  # fine
    with pytest.raises(ValueError, match="this key is for test"):
        listening.decode(pd.DataFrame([{**rows[0], "test_id": "other"}]), key)
    with pytest.raises(ValueError, match="more than once"):
        listening.decode(pd.DataFrame([rows[0], rows[0]]), key)
    with pytest.raises(ValueError, match="unknown listener"):
        listening.decode(pd.DataFrame([{**rows[0], "listener": "eve"}]), key)
    ab_row = next(r for r in rows if r["answer"] == "first")
    with pytest.raises(ValueError, match="A/B answer"):
        listening.decode(pd.DataFrame([{**ab_row, "answer": "left"}]), key)
    mos_row = next(r for r in rows if r["answer"] == "3")
    with pytest.raises(ValueError, match="1..5"):
        listening.decode(pd.DataFrame([{**mos_row, "answer": "6"}]), key)
    with pytest.raises(ValueError, match="prefix"):
        listening.build_test(items + items[:1], ["ana"], tmp_path / "dup")
    with pytest.raises(ValueError, match="listener name"):
        listening.build_test(items, ["a b"], tmp_path / "bad")
    with pytest.raises(ValueError, match=r"pair a\[i\]"):
        listening.ab_items(wav_files["zero_shot"], wav_files["few_shot"][:2])
    with pytest.raises(ValueError, match="no such audio file"):
        listening.mos_items({"x": [tmp_path / "missing.wav"]})
    with pytest.raises(ValueError, match="single one"):
        listening.mos_items({"x": wav_files["zero_shot"][0]})
    with pytest.raises(ValueError, match="distinct"):
        listening.ab_items(wav_files["zero_shot"], wav_files["few_shot"], names=("x", "x"))
    with pytest.raises(ValueError, match="columns"):
        listening.read_answers(pd.DataFrame([{"listener": "ana"}]))
