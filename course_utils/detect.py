"""Detecting cloned speech: a small detector of the course's synthetic voices (notebook 11).

Introduced in ``11_ethics_safety_and_applications.ipynb``::

    from course_utils import detect
    det = detect.Detector().fit(real_wavs, fake_wavs, sr)      # lists of 1-D arrays
    scores = det.scores(test_wavs, sr)                          # higher = more likely cloned
    result = detect.evaluate(det, real_test, fake_test, sr)     # EER on held-out speakers

The features are statistics of a 16 kHz log-mel spectrogram (32 bands, 25 ms windows, 10 ms
hop) over the frames that carry speech: per band the mean, the standard deviation and the mean
absolute change from one frame to the next, plus the same three of the spectral flux. The
classifier is a standardised logistic regression (scikit-learn). It learns what separates the
two classes *in its training data*: Griffin-Lim's smeared harmonics and phase noise, the
acoustic model's over-smoothed frames. That is also how it fails: audio from a vocoder it never
saw, or audio whose high band was removed (a telephone line, a low-pass filter, a codec), no
longer shows those cues, and the scores of real and cloned speech move together or mix
(:func:`telephone`, :func:`lowpass`).

Without a trained cloner, :func:`copy_synthesis` (real speech -> log-mel -> the course's
Griffin-Lim vocoder) makes a cheap stand-in for cloned speech: the tests use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.signal import butter, sosfiltfilt

from course_utils import audio

#: Everything is analysed at this rate (the cloner's own rate).
SR = 16000
#: Log-mel front end of the detector: 32 bands, 25 ms windows, 10 ms hop, power mel.
FEATURES = audio.FeatureConfig(sr=SR, n_fft=400, hop_length=160, n_mels=32, fmax=8000.0, power=2.0,
                               trim=None, loudness_dbfs=None, log_floor=1e-10)
#: Frames more than this many dB below the loudest are silence and ignored.
SPEECH_DB = 40.0


def _to_sr(wav: np.ndarray, sr: int, target: int = SR) -> np.ndarray:
    """``wav`` at ``target`` Hz as float64, resampled with :func:`audio.resample`."""
    return audio.resample(wav, int(sr), target).astype(np.float64)


def _check(wav, sr, what: str = "wav") -> np.ndarray:
    """Float mono audio of at least 0.1 s at 8 kHz or more, not silent (:func:`audio.check_wav`)."""
    return audio.check_wav(wav, sr, name=what, min_sr=8000, floats_only=True, allow_silent=False,
                           min_samples=int(sr) // 10 if isinstance(sr, (int, np.integer)) else 1)


def features(wav: np.ndarray, sr: int) -> np.ndarray:
    """One feature vector (``n_features`` floats) for a recording (used by detect.feature_matrix).

    The audio is resampled to 16 kHz and scaled to unit RMS (loudness is no evidence); of its
    log-mel frames those within ``SPEECH_DB`` of the loudest are kept; per band the mean,
    standard deviation and mean absolute frame-to-frame change, and the same three statistics
    of the spectral flux (the mean absolute change over all bands) make the vector.
    """
    wav = _check(wav, sr)
    x = _to_sr(wav, int(sr))
    x = x / max(float(np.sqrt(np.mean(x ** 2))), 1e-9)
    lm = audio.log_mel(x.astype(np.float32), FEATURES).astype(np.float64)     # (bands, frames)
    energy = lm.max(axis=0)
    speech = energy >= energy.max() - SPEECH_DB * np.log(10) / 10
    if speech.sum() < 3:
        speech[:] = True
    lm = lm[:, speech]
    delta = np.abs(np.diff(lm, axis=1)) if lm.shape[1] > 1 else np.zeros((lm.shape[0], 1))
    flux = delta.mean(axis=0)
    return np.concatenate([lm.mean(1), lm.std(1), delta.mean(1),
                           [flux.mean(), flux.std(), np.abs(np.diff(flux)).mean() if flux.size > 1 else 0.0]])


def feature_matrix(wavs: Sequence[np.ndarray], sr: int | Sequence[int]) -> np.ndarray:
    """``(n, n_features)`` features of many recordings (one rate for all, or one per recording).

    (used by detect.Detector)
    """
    rates = [sr] * len(wavs) if np.ndim(sr) == 0 else list(sr)
    if len(rates) != len(wavs):
        raise ValueError(f"give one sample rate or one per recording ({len(wavs)}), got {len(rates)}")
    if not len(wavs):
        raise ValueError("no recordings given")
    return np.stack([features(w, int(r)) for w, r in zip(wavs, rates)])


class Detector:
    """Real (score low) vs cloned (score high) speech: logistic regression on :func:`features` (notebook 11).

    ``fit(real, fake, sr)`` trains it and sets ``threshold`` at the equal-error point of its
    own training data; ``scores(wavs, sr)`` gives the log-odds of "cloned" for each recording;
    ``predict(wavs, sr)`` says True (cloned) where the score reaches ``threshold``.
    """

    def __init__(self, C: float = 0.1, seed: int = 0):
        self.C, self.seed = C, seed
        self.model = None
        self.threshold = 0.0

    def fit(self, real: Sequence[np.ndarray], fake: Sequence[np.ndarray], sr) -> "Detector":
        """Train on real and cloned recordings (lists of 1-D arrays, rate ``sr`` or one per item)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from course_utils import metrics

        if len(real) < 2 or len(fake) < 2:
            raise ValueError(f"need at least 2 real and 2 cloned recordings, got {len(real)} and {len(fake)}")
        rates = [sr] * (len(real) + len(fake)) if np.ndim(sr) == 0 else list(sr)
        X = feature_matrix(list(real) + list(fake), rates)
        y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000,
                                                                        random_state=self.seed))
        self.model.fit(X, y)
        self.threshold = metrics.eer(self.model.decision_function(X), y.astype(bool)).threshold
        return self

    def _require(self):
        if self.model is None:
            raise RuntimeError("the detector is not trained yet: call fit(real, fake, sr) first")

    def scores(self, wavs: Sequence[np.ndarray], sr) -> np.ndarray:
        """Log-odds that each recording is cloned (higher = more likely cloned)."""
        self._require()
        return self.model.decision_function(feature_matrix(list(wavs), sr))

    def predict(self, wavs: Sequence[np.ndarray], sr) -> np.ndarray:
        """True where a recording is judged cloned (score at or above ``threshold``)."""
        return self.scores(wavs, sr) >= self.threshold


