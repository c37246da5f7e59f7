"""Tests of course_utils.metrics: EER on hand-made and known distributions."""

import numpy as np
import pytest
from scipy.stats import norm

from course_utils import metrics


def test_perfect_separation_gives_zero():
    rate, threshold = metrics.eer([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0])
    assert rate == 0.0
    assert 0.2 < threshold <= 0.8


def test_reversed_scores_give_one():
    assert metrics.eer([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0]).eer == pytest.approx(1.0)


def test_hand_checkable_case():
    # targets 0.2, 0.6, 0.8, 0.9; non-targets 0.1, 0.3, 0.4, 0.7
    # threshold in (0.4, 0.6]: 1 of 4 non-targets accepted (0.7), 1 of 4 targets rejected (0.2)
    scores = [0.2, 0.6, 0.8, 0.9, 0.1, 0.3, 0.4, 0.7]
    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    result = metrics.eer(scores, labels)
    assert result.eer == pytest.approx(0.25)
    assert 0.4 < result.threshold <= 0.6


def test_result_is_a_named_tuple():
    result = metrics.eer(np.array([1.0, 0.0]), np.array([True, False]))
    rate, threshold = result
    assert (rate, threshold) == (result.eer, result.threshold)


@pytest.mark.parametrize("d", [1.0, 2.0, 3.0])
def test_gaussian_scores(d):
    """Targets ~ N(d/2, 1), non-targets ~ N(-d/2, 1): EER = Phi(-d/2) at threshold 0."""
    rng = np.random.default_rng(0)
    n = 200_000
    scores = np.r_[rng.normal(d / 2, 1, n), rng.normal(-d / 2, 1, n)]
    labels = np.r_[np.ones(n), np.zeros(n)]
    result = metrics.eer(scores, labels)
    assert result.eer == pytest.approx(norm.cdf(-d / 2), abs=0.003)
    assert abs(result.threshold) < 0.02


def test_error_rates_ends():
    thresholds, far, frr = metrics.error_rates([0.3, 0.5, 0.5, 0.9], [0, 1, 0, 1])
    assert far[0] == 1 and frr[0] == 0 and far[-1] == 0 and frr[-1] == 1
    assert np.all(np.diff(thresholds) > 0)
    assert np.all(np.diff(far) <= 0) and np.all(np.diff(frr) >= 0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="both target"):
        metrics.eer([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        metrics.eer([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="NaN"):
        metrics.eer([np.nan, 0.2], [1, 0])
    with pytest.raises(ValueError, match="0/1"):
        metrics.eer([0.1, 0.2], [2, 0])


def test_verification_trials():
    enrol = np.eye(2)
    test = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    scores, labels = metrics.verification_trials(enrol, ["a", "b"], test, ["a", "b", "b"])
    assert scores.tolist() == [1.0, 0.0, 0.0, 1.0, 0.6, 0.8]
    assert labels.tolist() == [1, 0, 0, 1, 0, 1]
    assert metrics.eer(scores, labels).eer == 0.0
