"""The Optuna study a sweep runs in: TPE sampling, median pruning, a heartbeat so that a
trial whose worker died is failed rather than running for ever, and the storage — an SQLite
file beside the run store on one machine, or a database URL that workers on many machines
share (PostgreSQL: ``postgresql://user@host/db``). ``optuna-dashboard STORAGE`` opens it."""

from __future__ import annotations

import contextlib
import os
import time
import warnings

from engine.errors import UserError
from engine.runs import home

HEARTBEAT_S = 5
GRACE_S = 20
# how long a worker waits for another's write to an SQLite study (Python's default is 5 s)
SQLITE_TIMEOUT_S = 60.0
# Tests shorten both: "HEARTBEAT,GRACE" in seconds, e.g. "1,3"
TIMING_ENV = "GPU_TRAINER_SWEEP_HEARTBEAT"
PRUNERS = ("median", "hyperband", "none")


def default_storage() -> str:
    folder = home.home()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'studies.sqlite'}"


def storage(url: str | None = None):
    """Optuna's RDB storage for ``url`` (default: :func:`default_storage`), with the
    heartbeat on."""
    import optuna

    url = _driver(url or default_storage())
    heartbeat, grace = _timing()
    # the heartbeat is an "experimental" argument in Optuna; it is the documented way to fail
    # the trials of a dead worker, so its notice is not for the user's terminal
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    engine_kwargs = _sqlite_kwargs(url)
    for attempt in range(4):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=heartbeat, grace_period=grace, engine_kwargs=engine_kwargs,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a bad URL, a server that does not answer
            # processes that meet a new database together (the workers; the app's first read
            # and the leader) race to create its tables: the loser retries
            if attempt < 3 and _lost_race(exc):
                time.sleep(0.5 + attempt)
                continue
            raise UserError(
                f"the study storage {_safe(url)} cannot be used ({_first_line(exc)})"
            ) from None


def _sqlite_kwargs(url: str) -> dict:
    """The engine's arguments for ``url``: for an SQLite file, write-ahead logging (set once in
    the file) and the busy timeout, unless the URL says otherwise (``?timeout=``, a read-only
    ``?mode=ro&uri=true``); for a server, a check of pooled connections before use."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL: RDBStorage says so, in one sentence
        return {}
    if parsed.get_backend_name() != "sqlite":
        return {"pool_pre_ping": True}
    database = parsed.database or ""
    if database not in ("", ":memory:") and not {"mode", "uri"} & set(parsed.query):
        _write_ahead(database)
    return {} if "timeout" in parsed.query else {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}


def _lost_race(exc: Exception) -> bool:
    """Whether creating the storage failed because another process created it meanwhile: a
    table or row that was not there a moment ago (SQLite, PostgreSQL)."""
    from sqlalchemy.exc import IntegrityError

    text = str(exc)
    return isinstance(exc, IntegrityError) or any(
        words in text for words in ("already exists", "duplicate key", "UNIQUE constraint")
    )


def _write_ahead(path: str) -> None:
    """Put the SQLite file ``path`` in write-ahead-log mode (it stays so): readers (the app,
    the leader's progress) then never block the workers' writes, nor they the readers."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5.0)) as db:
            # asking needs no lock; changing waits for the other connections, so once only
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:  # busy, or a folder that cannot take the log's files: unchanged
        pass


def open_study(name: str, direction: str, url: str | None = None, pruner: str = "median"):
    """The study ``name`` (made when new; joined when it exists)."""
    import optuna

    if pruner not in PRUNERS:
        raise UserError(f"--pruner {pruner!r}: use one of {', '.join(PRUNERS)}")
    pruners = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=5),
        "none": optuna.pruners.NopPruner,
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name, storage=storage(url), direction=direction, load_if_exists=True,
        sampler=optuna.samplers.TPESampler(constant_liar=True), pruner=pruners[pruner](),
    )  # fmt: skip
    if study.direction.name.lower() != direction:
        raise UserError(f"study {name!r} {study.direction.name.lower()}s; this sweep would "
                        f"{direction}: pick another --study name")  # fmt: skip
    return study


def _driver(url: str) -> str:
    """``postgresql://`` with the driver installed: SQLAlchemy 2.1 means psycopg 3 by it; with
    only psycopg2 (the ``test`` extra's ``psycopg2-binary``) that one is named."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        for module, dialect in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
            if importlib.util.find_spec(module) is not None:
                return f"postgresql+{dialect}://{rest}"
    return url


def _timing() -> tuple[int, int]:
    text = os.environ.get(TIMING_ENV, "").strip()
    if not text:
        return HEARTBEAT_S, GRACE_S
    try:
        heartbeat, grace = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"{TIMING_ENV}={text!r}: give HEARTBEAT,GRACE in seconds") from None
    return heartbeat, grace


def _safe(url: str) -> str:
    """``url`` without a password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}@{tail}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
