"""Issue 19: hostile or careless input gets a clear error, a stated warning or a correct result,
never a silent wrong one. Each test names the finding it covers (issue 19's numbering)."""

import datetime as dt

import numpy as np
import pytest

from course_utils import safety

TODAY = dt.date.today()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()


# -- 2. one key type for watermarks -------------------------------------------------------------

@pytest.fixture(scope="module")
def speech():
    from course_utils import voices
    utt = voices.synthesize("A sentence long enough to carry a watermark.", voices.VoiceSpec())
    return utt.wav, utt.sr


def test_2_watermark_keys_123_mean_the_same_key_in_any_type(speech):
    wav, sr = speech
    marked = safety.embed_watermark(wav, sr, "123")
    for key in (123, "123", np.int64(123), np.str_("123"), np.int32(123)):
        found, z = safety.detect_watermark(marked, sr, key)
        assert found, (key, z)
        assert np.array_equal(marked, safety.embed_watermark(wav, sr, key)), key
    assert not safety.detect_watermark(marked, sr, "124")[0]
    with pytest.raises(ValueError, match="key"):
        safety.embed_watermark(wav, sr, 1.5)


# -- 3. consent files parsed strictly ---------------------------------------------------------

def _file(tmp_path, text, name="consent.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = f"speaker: Ada Lovelace\ngranted_by: Ada Lovelace\ndate: {YESTERDAY}\npurpose: cloning my voice for the demo\n"


def test_3_a_good_consent_file_is_accepted(tmp_path):
    assert safety.require_consent(consent_file=_file(tmp_path, GOOD)).speaker == "Ada Lovelace"


@pytest.mark.parametrize("text, match", [
    (GOOD + "expires: 2020-01-01\nexpires:\n", r"line 6: .*expires.* twice"),
    (GOOD + "expires:\n", r"line 5: .*expires.* empty"),
    (GOOD + "speaker: Grace Hopper\n", r"line 5: .*speaker.* twice"),
    (GOOD + "colour: blue\n", r"line 5: unknown field 'colour'"),
    ("\ufeff" + GOOD, r"line 1: .*byte-order mark"),
])
def test_3_consent_files_with_duplicates_unknown_fields_or_a_bom_are_refused(tmp_path, text, match):
    with pytest.raises(safety.ConsentError, match=match):
        safety.require_consent(consent_file=_file(tmp_path, text))


def test_3_json_consent_with_a_duplicate_key_is_refused(tmp_path):
    text = ('{"speaker": "Ada Lovelace", "speaker": "Grace Hopper", "granted_by": "Ada Lovelace", '
            f'"date": "{YESTERDAY}", "purpose": "cloning my voice for the demo"}}')
    with pytest.raises(safety.ConsentError, match="'speaker' twice"):
        safety.require_consent(consent_file=_file(tmp_path, text, "consent.json"))


def test_3_statement_and_file_by_different_people_are_refused(tmp_path):
    statement = f"I, Grace Hopper, consent to cloning my voice for the demo on {YESTERDAY}"
    with pytest.raises(safety.ConsentError, match="Grace Hopper.*Ada Lovelace"):
        safety.require_consent(statement, _file(tmp_path, GOOD))


# -- 4. consent judged by what it says, not only by its form ----------------------------------

@pytest.mark.parametrize("statement, match", [
    (f"I, Ada Lovelace, consent to absolutely nothing, and I forbid cloning my voice, on {YESTERDAY}",
     "does not grant"),
    (f"I, Ada Lovelace, consent to no cloning of my voice whatsoever on {YESTERDAY}", "does not grant"),
    ("I, Ada Lovelace, consent to cloning my voice for the demo on 0001-01-01", "not a plausible date"),
    ("I, Ada Lovelace, consent to cloning my voice for the demo on 11/10/2026", "ambiguous"),
])
def test_4_consent_that_refuses_or_is_ambiguous_is_refused(statement, match):
    with pytest.raises(safety.ConsentError, match=match):
        safety.require_consent(statement)


def test_4_names_in_any_script_and_unambiguous_dates_are_accepted():
    record = safety.require_consent(f"I, 李明, consent to cloning my voice for the demo on {YESTERDAY}")
    assert record.speaker == "李明"
    day = TODAY - dt.timedelta(days=20)
    if day.day > 12:            # 25/11/2026 can only be day-first
        record = safety.require_consent(f"I, Ada Lovelace, consent to cloning my voice on {day:%d/%m/%Y}")
        assert record.date == day.isoformat()


# -- 1 and 7. damaged checkpoints ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    from course_utils import cloning, speaker

    torch.manual_seed(0)
    model = cloning.AcousticModel(cloning.ClonerConfig.tiny(speaker_dim=256))
    with torch.no_grad():                          # about a second of audio whatever the text
        model.duration.out.bias.fill_(np.log1p(20.0))
    cloner = cloning.VoiceCloner(model, speaker.SpeakerEncoder.pretrained())
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    cloner.save(path)
    return cloner, path


def _flip_bytes(path, out, n=4096, seed=0):
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    start = len(data) // 2
    for i in rng.choice(np.arange(start, len(data) - 16), size=n, replace=False):
        data[i] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def test_1_a_checkpoint_with_flipped_bytes_is_refused_with_its_path(tiny, tmp_path):
    from course_utils import cloning

    _, path = tiny
    bad = _flip_bytes(path, tmp_path / "flipped.pt")
    assert bad.stat().st_size == path.stat().st_size
    with pytest.raises(cloning.CloningError, match=r"flipped\.pt.*(damaged|not a cloner checkpoint)") as info:
        cloning.VoiceCloner.load(bad)
    assert "train" in str(info.value) or "copy" in str(info.value)


def test_1_a_checkpoint_with_non_finite_weights_is_refused(tiny, tmp_path):
    import torch

    from course_utils import cloning

    cloner, _ = tiny
    checkpoint = cloner.checkpoint()
    name = next(k for k, v in checkpoint["state_dict"].items() if v.is_floating_point() and v.numel() > 1)
    checkpoint["state_dict"][name][0] = float("nan")
    checkpoint.pop("sha256", None)                 # as if written by a tool that does not checksum
    torch.save(checkpoint, tmp_path / "nan.pt")
    with pytest.raises(cloning.CloningError, match=r"nan\.pt.*NaN or infinite"):
        cloning.VoiceCloner.load(tmp_path / "nan.pt")


def test_7_a_damaged_cached_checkpoint_is_not_retrained_over_silently(tiny, tmp_path, monkeypatch):
    from course_utils import cloning

    cloner, path = tiny
    cached = cloning.VoiceCloner.checkpoint_path(cloner.config)
    monkeypatch.setattr(cloning.ClonerConfig, "checkpoint_path", lambda self: tmp_path / "cached.pt")
    _flip_bytes(path, tmp_path / "cached.pt")
    before = (tmp_path / "cached.pt").read_bytes()
    trained = []
    monkeypatch.setattr(cloning.cloner, "train", lambda *a, **k: trained.append(1) or cloner)
    with pytest.raises(cloning.CloningError, match=r"cached\.pt.*retrain=True"):
        cloning.VoiceCloner.trained(config=cloner.config)
    assert not trained and (tmp_path / "cached.pt").read_bytes() == before
    cloning.VoiceCloner.trained(config=cloner.config, retrain=True, progress=False)
    assert trained == [1]
    assert cached is not None


def test_7_a_wav_given_as_checkpoint_gets_the_right_advice(tmp_path):
    import soundfile as sf

    from course_utils import cloning

    sf.write(tmp_path / "my.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(cloning.CloningError, match="my.wav.*not a cloner checkpoint") as info:
        cloning.VoiceCloner.load(tmp_path / "my.wav")
    assert "delete it" not in str(info.value)


# -- 8. a short text on the command line ----------------------------------------------------------

def test_8_clone_says_a_short_text_with_a_watermark_key(tiny, tmp_path):
    """`clone --text "Hi."` used to fail: the command line marked the clip without the padding
    that synthesize applies; now synthesize marks it, with the key given."""
    import subprocess
    import sys

    import soundfile as sf
    import torch

    from course_utils import cloning, env, voices

    cloner, _ = tiny
    short = cloning.VoiceCloner(cloning.AcousticModel(cloner.config), cloner.speaker_encoder)
    short.model.load_state_dict(cloner.model.state_dict())
    with torch.no_grad():
        short.model.duration.out.bias.fill_(np.log1p(2.0))            # two frames per phoneme
    short.save(tmp_path / "short.pt")
    utt = voices.synthesize("A reference sentence for the voice, long enough.", voices.VoiceSpec())
    sf.write(tmp_path / "ref.wav", utt.wav, utt.sr)
    result = subprocess.run(
        [sys.executable, "-m", "course_utils", "clone", "--text", "Hi.", "--reference", "ref.wav", "--out", "hi.wav",
         "--checkpoint", "short.pt", "--watermark-key", "123",
         "--consent", f"I, Ada Lovelace, consent to cloning my voice for the test suite on {YESTERDAY}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**__import__("os").environ,
                                                                        "PYTHONPATH": str(env.REPO_ROOT)})
    assert result.returncode == 0, result.stderr[-1500:]
    wav, sr = sf.read(tmp_path / "hi.wav")
    assert 0 < len(wav) < safety.MIN_SECONDS * sr          # shorter than a mark needs: padded to mark it


# -- 9. unbounded requests -------------------------------------------------------------------------

@pytest.mark.parametrize("pace", [0, -1, float("nan"), float("inf"), 1e6, "fast"])
def test_9_pace_outside_its_range_is_refused(tiny, pace):
    from course_utils import cloning

    cloner, _ = tiny
    voice = np.ones(256, np.float32) / 16
    with pytest.raises(cloning.CloningError, match="pace"):
        cloner.synthesize("Hello there.", voice, pace=pace)


def test_9_fine_tuning_steps_are_bounded(tiny):
    from course_utils import finetune, voices

    cloner, _ = tiny
    utt = voices.synthesize("A reference sentence for the voice.", voices.VoiceSpec())
    with pytest.raises(finetune.FinetuneError, match="steps"):
        finetune.finetune(cloner, [(utt.wav, utt.text if hasattr(utt, "text") else "A reference sentence for the voice.")],
                          utt.sr, steps=10 ** 9)


# -- smaller: a waveform without its sample rate is not an embedding -----------------------------

def test_secs_refuses_a_waveform_given_without_its_rate():
    from course_utils import metrics

    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    with pytest.raises(ValueError, match=r"waveform.*\(wav, sr\)"):
        metrics.secs(wav, wav)


# -- 5. references that are not speech, or not usable speech ------------------------------------

def _reference(seconds=3.0, sr=16000):
    from course_utils import audio, voices

    utt = voices.synthesize("The quick brown fox jumps over the lazy dog, twice over.", voices.VoiceSpec())
    return audio.resample(utt.wav, utt.sr, sr), sr


@pytest.mark.parametrize("make, match", [
    (lambda: ((0.1 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32), 16000), "not speech"),
    (lambda: ((0.3 * np.sin(2 * np.pi * 220 * np.arange(48000) / 16000)).astype(np.float32), 16000), "steady tone"),
    (lambda: (_reference()[0] / np.abs(_reference()[0]).max() * 662.0, 16000), "peaks at 662"),
    (lambda: _reference(sr=8000), "8000 Hz"),
])
def test_5_non_speech_or_unusable_references_are_refused(tiny, make, match):
    from course_utils import audio

    cloner, _ = tiny
    wav, sr = make()
    with pytest.raises(audio.AudioError, match=match) as info:
        cloner.enroll([_reference()[0], wav], 16000 if sr == 16000 else sr)
    assert "reference 2 of 2" in str(info.value) or "8000 Hz" in str(info.value)


def test_5_a_narrow_band_or_clipped_reference_gets_a_warning_with_the_reason(tiny):
    from scipy.signal import butter, sosfiltfilt

    cloner, _ = tiny
    wav, sr = _reference()
    muffled = sosfiltfilt(butter(8, 3400, fs=sr, output="sos"), wav).astype(np.float32)
    with pytest.warns(UserWarning, match=r"narrow-band: .* above 3\.\d kHz"):
        cloner.enroll([muffled], sr)
    clipped = np.clip(wav * 8, -1, 1).astype(np.float32)
    with pytest.warns(UserWarning, match=r"clipped: \d+(\.\d)? % of the samples"):
        cloner.enroll([clipped], sr)


def test_5_speech_passes_the_checks_silently(tiny):
    import warnings

    from course_utils import audio

    wav, sr = _reference()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = audio.check_speech(wav, sr)
    assert report["voiced"] > 0.3 and report["bandwidth_hz"] > 6000


def test_5_a_lossy_decoders_small_overshoot_is_accepted_but_an_unscaled_file_is_not():
    """A bundled Ogg Vorbis reading decodes to a peak of 1.05 (the codec overshoots full scale): it
    is a usable reference (it was refused, with "peaks at 1 times full scale", before)."""
    from course_utils import audio, voices

    corpus = voices.librispeech_readers("train")
    i = next(i for i, item in enumerate(corpus.items) if item.wav.endswith("1963-142393-0000.ogg"))
    wav, sr = corpus.load(i)
    report = audio.check_speech(wav, sr)
    assert 1.0 < report["peak"] <= audio.MAX_PEAK
    with pytest.raises(audio.AudioError, match=r"peaks at 1\.6 times full scale"):
        audio.check_speech(wav / report["peak"] * 1.6, sr)


# -- 9. text normalisation in linear time, and long numbers read digit by digit -----------------

@pytest.mark.parametrize("make", [lambda n: "a" + " " * n + "b", lambda n: "1" * n, lambda n: "1" * n + "%",
                                  lambda n: "7" * n + " kg"])
def test_9_normalize_handles_long_runs_of_spaces_and_digits(make):
    from course_utils import text

    out = text.normalize(make(20_000))                  # quadratic before: 100k spaces took 36 s
    assert len(out) < 20_000 * 8
    if "1" in make(1) or "7" in make(1):
        assert out.split()[:3] in (["one", "one", "one"], ["seven", "seven", "seven"])   # digit by digit


def test_9_numbers_past_the_named_scales_are_read_digit_by_digit():
    from course_utils import text

    assert text.normalize("1234567890123456789012345") == " ".join(
        text.digits_to_words("1234567890123456789012345").split())
    assert text.normalize("1e309") == "one e three hundred nine"
    assert text.normalize("$-0.00").startswith("minus zero dollars")


# -- 10. files: the user's umask, no temporary leftovers, one training at a time --------------

def test_10_outputs_follow_the_umask(tmp_path):
    import os

    from course_utils import env

    old = os.umask(0o022)
    try:
        with env.atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644


def test_10_stale_temporary_files_of_killed_runs_are_cleaned(tmp_path):
    import os
    import time

    from course_utils import env

    stale = tmp_path / ".out.bin.abc123.tmp"
    fresh = tmp_path / ".out.bin.def456.tmp"      # maybe another run's, still writing
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    hours_ago = time.time() - 3 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    with env.atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"x")
    assert not stale.exists() and fresh.exists()


def test_10_sigterm_leaves_no_temporary_file(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from course_utils import env

    script = ("import sys, time\nfrom course_utils import env\nenv.handle_sigterm()\n"
              f"with env.atomic_path({str(tmp_path / 'out.bin')!r}) as tmp:\n"
              "    tmp.write_bytes(b'x'); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(env.REPO_ROOT)})
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    time.sleep(0.1)
    assert proc.returncode != 0 and not list(tmp_path.glob("*.tmp")) and not (tmp_path / "out.bin").exists()


def test_10_two_cold_cache_runs_train_once(tiny, tmp_path, monkeypatch):
    import threading
    import time

    from course_utils import cloning

    cloner, _ = tiny
    monkeypatch.setattr(cloning.ClonerConfig, "checkpoint_path", lambda self: tmp_path / "cold.pt")
    calls = []

    def slow_train(*args, **kwargs):
        calls.append(1)
        time.sleep(1.0)
        return cloner

    monkeypatch.setattr(cloning.cloner, "train", slow_train)
    results = []
    runs = [threading.Thread(target=lambda: results.append(cloning.VoiceCloner.trained(config=cloner.config,
                                                                                       progress=False)))
            for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(calls) == 1 and len(results) == 2


# -- smaller findings: control sequences, other scripts, very long texts --------------------------

def test_ansi_escapes_and_control_characters_are_not_spoken():
    from course_utils import text

    assert text.normalize("\x1b[31mred alert\x1b[0m now") == "red alert now"
    assert text.normalize("tab\there\x07bell") == "tab here bell"


def test_dropping_another_script_says_so():
    from course_utils import text

    with pytest.warns(UserWarning, match=r"dropped 2 characters .*你好"):
        assert text.normalize("Hello 你好 world") == "hello world"


def test_a_text_too_long_for_one_call_is_refused_with_what_to_do(tiny):
    from course_utils import cloning

    cloner, _ = tiny
    with pytest.raises(cloning.CloningError, match=r"characters.*split"):
        cloner.phonemes("word " * 5000)


def test_10_a_failed_write_is_an_error_message_not_a_traceback(tiny, tmp_path, monkeypatch):
    from course_utils import __main__ as cli

    cloner, path = tiny
    from course_utils import voices
    import soundfile as sf

    utt = voices.synthesize("A reference sentence for the voice, long enough.", voices.VoiceSpec())
    sf.write(tmp_path / "ref.wav", utt.wav, utt.sr)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "_write_wav", full_disk)
    code = cli.main(["clone", "--text", "Hello there.", "--reference", str(tmp_path / "ref.wav"),
                     "--out", str(tmp_path / "x.wav"), "--checkpoint", str(path),
                     "--consent", f"I, Ada Lovelace, consent to cloning my voice for the test suite on {YESTERDAY}"])
    assert code == 1 and not (tmp_path / "x.wav").exists()
