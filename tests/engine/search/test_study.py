"""The study storage's SQLite settings follow the URL as SQLAlchemy reads it."""

from __future__ import annotations

import sqlite3

import pytest

from engine.search.study import SQLITE_TIMEOUT_S, _sqlite_kwargs


def _mode(path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_file_url_gets_write_ahead_logging_and_the_busy_timeout(tmp_path):
    path = tmp_path / "a b.db"  # %20 in the URL, a space on disk
    assert _sqlite_kwargs(f"sqlite:///{tmp_path}/a%20b.db") == {
        "connect_args": {"timeout": SQLITE_TIMEOUT_S}
    }
    assert _mode(path) == "wal"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["a b.db"]


def test_the_url_s_own_options_are_kept(tmp_path):
    assert _sqlite_kwargs(f"sqlite:///{tmp_path}/q.db?timeout=5") == {}  # its own timeout
    assert _mode(tmp_path / "q.db") == "wal"  # the file itself, not "q.db?timeout=5"
    assert not list(tmp_path.glob("*timeout*"))
    read_only = tmp_path / "ro.db"
    sqlite3.connect(read_only).execute("CREATE TABLE t (x)")
    _sqlite_kwargs(f"sqlite:///file:{read_only}?mode=ro&uri=true")
    assert _mode(read_only) == "delete"  # a read-only study is not changed


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_memory_databases_are_left_alone(url):
    assert _sqlite_kwargs(url) == {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}


def test_a_server_url_checks_its_pooled_connections():
    assert _sqlite_kwargs("postgresql://user@db-host/sweeps") == {"pool_pre_ping": True}
