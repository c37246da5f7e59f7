"""The detector of cloned speech (notebook 11): it trains and is evaluated on held-out speakers
in well under a minute, its EER there is far below chance, and the failure modes change audio
the way the notebook says. Griffin-Lim copy synthesis stands in for the cloner (no checkpoint
needed)."""

import numpy as np
import pytest

from course_utils import detect, metrics, voices


def _clips(split, n_speakers, per_speaker):
    corpus = voices.build_corpus(n_speakers, per_speaker, seed=0, split=split, progress=False)
    return [corpus.load(i) for i in range(len(corpus))], corpus.speakers


@pytest.fixture(scope="module")
def data():
    train, train_speakers = _clips("train", 12, 2)
    test, test_speakers = _clips("heldout", 4, 2)
    fake = lambda clips: [detect.copy_synthesis(w, sr) for w, sr in clips]  # noqa: E731
    return {"train": train, "train_fake": fake(train), "test": test, "test_fake": fake(test),
            "speakers": (train_speakers, test_speakers)}


def _split(pairs):
    return [w for w, _ in pairs], [sr for _, sr in pairs]


@pytest.fixture(scope="module")
def detector(data):
    real, real_sr = _split(data["train"])
    fake, fake_sr = _split(data["train_fake"])
    return detect.Detector().fit(real, fake, real_sr + fake_sr)


def test_speakers_are_held_out(data):
    train_speakers, test_speakers = data["speakers"]
    assert not set(train_speakers) & set(test_speakers)


def test_features_are_a_fixed_length_vector_independent_of_level_and_rate(data):
    wav, sr = data["test"][0]
    f = detect.features(wav, sr)
    assert f.shape == (3 * detect.FEATURES.n_mels + 3,) and np.all(np.isfinite(f))
    np.testing.assert_allclose(detect.features(0.25 * wav, sr), f, rtol=1e-4, atol=1e-4)
    from scipy.signal import resample_poly
    f16 = detect.features(resample_poly(wav, 320, 441).astype(np.float32), 16000)
    assert np.corrcoef(f, f16)[0, 1] > 0.99


def test_eer_on_held_out_speakers_is_far_below_chance(data, detector):
    real, real_sr = _split(data["test"])
    fake, fake_sr = _split(data["test_fake"])
    result = detect.evaluate(detector, real, fake, real_sr + fake_sr)
    assert result.eer <= 0.15, result
    assert result.miss_rate <= 0.5 and result.false_alarm_rate <= 0.5, result
    assert "eer=" in repr(result)
    assert np.array_equal(detector.predict(fake, fake_sr), result.fake_scores >= detector.threshold)


def test_telephone_channel_breaks_the_clean_threshold(data, detector):
    """The demonstrated failure: an unseen channel moves real speech across the threshold."""
    real = [detect.telephone(w, sr) for w, sr in data["test"]]
    fake = [detect.telephone(w, sr) for w, sr in data["test_fake"]]
    rates = [sr for _, sr in data["test"]] + [sr for _, sr in data["test_fake"]]
    phone = detect.evaluate(detector, real, fake, rates)
    clean = detect.evaluate(detector, *_split(data["test"])[:1], *_split(data["test_fake"])[:1],
                            rates)
    errors = lambda r: r.miss_rate + r.false_alarm_rate  # noqa: E731
    assert errors(phone) >= errors(clean) + 0.4, (clean, phone)


def test_attacks_keep_length_and_change_the_band(data):
    wav, sr = data["test"][0]
    for attack in (detect.telephone, detect.lowpass):
        y = attack(wav, sr)
        assert y.shape == wav.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    spec = lambda x: np.abs(np.fft.rfft(x))  # noqa: E731
    freqs = np.fft.rfftfreq(len(wav), 1 / sr)
    high = freqs > 5000
    assert spec(detect.lowpass(wav, sr))[high].sum() < 0.01 * spec(wav)[high].sum()
    assert spec(detect.telephone(wav, sr))[high].sum() < 0.05 * spec(wav)[high].sum()


def test_copy_synthesis_is_16_khz_and_same_length(data):
    wav, sr = data["test"][0]
    y, out_sr = detect.copy_synthesis(wav, sr)
    assert out_sr == 16000 and abs(len(y) - round(len(wav) * 16000 / sr)) <= 1
    assert y.dtype == np.float32 and np.abs(y).max() <= 1.0


def test_copy_synthesis_through_the_course_checkpoints_vocoder(data):
    """With a cloner: its own features and vocoder (HiFi-GAN, 22.05 kHz for the course checkpoint)."""
    from course_utils import cloning

    wav, sr = data["test"][0]
    y, out_sr = detect.copy_synthesis(wav, sr, cloner=cloning.VoiceCloner.shipped())
    assert out_sr == 22050 and abs(len(y) - round(len(wav) * 22050 / sr)) <= 1
    assert y.dtype == np.float32 and np.isfinite(y).all()


@pytest.mark.parametrize("wav, sr, match", [
    (np.zeros(16000, np.float32), 16000, "silent"),
    (np.ones((2, 16000), np.float32), 16000, "mono"),
    (np.ones(16000, np.int16), 16000, "float"),
    (np.ones(16000, np.float32), 100, "sample rate"),
])
def test_bad_input_says_what_is_wrong(wav, sr, match):
    with pytest.raises(ValueError, match=match):
        detect.features(wav, sr)


def test_untrained_detector_and_too_little_data_raise():
    with pytest.raises(RuntimeError, match="fit"):
        detect.Detector().scores([np.ones(16000, np.float32)], 16000)
    with pytest.raises(ValueError, match="at least 2"):
        detect.Detector().fit([np.ones(16000, np.float32)], [np.ones(16000, np.float32)], 16000)


def test_threshold_is_the_training_equal_error_point(data, detector):
    real, real_sr = _split(data["train"])
    fake, fake_sr = _split(data["train_fake"])
    scores = detector.scores(real + fake, real_sr + fake_sr)
    labels = np.r_[np.zeros(len(real)), np.ones(len(fake))].astype(bool)
    assert detector.threshold == pytest.approx(metrics.eer(scores, labels).threshold)
