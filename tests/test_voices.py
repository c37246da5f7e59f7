"""Tests of course_utils.voices: synthesis, phoneme alignment, determinism, speakers, corpora."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from course_utils import text, voices
from course_utils.env import REPO_ROOT

SENTENCE = "She sells seashells by the seashore, every summer."


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def utt():
    return voices.synthesize(SENTENCE, voices.VoiceSpec("en-us", "f2"))


# synthesis -----------------------------------------------------------------------------------

def test_utterance_audio(utt):
    assert utt.sr == voices.SAMPLE_RATE == 22050
    assert utt.wav.dtype == np.float32 and utt.wav.ndim == 1
    assert 1.5 < utt.duration < 6
    assert np.all(np.isfinite(utt.wav)) and np.abs(utt.wav).max() <= 1.0
    assert np.abs(utt.wav).max() > 0.05


def test_phoneme_spans_are_contiguous_and_cover_the_audio(utt):
    spans = utt.phonemes
    assert spans[0][1] == 0 and spans[-1][2] == len(utt.wav)
    for (_, _, end), (_, start, _) in zip(spans, spans[1:]):
        assert end == start
    assert all(end > start for _, start, end in spans)
    assert all(isinstance(s, str) and s for s, _, _ in spans)
    # pauses never follow pauses
    assert not any(a[0] == b[0] == voices.PAUSE for a, b in zip(spans, spans[1:]))


def test_phoneme_symbols_match_espeak_transcription(utt):
    symbols = {s.lstrip("ˈˌ") for s, _, _ in utt.phonemes}
    assert {"ʃ", "s", "l", "z", "iː", "_"} <= symbols
    spoken = "".join(s for s, _, _ in utt.phonemes if s != voices.PAUSE)
    expected = text.phonemize(SENTENCE, normalize_first=False)
    strip = str.maketrans("", "", " ,.?!")
    assert spoken.translate(strip) == expected.translate(strip)


def test_phoneme_spans_are_sample_accurate(utt):
    """Silent spans are quiet and vowels loud: the spans are aligned with the audio."""
    def rms(a, b):
        return float(np.sqrt(np.mean(utt.wav[a:b] ** 2)))
    pauses = [rms(a, b) for s, a, b in utt.phonemes if s == voices.PAUSE and b - a > 200]
    vowels = [rms(a, b) for s, a, b in utt.phonemes if s.lstrip("ˈˌ") in ("iː", "ɛ", "ʌ", "ɚ", "aɪ")]
    assert pauses and vowels
    assert max(pauses) < 0.2 * np.median(vowels)
    # the first sound starts where the leading pause ends, not before
    first_sound = int(np.argmax(np.abs(utt.wav) > 0.01))
    assert abs(first_sound - utt.phonemes[0][2]) < 0.02 * utt.sr


def test_same_text_twice_gives_identical_samples(utt):
    spec = voices.VoiceSpec("en-us", "f2")
    voices.synthesize("Something else in between, to change espeak's state.", voices.VoiceSpec("en", "m3"))
    again = voices.synthesize(SENTENCE, spec)
    assert np.array_equal(again.wav, utt.wav)
    assert again.phonemes == utt.phonemes
    third = voices.synthesize(SENTENCE, spec)
    assert np.array_equal(third.wav, utt.wav)


def _digest(wav: np.ndarray) -> str:
    return hashlib.sha256(wav.tobytes()).hexdigest()


def test_same_text_in_a_fresh_process_gives_identical_samples(utt):
    code = ("from course_utils import voices; import hashlib;"
            f"u = voices.synthesize({SENTENCE!r}, voices.VoiceSpec('en-us', 'f2'));"
            "print(hashlib.sha256(u.wav.tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == _digest(utt.wav)


def _hash_of(sentence: str) -> str:
    return _digest(voices.synthesize(sentence, voices.speaker("spk001")).wav)


def test_threads_and_forked_workers_give_identical_samples():
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    sentences = voices.prompts()[:6]
    reference = [_hash_of(s) for s in sentences]
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(_hash_of, sentences)) == reference
    if "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(2) as pool:
            assert pool.map(_hash_of, sentences) == reference


def test_voice_parameters_change_the_audio():
    base = voices.synthesize("A short test.", voices.VoiceSpec("en-us", "m1"))
    for change in ({"pitch": 80}, {"rate": 250}, {"accent": "en-gb-scotland"}, {"variant": "f3"}):
        spec = voices.VoiceSpec(**{"accent": "en-us", "variant": "m1", **change})
        other = voices.synthesize("A short test.", spec)
        assert len(other.wav) != len(base.wav) or not np.array_equal(other.wav, base.wav), change
    fast = voices.synthesize("A short test.", voices.VoiceSpec("en-us", "m1", rate=300))
    assert len(fast.wav) < 0.8 * len(base.wav)


@pytest.mark.parametrize("kwargs, words", [
    ({"pitch": 150}, "pitch"), ({"rate": 10}, "rate"), ({"variant": "nobody"}, "variant"),
    ({"accent": "en-us+f3"}, "variant"), ({"volume": -1}, "volume"), ({"pitch": 50.5}, "pitch"),
])
def test_bad_voice_spec(kwargs, words):
    with pytest.raises(ValueError, match=words):
        voices.VoiceSpec(**kwargs)


def test_bad_synthesis_input():
    with pytest.raises(ValueError, match="no voice"):
        voices.synthesize("hello", voices.VoiceSpec("xx-nowhere"))
    with pytest.raises(ValueError, match="empty"):
        voices.synthesize("   ", voices.VoiceSpec())
    with pytest.raises(TypeError):
        voices.synthesize(42, voices.VoiceSpec())


def test_real_time_factor_reports_audio_and_compute():
    # the speed itself is recorded by `python -m benchmarks voices`, never asserted here
    result = voices.real_time_factor(voices.prompts()[:2])
    assert result["utterances"] == 2 and result["audio_s"] > 1 and result["compute_s"] > 0
    assert result["rtf"] == pytest.approx(result["compute_s"] / result["audio_s"])   # < 1: faster than real time
    assert result["x_real_time"] == pytest.approx(1 / result["rtf"])


# speakers -----------------------------------------------------------------------------------

def test_speaker_list_is_large_fixed_and_split():
    everyone = voices.speakers("all")
    train, heldout = voices.speakers("train"), voices.speakers("heldout")
    assert len(everyone) >= 200
    assert len({s.name for s in everyone}) == len(everyone)
    assert len({(s.accent, s.variant, s.pitch, s.pitch_range, s.rate) for s in everyone}) == len(everyone)
    assert {s.name for s in train}.isdisjoint({s.name for s in heldout})
    assert len(train) + len(heldout) == len(everyone)
    assert 0.1 < len(heldout) / len(everyone) < 0.3
    assert len({s.accent for s in heldout}) >= 6  # held-out speakers span the accents
    assert everyone[0] == voices.VoiceSpec("en-us", "m1", 35, 30, 150, name="spk000")
    assert voices.speaker("spk010") == everyone[10]
    with pytest.raises(KeyError):
        voices.speaker("spk999")
    with pytest.raises(ValueError):
        voices.speakers("test")


def _median_f0(wav, sr):
    import librosa

    f0 = librosa.yin(wav, fmin=60, fmax=500, sr=sr, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=wav, frame_length=1024, hop_length=256)[0]
    voiced = rms > 0.3 * rms.max()
    return float(np.median(f0[voiced]))


def test_pitch_levels_are_clearly_distinct():
    low, high = (voices.synthesize("We were away a year ago.", voices.VoiceSpec("en-us", "m2", pitch=p))
                 for p in voices.PITCHES)
    assert _median_f0(high.wav, high.sr) > 1.2 * _median_f0(low.wav, low.sr)


# prompts ------------------------------------------------------------------------------------

def test_prompts():
    train, heldout = voices.prompts("train"), voices.prompts("heldout")
    assert len(train) >= 200 and len(heldout) >= 40
    assert len(set(train)) == len(train) and not set(train) & set(heldout)
    for line in train + heldout:
        assert line.isascii() and not any(c.isdigit() for c in line), line
    with pytest.raises(ValueError):
        voices.prompts("dev")


# corpus ----------------------------------------------------------------------------------

def test_build_corpus_writes_wavs_and_manifest(cache):
    corpus = voices.build_corpus(3, 2, seed=1, progress=False)
    assert len(corpus) == 6 and len(corpus.speakers) == 3
    assert corpus.root.is_relative_to(cache / "corpus")
    manifest = json.loads((corpus.root / "manifest.json").read_text())
    assert len(manifest["items"]) == 6
    train_names = {s.name for s in voices.speakers("train")}
    for i, item in enumerate(corpus.items):
        assert item.speaker in train_names and item.text in voices.prompts()
        assert not Path(item.wav).is_absolute() and (corpus.root / item.wav).exists()
        wav, sr = corpus.load(i)
        assert sr == 22050 and wav.dtype == np.float32 and len(wav) == item.num_samples
        assert item.phonemes[0][1] == 0 and item.phonemes[-1][2] == len(wav)
        # the file holds exactly what synthesize gives (16-bit PCM is lossless for espeak)
        fresh = voices.synthesize(item.text, corpus.specs[item.speaker],
                                  seed=voices.corpus._utterance_seed(1, item.speaker, int(item.utterance[-4:])))
        assert np.array_equal(fresh.wav, wav)
        assert [list(p) for p in item.phonemes] == manifest["items"][i]["phonemes"]
    frame = corpus.to_frame()
    assert list(frame["speaker"]) == [item.speaker for item in corpus.items]
    assert set(corpus.by_speaker()) == set(corpus.speakers)
    assert not list(corpus.root.rglob("*.tmp"))
    reopened = voices.load_corpus(corpus.root)
    assert reopened.items == corpus.items


def test_build_corpus_reuses_the_cache(cache):
    first = voices.build_corpus(2, 2, seed=0, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in first.root.rglob("*") if p.is_file()}
    second = voices.build_corpus(2, 2, seed=0, progress=False)
    assert second.items == first.items
    assert stamps == {p: p.stat().st_mtime_ns for p in second.root.rglob("*") if p.is_file()}


def test_prefix_property_and_heldout_split(cache):
    small = voices.build_corpus(2, 2, seed=3, progress=False)
    big = voices.build_corpus(4, 2, seed=3, progress=False)
    assert big.speakers[:2] == small.speakers
    held = voices.build_corpus(2, 1, seed=0, split="heldout", text_split="heldout", progress=False)
    assert {s for s in held.speakers} <= {s.name for s in voices.speakers("heldout")}
    assert all(item.text in voices.prompts("heldout") for item in held.items)


def test_interrupted_build_leaves_no_corrupt_cache(cache, monkeypatch):
    real = voices.synthesize
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("simulated interruption")
        return real(*args, **kwargs)

    monkeypatch.setattr(voices.corpus, "synthesize", flaky)   # what build_corpus calls
    with pytest.raises(KeyboardInterrupt):
        voices.build_corpus(3, 2, seed=5, progress=False)
    root = next((cache / "corpus").iterdir())
    assert not (root / "manifest.json").exists()
    assert not list(root.rglob("*.tmp"))
    for wav in root.rglob("*.wav"):  # what was written is complete
        sf.read(str(wav))
    monkeypatch.setattr(voices.corpus, "synthesize", real)
    resumed = voices.build_corpus(3, 2, seed=5, progress=False)
    assert len(resumed) == 6 and (root / "manifest.json").exists()


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_fresh_builds_in_separate_processes_are_byte_identical(tmp_path):
    roots = []
    for name in ("a", "b"):
        env = {**os.environ, "COURSE_CACHE": str(tmp_path / name)}
        code = "from course_utils import voices; print(voices.build_corpus(4, 3, seed=7, progress=False).root)"
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        roots.append(Path(out))
    a, b = (_tree_digest(r) for r in roots)
    assert len(a) == 4 * 3 + 1 and a == b


def test_build_corpus_bad_arguments(cache):
    with pytest.raises(ValueError, match="n_speakers"):
        voices.build_corpus(10_000, 1)
    with pytest.raises(ValueError, match="utterances_per_speaker"):
        voices.build_corpus(1, 0)
    with pytest.raises(ValueError, match="split"):
        voices.build_corpus(1, 1, split="dev")
    with pytest.raises(TypeError):
        voices.build_corpus(2.5, 1)


# real corpora and own recordings ------------------------------------------------------------

def _tone(path: Path, sr: int = 16000, seconds: float = 0.3, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format=fmt)


def test_own_recordings_with_txt_files(tmp_path):
    for name, words in (("one", "Hello there."), ("two", "My own voice.")):
        _tone(tmp_path / f"{name}.wav")
        (tmp_path / f"{name}.txt").write_text(words + "\n")
    corpus = voices.load_recordings(tmp_path)
    assert [item.text for item in corpus.items] == ["Hello there.", "My own voice."]
    assert corpus.items[0].sr == 16000 and corpus.items[0].num_samples == 4800
    wav, sr = corpus.load(1)
    assert sr == 16000 and wav.shape == (4800,)


def test_own_recordings_with_metadata_csv(tmp_path):
    _tone(tmp_path / "wavs" / "a1.wav")
    _tone(tmp_path / "b2.wav", sr=22050)
    (tmp_path / "metadata.csv").write_text("a1|First sentence.\nb2.wav|Second sentence.\n")
    corpus = voices.load_recordings(tmp_path, speaker_name="learner")
    assert [item.wav for item in corpus.items] == ["wavs/a1.wav", "b2.wav"]
    assert corpus.speakers == ["learner"] and corpus.load(1)[1] == 22050


def test_own_recordings_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        voices.load_recordings(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no audio"):
        voices.load_recordings(tmp_path)
    _tone(tmp_path / "lonely.wav")
    with pytest.raises(FileNotFoundError, match="lonely.wav"):
        voices.load_recordings(tmp_path)
    (tmp_path / "lonely.txt").write_text("  ")
    with pytest.raises(ValueError, match="empty"):
        voices.load_recordings(tmp_path)
    (tmp_path / "lonely.txt").write_text("words")
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    (tmp_path / "broken.txt").write_text("words")
    with pytest.raises(ValueError, match="broken.wav"):
        voices.load_recordings(tmp_path)


def test_real_corpora_never_download_and_say_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        voices.load_libritts(tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True"):
        voices.load_vctk(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing was fetched or created


def test_libritts_and_vctk_layouts_are_read(tmp_path):
    lib = tmp_path / "LibriTTS" / "dev-clean" / "84" / "121123"
    _tone(lib / "84_121123_000007_000001.wav", sr=24000)
    (lib / "84_121123_000007_000001.normalized.txt").write_text("A normalised line.")
    (lib / "84_121123_000007_000001.original.txt").write_text("A normalised line.")
    corpus = voices.load_libritts(tmp_path, "dev-clean")
    assert corpus.items[0].speaker == "84" and corpus.items[0].text == "A normalised line."
    assert corpus.load(0)[1] == 24000

    vctk = tmp_path / "VCTK-Corpus-0.92"
    (vctk / "txt" / "p225").mkdir(parents=True)
    (vctk / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.\n")
    _tone(vctk / "wav48_silence_trimmed" / "p225" / "p225_001_mic2.flac", sr=48000, fmt="FLAC")
    corpus = voices.load_vctk(tmp_path)
    assert corpus.items[0].speaker == "p225" and corpus.items[0].text == "Please call Stella."
    assert corpus.load(0)[1] == 48000


def test_speaker_table_matches_the_committed_csv():
    import pandas as pd

    table = voices.speaker_table()
    committed = pd.read_csv(REPO_ROOT / "data" / "speakers.csv", keep_default_na=False)
    assert len(table) == len(voices.speakers("all"))
    # if this fails, data/speakers.csv is stale: regenerate it with
    # voices.speaker_table().to_csv("data/speakers.csv", index=False, lineterminator="\n")
    pd.testing.assert_frame_equal(table.astype(str), committed.astype(str))
    assert (table["split"] == "heldout").sum() == len(voices.speakers("heldout"))


def test_long_text_synthesis_keeps_the_alignment():
    long_text = " ".join(voices.prompts()[:25])
    utt = voices.synthesize(long_text, voices.VoiceSpec("en", "m4", rate=220))
    assert utt.duration > 30
    assert utt.phonemes[0][1] == 0 and utt.phonemes[-1][2] == len(utt.wav)
    assert all(a[2] == b[1] for a, b in zip(utt.phonemes, utt.phonemes[1:]))
    spoken = [s for s, _, _ in utt.phonemes if s != voices.PAUSE]
    expected = [t for t in text.phoneme_tokens(long_text, voice="en", normalize_first=False)
                if t not in (" ",) + text.PUNCTUATION]
    assert "".join(spoken) == "".join(expected)
