"""The run store: WAL and a schema version, the best value over epochs, interrupted runs,
and one clear sentence for a store that is damaged, locked, read-only or too new."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from engine.errors import RunStoreError, UserError
from engine.runs.store import MIGRATIONS, RunStore


def _run(store, **overrides):
    fields = dict(name="r", source="cli", data={"path": "d.csv", "sha256": "ab"},
                  settings={"optimizer": "adam"}, seed=0, environment={}, task="classification",
                  target="y", monitor="val_accuracy", parameters=10, device="cpu")  # fmt: skip
    fields.update(overrides)
    return store.create_run(**fields)


def test_the_store_is_in_wal_mode_with_its_schema_version(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    _run(store)
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_the_best_value_is_the_best_over_epochs_not_the_last(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    up = _run(store)  # accuracy: higher is better
    down = _run(store, monitor="val_mae")  # an error: lower is better
    for epoch, (acc, mae) in enumerate([(0.5, 3.0), (0.8, 1.0), (0.7, 2.0)]):
        store.add_epoch(up, epoch, 10 * (epoch + 1), 0.1, {"val_accuracy": acc})
        store.add_epoch(down, epoch, 10 * (epoch + 1), 0.1, {"val_mae": mae})
    runs = {r["id"]: r for r in store.runs()}
    assert (runs[up]["best_val"], runs[up]["best_epoch"]) == (0.8, 1)
    assert (runs[down]["best_val"], runs[down]["best_epoch"]) == (1.0, 1)
    assert runs[up]["epochs"] == 3 and runs[up]["seconds"] == pytest.approx(0.3)


def test_a_run_whose_process_died_reads_interrupted(tmp_path):
    path = tmp_path / "runs.sqlite"
    code = (
        "import sys; from engine.runs.store import RunStore\n"
        "RunStore(sys.argv[1]).create_run(name='gone', source='cli', data={}, settings={}, "
        "seed=0, environment={}, task='classification', target='y', monitor='val_loss', "
        "parameters=1, device='cpu')"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    (run,) = RunStore(path).runs()
    assert run["status"] == "interrupted"  # recorded as running by a process that is gone
    mine = _run(RunStore(path))
    assert RunStore(path).get(mine)["status"] == "running"  # this process is alive
    with pytest.raises(UserError, match="training now"):
        RunStore(path).delete(mine)


def test_prefixes_resolve_and_ambiguity_is_one_sentence(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run = _run(store)
    assert store.resolve(run[:5]) == run
    with pytest.raises(UserError, match="no run"):
        store.resolve("zzzz")


def test_a_damaged_store_is_one_sentence_naming_the_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(RunStoreError, match=r"runs\.sqlite is damaged; move it aside") as info:
        RunStore(path).runs()
    assert "\n" not in str(info.value)


@contextlib.contextmanager
def read_only(folder):
    """``folder`` unwritable, for root too (which ignores permission bits): the immutable
    attribute where the file system has it."""
    if os.geteuid() != 0:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            yield
        finally:
            folder.chmod(stat.S_IRWXU)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode:
        pytest.skip("no way to make a folder read-only for root here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_read_only_store_is_one_sentence(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder), pytest.raises(RunStoreError, match="folder read-only") as info:
        _run(RunStore(folder / "runs.sqlite"))
    assert "GPU_TRAINER_HOME" in str(info.value)


def test_a_store_locked_by_another_program_is_one_sentence(tmp_path):
    path = tmp_path / "runs.sqlite"
    _run(RunStore(path))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the lock
    try:
        with pytest.raises(RunStoreError, match="locked by another program"):
            _run(RunStore(path, timeout=0.2))
    finally:
        other.execute("ROLLBACK")


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "runs.sqlite"
    _run(RunStore(path))
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RunStoreError, match="newer GPU Trainer"):
        RunStore(path).runs()


def test_migrations_run_once_when_processes_open_a_new_store_together(tmp_path):
    """Several processes (a sweep's workers, the app) create the store at the same instant:
    each waits for or retries what another does (switching to WAL, migrating); none fails."""
    path = tmp_path / "runs.sqlite"
    start = time.time() + 3.0
    code = (
        "import sys, time; from engine.runs.store import RunStore\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "RunStore(sys.argv[1]).runs()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path), str(start)], stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(8)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert RunStore(path).runs() == []


def test_a_long_history_is_thinned_keeping_the_first_last_and_best(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.runs.store.MAX_EPOCH_ROWS", 50)
    store = RunStore(tmp_path / "runs.sqlite")
    run = _run(store)
    for epoch in range(500):
        value = 0.9 if epoch == 137 else 0.5  # one best epoch, early on
        store.add_epoch(run, epoch, epoch + 1, 0.01, {"val_accuracy": value})
    kept = [h["epoch"] for h in store.get(run)["history"]]
    assert len(kept) <= 50 and kept[0] == 0 and kept[-1] == 499 and 137 in kept
    assert store.get(run)["epochs"] == 500 and store.get(run)["best_epoch"] == 137


def test_reopening_forgets_the_epochs_past_the_last_checkpoint(tmp_path):
    """A run killed after its checkpoint at epoch 2 but during epoch 3 resumes from 2: the
    epoch it will train again no longer counts in its duration or its best value."""
    store = RunStore(tmp_path / "runs.sqlite")
    run = _run(store)
    for epoch, acc in enumerate([0.5, 0.6, 0.9]):
        store.add_epoch(run, epoch, epoch + 1, 1.0, {"val_accuracy": acc})
    store.add_checkpoint(run, 2, tmp_path / "epoch-00002.safetensors")
    store.reopen(run, {"epochs": 10})
    again = store.get(run)
    assert [h["epoch"] for h in again["history"]] == [0, 1]
    assert (again["epochs"], again["seconds"]) == (2, 2.0)
    assert (again["best_val"], again["best_epoch"]) == (0.6, 1)