@dataclass
class DetectionResult:
    """What :func:`evaluate` measured (used by detect.evaluate).

    ``eer`` (threshold-free), and at the detector's own threshold the ``miss_rate`` (cloned
    judged real) and ``false_alarm_rate`` (real judged cloned); the scores of both classes.
    """

    eer: float
    miss_rate: float
    false_alarm_rate: float
    real_scores: np.ndarray
    fake_scores: np.ndarray

    def __repr__(self) -> str:
        return (f"DetectionResult(eer={self.eer:.3f}, miss_rate={self.miss_rate:.3f}, "
                f"false_alarm_rate={self.false_alarm_rate:.3f}, n={len(self.real_scores)}+{len(self.fake_scores)})")


def evaluate(detector: Detector, real: Sequence[np.ndarray], fake: Sequence[np.ndarray], sr) -> DetectionResult:
    """EER, miss and false-alarm rates of ``detector`` on real and cloned test recordings (notebook 11)."""
    from course_utils import metrics

    rates = [sr] * (len(real) + len(fake)) if np.ndim(sr) == 0 else list(sr)
    s = detector.scores(list(real) + list(fake), rates)
    real_s, fake_s = s[: len(real)], s[len(real):]
    rate = metrics.eer(s, np.r_[np.zeros(len(real)), np.ones(len(fake))].astype(bool)).eer
    return DetectionResult(float(rate), float(np.mean(fake_s < detector.threshold)),
                           float(np.mean(real_s >= detector.threshold)), real_s, fake_s)


# --------------------------------------------------------------------------- stand-ins and attacks


def copy_synthesis(wav: np.ndarray, sr: int, n_iter: int = 12, cloner=None) -> tuple[np.ndarray, int]:
    """Real speech through a cloner's log-mel and vocoder: ``(wav, sr of the vocoder)`` (notebook 11).

    The vocoder half of cloning without the acoustic model: a cheap stand-in for cloned speech
    (the tests train the detector on it), and what a speech codec that re-synthesises its audio
    does to genuine speech. By default the quick cloner's features and Griffin-Lim (``n_iter``
    iterations, 16 kHz); with ``cloner``, that cloner's own features and vocoder (HiFi-GAN at
    22.05 kHz for the course checkpoint).
    """
    from course_utils import cloning, vocoder

    if cloner is None:
        cfg = cloning.ClonerConfig.for_profile("quick").features()
        voc = vocoder.GriffinLimVocoder(cfg, n_iter=n_iter, sharpen=1.0)
    else:
        cfg, voc = cloner.config.features(), cloner.vocoder
    x = _to_sr(_check(wav, sr), int(sr), cfg.sr).astype(np.float32)
    return voc(audio.log_mel(x, cfg), n_samples=len(x)), cfg.sr


def lowpass(wav: np.ndarray, sr: int, cutoff: float = 4000.0) -> np.ndarray:
    """Zero-phase 8th-order Butterworth low-pass at ``cutoff`` Hz, a failure mode (notebook 11)."""
    wav = _check(wav, sr)
    return sosfiltfilt(butter(8, cutoff, fs=sr, output="sos"), wav).astype(np.float32)


def telephone(wav: np.ndarray, sr: int) -> np.ndarray:
    """A telephone line: 300-3400 Hz, 8 kHz, 8-bit mu-law, back at ``sr``, a failure mode (notebook 11)."""
    wav = _check(wav, sr)
    x = _to_sr(wav, int(sr), 8000)
    x = sosfiltfilt(butter(4, [300, 3400], btype="band", fs=8000, output="sos"), x)
    x = x / max(float(np.abs(x).max()), 1e-9) * 0.9
    mu = 255.0
    q = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    x = np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu
    y = _to_sr(x, 8000, int(sr))
    return np.pad(y, (0, max(0, wav.size - y.size)))[: wav.size].astype(np.float32)
