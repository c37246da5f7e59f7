"""Tests of ``course_utils.evaluation`` (notebook 10): SNR mixing, reverberation, cached encoder."""

import numpy as np
import pytest

from course_utils import evaluation

SR = 16000


def tone(seconds=0.5, f=220.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 30.0])
def test_mix_at_snr_gives_the_asked_snr(snr):
    clean = tone()
    noise = evaluation.white_noise(3000, seed=1)          # shorter: repeated
    mixed = evaluation.mix_at_snr(clean, noise, snr)
    assert mixed.dtype == np.float32 and mixed.shape == clean.shape
    residual = mixed.astype(np.float64) - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(residual ** 2))
    assert measured == pytest.approx(snr, abs=1e-3)


def test_mix_at_snr_cuts_a_long_noise_and_is_deterministic():
    clean, noise = tone(), evaluation.white_noise(SR * 2, seed=3)
    a, b = evaluation.mix_at_snr(clean, noise, 5), evaluation.mix_at_snr(clean, noise, 5)
    assert a.shape == clean.shape and np.array_equal(a, b)
    assert np.array_equal(evaluation.white_noise(10, 4), evaluation.white_noise(10, 4))


@pytest.mark.parametrize("clean, noise, snr, match", [
    (np.zeros(100), np.ones(100), 0, "clean is silent"),
    (np.ones(100), np.zeros(100), 0, "noise is silent"),
    (np.ones(100), np.ones(100), np.inf, "finite"),
    (np.ones((2, 100)), np.ones(100), 0, "1-D"),
    (np.array([np.nan, 1.0]), np.ones(2), 0, "NaN"),
])
def test_mix_at_snr_rejects_bad_input(clean, noise, snr, match):
    with pytest.raises(ValueError, match=match):
        evaluation.mix_at_snr(clean, noise, snr)


def test_room_impulse_response_decays_by_60_db_over_rt60():
    h = evaluation.room_impulse_response(SR, rt60=0.5, seed=0).astype(np.float64)
    assert np.linalg.norm(h) == pytest.approx(1.0, rel=1e-5) and np.argmax(np.abs(h)) == 0
    tail = h[int(0.0025 * SR):]
    early = np.mean(tail[: int(0.05 * SR)] ** 2)
    late = np.mean(tail[int(0.40 * SR): int(0.45 * SR)] ** 2)
    drop_db = 10 * np.log10(early / late)
    assert 40 < drop_db < 55          # 60 dB per 0.5 s: about 48 dB between 0.025 s and 0.425 s
    with pytest.raises(ValueError, match="rt60"):
        evaluation.room_impulse_response(SR, rt60=10)


def test_reverberate_keeps_length_and_level_and_smears_in_time():
    x = np.zeros(SR, np.float32)
    x[1000:1400] = tone(0.025)
    wet = evaluation.reverberate(x, SR, rt60=0.6, seed=0)
    assert wet.shape == x.shape and wet.dtype == np.float32
    rms = lambda v: np.sqrt(np.mean(v.astype(np.float64) ** 2))  # noqa: E731
    assert rms(wet) == pytest.approx(rms(x), rel=1e-4)
    assert np.abs(wet[4000:8000]).max() > 1e-3 > np.abs(x[4000:8000]).max()   # the room rings on


class CountingEncoder:
    def __init__(self):
        self.calls = 0

    def embed_utterance(self, wav, sr):
        self.calls += 1
        v = np.array([np.mean(wav), np.std(wav), sr / 1e5, 1.0])
        return v / np.linalg.norm(v)


def test_cached_encoder_embeds_each_clip_once_and_keeps_its_name():
    from course_utils import metrics

    inner = CountingEncoder()
    enc = evaluation.CachedEncoder(inner, "toy encoder")
    a, b = tone(), tone(f=330.0)
    e1 = enc.embed_utterance(a, SR)
    e1[:] = 0                                   # callers cannot spoil the cache
    assert np.allclose(enc.embed_utterance(a.copy(), SR), inner.embed_utterance(a, SR))
    assert enc.embed_utterances([a, b, b], SR).shape == (3, 4)
    assert inner.calls == 3 and len(enc) == 2   # a, b (and one direct call above)
    enc.embed_utterance(a, 8000)                # another rate is another clip
    assert len(enc) == 3
    sim = metrics.secs((a, SR), (b, SR), encoder=enc)
    assert sim.encoder == "toy encoder" and "toy encoder" in repr(enc)
    with pytest.raises(TypeError):
        evaluation.CachedEncoder(object(), "x")
    with pytest.raises(ValueError, match="name"):
        evaluation.CachedEncoder(inner, " ")
