"""Runs recorded from the command line: checkpoints kept and pruned, a run killed with
SIGKILL reads interrupted and resumes from its last checkpoint, a manifest trains the same
run again bit for bit, concurrent runs lose nothing, and an unusable store never stops
training."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.cli import main as cli_main
from engine.io.model_file import read_model_file
from engine.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_TRAINER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["y"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _train(table, out, *args) -> None:
    code = cli_main(["train", str(table), "--out", str(out), "--json", "--seed", "3",
                     "--layers", "8", "--early-stopping", "0", *args])  # fmt: skip
    assert code == 0


def _weights(path):
    return read_model_file(path)[0]


def test_a_run_is_recorded_with_its_last_checkpoints(home, table, tmp_path, capsys):
    _train(table, tmp_path / "m.safetensors", "--epochs", "6", "--keep", "2", "--tag", "base")
    result = json.loads(capsys.readouterr().out)
    run = RunStore().get(result["run"])
    assert run["status"] == "completed" and run["epochs"] == 6 and run["tags"] == ["base"]
    assert [c["epoch"] for c in run["checkpoints"]] == [5, 6]  # the last two kept
    assert sorted(p.name for p in (home / "checkpoints" / run["id"]).iterdir()) == [
        "epoch-00005.safetensors", "epoch-00006.safetensors"]  # fmt: skip
    assert len(run["history"]) == 6 and run["series"]["loss"]["step"]
    assert run["test_metrics"]["accuracy"] == result["test"]["accuracy"]
    assert run["data_sha256"] and run["data_rows"] == 600 and run["seed"] == 3
    metadata = read_model_file(tmp_path / "m.safetensors")[1]["extra"]
    assert metadata["run_id"] == run["id"] and metadata["manifest"]["data"]["sha256"]


def test_a_killed_run_reads_interrupted_and_resumes_from_its_last_checkpoint(home, table, tmp_path):
    straight = tmp_path / "straight.safetensors"
    _train(table, straight, "--epochs", "200", "--no-record")
    code = ("import sys; from engine.cli import main; "
            "sys.exit(main(sys.argv[1:]))")  # fmt: skip
    args = ["train", str(table), "--out", str(tmp_path / "k.safetensors"), "--json",
            "--seed", "3", "--layers", "8", "--early-stopping", "0", "--epochs", "200"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a few checkpoints are down
        runs = RunStore().runs() if (home / "runs.sqlite").exists() else []
        if runs and runs[0]["epochs"] >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run,) = RunStore().runs()
    assert run["status"] == "interrupted" and 5 <= run["epochs"] < 200
    resumed = tmp_path / "resumed.safetensors"
    assert cli_main(["train", str(table), "--resume", run["id"][:6], "--out", str(resumed),
                     "--json"]) == 0  # fmt: skip
    again = RunStore().get(run["id"])
    assert again["status"] == "completed" and again["epochs"] == 200
    for a, b in zip(_weights(straight), _weights(resumed)):  # as if never killed
        np.testing.assert_array_equal(a, b)


def test_a_manifest_trains_the_same_run_again_bit_for_bit(home, table, tmp_path, capsys):
    from engine.runs.manifest import manifest_for, write_manifest

    first = tmp_path / "first.safetensors"
    _train(table, first, "--epochs", "4", "--optimizer", "rmsprop", "--lr", "0.003")
    run_id = json.loads(capsys.readouterr().out)["run"]
    manifest = write_manifest(tmp_path / "run.json", manifest_for(RunStore().get(run_id)))
    again = tmp_path / "again.safetensors"
    assert cli_main(["train", str(table), "--manifest", str(manifest), "--out", str(again)]) == 0
    for a, b in zip(_weights(first), _weights(again)):
        np.testing.assert_array_equal(a, b)
    other = tmp_path / "other.csv"
    other.write_text(table.read_text().replace("yes", "yep", 1))
    assert cli_main(["train", str(other), "--manifest", str(manifest), "--out",
                     str(tmp_path / "x.safetensors")]) == 2  # fmt: skip
    assert "is not the data of run" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_concurrent_runs_lose_nothing(home, table, tmp_path):
    """Three processes train and record at once into one store (WAL, busy timeout)."""
    code = "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, "train", str(table), "--out",
                          str(tmp_path / f"m{i}.safetensors"), "--epochs", "30", "--json",
                          "--layers", "8", "--early-stopping", "0", "--keep", "1",
                          "--name", f"run {i}"], cwd=ROOT, stdout=subprocess.DEVNULL)
        for i in range(3)
    ]  # fmt: skip
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    runs = RunStore().runs()
    assert sorted(r["name"] for r in runs) == ["run 0", "run 1", "run 2"]
    for run in runs:
        full = RunStore().get(run["id"])
        assert full["status"] == "completed" and [h["epoch"] for h in full["history"]] == list(
            range(30)
        )


def test_an_unusable_store_never_stops_training(home, table, tmp_path, capsys):
    home.mkdir()
    (home / "runs.sqlite").write_bytes(b"garbage, not a database" * 50)
    out = tmp_path / "m.safetensors"
    assert cli_main(["train", str(table), "--out", str(out), "--epochs", "3"]) == 0
    err = capsys.readouterr().err
    assert out.is_file() and "runs.sqlite is damaged" in err
