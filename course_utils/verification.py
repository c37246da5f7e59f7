"""Speaker verification: error rates, the equal error rate and the trial matrix (notebook 07).

The lowest of the evaluation layers: the speaker encoder (notebook 07) reports its EER with it,
and :mod:`course_utils.metrics` re-exports it next to the measures of notebook 10.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EERResult(NamedTuple):
    """Equal error rate and the score threshold where it is reached (used by verification.eer).

    ``eer`` is a fraction (0.01 means 1 %). A trial is accepted when ``score >= threshold``.
    Unpacks as a tuple: ``rate, threshold = metrics.eer(scores, labels)``.
    """

    eer: float
    threshold: float


def _check_trials(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same length, got {scores.size} and {labels.size}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    if labels.dtype != bool:
        if not np.all(np.isin(labels, (0, 1))):
            raise ValueError("labels must be booleans or 0/1 (1 = same speaker, 0 = different)")
        labels = labels.astype(bool)
    if labels.all() or not labels.any():
        raise ValueError("an EER needs both target (label 1) and non-target (label 0) trials")
    return scores, labels


def error_rates(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-acceptance and false-rejection rates at every threshold (notebook 07).

    Returns ``(thresholds, far, frr)`` with thresholds in increasing order, starting below the
    lowest score (accept all: far = 1, frr = 0) and ending above the highest (reject all).
    At threshold t a trial is accepted when ``score >= t``. Use them for DET and ROC plots.
    """
    scores, labels = _check_trials(scores, labels)
    order = np.argsort(scores, kind="mergesort")
    s, y = scores[order], labels[order]
    n_pos, n_neg = y.sum(), (~y).sum()
    # thresholds at each distinct score: reject everything strictly below it
    distinct = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(distinct)
    pos_below = np.r_[0, np.cumsum(y)][starts]      # targets rejected
    neg_below = np.r_[0, np.cumsum(~y)][starts]     # non-targets rejected
    thresholds = np.r_[s[starts], np.nextafter(s[-1], np.inf)]
    frr = np.r_[pos_below, n_pos] / n_pos
    far = 1.0 - np.r_[neg_below, n_neg] / n_neg
    return thresholds, far, frr


def eer(scores, labels) -> EERResult:
    """Equal error rate of a verification system (notebook 10).

    ``scores``: one similarity per trial (higher = more likely the same speaker).
    ``labels``: 1/True for target trials (same speaker), 0/False for non-target trials.
    Returns :class:`EERResult` ``(eer, threshold)``: the rate where the false-acceptance rate
    equals the false-rejection rate, linearly interpolated between the two thresholds where
    their difference changes sign, and the threshold there. Perfectly separated scores give 0.
    """
    thresholds, far, frr = error_rates(scores, labels)
    diff = far - frr  # non-increasing, from 1 (accept all) to -1 (reject all)
    i = int(np.flatnonzero(diff <= 0)[0])
    if diff[i] == 0:
        return EERResult(float(far[i]), float(thresholds[i]))
    # the curves cross between thresholds i-1 (far > frr) and i (far < frr): interpolate
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    rate = far[i - 1] + t * (far[i] - far[i - 1])
    return EERResult(float(rate), float(thresholds[i - 1] + t * (thresholds[i] - thresholds[i - 1])))


def verification_trials(enrol: np.ndarray, enrol_speakers, test: np.ndarray, test_speakers):
    """Score every test embedding against every enrolled speaker (notebook 10).

    ``enrol``: (S, D) unit-norm speaker embeddings (e.g. the normalised mean of a few
    utterances), ``test``: (N, D) unit-norm utterance embeddings. Returns ``(scores, labels)``
    of the S * N trials: cosine similarity, and 1 where the test utterance is the enrolled
    speaker's.
    """
    enrol, test = np.asarray(enrol, dtype=np.float64), np.asarray(test, dtype=np.float64)
    if enrol.ndim != 2 or test.ndim != 2 or enrol.shape[1] != test.shape[1]:
        raise ValueError(f"enrol (S, D) and test (N, D) must share D, got {enrol.shape} and {test.shape}")
    scores = test @ enrol.T
    labels = np.asarray(test_speakers)[:, None] == np.asarray(enrol_speakers)[None, :]
    return scores.ravel(), labels.ravel().astype(int)
