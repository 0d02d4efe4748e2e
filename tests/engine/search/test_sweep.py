"""``gpu-trainer sweep`` on one machine: worker processes, the cap on trials, the best model,
the recorded runs, pruning, and bad input."""

from __future__ import annotations

import json

import optuna
import pytest

from engine import load_model
from engine.cli import main
from engine.runs.store import RunStore
from engine.search.study import default_storage
from engine.search.sweep import parse_seconds, surplus


def _sweep(capsys, csv, out, *extra: str) -> dict:
    argv = ["sweep", str(csv), "--json", "--out", str(out), "--device", "cpu", *extra]
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _trials(result: dict) -> list:
    study = optuna.load_study(study_name=result["study"], storage=default_storage())
    return [t for t in study.get_trials() if not surplus(t)]


def test_a_small_sweep_in_two_workers(small_csv, home, tmp_path, capsys):
    out = tmp_path / "best.safetensors"
    result = _sweep(capsys, small_csv, out, "--trials", "4", "--jobs", "2", "--fix", "epochs=8")
    counts = result["trials"]
    assert counts["COMPLETE"] + counts["PRUNED"] == 4 and counts["FAIL"] == 0
    assert result["failed_workers"] == 0 and result["model"] == str(out)
    trials = _trials(result)
    assert len(trials) == 4 and sorted(t.number for t in trials) == [0, 1, 2, 3]
    completed = [t.value for t in trials if t.state.name == "COMPLETE"]
    assert result["best"]["value"] == max(completed)  # classification: the accuracy, maximised
    # the best model loads and predicts
    model = load_model(out)
    assert model is not None
    # every trial is a recorded run, tagged with the study and its number
    store = RunStore()
    runs = {r["id"]: r for r in store.runs()}
    assert len(runs) == 4
    best = store.get(result["best"]["run"])
    assert f"sweep:{result['study']}" in best["tags"]
    assert f"trial:{result['best']['trial']}" in best["tags"]
    assert best["status"] == "completed" and best["source"] == "sweep"
    tags = sorted(next(t for t in r["tags"] if t.startswith("trial:")) for r in runs.values())
    assert tags == [f"trial:{n}" for n in range(4)]


@pytest.mark.slow
def test_the_median_pruner_stops_unpromising_trials(small_csv, home, tmp_path, capsys):
    extra = ["--trials", "12", "--jobs", "2", "--fix", "epochs=30", "--pruner", "median"]
    result = _sweep(capsys, small_csv, tmp_path / "best.safetensors", *extra)
    counts = result["trials"]
    assert counts["COMPLETE"] + counts["PRUNED"] == 12 and counts["FAIL"] == 0
    assert counts["PRUNED"] >= 1, counts
    pruned = [t for t in _trials(result) if t.state.name == "PRUNED"]
    store = RunStore()
    for trial in pruned:  # a pruned trial is a stopped run, not a failed one
        assert store.get(trial.user_attrs["run_id"])["status"] == "stopped"


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--timeout", "soon"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--vary", "learning_rate=1..x"], "learning_rate"),
        (["--vary", "wings=1..2"], "wings"),
        (["--pruner", "psychic"], "--pruner"),
        (["--trials", "0"], "--trials"),
        (["--out", "no/such/folder/best.safetensors"], "no/such/folder does not exist"),
    ],
)
def test_bad_options_exit_2_with_one_line(small_csv, home, capsys, extra, words):
    assert main(["sweep", str(small_csv), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-trainer sweep: error:")
    assert words in lines[0]


def test_missing_data_exits_2_with_one_line(home, tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nowhere.csv"), "--trials", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "nowhere.csv" in lines[0]


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400)])
def test_timeouts(text, seconds):
    assert parse_seconds(text) == seconds


def test_the_default_study_file_is_in_write_ahead_mode(home):
    """Readers (the app, the leader) must not block the workers' writes, nor wait on them."""
    import sqlite3

    from engine.search.study import open_study

    open_study("wal", "maximize")
    path = default_storage().removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_processes_that_open_a_new_study_file_together_all_succeed(home, tmp_path):
    """The app's first read and the leader (or several workers) meet a new database at once;
    the one that loses the race to create its tables must retry, not fail the sweep."""
    import subprocess
    import sys
    import time

    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    start = time.time() + 3.0  # every process starts creating at the same instant
    code = (
        "import sys, time\n"
        "from engine.search.study import open_study\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "open_study('race', 'maximize', sys.argv[1])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(start)], stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(6)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_an_ignored_stop_signal_stays_ignored_as_nohup_asks():
    import signal

    from engine.search.sweep import handle, restore

    def stop(*_):
        pass

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        previous = handle((signal.SIGHUP, signal.SIGTERM), stop)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup's choice kept
        assert signal.getsignal(signal.SIGTERM) is stop
        restore(previous)
        assert signal.getsignal(signal.SIGTERM) is not stop
        forced = handle((signal.SIGHUP,), stop, force=True)
        assert signal.getsignal(signal.SIGHUP) is stop
        restore(forced)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
