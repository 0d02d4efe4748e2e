"""``gpu-trainer runs``: list, show, compare and delete against a store in a temporary home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.run.settings import TrainSettings
from engine.runs.manifest import read_manifest
from engine.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[3]
SHA = "ab" * 32
ENVIRONMENT = {"gpu_trainer": "0.1.0", "python": "3.11.7", "numpy": "1.26.4", "backend": "numpy"}
# per-epoch logs: the best validation loss is epoch 1 (0-based), not the last one
LOGS = [
    {"loss": 0.9, "accuracy": 0.6, "val_loss": 0.8, "val_accuracy": 0.62, "lr": 0.001},
    {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.31234567, "val_accuracy": 0.9, "lr": 0.001},
    {"loss": 0.4, "accuracy": 0.85, "val_loss": 0.45, "val_accuracy": 0.88, "lr": 0.001},
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_TRAINER_HOME", str(tmp_path))
    return tmp_path


def _create(name="wine", *, seed=0, lr=1e-3, environment=ENVIRONMENT, sha=SHA) -> str:
    settings = TrainSettings(learning_rate=lr, seed=seed).to_dict()
    schema = {"columns": [], "task": "classification", "n_rows": 178, "problems": []}
    data = {"path": "samples/wine.csv", "size": 10_234, "sha256": sha, "rows": 178, "columns": 14,
            "schema": schema}  # fmt: skip
    return RunStore().create_run(
        name=name, source="cli", data=data, settings=settings, seed=seed,
        environment=environment, task="classification", target="cultivar", monitor="val_loss",
        parameters=3_011, device="cpu",
    )  # fmt: skip


def _finished(name="wine", *, checkpoints=(), **kwargs) -> str:
    store = RunStore()
    run_id = _create(name, **kwargs)
    for epoch, logs in enumerate(LOGS):
        store.add_epoch(run_id, epoch, step=(epoch + 1) * 5, seconds=20.5, logs=logs)
    for epoch, path in checkpoints:
        store.add_checkpoint(run_id, epoch, path)
    store.finish(run_id, "completed", test_metric=0.9444, test_metrics={
        "accuracy": 0.9444, "macro_f1": 0.9402, "n": 36, "confusion_matrix": [[12, 0], [2, 22]],
        "labels": ["a", "b"], "worst": float("nan")})  # fmt: skip
    return run_id


def _runs(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["runs", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(code: int, out: str, err: str) -> str:
    """A failure: exit 2, nothing on stdout, one line on stderr, no traceback."""
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


# -- runs --------------------------------------------------------------------------------------
def test_list_shows_the_best_epoch_not_the_last(home, capsys):
    old = _finished("first")
    new = _finished("second")
    code, out, err = _runs(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "STATUS", "DATA"]
    assert [line.split()[0] for line in lines[1:]] == [new[:8], old[:8]]  # newest first
    cells = lines[1].split()
    assert cells[1:4] == ["second", "completed", "wine.csv"]
    # best val_loss 0.3123 at epoch 2 (counted from 1), not the last epoch's 0.45
    assert cells[4:8] == ["val_loss", "0.3123", "2", "0.9444"]
    assert cells[8:11] == ["3", "1:02", "cpu"]  # 3 epochs of 20.5 s
    # aligned: every row starts its STATUS column where the header does
    column = lines[0].index("STATUS")
    assert all(line[column:].split()[0] in ("STATUS", "completed") for line in lines)


def test_list_json_is_strict_and_limited(home, capsys):
    _finished("first")
    store = RunStore()
    run_id = _create("diverging")
    store.add_epoch(run_id, 0, step=5, seconds=1.0, logs={"loss": float("nan")})
    store.finish(run_id, "diverged", test_metric=float("inf"))
    code, out, _ = _runs(capsys, "--json")
    assert code == 0
    rows = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))
    assert [r["name"] for r in rows] == ["diverging", "first"]
    assert rows[0]["status"] == "diverged" and rows[0]["test_metric"] is None
    assert rows[1]["monitor"] == "val_loss" and rows[1]["best_epoch"] == 1
    assert rows[1]["best_val"] == pytest.approx(0.31234567)
    code, out, _ = _runs(capsys, "--json", "--limit", "1")
    assert [r["name"] for r in json.loads(out)] == ["diverging"]


def test_empty_home_lists_nothing_and_creates_nothing(home, capsys):
    code, out, _ = _runs(capsys, "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = _runs(capsys)
    assert code == 0 and "no runs" in out
    assert list(home.iterdir()) == []


# -- runs show ---------------------------------------------------------------------------------
def test_show_text(home, capsys):
    run_id = _finished(checkpoints=[(1, home / "checkpoints" / "x" / "epoch1.safetensors")])
    code, out, err = _runs(capsys, "show", run_id[:5])
    assert code == 0 and err == ""
    assert out.startswith(f"run {run_id}  wine  (completed)")
    for text in (
        SHA,
        "10,234 bytes",
        "178 rows × 14 columns",
        "learning_rate",
        "0.001",
        "64 auto, 32 auto",  # the default layers, as given
        "numpy",
        "1.26.4",
        "macro_f1",
        "0.9402",
        "confusion_matrix, labels: with --json",
        "epoch 2",
        "epoch1.safetensors",
    ):
        assert text in out, text
    seed = next(line for line in out.splitlines() if line.split()[:1] == ["seed"])
    assert seed.split() == ["seed", "0"]
    assert "best val_loss 0.3123 at epoch 2" in out
    # the history's first, best and last epochs: 1, 2 (marked) and 3
    history = out.split("history", 1)[1].split("\ntest", 1)[0].splitlines()[2:]
    assert [line.split()[0] for line in history] == ["1", "2", "3"]
    assert history[1].split()[1] == "best"


def test_show_json_has_the_whole_history(home, capsys):
    run_id = _finished()
    code, out, _ = _runs(capsys, "show", run_id, "--json")
    assert code == 0
    run = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))
    assert run["id"] == run_id and run["seed"] == 0 and run["data_sha256"] == SHA
    assert [h["val_loss"] for h in run["history"]] == [h["val_loss"] for h in LOGS]
    assert run["test_metrics"]["worst"] is None  # NaN as null
    assert run["settings"]["learning_rate"] == 0.001
    # 'runs --json show' reads the same as 'runs show --json'
    assert _runs(capsys, "--json", "show", run_id)[1] == out


def test_show_manifest_writes_one_read_manifest_accepts(home, capsys, tmp_path):
    run_id = _finished(seed=7)
    path = tmp_path / "run.json"
    code, out, err = _runs(capsys, "show", run_id[:6], "--manifest", str(path))
    assert code == 0 and out.startswith(f"run {run_id}")
    assert err.strip() == f"manifest of run {run_id} written to {path}"
    manifest = read_manifest(path)
    assert manifest["run_id"] == run_id
    assert manifest["data"]["sha256"] == SHA
    assert manifest["settings"]["seed"] == 7


def test_show_manifest_to_a_missing_folder_is_one_line(home, capsys, tmp_path):
    run_id = _finished()
    result = _runs(capsys, "show", run_id, "--manifest", str(tmp_path / "nope" / "run.json"))
    assert "nope" in _one_error_line(*result)


# -- runs compare ------------------------------------------------------------------------------
def test_compare_lists_only_what_differs(home, capsys):
    environment = {**ENVIRONMENT, "numpy": "2.0.0"}
    a = _finished("a")
    b = _finished("b", seed=3, lr=3e-4, environment=environment)
    code, out, _ = _runs(capsys, "compare", a[:7], b[:7], "--json")
    assert code == 0
    result = json.loads(out)
    assert result["differences"] == {
        "settings.learning_rate": [0.001, 0.0003],
        "seed": [0, 3],
        "environment.numpy": ["1.26.4", "2.0.0"],
    }
    assert [r["id"] for r in result["runs"]] == [a, b]
    assert result["runs"][1]["best_val"] == pytest.approx(0.31234567)
    assert result["runs"][1]["test_metrics"]["accuracy"] == 0.9444

    code, out, _ = _runs(capsys, "compare", a, b)
    assert code == 0
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines[a[:8]] == [b[:8]]  # the header: both ids
    assert lines["settings.learning_rate"] == ["0.001", "0.0003"]
    assert lines["seed"] == ["0", "3"]
    assert "settings.batch_size" not in lines and "data.sha256" not in lines
    assert lines["best"] == ["val_loss", "0.3123", "(epoch", "2)"] * 2
    tests = [line.split() for line in out.splitlines() if line.startswith("test ")]
    assert tests[:2] == [
        ["test", "accuracy", "0.9444", "0.9444"],
        ["test", "macro_f1", "0.9402", "0.9402"],
    ]


def test_compare_with_other_data(home, capsys):
    a, b = _finished("a"), _finished("b", sha="cd" * 32)
    code, out, _ = _runs(capsys, "compare", a, b, "--json")
    assert json.loads(out)["differences"] == {"data.sha256": [SHA, "cd" * 32]}


# -- runs delete -------------------------------------------------------------------------------
def test_delete_removes_the_run_and_its_checkpoints(home, capsys):
    folder = home / "checkpoints" / "somerun"
    folder.mkdir(parents=True)
    files = [folder / f"epoch{i}.safetensors" for i in (0, 2)]
    for path in files:
        path.write_bytes(b"weights")
    kept = _finished("kept")
    run_id = _finished("gone", checkpoints=[(0, files[0]), (2, files[1])])
    code, out, err = _runs(capsys, "delete", run_id[:6])
    assert code == 0 and err == ""
    assert out.strip() == f"deleted run {run_id} and its 2 checkpoint files"
    assert not folder.exists()  # the files and their now-empty folder
    assert [r["id"] for r in RunStore().runs()] == [kept]
    assert "no run" in _one_error_line(*_runs(capsys, "show", run_id))


def test_a_running_run_is_not_deleted(home, capsys):
    run_id = _create()  # this process's pid: it reads 'running'
    assert RunStore().runs()[0]["status"] == "running"
    message = _one_error_line(*_runs(capsys, "delete", run_id))
    assert "training now" in message
    assert [r["id"] for r in RunStore().runs()] == [run_id]


# -- failures ----------------------------------------------------------------------------------
def test_unknown_and_ambiguous_prefixes(home, capsys, monkeypatch):
    ids = iter(["aaaa11112222", "aaaa33334444"])
    monkeypatch.setattr("uuid.uuid4", lambda: type("U", (), {"hex": next(ids) + "0" * 20})())
    _finished("one")
    _finished("two")
    for argv in (["show", "zzz"], ["delete", "zzz"], ["compare", "aaaa1", "zzz"]):
        assert "no run 'zzz'" in _one_error_line(*_runs(capsys, *argv))
    for argv in (["show", "aaaa"], ["delete", "aaaa"], ["compare", "aaaa", "aaaa1"]):
        assert "ambiguous" in _one_error_line(*_runs(capsys, *argv))
    code, out, _ = _runs(capsys, "show", "AAAA3", "--json")  # case does not matter
    assert code == 0 and json.loads(out)["name"] == "two"


@pytest.mark.parametrize("argv", [[], ["--json"], ["show", "abc"], ["delete", "abc"]])
def test_a_corrupt_store_is_one_line_naming_the_file(home, capsys, argv):
    store = home / "runs.sqlite"
    store.write_bytes(os.urandom(64) + b"this is not a database" * 200)
    message = _one_error_line(*_runs(capsys, *argv))
    assert str(store) in message and "damaged" in message


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid probes are POSIX")
def test_a_run_whose_process_was_killed_reads_interrupted(home, capsys):
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.engine.cli.test_runs import _create
        print(_create("killed"), flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        run_id = child.stdout.readline().strip()
        assert len(run_id) == 12
        assert RunStore().runs()[0]["status"] == "running"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    code, out, _ = _runs(capsys)
    assert code == 0 and out.splitlines()[1].split()[:3] == [run_id[:8], "killed", "interrupted"]
    assert json.loads(_runs(capsys, "show", run_id, "--json")[1])["status"] == "interrupted"
    # and an interrupted run can be deleted
    assert _runs(capsys, "delete", run_id)[0] == 0


def test_the_launcher_lists_runs_as_json_without_qt_or_pandas(home):
    _finished("from a subprocess")
    env = {k: v for k, v in os.environ.items() if k != "GPU_TRAINER_DEVICE"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gui.launcher", "runs", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [r["name"] for r in json.loads(result.stdout)] == ["from a subprocess"]
    # -X importtime names every module imported, one per line: "import time: ... | name"
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert "engine" in loaded
    assert {"PySide6", "shiboken6", "pyqtgraph", "pandas", "pyarrow"}.isdisjoint(loaded)
