"""The run store: every training run, from the app or the CLI, in one SQLite file.

WAL mode and a busy timeout let the app and several CLI runs write at once; the schema has a
version (``PRAGMA user_version``) and the migrations that lead to it. A connection is opened
per call (runs write a few times an epoch), so any thread or process may call. Each run row
holds what the runs table shows (best validation value over epochs, test metric, epochs,
duration, device, energy, parameters, tags) so that listing 10,000 runs is one query; the
per-epoch history, the decimated series and the checkpoints have tables of their own.

A run whose status is ``running`` but whose process is gone (same host) reads as
``interrupted``. Anything the store cannot do is a :class:`~engine.errors.RunStoreError`
naming the file and the fix.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from engine.errors import RunStoreError, UserError
from engine.processes import alive
from engine.runs import home

MAX_EPOCH_ROWS = 4000  # per run; past it the history is thinned (every other epoch kept)
STATUSES = ("running", "completed", "stopped", "diverged", "failed", "interrupted")
# each migration: the statements that take the schema from version i to i + 1
MIGRATIONS = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, source TEXT,
        started REAL NOT NULL, ended REAL, heartbeat REAL, pid INTEGER, host TEXT,
        data_path TEXT, data_size INTEGER, data_sha256 TEXT, data_rows INTEGER,
        data_columns INTEGER, schema TEXT, settings TEXT, seed INTEGER, environment TEXT,
        task TEXT, target TEXT, monitor TEXT, best_val REAL, best_epoch INTEGER,
        test_metric REAL, test_metrics TEXT, epochs INTEGER DEFAULT 0, steps INTEGER DEFAULT 0,
        seconds REAL DEFAULT 0, device TEXT, energy_j REAL, parameters INTEGER,
        hardware TEXT, model_path TEXT, tags TEXT DEFAULT '[]', notes TEXT DEFAULT ''
    );
    CREATE TABLE epochs (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
        step INTEGER, seconds REAL, logs TEXT, PRIMARY KEY (run_id, epoch)
    );
    CREATE TABLE series (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, kind TEXT NOT NULL,
        data TEXT, PRIMARY KEY (run_id, kind)
    );
    CREATE TABLE checkpoints (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
        path TEXT NOT NULL, created REAL, PRIMARY KEY (run_id, epoch)
    );
    CREATE INDEX runs_started ON runs(started);
    """,
)
# the columns the runs table shows, and how 'best' reads for each kind of metric
SUMMARY = ("id, name, status, source, started, ended, heartbeat, pid, host, data_path, task, "
           "target, monitor, best_val, best_epoch, test_metric, epochs, steps, seconds, device, "
           "energy_j, parameters, tags, notes, settings, seed")  # fmt: skip
_HOST = socket.gethostname()
_CONNECTIONS = threading.local()  # per thread: {(store path, pid): connection}


def maximised(metric: str) -> bool:
    """Whether a higher value of ``metric`` is better (accuracy, AUC, R²)."""
    name = metric.removeprefix("val_")
    return any(word in name for word in ("acc", "auc", "r2"))


