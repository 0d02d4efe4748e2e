"""``gpu-trainer explain``: the JSON object's shape, the text table, and a CSV without the
model's target column refused in one line with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cli import main
from engine.data.samples import sample_paths
from engine.io.predictor import load_model

FAST = ["--epochs", "5", "--layers", "8", "--device", "cpu", "--no-record"]


@pytest.fixture(scope="module")
def churn_model(tmp_path_factory):
    model = tmp_path_factory.mktemp("explain") / "churn.safetensors"
    data = next(p for p in sample_paths() if p.name == "customer_churn.csv")
    assert main(["train", str(data), "--target", "churned", "--out", str(model), *FAST]) == 0
    return model, data


def test_json_is_one_object_with_a_row_per_input_column(churn_model, capsys):
    model, data = churn_model
    capsys.readouterr()
    argv = ["explain", str(model), str(data), "--json", "--repeats", "3", "--rows", "500"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err == ""
    assert result["metric"] == "roc_auc" and result["metric_label"] == "ROC AUC"
    assert 0.5 < result["baseline"] <= 1.0
    assert (result["rows"], result["rows_total"], result["repeats"]) == (500, 2000, 3)
    assert result["target"] == "churned" and result["data"] == "customer_churn.csv"
    inputs = load_model(model).pipeline.input_columns
    assert sorted(c["column"] for c in result["columns"]) == sorted(inputs)
    assert "customer_id" not in inputs  # an identifier the model ignores is not listed
    means = [c["importance_mean"] for c in result["columns"]]
    assert means == sorted(means, reverse=True)
    for column in result["columns"]:
        assert set(column) == {"column", "importance_mean", "importance_std", "importances"}
        assert len(column["importances"]) == 3


def test_the_same_seed_prints_the_same_object(churn_model, capsys):
    model, data = churn_model
    argv = ["explain", str(model), str(data), "--json", "--rows", "300", "--seed", "7"]
    capsys.readouterr()
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first


def test_text_lists_every_input_column_with_a_bar(churn_model, capsys):
    model, data = churn_model
    capsys.readouterr()
    assert main(["explain", str(model), str(data), "--rows", "400", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "a sample of 400 of 2,000 rows of customer_churn.csv" in lines[0]
    assert "drop in ROC AUC" in lines[1]
    inputs = load_model(model).pipeline.input_columns
    table = lines[lines.index(next(line for line in lines if line.startswith("column"))) + 1 :]
    assert sorted(line.split()[0] for line in table) == sorted(inputs)
    assert table[0].endswith("█" * 30)  # the most important column has the longest bar


def test_a_csv_without_the_target_exits_2_with_one_line(churn_model, tmp_path, capsys):
    model, data = churn_model
    unlabelled = tmp_path / "new_customers.csv"
    pd.read_csv(data).drop(columns=["churned"]).to_csv(unlabelled, index=False)
    capsys.readouterr()
    assert main(["explain", str(model), str(unlabelled)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and captured.out == ""
    assert "new_customers.csv has no column 'churned', the model's target" in err


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--rows", "-1"], ["--seed", "-3"]])
def test_bad_numbers_exit_2(churn_model, capsys, argv):
    model, data = churn_model
    assert main(["explain", str(model), str(data), *argv]) == 2
    assert argv[0] in capsys.readouterr().err
