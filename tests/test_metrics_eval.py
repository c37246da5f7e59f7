"""Tests of the evaluation metrics of notebook 10: SECS, MCD (with and without DTW), DNSMOS, speed.

EER is tested in ``tests/test_metrics.py``. Everything here runs on synthetic signals or short
espeak clips and stays well under 40 s on two busy CPU cores.
"""

import socket

import numpy as np
import pytest

from course_utils import metrics

SR = 16000


def speechlike(sr=SR, seg_s=0.12, stretch=1.0, seed=0, n_seg=12):
    """A toy utterance: harmonic segments, each with its own pitch and three formants.

    ``stretch`` lengthens every segment (a slower speaking rate with the same spectra).
    """
    rng = np.random.default_rng(seed)
    f0s = rng.uniform(100, 220, n_seg)
    formants = rng.uniform([300, 900, 2200], [900, 2200, 3500], (n_seg, 3))
    out = []
    for f0, fm in zip(f0s, formants):
        t = np.arange(int(seg_s * stretch * sr)) / sr
        ks = np.arange(1, int(sr / 2 / f0))
        amp = sum(np.exp(-0.5 * ((ks * f0 - f) / 120.0) ** 2) for f in fm) + 0.02
        out.append((amp[:, None] * np.sin(2 * np.pi * ks[:, None] * f0 * t[None])).sum(0))
    wav = np.concatenate(out)
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def with_noise(wav, snr_db, seed=1):
    noise = np.random.default_rng(seed).standard_normal(wav.size)
    noise *= np.sqrt(np.mean(wav.astype(np.float64) ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return (wav + noise).astype(np.float32)


@pytest.fixture(scope="module")
def clip():
    return speechlike()


# ------------------------------------------------------------------------------------ MCD


def test_mcd_of_a_signal_with_itself_is_zero(clip):
    assert metrics.mcd_dtw(clip, clip, SR) == 0.0
    assert metrics.mcd_plain(clip, clip, SR) == 0.0


def test_mel_cepstrum_shape_and_settings(clip):
    c = metrics.mel_cepstrum(clip, SR)
    hop = int(SR * metrics.MCD_HOP_MS / 1000)
    assert c.shape == (1 + clip.size // hop, metrics.MCD_ORDER + 1)
    assert metrics.mcd_config(SR).win_length == 400 and metrics.mcd_config(22050).hop_length == 110
    assert metrics.mel_cepstrum(clip, SR, order=12).shape[1] == 13


def test_c0_is_excluded(clip):
    """A gain only shifts the log spectrum, i.e. only c0: the MCD ignores it."""
    assert metrics.mcd_dtw(clip, 0.25 * clip, SR) == pytest.approx(0.0, abs=1e-4)
    c1, c2 = metrics.mel_cepstrum(clip, SR), metrics.mel_cepstrum(0.25 * clip, SR)
    assert np.allclose(c1[:, 0] - c2[:, 0], np.log(4.0), atol=1e-4)


def test_mcd_grows_with_noise(clip):
    values = [metrics.mcd_dtw(clip, with_noise(clip, snr), SR) for snr in (40, 20, 10, 0)]
    assert all(a < b for a, b in zip(values, values[1:])), values
    assert values[0] < 1.0 < values[-1]


def test_mcd_grows_with_filtering(clip):
    """A stronger first-order high-pass (spectral tilt) is a larger distortion."""
    def tilt(a):
        return np.r_[clip[0], clip[1:] - a * clip[:-1]].astype(np.float32)

    values = [metrics.mcd_plain(clip, tilt(a), SR) for a in (0.1, 0.4, 0.9)]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_alignment_forgives_a_slower_speaking_rate(clip):
    slow = speechlike(stretch=1.3)
    aligned, plain = metrics.mcd_dtw(clip, slow, SR), metrics.mcd_plain(clip, slow, SR)
    assert aligned < 1.0, aligned
    assert plain > 4 * aligned, (aligned, plain)


def test_mcd_accepts_wav_sr_pairs_and_returns_the_path(clip):
    value, path = metrics.mcd_dtw((clip, SR), (clip[:-800], SR), return_path=True)
    assert value == pytest.approx(metrics.mcd_dtw(clip, clip[:-800], SR))
    assert tuple(path[0]) == (0, 0) and np.all(np.diff(path, axis=0) >= 0)
    assert np.all(np.diff(path, axis=0).sum(1) >= 1)


def _reference_dtw_cost(cost):
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return acc[n, m]


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (7, 5), (9, 13)])
def test_dtw_path_is_optimal(shape):
    cost = np.random.default_rng(sum(shape)).random(shape)
    path = metrics.dtw_path(cost)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (shape[0] - 1, shape[1] - 1)
    steps = np.diff(path, axis=0)
    assert all(tuple(s) in {(0, 1), (1, 0), (1, 1)} for s in steps)
    assert cost[path[:, 0], path[:, 1]].sum() == pytest.approx(_reference_dtw_cost(cost))


def test_mcd_bad_inputs(clip, monkeypatch):
    with pytest.raises(ValueError, match="empty"):
        metrics.mcd_dtw(np.zeros(0, np.float32), clip, SR)
    with pytest.raises(ValueError, match="NaN"):
        metrics.mcd_dtw(np.r_[clip, np.nan], clip, SR)
    with pytest.raises(ValueError, match="22050 Hz"):
        metrics.mcd_dtw((clip, SR), (clip, 22050))
    with pytest.raises(ValueError, match="sr="):
        metrics.mcd_plain((clip, SR), clip, 22050)
    with pytest.raises(ValueError, match="sample rate is missing"):
        metrics.mcd_dtw(clip, clip)
    with pytest.raises(ValueError, match="order"):
        metrics.mel_cepstrum(clip, SR, order=40)
    with pytest.raises(ValueError, match="NaN"):
        metrics.dtw_path(np.array([[0.0, np.nan]]))
    monkeypatch.setattr(metrics.spectral, "MAX_DTW_CELLS", 100)
    with pytest.raises(ValueError, match="too long for DTW"):
        metrics.mcd_dtw(clip, clip, SR)


# ------------------------------------------------------------------------------------ SECS


class FakeEncoder:
    """Embeds a wav as the normalised energy in 8 bands: enough to test the plumbing quickly."""

    name = "fake band-energy encoder"

    def embed_utterance(self, wav, sr):
        spec = np.abs(np.fft.rfft(wav)) ** 2
        e = np.array([band.sum() for band in np.array_split(spec, 8)])
        return e / np.linalg.norm(e)


def test_secs_on_embeddings():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    assert metrics.secs(a, a) == pytest.approx(1.0)
    assert metrics.secs(a, b) == pytest.approx(0.0)
    assert metrics.secs(a, -3 * a) == pytest.approx(-1.0)
    s = metrics.secs(a, np.array([1.0, 1.0, 0.0]))
    assert s == pytest.approx(np.sqrt(0.5)) and isinstance(s, float)
    assert s.encoder == "given embeddings" and "given embeddings" in repr(s)


def test_secs_names_the_encoder(clip):
    s = metrics.secs((clip, SR), (with_noise(clip, 30), SR), encoder=FakeEncoder())
    assert s.encoder == "fake band-energy encoder" and 0.9 < s <= 1.0
    assert metrics.encoder_name(None) == metrics.PRETRAINED_ENCODER


def test_secs_with_the_pretrained_encoder():
    from course_utils import voices

    text = "Please call Stella and ask her to bring these things."
    a = voices.synthesize(text, voices.VoiceSpec(variant="m3"))
    b = voices.synthesize(text, voices.VoiceSpec(variant="m3", rate=150))
    c = voices.synthesize(text, voices.VoiceSpec(variant="f2", pitch=70))
    same, other = metrics.secs((a.wav, a.sr), (b.wav, b.sr)), metrics.secs((a.wav, a.sr), (c.wav, c.sr))
    assert same.encoder == metrics.PRETRAINED_ENCODER == other.encoder
    assert same > other, (same, other)
    emb = metrics.similarity._pretrained_encoder().embed_utterance(a.wav, a.sr)
    assert metrics.secs(emb, (a.wav, a.sr)) == pytest.approx(1.0, abs=1e-5)


def test_secs_bad_inputs(clip):
    with pytest.raises(ValueError, match="waveform"):
        metrics.secs(clip, clip)
    with pytest.raises(ValueError, match="different sizes"):
        metrics.secs(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        metrics.secs(np.array([np.nan, 1.0]), np.ones(2))
    with pytest.raises(ValueError, match="zeros"):
        metrics.secs(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="unknown encoder"):
        metrics.secs((clip, SR), (clip, SR), encoder="mine")


# ------------------------------------------------------------------------------------ DNSMOS


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_dnsmos_runs_offline(no_network):
    from course_utils import voices

    metrics.mos._dnsmos_model.cache_clear()  # load the ONNX models with the network blocked
    utt = voices.synthesize("The birch canoe slid on the smooth planks.", voices.VoiceSpec(variant="f2"))
    scores = metrics.dnsmos(utt.wav, utt.sr)  # 22.05 kHz in, resampled to 16 kHz
    assert set(scores) == {"ovrl", "sig", "bak", "p808"}
    assert all(1.0 <= v <= 5.0 for v in scores.values()), scores
    noisy = metrics.dnsmos((with_noise(utt.wav, 0), utt.sr))
    assert noisy["bak"] < scores["bak"], (noisy, scores)


def test_dnsmos_bad_inputs(clip):
    with pytest.raises(ValueError, match="silent"):
        metrics.dnsmos(np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match="NaN"):
        metrics.dnsmos(np.r_[clip, np.inf], SR)
    with pytest.raises(ValueError, match="sample rate"):
        metrics.dnsmos(clip)


# ------------------------------------------------------------------------------------ speed


class FakeClock:
    """Stands in for ``time`` inside metrics: sleeping advances it exactly, nothing else does.

    The speed functions are tested on exact numbers; real timings live in ``benchmarks/``.
    """

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(metrics.speed, "_time", fake)
    return fake


def slow_synth(clock, delay=0.05, seconds=1.0, sr=SR):
    def synthesize(text):
        clock.sleep(delay)
        return np.zeros(int(seconds * sr), np.float32) + 0.1, sr
    return synthesize


def streaming_synth(clock, first=0.03, rest=0.1, sr=SR):
    def synthesize(text):
        clock.sleep(first)
        yield np.full(sr // 2, 0.1, np.float32), sr
        clock.sleep(rest)
        yield np.full(sr // 2, 0.1, np.float32), sr
    return synthesize


def test_rtf_and_latency_of_a_non_streaming_synthesiser(clock):
    fn = slow_synth(clock, delay=0.05, seconds=2.0)
    assert metrics.rtf(fn, "hello", repeats=3, warmup=0) == pytest.approx(0.05 / 2.0)
    assert metrics.first_audio_latency(fn, "hello", repeats=3, warmup=0) == pytest.approx(0.05)


def test_latency_of_a_streaming_synthesiser_is_the_first_chunk(clock):
    fn = streaming_synth(clock, first=0.03, rest=0.15)
    assert metrics.first_audio_latency(fn, "hello", repeats=2, warmup=0) == pytest.approx(0.03)
    assert metrics.rtf(fn, "hello", repeats=2, warmup=0) == pytest.approx(0.18)  # 0.18 s for 1 s of audio


def test_rtf_accepts_utterances_and_bare_wavs(clock):
    class Utt:
        wav, sr = np.ones(8000, np.float32), 8000

    def after(seconds, result):
        clock.sleep(seconds)
        return result

    assert metrics.rtf(lambda t: after(0.1, Utt()), "x", repeats=1) == pytest.approx(0.1)
    assert metrics.rtf(lambda t: after(0.2, np.ones(8000, np.float32)), "x", repeats=1, sr=8000) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="sr="):
        metrics.rtf(lambda t: np.ones(8000, np.float32), "x", repeats=1)
    with pytest.raises(ValueError, match="no audio"):
        metrics.rtf(lambda t: (np.zeros(0), 8000), "x", repeats=1)
    with pytest.raises(ValueError, match="non-empty"):
        metrics.rtf(slow_synth(clock), "  ")
