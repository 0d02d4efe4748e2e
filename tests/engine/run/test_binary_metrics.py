"""Two-class test reports: balanced accuracy, ROC AUC and PR AUC equal scikit-learn's, the
threshold decides the labels, and a split holding one class gives N/A without a warning."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from engine.cli.output import strict_json
from engine.run.evaluation import classification_report

RNG = np.random.default_rng(18)
# an imbalanced split: 40 positives in 200, scores that separate them only partly
TRUTH = (RNG.random(200) < 0.2).astype(np.int64)
SCORE = np.clip(0.25 + 0.35 * TRUTH + RNG.normal(0, 0.2, 200), 0.001, 0.999)
PROBA = np.stack([1 - SCORE, SCORE], axis=1)


@pytest.mark.parametrize("threshold", [None, 0.3, 0.5, 0.62])
def test_binary_scores_equal_sklearn(threshold):
    report = classification_report(TRUTH, PROBA, ["no", "yes"], threshold)
    cut = 0.5 if threshold is None else threshold
    decided = np.greater(SCORE, cut).astype(np.int64)
    assert 0 < decided.sum() < len(decided)  # both classes predicted: a real check
    assert report["threshold"] == cut
    assert report["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(TRUTH, decided))
    assert report["roc_auc"] == pytest.approx(roc_auc_score(TRUTH, SCORE))
    assert report["pr_auc"] == pytest.approx(average_precision_score(TRUTH, SCORE))
    assert report["accuracy"] == pytest.approx(accuracy_score(TRUTH, decided))
    assert report["macro_f1"] == pytest.approx(f1_score(TRUTH, decided, average="macro"))
    assert report["precision"] == pytest.approx(precision_score(TRUTH, decided, average=None))
    assert report["recall"] == pytest.approx(recall_score(TRUTH, decided, average=None))
    assert report["confusion_matrix"] == confusion_matrix(TRUTH, decided).tolist()
    assert report["y_true"] == TRUTH.tolist() and report["y_score"] == SCORE.tolist()


def test_the_default_threshold_decides_as_the_most_probable_class():
    """0.5 gives the labels older versions gave by argmax, a tie at exactly 0.5 included."""
    score = np.array([0.2, 0.5, 0.5000001, 0.9])
    proba = np.stack([1 - score, score], axis=1)
    truth = np.array([0, 0, 1, 1])
    report = classification_report(truth, proba, [0, 1])
    assert report["confusion_matrix"] == confusion_matrix(truth, proba.argmax(axis=1)).tolist()
    assert report["accuracy"] == 1.0


def test_a_lower_threshold_trades_precision_for_recall():
    at_half = classification_report(TRUTH, PROBA, [0, 1], 0.5)
    lower = classification_report(TRUTH, PROBA, [0, 1], 0.3)
    assert lower["recall"][1] > at_half["recall"][1]
    assert lower["precision"][1] < at_half["precision"][1]
    assert lower["roc_auc"] == at_half["roc_auc"]  # threshold-free


@pytest.mark.parametrize("only", [0, 1])
def test_one_class_in_the_split_gives_na_without_a_warning(only):
    truth = np.full(30, only)
    score = RNG.random(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = classification_report(truth, np.stack([1 - score, score], axis=1), [0, 1])
    for name in ("balanced_accuracy", "roc_auc", "pr_auc"):
        assert math.isnan(report[name])
    assert report["accuracy"] == pytest.approx(np.mean((score > 0.5) == only))
    as_json = json.loads(strict_json(report))  # N/A is null in --json
    assert as_json["roc_auc"] is None


def test_an_empty_split_and_a_diverged_score_give_na_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = classification_report(np.zeros(0, np.int64), np.zeros((0, 2)), [0, 1])
        score = np.where(np.arange(200) == 7, np.nan, SCORE)
        nan = classification_report(TRUTH, np.stack([1 - score, score], axis=1), [0, 1])
    assert empty["n"] == 0 and math.isnan(empty["roc_auc"])
    assert math.isnan(nan["roc_auc"]) and math.isnan(nan["pr_auc"])
    assert not math.isnan(nan["balanced_accuracy"])


def test_more_classes_have_no_binary_scores():
    proba = RNG.dirichlet(np.ones(3), size=50)
    report = classification_report(RNG.integers(0, 3, 50), proba, ["a", "b", "c"])
    assert not {"roc_auc", "pr_auc", "balanced_accuracy", "threshold", "y_score"} & set(report)
