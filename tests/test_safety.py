"""course_utils.safety (notebook 11): consent rules and the keyed watermark's measured rates.

The watermark rates are measured over 32 espeak utterances of 32 different course voices
(8 accents, several variants, pitches and rates) and printed (``pytest -s`` shows them).
"""

import dataclasses
import datetime as dt
import json
from math import gcd

import numpy as np
import pytest
from scipy.signal import resample_poly

from course_utils import safety, voices

N_UTTERANCES = 32
MIN_DETECTION, MAX_FALSE_ALARMS = 0.95, 0.02
TODAY = dt.date.today().isoformat()


# --- consent --------------------------------------------------------------------------------------

def test_statement_gives_a_record_of_who_when_and_what():
    rec = safety.require_consent("I, Ada Lovelace, consent to cloning my voice for the course demo "
                                 "on 2026-11-20.")
    assert isinstance(rec, safety.ConsentRecord)
    assert (rec.speaker, rec.granted_by, rec.date) == ("Ada Lovelace", "Ada Lovelace", "2026-11-20")
    assert rec.purpose == "cloning my voice for the course demo"
    assert rec.source == "--consent" and "Ada Lovelace" in rec.describe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.speaker = "someone else"


@pytest.mark.parametrize("statement, date", [
    ("I, Grace Hopper, consent to my voice being cloned for a lecture on 3 May 2025", "2025-05-03"),
    ("i, Alan Turing, hereby give my consent to a voice clone for the workshop on May 3rd, 2025",
     "2025-05-03"),
    (f"I, Kim, consent to cloning my voice for a personal assistant on {TODAY}", TODAY),
    ("I, Lee, consent to cloning my voice on a podcast on 2025-01-02", "2025-01-02"),
])
def test_statement_variants_are_accepted(statement, date):
    assert safety.require_consent(statement).date == date


@pytest.mark.parametrize("statement, why", [
    (None, "no consent"),
    ("", "trivial"),
    ("yes", "trivial"),
    ("I consent", "trivial"),
    ("  OK  ", "trivial"),
    ("I, <name>, consent to ... on <date>", "placeholder"),
    ("I, <your name>, consent to cloning my voice for the demo on 2026-11-20", "placeholder"),
    ("please just clone the voice of my neighbour", "does not have the form"),
    ("I, Ada Lovelace, consent to cloning my voice", "does not have the form"),
    ("I, Ada Lovelace, consent to cloning my voice on someday", "no readable date"),
    ("I, Ada Lovelace, consent to it on 2026-11-20", "too vague"),
    ("I, Ada Lovelace, consent to cloning my voice on a podcast on Tuesday", "no readable date"),
    ("I, Ada Lovelace, consent to cloning my voice for a demo on 2999-01-01", "in the future"),
])
def test_missing_or_trivial_consent_is_refused_with_why_and_how(statement, why):
    with pytest.raises(safety.ConsentError) as info:
        safety.require_consent(statement)
    message = str(info.value)
    assert why in message
    assert "--consent" in message and "speaker, granted_by, date and purpose" in message


def test_consent_error_is_not_a_value_error():
    # a generic `except ValueError` around cloning code must not swallow a refusal
    assert issubclass(safety.ConsentError, Exception)
    assert not issubclass(safety.ConsentError, ValueError)


def test_consent_file_json_and_key_value(tmp_path):
    fields = {"speaker": "Ada Lovelace", "granted_by": "Ada Lovelace", "date": "2026-11-01",
              "purpose": "cloning her voice for the course demo", "contact": "ada@example.org"}
    as_json = tmp_path / "consent.json"
    as_json.write_text(json.dumps(fields))
    rec = safety.require_consent(consent_file=as_json)
    assert (rec.speaker, rec.date, rec.purpose) == ("Ada Lovelace", "2026-11-01", fields["purpose"])
    assert rec.source == str(as_json)

    as_text = tmp_path / "consent.txt"
    as_text.write_text("# signed on paper, scanned copy in the drawer\nSpeaker: Ada Lovelace\n"
                       "granted-by: Charles Babbage <cb@example.org>\ndate: 1 November 2026\n"
                       "purpose: a talking portrait in the museum\n")
    rec = safety.require_consent(consent_file=str(as_text))
    assert rec.granted_by == "Charles Babbage <cb@example.org>" and rec.date == "2026-11-01"

    both = safety.require_consent("I, Ada Lovelace, consent to cloning my voice for the demo on "
                                  "2026-11-01", consent_file=as_json)
    assert both.source == str(as_json) and both.statement.startswith("I, Ada")


