"""course_utils.audio: librosa parity, batching, trimming, loudness and clear errors on bad files."""

import math

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from course_utils import audio

# Stated tolerances (float32 throughout): STFT and mel within 1e-5 of the largest value,
# log-mel within 1e-3 (natural-log units, i.e. 0.1 % of each mel value) of librosa's numbers.
REL_TOL, LOG_TOL = 1e-5, 1e-3


def speechlike(sr: int, seconds: float = 1.2, lead: float = 0.3, tail: float = 0.4, seed: int = 0):
    """Silence, a voiced harmonic sound with noise and syllable-rate modulation, silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20) if k * 150 < sr / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    body = 0.2 * envelope * voiced + 0.01 * rng.standard_normal(t.size)
    x = np.concatenate([np.zeros(int(lead * sr)), body, np.zeros(int(tail * sr))])
    return x.astype(np.float32)


# --- features equal librosa's ------------------------------------------------------------------

CONFIGS = {
    "speaker_encoder": audio.PRESETS["speaker_encoder"],
    "synthesizer": audio.PRESETS["synthesizer"],
    "htk_no_norm_constant_pad": audio.FeatureConfig(sr=24000, n_fft=512, hop_length=120,
                                                    win_length=480, n_mels=64, fmin=50.0,
                                                    mel_scale="htk", mel_norm=None,
                                                    pad_mode="constant"),
    "no_center": audio.PRESETS["synthesizer"].replace(center=False, power=2.0),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_stft_equals_librosa(name):
    cfg = CONFIGS[name]
    x = speechlike(cfg.sr)
    ours = audio.stft(x, cfg)
    ref = librosa.stft(x, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                       window="hann", center=cfg.center, pad_mode=cfg.pad_mode)
    assert ours.shape == ref.shape == (cfg.n_freqs, cfg.n_frames(x.size))
    assert np.abs(ours - ref).max() <= REL_TOL * np.abs(ref).max()


@pytest.mark.parametrize("name", CONFIGS)
def test_mel_and_log_mel_equal_librosa(name):
    cfg = CONFIGS[name]
    x = speechlike(cfg.sr, seed=1)
    ref = librosa.feature.melspectrogram(y=x, **cfg.librosa_kwargs())
    mel = audio.mel_spectrogram(x, cfg)
    assert mel.shape == ref.shape == (cfg.n_mels, cfg.n_frames(x.size))
    assert mel.dtype == np.float32
    assert np.abs(mel - ref).max() <= REL_TOL * ref.max()
    ref_log = np.log(np.maximum(ref, cfg.log_floor))
    assert np.abs(audio.log_mel(x, cfg) - ref_log).max() <= LOG_TOL


@pytest.mark.parametrize("name", ["speaker_encoder", "synthesizer"])
def test_log_mel_of_espeak_speech_equals_librosa(name):
    from course_utils import voices

    cfg = audio.preset(name)
    utt = voices.synthesize("She sells sea shells by the sea shore.", voices.speakers()[5])
    wav = audio.resample(utt.wav, utt.sr, cfg.sr)
    ref = librosa.feature.melspectrogram(y=wav, **cfg.librosa_kwargs())
    assert np.abs(audio.mel_spectrogram(wav, cfg) - ref).max() <= REL_TOL * ref.max()
    assert np.abs(audio.log_mel(wav, cfg) - np.log(np.maximum(ref, cfg.log_floor))).max() <= LOG_TOL


@pytest.mark.parametrize("name", ["speaker_encoder", "synthesizer"])
def test_filterbank_equals_librosa(name):
    cfg = audio.preset(name)
    ref = librosa.filters.mel(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin,
                              fmax=cfg.fmax, htk=False, norm="slaney")
    assert np.abs(audio.mel_filterbank(cfg).numpy() - ref).max() <= REL_TOL * ref.max()


def test_presets_match_their_papers():
    enc, syn = audio.preset("speaker_encoder"), audio.preset("synthesizer")
    assert (enc.sr, enc.n_mels, enc.n_fft, enc.hop_length) == (16000, 40, 400, 160)  # 25 ms / 10 ms
    assert (syn.sr, syn.n_mels, syn.n_fft, syn.hop_length, syn.fmax) == (22050, 80, 1024, 256, 8000)
    with pytest.raises(audio.AudioError, match="unknown feature preset"):
        audio.preset("tacotron")
    with pytest.raises(audio.AudioError, match="fmax"):
        audio.FeatureConfig(sr=16000, fmax=9000)


# --- batching ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["speaker_encoder", "synthesizer"])
def test_batch_equals_one_by_one(name):
    cfg = audio.preset(name)
    wavs = [speechlike(cfg.sr, seconds=s, seed=i) for i, s in enumerate([0.2, 1.0, 0.55, 0.05])]
    feats, lengths = audio.log_mel_batch(wavs, cfg, batch_size=3)
    assert feats.shape == (4, cfg.n_mels, int(lengths.max()))
    assert lengths.tolist() == [cfg.n_frames(w.size) for w in wavs]
    for wav, got in zip(wavs, audio.unbatch(feats, lengths)):
        assert np.abs(got - audio.log_mel(wav, cfg)).max() <= 1e-5
    # padded frames are "silence" (the log floor), not zeros
    short = int(lengths[0])
    assert torch.all(feats[0, :, short:] == math.log(cfg.log_floor))


def test_batch_reads_paths_and_names_the_bad_one(tmp_path):
    cfg = audio.preset("speaker_encoder")
    good = audio.save(tmp_path / "good.wav", speechlike(22050), 22050)
    feats, lengths = audio.log_mel_batch([good, speechlike(cfg.sr)], cfg)
    wav, _ = audio.load(good, sr=cfg.sr)
    assert int(lengths[0]) == cfg.n_frames(wav.size)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(audio.AudioError, match="bad.wav"):
        audio.log_mel_batch([good, bad], cfg)
    with pytest.raises(audio.AudioError, match="item 1 of the batch.*NaN"):
        audio.log_mel_batch([speechlike(cfg.sr), np.full(1000, np.nan, np.float32)], cfg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_batch_on_cuda_matches_cpu():
    cfg = audio.preset("synthesizer")
    wavs = [speechlike(cfg.sr, seconds=s, seed=i) for i, s in enumerate([0.4, 1.1])]
    cpu, _ = audio.log_mel_batch(wavs, cfg, device="cpu")
    gpu, lengths = audio.log_mel_batch(wavs, cfg, device="cuda")
    assert gpu.device.type == "cuda" and lengths.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-3)


# --- loading -----------------------------------------------------------------------------------

def test_load_mixes_down_and_resamples(tmp_path):
    sr = 44100
    x = speechlike(sr)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([x, 0.5 * x], axis=1), sr)
    wav, got_sr = audio.load(path)
    assert got_sr == sr and wav.dtype == np.float32 and wav.ndim == 1
    assert np.allclose(wav, 0.75 * x, atol=1e-4)  # mean of the channels (16-bit FLAC)
    for target in (16000, 22050, 24000):
        wav, got_sr = audio.load(path, sr=target)
        assert got_sr == target and abs(wav.size - x.size * target / sr) <= 1


def test_resampling_removes_content_above_the_new_nyquist():
    sr = 48000
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 11000 * t).astype(np.float32)  # above 8 kHz, the Nyquist of 16 kHz
    naive = tone[::3]  # decimation without a filter aliases it to 16000 - 11000 = 5 kHz
    assert audio.rms_dbfs(naive) > -4
    assert audio.rms_dbfs(audio.resample(tone, sr, 16000)) < -40


def _write_bad_files(tmp_path):
    sr = 16000
    files = {}
    files["empty"] = tmp_path / "empty.wav"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.wav"
    files["text"].write_text("these are my notes, not audio\n")
    good = audio.save(tmp_path / "good.wav", speechlike(sr), sr)
    files["truncated"] = tmp_path / "truncated.wav"
    files["truncated"].write_bytes(good.read_bytes()[:30])
    files["no samples"] = tmp_path / "nosamples.wav"
    sf.write(files["no samples"], np.zeros(0, np.float32), sr)
    files["zeros"] = tmp_path / "zeros.wav"
    sf.write(files["zeros"], np.zeros(sr, np.float32), sr)
    files["quiet"] = tmp_path / "quiet.wav"
    sf.write(files["quiet"], 1e-4 * speechlike(sr), sr, subtype="FLOAT")
    nan = speechlike(sr)
    nan[1234] = np.nan
    files["nan"] = tmp_path / "nan.wav"
    sf.write(files["nan"], nan, sr, subtype="FLOAT")
    inf = speechlike(sr)
    inf[99] = np.inf
    files["inf"] = tmp_path / "inf.wav"
    sf.write(files["inf"], inf, sr, subtype="FLOAT")
    files["low rate"] = tmp_path / "low_rate.wav"
    sf.write(files["low rate"], speechlike(sr)[:2000], 500)
    files["high rate"] = tmp_path / "high_rate.wav"
    sf.write(files["high rate"], speechlike(sr)[:2000], 500_000)
    return files


@pytest.mark.parametrize("case, message", [
    ("empty", r"empty \(0 bytes\)"),
    ("text", "not a readable audio file or corrupt"),
    ("truncated", "not a readable audio file or corrupt"),
    ("no samples", "holds no samples"),
    ("zeros", "silent"),
    ("quiet", "silent"),
    ("nan", r"NaN/inf sample\(s\), the first at index 1234"),
    ("inf", r"NaN/inf sample\(s\), the first at index 99"),
    ("low rate", "sample rate 500 Hz is outside"),
    ("high rate", "sample rate 500000 Hz is outside"),
])
def test_bad_files_give_a_clear_error_naming_the_file(tmp_path, case, message):
    path = _write_bad_files(tmp_path)[case]
    with pytest.raises(audio.AudioError, match=message) as info:
        audio.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(audio.AudioError, match="no such file") as info:
        audio.load(tmp_path / "nope.wav")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(audio.AudioError, match="is a folder"):
        audio.load(tmp_path)


def test_silent_allowed_on_request_and_too_short(tmp_path):
    path = tmp_path / "zeros.wav"
    sf.write(path, np.zeros(800, np.float32), 16000)
    wav, sr = audio.load(path, allow_silent=True)
    assert wav.size == 800 and sr == 16000
    with pytest.raises(audio.AudioError, match=r"too short: 0.050 s, at least 0.5 s"):
        audio.load(path, allow_silent=True, min_duration=0.5)


@pytest.mark.parametrize("sr", [0, 999, 400_000, 16000.5, "16k"])
def test_absurd_requested_sample_rate(tmp_path, sr):
    path = audio.save(tmp_path / "ok.wav", speechlike(16000), 16000)
    with pytest.raises(audio.AudioError, match="sample rate"):
        audio.load(path, sr=sr)


@pytest.mark.parametrize("wav, message", [
    (np.zeros((2, 100), np.float32), "mono"),
    (np.array(["a", "b"]), "numeric"),
    (np.zeros(0, np.float32), "empty"),
    (np.r_[np.zeros(500), np.inf].astype(np.float32), "NaN/inf"),
])
def test_bad_arrays(wav, message):
    with pytest.raises(audio.AudioError, match=message):
        audio.log_mel(wav, "speaker_encoder")


def test_too_short_for_the_stft():
    with pytest.raises(audio.AudioError, match="too short"):
        audio.log_mel(np.ones(100, np.float32) * 0.1, "synthesizer")  # reflect padding needs 513


def test_integer_pcm_arrays_are_scaled():
    x = (speechlike(16000) * 32767).astype(np.int16)
    assert np.allclose(audio.check_wav(x), x / 32768, atol=1e-6)


# --- trimming and loudness ---------------------------------------------------------------------

@pytest.mark.parametrize("method", ["energy", "vad"])
def test_trimming_finds_the_speech(method):
    sr = 16000
    x = speechlike(sr, seconds=1.2, lead=0.3, tail=0.4)
    start, end = audio.speech_bounds(x, sr, method, margin=0.0)
    tol = 0.05 if method == "energy" else 0.12  # WebRTC's VAD holds on a few 30 ms frames
    assert abs(start / sr - 0.3) < tol, start / sr
    assert abs(end / sr - 1.5) < tol, end / sr
    trimmed = audio.trim_silence(x, sr, method, margin=0.0)
    assert trimmed.size == end - start


@pytest.mark.parametrize("hiss", [0.0, 0.002, 0.01])
def test_vad_finds_espeak_speech_in_noise(hiss):
    from course_utils import voices

    utt = voices.synthesize("Numbers become pictures.", voices.speakers()[0])
    lead, tail = int(0.4 * utt.sr), int(0.6 * utt.sr)
    x = np.concatenate([np.zeros(lead), utt.wav, np.zeros(tail)]).astype(np.float32)
    x += (hiss * np.random.default_rng(0).standard_normal(x.size)).astype(np.float32)
    spoken = [(a, b) for s, a, b in utt.phonemes if s != voices.PAUSE]
    start, end = audio.speech_bounds(x, utt.sr, "vad", margin=0.0)
    assert abs(start - (lead + spoken[0][0])) < 0.1 * utt.sr  # no start-up false alarm
    assert abs(end - (lead + spoken[-1][1])) < 0.15 * utt.sr


def test_trimming_silence_is_an_error():
    with pytest.raises(audio.AudioError, match="silent"):
        audio.trim_silence(np.zeros(16000, np.float32), 16000)
    with pytest.raises(audio.AudioError, match="unknown trimming method"):
        audio.trim_silence(speechlike(16000), 16000, "magic")


def test_rms_normalisation_hits_the_target_without_clipping():
    x = speechlike(16000)
    y = audio.normalize_loudness(x, -26.0)
    assert abs(audio.rms_dbfs(y) - (-26.0)) < 0.01
    loud = audio.normalize_loudness(x, 0.0)  # would clip: the gain is limited
    assert np.max(np.abs(loud)) <= 0.99 + 1e-6 and audio.rms_dbfs(loud) < 0.0
    with pytest.raises(audio.AudioError, match="silent"):
        audio.normalize_loudness(np.zeros(1000, np.float32))


def test_lufs_normalisation():
    sr = 22050
    y = audio.normalize_loudness(speechlike(sr), -23.0, sr=sr, measure="lufs")
    assert abs(audio.lufs(y, sr) - (-23.0)) < 0.1
    with pytest.raises(audio.AudioError, match="needs the sample rate"):
        audio.normalize_loudness(speechlike(sr), -23.0, measure="lufs")


def test_levels_of_a_full_scale_sine():
    t = np.arange(16000) / 16000
    sine = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    assert abs(audio.rms_dbfs(sine) - (-3.01)) < 0.01
    assert abs(audio.peak_dbfs(sine)) < 0.01
    assert audio.rms_dbfs(np.zeros(10)) == -math.inf


@pytest.mark.parametrize("name", ["speaker_encoder", "synthesizer"])
def test_preprocess_pipeline(name, tmp_path):
    cfg = audio.preset(name)
    x = speechlike(44100)
    y = audio.preprocess(x, 44100, cfg)
    assert y.dtype == np.float32
    assert 1.1 * cfg.sr < y.size < 1.4 * cfg.sr  # 0.7 s of silence removed, speech kept
    assert abs(audio.rms_dbfs(y) - cfg.loudness_dbfs) < 0.5
    path = audio.save(tmp_path / "x.wav", x, 44100)
    feats = audio.features_from_file(path, cfg)
    assert feats.shape[0] == cfg.n_mels and np.isfinite(feats).all()


# --- alignment ---------------------------------------------------------------------------------

@pytest.mark.parametrize("center", [True, False])
def test_durations_in_frames_follow_frame_centres(center):
    cfg = audio.PRESETS["synthesizer"].replace(center=center)
    n = 10_000
    spans = [("_", 0, 300), ("a", 300, 301), ("b", 301, 5000), ("_", 5000, n)]
    durations = audio.durations_in_frames(spans, n, cfg)
    assert durations.sum() == cfg.n_frames(n) and (durations >= 0).all()
    offset = 0 if center else cfg.n_fft // 2
    centres = np.arange(cfg.n_frames(n)) * cfg.hop_length + offset
    owner = np.repeat(np.arange(len(spans)), durations)
    for t, k in zip(centres, owner):
        if t < n:
            assert spans[k][1] <= t < spans[k][2]
    with pytest.raises(audio.AudioError, match="contiguously"):
        audio.durations_in_frames([("a", 0, 10), ("b", 20, n)], n, cfg)
