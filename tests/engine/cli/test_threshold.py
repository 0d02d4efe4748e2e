"""``gpu-trainer train --threshold`` and ``predict --threshold``: stored, used, and refused in
one line where it cannot apply; the binary scores in the text and ``--json`` output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cli import main
from engine.io.predictor import load_model

FAST = ["--epochs", "3", "--layers", "8", "--device", "cpu", "--no-record"]


@pytest.fixture
def breast_cancer(sample_dir):
    return str(sample_dir / "breast_cancer_8.csv")


def test_train_stores_the_threshold_and_reports_binary_scores(breast_cancer, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    argv = ["train", breast_cancer, "--out", str(model), "--threshold", "0.3", "--json", *FAST]
    assert main(argv) == 0
    test = json.loads(capsys.readouterr().out)["test"]
    assert test["threshold"] == 0.3
    assert {"balanced_accuracy", "roc_auc", "pr_auc"} <= set(test)
    assert 0.5 < test["roc_auc"] <= 1 and "y_score" not in test and "y_true" not in test
    predictor = load_model(model)
    assert predictor.threshold == 0.3
    assert predictor.metrics["test"]["threshold"] == 0.3
    assert "y_score" not in predictor.metrics["test"]
    assert predictor.metadata["settings"]["threshold"] == 0.3


def test_train_text_shows_the_binary_scores(breast_cancer, tmp_path, capsys):
    assert main(["train", breast_cancer, "--out", str(tmp_path / "m.safetensors"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "balanced accuracy" in out and "ROC AUC" in out and "PR AUC" in out
    assert "(threshold 0.5)" in out


@pytest.mark.parametrize("value", ["2", "0", "1", "nan"])
def test_a_threshold_outside_0_1_exits_2_in_one_line(breast_cancer, tmp_path, capsys, value):
    out = tmp_path / "m.safetensors"
    assert main(["train", breast_cancer, "--out", str(out), "--threshold", value, *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "decision threshold must lie between 0 and 1" in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize(("name", "target"), [("diabetes", "progression"), ("wine", "cultivar")])
def test_a_threshold_for_regression_or_many_classes_exits_2(sample_dir, tmp_path, capsys, name,
                                                             target):  # fmt: skip
    out = tmp_path / "m.safetensors"
    argv = ["train", str(sample_dir / f"{name}.csv"), "--target", target, "--out", str(out)]
    assert main([*argv, "--threshold", "0.3", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "two-class targets only" in err and f"'{target}'" in err and "\n" not in err
    assert not out.exists()


def test_predict_threshold_overrides_the_file(breast_cancer, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert main(["train", breast_cancer, "--out", str(model), "--json", *FAST]) == 0
    runs = {}
    for value in (None, "0.3"):
        out = tmp_path / f"p{value}.csv"
        extra = [] if value is None else ["--threshold", value]
        assert main(["predict", str(model), breast_cancer, "--out", str(out), *extra]) == 0
        runs[value] = pd.read_csv(out)
    p = runs[None]["probability_1"]
    between = (p > 0.3) & (p <= 0.5)
    changed = runs[None]["predicted_malignant"] != runs["0.3"]["predicted_malignant"]
    assert between.any() and changed.equals(between)
    capsys.readouterr()
    assert main(["predict", str(model), breast_cancer, "--threshold", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_predict_threshold_on_a_regression_model_exits_2(sample_dir, tmp_path, capsys):
    model, data = tmp_path / "d.safetensors", str(sample_dir / "diabetes.csv")
    assert main(["train", data, "--out", str(model), "--json", *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), data, "--threshold", "0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "two-class targets only" in err and "regression" in err and "\n" not in err