@pytest.mark.parametrize("content, why", [
    ('{"speaker": "Ada", "date": "2026-11-01", "purpose": "course demo"}', "lacks the field(s) granted_by"),
    ('{"speaker": "Ada", "granted_by": "Ada", "date": "2026-11-01", "purpose": "yes"}', "too vague"),
    ('{"speaker": "", "granted_by": "Ada", "date": "2026-11-01", "purpose": "course demo"}', "placeholder"),
    ('{"speaker": "Ada", "granted_by": "Ada", "date": "soon", "purpose": "course demo"}', "no readable date"),
    ('{"speaker": "Ada", "granted_by": "Ada", "date": "2026-11-01", "purpose": "course demo", '
     '"expires": "2020-01-01"}', "expired"),
    ('{"speaker": "Ada", ', "not valid JSON"),
    ('["speaker", "Ada"]', "not valid JSON"),
    ("speaker Ada\n", "not 'key: value'"),
    ("", "lacks the field(s)"),
])
def test_invalid_consent_file_is_refused(tmp_path, content, why):
    path = tmp_path / "consent.txt"
    path.write_text(content)
    with pytest.raises(safety.ConsentError, match="Refusing to clone") as info:
        safety.require_consent(consent_file=path)
    assert why in str(info.value) or (why == "not valid JSON" and "JSON" in str(info.value))


def test_missing_consent_file_is_refused(tmp_path):
    with pytest.raises(safety.ConsentError, match="does not exist"):
        safety.require_consent(consent_file=tmp_path / "nope.json")


def test_invalid_statement_refused_even_with_valid_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"speaker": "Ada", "granted_by": "Ada", "date": "2026-11-01",
                                "purpose": "course demo"}))
    with pytest.raises(safety.ConsentError):
        safety.require_consent("yes", consent_file=path)


# --- watermark: test audio ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def utterances():
    """32 utterances of 32 course voices (every accent; male and female variants)."""
    specs = voices.speakers("all")[5::7][:N_UTTERANCES]
    texts = voices.prompts("train")
    utts = [voices.synthesize(texts[(3 * i) % len(texts)], spec) for i, spec in enumerate(specs)]
    assert len({s.accent for s in specs}) >= 6 and len({s.variant for s in specs}) >= 8
    assert all(1.0 < u.duration < 8.0 for u in utts)
    return [(u.wav, u.sr) for u in utts]


@pytest.fixture(scope="module")
def marked(utterances):
    return [safety.embed_watermark(wav, sr) for wav, sr in utterances]


def _rate(scores):
    return float(np.mean(np.asarray(scores) > safety.THRESHOLD))


