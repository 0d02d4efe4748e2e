"""One R², MAE and RMSE: the test report and the training metric agree with scikit-learn,
a constant target included."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from engine.nn.metrics import R2Score
from engine.run.evaluation import regression_report

RNG = np.random.default_rng(3)
CASES = {
    "noisy": (RNG.normal(5, 2, 200), None),
    "large offset": (1.7e9 + RNG.normal(0, 3, 200), None),  # timestamps: centring matters
    "constant, missed": (np.full(50, 4.0), np.full(50, 4.5)),
    "constant, hit": (np.full(50, 4.0), np.full(50, 4.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_regression_report_agrees_with_sklearn(name):
    truth, guess = CASES[name]
    if guess is None:
        guess = truth + RNG.normal(0, 1, truth.shape)
    report = regression_report(truth, guess)
    assert report["mae"] == pytest.approx(mean_absolute_error(truth, guess), rel=1e-9)
    assert report["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, guess)), rel=1e-9)
    assert report["r2"] == pytest.approx(r2_score(truth, guess), rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("name", ["noisy", "constant, missed", "constant, hit"])
def test_the_training_metric_is_the_same_r2(name):
    """R2Score as the trainer uses it: sums over batches, read back once."""
    truth, guess = CASES[name]
    if guess is None:
        guess = truth + RNG.normal(0, 1, truth.shape)
    y, a = truth.reshape(-1, 1), guess.reshape(-1, 1)
    metric = R2Score()
    totals = sum(metric.stats(y[i : i + 32], a[i : i + 32]) for i in range(0, len(y), 32))
    assert metric.result(totals, len(y)) == pytest.approx(r2_score(truth, guess), abs=1e-9)


def test_a_target_beyond_float32_and_its_squares_beyond_float64_reports_finite_figures():
    truth = 1e200 * np.arange(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = regression_report(truth, truth[::-1])
    assert report["mae"] == pytest.approx(mean_absolute_error(truth, truth[::-1]), rel=1e-12)
    assert report["rmse"] == pytest.approx(
        np.sqrt(mean_squared_error(truth / 1e200, truth[::-1] / 1e200)) * 1e200, rel=1e-12
    )
    assert report["r2"] == pytest.approx(r2_score(truth / 1e200, truth[::-1] / 1e200))