class RunStore:
    """The store at ``path`` (default: :func:`engine.runs.home.store_path`)."""

    def __init__(self, path=None, timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else home.store_path()
        self.timeout = timeout

    # -- connection ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _db(self):
        """This thread's connection, in one transaction; sqlite errors become RunStoreError.

        Connections are kept open (one per thread and store): closing the last connection of
        a WAL database checkpoints and syncs it, which would cost milliseconds per call."""
        db = self._connection()
        try:
            db.execute(f"PRAGMA busy_timeout = {round(self.timeout * 1000)}")
            if db.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                self._migrate(db)  # another process changed the schema meanwhile
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._forget()
            raise self._error(exc) from None

    def _connection(self) -> sqlite3.Connection:
        key = (str(self.path), os.getpid())
        db = _CONNECTIONS.__dict__.get(key)
        if db is not None:
            return db
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self._open(key, max(0.05, deadline - time.monotonic()))
            except sqlite3.OperationalError as exc:
                # processes opening a new store together: switching it to WAL can be refused
                # at once (SQLite's way out of a deadlock) rather than waited for
                if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise self._error(exc) from None
                time.sleep(random.uniform(0.01, 0.1))
            except (OSError, sqlite3.Error) as exc:
                raise self._error(exc) from None

    def _open(self, key, timeout: float) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe from crashes, no fsync
            db.execute("PRAGMA foreign_keys=ON")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        _CONNECTIONS.__dict__[key] = db
        return db

    def _forget(self) -> None:
        """Drop this thread's connection after an error (the next call opens a fresh one)."""
        db = _CONNECTIONS.__dict__.pop((str(self.path), os.getpid()), None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _migrate(self, db) -> None:
        """Bring the schema to ``len(MIGRATIONS)``, one version per transaction; another
        process migrating at the same time is waited for, not raced."""
        while (version := db.execute("PRAGMA user_version").fetchone()[0]) < len(MIGRATIONS):
            db.execute("BEGIN IMMEDIATE")
            if db.execute("PRAGMA user_version").fetchone()[0] != version:
                db.execute("ROLLBACK")  # someone else migrated meanwhile
                continue
            for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        if version > len(MIGRATIONS):
            raise RunStoreError(
                f"the run store {self.path} was written by a newer GPU Trainer (schema "
                f"{version}); update GPU Trainer or set GPU_TRAINER_HOME to another folder"
            )

    def _error(self, exc: Exception) -> RunStoreError:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            why = "is locked by another program; close it or wait, then try again"
        elif any(w in text for w in ("readonly", "read-only", "unable to open")) or isinstance(
            exc, PermissionError
        ):
            why = (
                "cannot be written (is its disk or folder read-only?); "
                "set GPU_TRAINER_HOME to a writable folder"
            )
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            why = "is damaged; move it aside (runs are then started afresh)"
        else:
            why = f"cannot be used ({exc}); set GPU_TRAINER_HOME to another folder"
        return RunStoreError(f"the run store {self.path} {why}")

    # -- writing a run ---------------------------------------------------------------------
    def create_run(self, *, name: str, source: str, data: dict, settings: dict, seed: int,
                   environment: dict, task: str, target: str, monitor: str,
                   parameters: int, device: str) -> str:  # fmt: skip
        """A new ``running`` run; returns its id (12 hex digits)."""
        run_id, now = uuid.uuid4().hex[:12], time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO runs (id, name, status, source, started, heartbeat, pid, host, "
                "data_path, data_size, data_sha256, data_rows, data_columns, schema, settings, "
                "seed, environment, task, target, monitor, parameters, device) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, name, source, now, now, os.getpid(), _HOST, data.get("path"),
                 data.get("size"), data.get("sha256"), data.get("rows"), data.get("columns"),
                 _json(data.get("schema")), _json(settings), seed, _json(environment), task,
                 target, monitor, parameters, device),
            )  # fmt: skip
        return run_id

    def reopen(self, run_id: str, settings: dict) -> None:
        """A resumed run is ``running`` again, in this process, with ``settings`` (its epoch
        count may have grown); epochs past its last checkpoint are forgotten."""
        with self._db() as db:
            db.execute(
                "UPDATE runs SET status='running', ended=NULL, pid=?, host=?, heartbeat=?, "
                "settings=? WHERE id=?",
                (os.getpid(), _HOST, time.time(), _json(settings), run_id),
            )
            last = db.execute(
                "SELECT MAX(epoch) FROM checkpoints WHERE run_id=?", (run_id,)
            ).fetchone()[0]
            db.execute("DELETE FROM epochs WHERE run_id=? AND epoch>=?", (run_id, last or 0))
            # the summary forgets them too: duration and best value over the epochs kept
            monitor = db.execute("SELECT monitor FROM runs WHERE id=?", (run_id,)).fetchone()[0]
            kept = [(r["epoch"], r["seconds"] or 0.0, json.loads(r["logs"]).get(monitor))
                    for r in db.execute("SELECT epoch, seconds, logs FROM epochs WHERE run_id=?",
                                        (run_id,))]  # fmt: skip
            scored = [(v, e) for e, _, v in kept if v is not None and math.isfinite(v)]
            pick = max if maximised(monitor) else min
            best_val, best_epoch = pick(scored) if scored else (None, None)
            db.execute(
                "UPDATE runs SET epochs=?, seconds=?, best_val=?, best_epoch=? WHERE id=?",
                (last or 0, sum(s for _, s, _ in kept), best_val, best_epoch, run_id),
            )

    def add_epoch(self, run_id: str, epoch: int, step: int, seconds: float, logs: dict) -> None:
        """One finished epoch (0-based); keeps the run's best monitored value up to date."""
        with self._db() as db:
            row = db.execute("SELECT monitor, best_val FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise UserError(f"run {run_id} is not in the store (deleted?)")
            value = logs.get(row["monitor"])
            best = row["best_val"]
            better = (
                value is not None
                and math.isfinite(value)
                and (best is None or (value > best if maximised(row["monitor"]) else value < best))
            )
            db.execute(
                "INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?)",
                (run_id, epoch, step, seconds, _json(logs)),
            )
            self._thin_history(db, run_id, value if better else None)
            db.execute(
                "UPDATE runs SET epochs=?, steps=?, seconds=seconds+?, heartbeat=?"
                + (", best_val=?, best_epoch=?" if better else "")
                + " WHERE id=?",
                (epoch + 1, step, seconds, time.time(), *((value, epoch) if better else ()),
                 run_id),
            )  # fmt: skip

    @staticmethod
    def _thin_history(db, run_id: str, new_best) -> None:
        """Past ``MAX_EPOCH_ROWS`` rows, keep every other one (the first, the last and the
        best stay): a run's storage stays bounded however many epochs it has."""
        epochs = [r[0] for r in db.execute(
            "SELECT epoch FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,))]  # fmt: skip
        if len(epochs) <= MAX_EPOCH_ROWS:
            return
        best = db.execute("SELECT best_epoch FROM runs WHERE id=?", (run_id,)).fetchone()[0]
        keep = {epochs[-1]} | ({best} if new_best is None else set())
        drop = [(run_id, e) for e in epochs[1:-1:2] if e not in keep]
        db.executemany("DELETE FROM epochs WHERE run_id=? AND epoch=?", drop)

    def set_series(self, run_id: str, kind: str, data: dict) -> None:
        """A bounded series of the run (``loss``: decimated per-step losses; ``telemetry``)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO series VALUES (?, ?, ?)", (run_id, kind, _json(data))
            )

    def add_checkpoint(self, run_id: str, epoch: int, path) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                (run_id, epoch, str(path), time.time()),
            )

    def drop_checkpoint(self, run_id: str, epoch: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM checkpoints WHERE run_id=? AND epoch=?", (run_id, epoch))

    def finish(self, run_id: str, status: str, **fields) -> None:
        """End a run with ``status``; ``fields``: test_metric, test_metrics, hardware,
        energy_j, model_path."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        values = {k: _json(v) if isinstance(v, dict | list) else v for k, v in fields.items()}
        columns = "".join(f", {name}=?" for name in values)
        with self._db() as db:
            db.execute(
                f"UPDATE runs SET status=?, ended=?{columns} WHERE id=?",
                (status, time.time(), *values.values(), run_id),
            )

    def update(self, run_id: str, **fields) -> None:
        """Rename, tag or note a run: ``name``, ``tags`` (a list), ``notes``, ``model_path``."""
        allowed = {"name", "tags", "notes", "model_path"}
        if not set(fields) <= allowed:
            raise ValueError(f"only {', '.join(sorted(allowed))} can be changed")
        values = {k: _json(v) if k == "tags" else v for k, v in fields.items()}
        with self._db() as db:
            db.execute(
                f"UPDATE runs SET {', '.join(f'{k}=?' for k in values)} WHERE id=?",
                (*values.values(), run_id),
            )

    def delete(self, run_id: str) -> list[str]:
        """Remove a run with its history; returns its checkpoint paths (the caller removes
        the files). A run that is training now is refused."""
        with self._db() as db:
            row = db.execute(f"SELECT {SUMMARY} FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise UserError(f"run {run_id} is not in the store")
            if _live_status(row) == "running":
                raise UserError(f"run {run_id} is training now; stop it before deleting it")
            paths = [r["path"] for r in db.execute(
                "SELECT path FROM checkpoints WHERE run_id=?", (run_id,))]  # fmt: skip
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))
        return paths

    # -- reading ---------------------------------------------------------------------------
    def runs(self) -> list[dict]:
        """Every run's summary row, newest first; dead ``running`` runs read ``interrupted``."""
        with self._db() as db:
            rows = db.execute(f"SELECT {SUMMARY} FROM runs ORDER BY started DESC").fetchall()
        return [_summary(row) for row in rows]

    def resolve(self, key: str) -> str:
        """The id of the run whose id is ``key`` or starts with it (one sentence if none or
        several)."""
        key = key.strip().lower()
        with self._db() as db:
            found = [r[0] for r in db.execute(
                "SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 3",
                (key.replace("%", "\\%").replace("_", "\\_") + "%",))]  # fmt: skip
        if not found or not key:
            raise UserError(f"no run {key!r} in the store; 'gpu-trainer runs' lists them")
        if len(found) > 1:
            raise UserError(f"run {key!r} is ambiguous ({', '.join(found)}, …); give more of it")
        return found[0]

    def get(self, key: str) -> dict:
        """One run in full: its summary, ``schema``, ``environment``, ``test_metrics``,
        ``hardware``, ``history`` (per-epoch rows), ``series`` and ``checkpoints``."""
        run_id = self.resolve(key)
        with self._db() as db:
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
            epochs = db.execute(
                "SELECT epoch, step, seconds, logs FROM epochs WHERE run_id=? ORDER BY epoch",
                (run_id,),
            ).fetchall()
            series = db.execute("SELECT kind, data FROM series WHERE run_id=?", (run_id,))
            series = {r["kind"]: json.loads(r["data"]) for r in series}
            checkpoints = [dict(r) for r in db.execute(
                "SELECT epoch, path, created FROM checkpoints WHERE run_id=? ORDER BY epoch",
                (run_id,))]  # fmt: skip
        run = _summary(row)
        for name in ("schema", "environment", "test_metrics", "hardware"):
            run[name] = json.loads(row[name]) if row[name] else None
        run.update(data_size=row["data_size"], data_sha256=row["data_sha256"],
                   data_rows=row["data_rows"], data_columns=row["data_columns"])  # fmt: skip
        run["history"] = [
            {"epoch": r["epoch"], "step": r["step"], "seconds": r["seconds"],
             **json.loads(r["logs"])} for r in epochs
        ]  # fmt: skip
        run["series"], run["checkpoints"] = series, checkpoints
        return run


def _summary(row) -> dict:
    run = dict(row)
    run["status"] = _live_status(row)
    run["tags"] = json.loads(row["tags"] or "[]")
    run["settings"] = json.loads(row["settings"]) if row["settings"] else {}
    return run


def _live_status(row) -> str:
    """``running`` only while its process lives (checked on this host; elsewhere, while its
    heartbeat is recent)."""
    if row["status"] != "running":
        return row["status"]
    if row["host"] == _HOST and row["pid"]:
        return "running" if alive(row["pid"]) else "interrupted"
    return "running" if time.time() - (row["heartbeat"] or 0) < 3600 else "interrupted"


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, allow_nan=True)