def _resample(wav, sr, new_sr):
    g = gcd(sr, new_sr)
    return resample_poly(wav.astype(np.float64), new_sr // g, sr // g).astype(np.float32)


def test_watermark_is_at_least_30_db_below_the_signal(utterances, marked):
    wsr = [safety.watermark_to_signal_db(w, m) for (w, _), m in zip(utterances, marked)]
    print(f"\nwatermark-to-signal ratio over {len(wsr)} utterances: min {min(wsr):.2f} dB, "
          f"mean {np.mean(wsr):.2f} dB")
    assert min(wsr) >= 30.0
    for (wav, _), m in zip(utterances, marked):
        assert m.dtype == np.float32 and m.shape == wav.shape


def test_detection_and_false_alarms_under_attacks(utterances, marked):
    hits, clean = {}, {}
    for i, ((wav, sr), m) in enumerate(zip(utterances, marked)):
        for name, attacked in safety.robustness_attacks(m, sr, seed=i).items():
            hits.setdefault(name, []).append(safety.detect_watermark(attacked, sr)[1])
        for name, attacked in safety.robustness_attacks(wav, sr, seed=i).items():
            clean.setdefault(name, []).append(safety.detect_watermark(attacked, sr)[1])
    print(f"\n{'attack':18s} detection (min score) | false alarms on clean audio (max score)")
    for name in hits:
        print(f"{name:18s} {_rate(hits[name]):6.1%} ({min(hits[name]):5.1f}) | "
              f"{_rate(clean[name]):5.1%} ({max(clean[name]):4.1f})")
    assert {"none", "resample and back", "noise 20 dB SNR", "low-pass 5 kHz", "FIR 3 taps"} <= set(hits)
    for name in hits:
        assert len(hits[name]) >= 30
        assert _rate(hits[name]) >= MIN_DETECTION, f"{name}: detection {_rate(hits[name]):.1%}"
        assert _rate(clean[name]) <= MAX_FALSE_ALARMS, f"{name}: false alarms {_rate(clean[name]):.1%}"


def test_another_key_does_not_detect(utterances, marked):
    scores = [safety.detect_watermark(m, sr, key=k)[1]
              for (_, sr), m in zip(utterances, marked) for k in (1, "another key", 2**40)]
    other = [safety.detect_watermark(safety.embed_watermark(w, sr, key=12345), sr)[1]
             for w, sr in utterances[:10]]
    print(f"\nother key: false alarms {_rate(scores + other):.1%} over {len(scores + other)} trials, "
          f"max score {max(scores + other):.2f}, std {np.std(scores + other):.2f} (about 1 expected)")
    assert _rate(scores + other) <= MAX_FALSE_ALARMS
    assert 0.6 < np.std(scores + other) < 1.5      # the score is a z-score under the null


def test_attacks_really_change_the_audio(marked, utterances):
    sr = utterances[0][1]
    attacked = safety.robustness_attacks(marked[0], sr)
    x = marked[0].astype(np.float64)
    for name, y in attacked.items():
        assert y.dtype == np.float32 and y.shape == x.shape
        if name == "16-bit PCM":
            assert 0 < np.max(np.abs(y - x)) <= 1 / 32767
        elif name != "none":
            assert np.sqrt(np.mean((y - x) ** 2)) > 1e-3 * np.sqrt(np.mean(x ** 2)), name
    noise = attacked["noise 20 dB SNR"] - x
    assert 10 * np.log10(np.sum(x ** 2) / np.sum(noise ** 2)) == pytest.approx(20.0, abs=0.1)


@pytest.mark.parametrize("sr", [16000, 24000, 44100, 48000])
def test_other_sample_rates(utterances, sr):
    found, clean_alarms, cross = [], [], []
    for i, (wav, wav_sr) in enumerate(utterances[:8]):
        x = _resample(wav, wav_sr, sr)
        m = safety.embed_watermark(x, sr)
        assert safety.watermark_to_signal_db(x, m) >= 30.0
        noisy = safety.robustness_attacks(m, sr, seed=i)["noise 20 dB SNR"]
        found += [safety.detect_watermark(m, sr)[1], safety.detect_watermark(noisy, sr)[1]]
        clean_alarms.append(safety.detect_watermark(x, sr)[1])
        cross.append(safety.detect_watermark(_resample(m, sr, 16000), 16000)[1])  # other rate
    assert _rate(found) == 1.0 and _rate(cross) == 1.0 and _rate(clean_alarms) == 0.0


def test_short_clips_still_carry_a_mark(utterances):
    wav, sr = utterances[0]
    clip = wav[int(0.2 * sr): int(0.2 * sr) + int(safety.MIN_SECONDS * sr)]
    assert safety.detect_watermark(safety.embed_watermark(clip, sr), sr)[0]


def test_cropped_or_padded_audio_needs_the_alignment_search(utterances, marked):
    found, plain, alarms = [], [], []
    for i, ((wav, sr), m) in enumerate(zip(utterances[:12], marked)):
        cut = int((0.013 + 0.05 * i) * sr)             # trimmed start: 13 ms to 0.56 s
        pad = np.zeros(int(0.2 * sr), np.float32)      # or silence added before it
        for shifted in (m[cut:], np.concatenate([pad, m])):
            found.append(safety.detect_watermark(shifted, sr, search_s=1.0)[1])
            plain.append(safety.detect_watermark(shifted, sr)[1])
        alarms += [safety.detect_watermark(wav[cut:], sr, search_s=1.0)[1],
                   safety.detect_watermark(m[cut:], sr, key="other", search_s=1.0)[1]]
    print(f"\nshifted audio: detection without search {_rate(plain):.0%}, with a 1 s search "
          f"{_rate(found):.0%} (min score {min(found):.1f}); false alarms with search "
          f"{_rate(alarms):.0%} (max score {max(alarms):.1f})")
    assert _rate(found) >= MIN_DETECTION and _rate(plain) < 0.5
    assert _rate(alarms) <= MAX_FALSE_ALARMS


# --- watermark: determinism and bad input ---------------------------------------------------------

def test_deterministic_and_keyed(utterances):
    wav, sr = utterances[1]
    a, b = safety.embed_watermark(wav, sr), safety.embed_watermark(wav.copy(), sr)
    assert np.array_equal(a, b)
    assert np.array_equal(a, safety.embed_watermark(wav, sr, key=safety.DEFAULT_KEY))
    c = safety.embed_watermark(wav, sr, key=7)
    assert not np.array_equal(a, c)
    assert safety.detect_watermark(c, sr, key=7)[0] and not safety.detect_watermark(c, sr)[0]
    assert safety.detect_watermark(a, sr) == safety.detect_watermark(a, sr)
    # float64 in, float32 out; 7 and "7" are one key (issue 19, tests/test_hostile.py)
    assert safety.embed_watermark(wav.astype(np.float64), sr).dtype == np.float32
    assert np.array_equal(a, safety.embed_watermark(wav, float(sr)))   # 22050.0 is fine
    assert np.array_equal(c, safety.embed_watermark(wav, sr, key="7"))


def test_silence_is_not_marked_and_not_detected(utterances):
    speech, sr = utterances[0]
    pause = np.zeros(sr // 2, np.float32)
    wav = np.concatenate([pause, speech, pause])
    m = safety.embed_watermark(wav, sr)
    quiet = pause.size - int(0.04 * sr)      # two analysis windows away from the speech
    for part in (m[:quiet], m[-quiet:]):     # the mark follows the envelope: none in pauses
        assert np.max(np.abs(part)) < 1e-4 * np.max(np.abs(speech))
    assert safety.detect_watermark(m, sr)[0]
    assert safety.detect_watermark(np.zeros(sr * 2, np.float32), sr) == (False, 0.0)


@pytest.mark.parametrize("wav, sr, match", [
    (np.zeros(0, np.float32), 22050, "empty"),
    (np.full(22050, np.nan, np.float32), 22050, "NaN"),
    (np.zeros((22050, 2), np.float32), 22050, "mono"),
    (np.zeros(100, np.float32), 22050, "too short"),
    (np.zeros(22050, np.int16), 22050, "floats"),
    (np.zeros(22050, np.float32), 8000, "sample rate"),
    (np.zeros(22050, np.float32), 22050.5, "sample rate"),
    (np.zeros(22050, np.float32), "22050", "sample rate"),
    (np.zeros(22050, np.float32), 22050, "silent"),
])
def test_bad_input_raises_a_clear_value_error(wav, sr, match):
    with pytest.raises(ValueError, match=match):
        safety.embed_watermark(wav, sr)
    if match != "silent":
        with pytest.raises(ValueError, match=match):
            safety.detect_watermark(wav, sr)


def test_bad_key_or_search_raises():
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    for key in (True, 1.5, None, b"bytes"):
        with pytest.raises(ValueError, match="key"):
            safety.embed_watermark(wav, 16000, key=key)
    for search in (-1, float("nan"), "1 s", 1000):
        with pytest.raises(ValueError, match="search_s"):
            safety.detect_watermark(wav, 16000, search_s=search)
