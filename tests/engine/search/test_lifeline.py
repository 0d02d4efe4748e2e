"""No sweep process outlives the one that started it: real processes, the parent killed with
SIGKILL or stopped with SIGTERM, and the children seen to end (``engine.search.lifeline``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import psutil
import pytest

from engine.processes import alive
from engine.runs.store import RunStore
from engine.search.lifeline import ENV, EXIT_CODE, tied, watch
from engine.search.study import default_storage

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

# a child that waits to be stopped: "stopped" in its file when a KeyboardInterrupt reached it
CHILD = """
import signal, sys, time
from engine.search.lifeline import watch
if sys.argv[3] == "background":  # started as a shell's background job: SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_IGN)
assert watch(grace_s=float(sys.argv[2]))
try:
    print("watching", flush=True)
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    open(sys.argv[1], "w").write("stopped")
    if sys.argv[3] == "ignore":  # a stop that hangs: the grace ends it
        while True:
            time.sleep(0.05)
    sys.exit(7)
"""

# a parent that ties one CHILD to itself, prints its pid and waits to be killed
PARENT = """
import os, subprocess, sys, time
from engine.search.lifeline import tied
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], "30", "exit"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=tied(dict(os.environ)))
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    env.pop(ENV, None)
    return env


def _gone(pid: int, timeout: float) -> bool:
    """Whether ``pid`` ends within ``timeout`` s (a zombie no one has reaped yet counts)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_child_stops_cleanly_when_its_killed_parent_goes(tmp_path):
    marker = tmp_path / "child.txt"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, textwrap.dedent(CHILD), str(marker)],
                              stdout=subprocess.PIPE, text=True, env=_env())  # fmt: skip
    try:
        child = int(parent.stdout.readline())
        assert psutil.pid_exists(child)
        time.sleep(0.3)
        assert not marker.exists()  # the child waits while its parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone(child, timeout=10), "the child outlived its killed parent"
        assert marker.read_text() == "stopped"  # by a KeyboardInterrupt: its clean stop ran
    finally:
        parent.kill()


def _cut_off(marker, grace: str, mode: str) -> tuple[int, float]:
    """A tied CHILD, its pipe closed as its parent's end would: (exit code, seconds taken)."""
    command = [sys.executable, "-c", CHILD, str(marker), grace, mode]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=tied(_env()))  # fmt: skip
    try:
        assert child.stdout.readline().strip() == b"watching"
        began = time.monotonic()
        child.stdin.close()
        return child.wait(timeout=10), time.monotonic() - began
    finally:
        child.kill()


def test_a_child_whose_stop_hangs_is_ended_after_the_grace(tmp_path):
    code, seconds = _cut_off(tmp_path / "child.txt", "0.5", "ignore")
    assert code == EXIT_CODE and seconds >= 0.5
    assert (tmp_path / "child.txt").read_text() == "stopped"


def test_a_child_started_in_the_background_still_stops(tmp_path):
    """A shell's background job starts with SIGINT ignored; a tied child must stop anyway."""
    code, _ = _cut_off(tmp_path / "child.txt", "30", "background")
    assert code == 7  # its own clean exit, not the grace's
    assert (tmp_path / "child.txt").read_text() == "stopped"


def test_a_process_no_one_tied_does_not_watch(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert watch() is False
    assert tied({"A": "1"}) == {"A": "1", ENV: "stdin"}


# -- a real sweep: its leader killed or stopped, its workers seen to end ---------------------
def _leader(csv) -> subprocess.Popen:  # in a process group of its own, with its workers
    argv = ["sweep", str(csv), "--trials", "50", "--jobs", "2", "--study", "tied",
            "--fix", "epochs=400", "--pruner", "none", "--device", "cpu"]  # fmt: skip
    command = [sys.executable, "-m", "gui.launcher", *argv]
    return subprocess.Popen(command, env=_env(), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def _running_workers(leader: subprocess.Popen) -> list[int]:
    """The leader's two workers, once both are training a trial (each has a running run)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert leader.poll() is None, leader.stderr.read()
        workers = {w.pid for w in psutil.Process(leader.pid).children()}
        training = {r["pid"] for r in RunStore().runs() if r["status"] == "running"}
        if len(workers) == 2 and workers <= training:
            return sorted(workers)
        time.sleep(0.2)
    pytest.fail("the sweep never had both workers training")


def _check_stopped(workers: list[int]) -> None:
    for pid in workers:
        assert _gone(pid, timeout=20), f"worker {pid} outlived its leader"
    study = optuna.load_study(study_name="tied", storage=default_storage())
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    # each trial's run recorded its end: stopped by the interrupt (a trial may also have
    # ended by itself just before), never left running or found interrupted
    statuses = [r["status"] for r in RunStore().runs()]
    assert "stopped" in statuses, statuses
    assert not {"running", "interrupted"} & set(statuses), statuses


@pytest.mark.slow
@pytest.mark.parametrize(
    "how", ["SIGKILL", "SIGTERM", "SIGTERM to the group", "SIGHUP to the group"]
)
def test_workers_stop_when_their_leader_is_killed_or_stopped(small_csv, home, how):
    """SIGKILL: the workers see their pipe end and stop themselves. SIGTERM: the leader stops
    them as Ctrl+C does and waits for them. To the whole group (``timeout``, a service
    manager, a closed terminal): every process stops cleanly."""
    leader = _leader(small_csv)
    try:
        workers = _running_workers(leader)
        number = getattr(signal, how.split()[0])
        if how.endswith("group"):
            os.killpg(leader.pid, number)
        else:
            leader.send_signal(number)
        _, err = leader.communicate(timeout=60)
        if how != "SIGKILL":
            assert leader.returncode == 130, err
            assert "gpu-trainer sweep: interrupted" in err
            assert not [pid for pid in workers if psutil.pid_exists(pid)]  # waited for
        _check_stopped(workers)
    finally:
        leader.kill()
