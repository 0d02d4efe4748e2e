"""K-fold cross-validation: stratified folds, preprocessing fitted per fold, the summary's
figures, bad fold counts, stopping, and ``gpu-trainer train --cv``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.data.schema import infer_schema
from engine.errors import UserError
from engine.io.model_file import read_model_file
from engine.run.crossval import CrossValidationStopped, cross_validate, fold_rows, summarise
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings

FAST = TrainSettings(layers=[LayerSpec(8)], epochs=3, batch_size=16, device="cpu")


def _classes_frame(n: int = 90, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    label = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 10)[:n]
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1] + (label == "b"), "y": label})


def test_folds_are_stratified_and_partition_the_rows():
    classes = np.array([0] * 50 + [1] * 30 + [2] * 13)
    folds = fold_rows(len(classes), 4, seed=3, classes=classes)
    tests = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tests), np.arange(len(classes)))  # each row tested once
    for train, test in folds:
        assert not np.intersect1d(train, test).size
        for c, total in enumerate(np.bincount(classes)):
            share = total / 4
            assert abs(np.sum(classes[test] == c) - share) <= 1, (c, share)


def test_folds_follow_the_seed():
    a = fold_rows(40, 5, seed=1)
    b = fold_rows(40, 5, seed=1)
    c = fold_rows(40, 5, seed=2)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))


def test_preprocessing_is_fitted_on_the_folds_training_rows_only():
    frame = _classes_frame()
    schema = infer_schema(frame, target="y")
    classes = pd.factorize(frame["y"], sort=True)[0]
    train, test = fold_rows(len(frame), 3, FAST.seed, classes)[0]
    frame["city"] = "paris"
    frame.loc[test[:5], "city"] = "lima"  # only in this fold's test rows
    frame["z"] = 0.0
    frame.loc[test, "z"] = 1000.0  # a shift only the test rows have
    frame["z"] += np.random.default_rng(1).normal(size=len(frame))
    schema = infer_schema(frame, target="y")
    data = prepare(frame, schema, FAST, rows=(train, test))
    assert len(data.x_test) == len(test)
    assert len(data.x_train) + len(data.x_val) == len(train)
    stats = data.pipeline.preprocessor
    city = next(s for s in stats.categorical if s.name == "city")
    assert "lima" not in city.categories + city.pooled  # unseen in this fold's fit
    z = next(s for s in stats.numeric if s.name == "z")
    assert abs(z.mean) < 1.0  # fitted without the test rows' 1000s
    whole = prepare(frame, schema, FAST)  # the ordinary split sees some of them
    assert "lima" in sum(([*s.categories, *s.pooled] for s in whole.pipeline.preprocessor.
                          categorical if s.name == "city"), [])  # fmt: skip


def test_validation_rows_come_from_the_folds_training_rows():
    frame = _classes_frame()
    classes = pd.factorize(frame["y"], sort=True)[0]
    train, test = fold_rows(len(frame), 3, 0, classes)[1]
    settings = TrainSettings(**{**FAST.to_dict(), "layers": FAST.layers, "val_split": 0.25})
    data = prepare(frame, infer_schema(frame, target="y"), settings, rows=(train, test))
    assert len(data.x_val) == pytest.approx(0.25 * len(train), abs=2)
    assert len(data.x_train) + len(data.x_val) == len(train)


def test_summary_is_numpys_mean_and_std_over_the_folds():
    frame = _classes_frame()
    result = cross_validate(frame, infer_schema(frame, target="y"), FAST, 3)
    assert result["folds"] == 3 and result["stratified"] and sum(result["rows"]) == len(frame)
    assert {"accuracy", "macro_f1"} <= set(result["metrics"])
    assert "n" not in result["metrics"]
    for name, m in result["metrics"].items():
        assert len(m["folds"]) == 3, name
        assert m["mean"] == pytest.approx(np.mean(m["folds"]))
        assert m["std"] == pytest.approx(np.std(m["folds"]))
    json.dumps(result, allow_nan=False)  # JSON-safe


def test_regression_folds_report_mae_rmse_r2():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(t=x @ [1.0, 2.0, -1.0])
    result = cross_validate(frame, infer_schema(frame, target="t"), FAST, 4)
    assert not result["stratified"] and result["rows"] == [15, 15, 15, 15]
    assert set(result["metrics"]) == {"mae", "rmse", "r2"}


def test_summarise_takes_every_score_and_skips_counts():
    common = {"labels": ["a"], "task": "classification", "split": "test"}
    reports = [{"n": 10, "accuracy": 0.5, "auc": 0.7, **common},
               {"n": 11, "accuracy": 0.7, "auc": 0.9, **common}]  # fmt: skip
    summary = summarise(reports)
    assert set(summary) == {"accuracy", "auc"}
    assert summary["auc"] == {"mean": pytest.approx(0.8), "std": pytest.approx(0.1),
                              "folds": [0.7, 0.9]}  # fmt: skip


@pytest.mark.parametrize(
    ("folds", "message"),
    [
        (1, "cross-validation takes 2 to 20 folds, not 1"),
        (21, "cross-validation takes 2 to 20 folds, not 21"),
        (11, "class 'c' has 10; use at most 10 folds"),
    ],
)
def test_bad_fold_counts_are_refused_with_one_sentence(folds, message):
    frame = _classes_frame()
    with pytest.raises(UserError, match=message) as info:
        cross_validate(frame, infer_schema(frame, target="y"), FAST, folds)
    assert str(info.value).count(". ") == 0 and "\n" not in str(info.value)


def test_should_stop_ends_the_folds():
    frame = _classes_frame()
    steps = []
    with pytest.raises(CrossValidationStopped):
        cross_validate(frame, infer_schema(frame, target="y"), FAST, 3,
                       on_step=lambda fold, job, record: steps.append(fold),
                       should_stop=lambda: len(steps) >= 4)  # fmt: skip
    assert steps == [0, 0, 0, 0]


def test_cli_cv_reports_the_folds_and_writes_a_model_of_all_rows(sample_dir, tmp_path, capsys):
    model = tmp_path / "wine.safetensors"
    args = ["train", str(sample_dir / "wine.csv"), "--target", "cultivar", "--out", str(model),
            "--epochs", "3", "--layers", "8", "--device", "cpu", "--cv", "3", "--json"]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    cv = result["cv"]
    assert cv["folds"] == 3 and sum(cv["rows"]) == 178
    for name in ("accuracy", "macro_f1"):
        m = cv["metrics"][name]
        assert len(m["folds"]) == 3 and m["mean"] == pytest.approx(np.mean(m["folds"]))
        assert m["std"] == pytest.approx(np.std(m["folds"]))
    assert result["rows"]["test"] == 0  # the model is trained on every row
    # and its test figures are the folds' means, not scores of an empty split
    assert result["test"]["split"] == "cv" and "cv" not in result["test"]
    assert result["test"]["accuracy"] == pytest.approx(cv["metrics"]["accuracy"]["mean"])
    assert result["rows"]["train"] + result["rows"]["val"] == 178
    _, sections = read_model_file(model)
    assert sections["settings"]["test_split"] == 0.0
    assert sections["extra"]["cv"]["metrics"]["accuracy"] == cv["metrics"]["accuracy"]
    assert captured.err == ""
    run = json.loads(_runs_json(capsys, result["run"]))
    assert run["test_metrics"]["split"] == "cv"
    assert run["test_metric"] == pytest.approx(cv["metrics"]["accuracy"]["mean"])


def _runs_json(capsys, run_id: str) -> str:
    assert main(["runs", "show", run_id, "--json"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("k", "message"),
    [("60", "cross-validation takes 2 to 20 folds, not 60"),
     ("4", "t.csv: 4 stratified folds need at least 4 rows of each class, and class 'y' has 3; "
           "use at most 3 folds or add rows of that class")],
)  # fmt: skip
def test_cli_cv_refuses_a_bad_k(tmp_path, capsys, k, message):
    data = tmp_path / "t.csv"
    data.write_text("a,b\n" + "".join(f"{i},{'xy'[i % 3 == 0]}\n" for i in range(9)))
    model = tmp_path / "t.safetensors"
    assert main(["train", str(data), "--cv", k, "--no-record", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(message) and err.count("\n") == 1
    assert not model.exists()
