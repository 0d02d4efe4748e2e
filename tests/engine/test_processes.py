"""Telling a live process from one that has ended (``engine.processes.alive``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from engine.processes import alive

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX processes")


def test_this_process_and_a_running_child_are_alive():
    assert alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not alive(child.pid)  # reaped: no such process


def test_an_ended_process_no_one_has_reaped_is_not_alive():
    """A zombie (an orphan where nothing reaps them, or a child not yet waited for) still
    answers signal 0; a run it recorded as running must read interrupted all the same."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.02)
        os.kill(child.pid, 0)  # still there for signals ...
        assert not alive(child.pid)  # ... yet gone
    finally:
        child.wait()
