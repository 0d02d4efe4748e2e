"""``gpu-trainer train`` / ``predict``: success paths, JSON output and every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from engine.cli import main

FAST = ["--epochs", "5", "--layers", "8", "--device", "cpu"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GPU_TRAINER_DEVICE"}
    return subprocess.run(
        [sys.executable, "-m", "gui.launcher", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_train_then_predict_in_subprocesses(sample_dir, tmp_path):
    model, preds = tmp_path / "wine.safetensors", tmp_path / "preds.csv"
    result = _cli("train", sample_dir / "wine.csv", "--target", "cultivar", "--out", model, *FAST)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and "epoch 5/5" in result.stderr
    # what the default "auto" activation chose for this 178-row table
    assert "(auto: a table of 178 rows)" in result.stderr
    assert "; hidden layers " in result.stderr and " elu" in result.stderr
    result = _cli("predict", model, sample_dir / "wine.csv", "--out", preds)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(preds)
    assert len(out) == 178
    expected = ["predicted_cultivar", "probability_class_0", "probability_class_1"]
    assert set(expected) <= set(out.columns)
    assert out["alcohol"].iloc[0] == 14.23  # the input rows come first, unchanged


def test_json_prints_only_one_object(sample_dir, tmp_path, capsys):
    model = tmp_path / "d.safetensors"
    assert (
        main(["train", str(sample_dir / "diabetes.csv"), "--out", str(model), "--json", *FAST]) == 0
    )
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["task"] == "regression" and result["target"] == "progression"
    assert {"mae", "rmse", "r2"} <= set(result["test"]) and "y_true" not in result["test"]
    hardware = result["hardware"]  # the run summary, CPU energy or why it is N/A included
    assert hardware["epochs"] == result["epochs"]
    assert (hardware["cpu_energy_j"] is None) == (hardware["cpu_energy_na"] is not None)
    assert captured.err == ""
    assert model.exists()


def test_every_option(sample_dir, tmp_path, capsys):
    model = tmp_path / "c.safetensors"
    argv = ["train", str(sample_dir / "customer_churn.csv"), "--target", "churned"]
    argv += ["--out", str(model), "--layers", "16,8", "--activation", "tanh", "--dropout", "0.1"]
    argv += ["--optimizer", "sgd", "--lr", "0.05", "--batch-size", "64", "--epochs", "30"]
    argv += ["--val-split", "0.2", "--test-split", "0.2", "--early-stopping", "3"]
    argv += ["--seed", "5", "--device", "cpu", "--ignore", "region", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == {"train": 1200, "val": 400, "test": 400}
    from engine import load_model

    predictor = load_model(model)
    assert predictor.metadata["settings"]["optimizer"] == "sgd"
    assert "region" not in predictor.pipeline.input_columns


def test_predict_to_stdout_with_missing_and_unseen_values(sample_dir, tmp_path, capsys):
    model = tmp_path / "c.safetensors"
    assert main(["train", str(sample_dir / "customer_churn.csv"), "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    new = tmp_path / "new.csv"
    new.write_text(
        "plan,region,contract,tenure_months,monthly_charge,support_calls,age,junk\n"
        "gold,mars,weekly,?,NA,1,40,x\n"
        "basic,north,yearly,12,50.5,0,,y\n"
    )
    assert main(["predict", str(model), str(new)]) == 0
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(out) == 2 and out["predicted_churned"].isin(["yes", "no"]).all()
    assert (out["probability_no"] + out["probability_yes"]).round(5).eq(1).all()


BAD = {
    "empty.csv": (b"", "is empty"),
    "header.csv": (b"a,b,target\n", "no data rows"),
    "one_class.csv": (b"a,b,target\n" + b"1,2,x\n3,4,x\n5,6,x\n7,8,x\n", "only one class"),
    "no_target.csv": (b"a,b,target\n" + b"1,2,\n3,4,NA\n5,6,?\n", "entirely missing"),
    "ragged.csv": (b"a,b,target\n1,2,x\n3,4,y,9\n5,6,x\n", "line 3 has 4 fields"),
    "binary.csv": (bytes(range(256)) * 8, "binary"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, name):
    content, message = BAD[name]
    data = tmp_path / name
    data.write_bytes(content)
    out = tmp_path / "model.safetensors"
    assert main(["train", str(data), "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and name in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_bad_target_in_a_subprocess_has_no_traceback(sample_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    result = _cli("train", sample_dir / "wine.csv", "--target", "price", "--out", out)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "target column 'price' does not exist; available columns: alcohol" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layers", "64,x"], "--layers"),
        (["--lr", "-1"], "learning rate"),
        (["--activation", "wiggle"], "unknown activation"),
        (["--val-split", "0.6", "--test-split", "0.5"], "no training rows"),
        (["--out", "/nonexistent-dir/m.safetensors"], "does not exist"),
        (["--out", "."], "is a folder"),
        (["--optimizer", "foo"], "unknown optimizer 'foo'"),
    ],
)
def test_bad_settings_exit_2(sample_dir, capsys, argv, message):
    assert main(["train", str(sample_dir / "wine.csv"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_predict_with_a_broken_model_or_missing_column(sample_dir, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 40)
    assert main(["predict", str(bad), str(sample_dir / "wine.csv")]) == 2
    assert "bad.safetensors" in capsys.readouterr().err
    model = tmp_path / "w.safetensors"
    assert main(["train", str(sample_dir / "wine.csv"), "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    rows = tmp_path / "rows.csv"
    pd.read_csv(sample_dir / "wine.csv").drop(columns=["proline"]).to_csv(rows, index=False)
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(rows), "--out", str(out)]) == 2
    assert "'proline'" in capsys.readouterr().err
    assert not out.exists()


def test_json_output_is_strict_json_without_a_test_split(sample_dir, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    argv = ["train", str(sample_dir / "wine.csv"), "--epochs", "2", "--test-split", "0"]
    assert main([*argv, "--json", "--out", str(out)]) == 0

    def reject(name):
        raise ValueError(f"not strict JSON: {name}")

    result = json.loads(capsys.readouterr().out, parse_constant=reject)
    assert result["test"]["n"] == 0 and result["test"]["accuracy"] is None
