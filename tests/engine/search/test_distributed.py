"""One study shared by worker processes through PostgreSQL (``GPU_TRAINER_TEST_POSTGRES``,
started by ``.ci/run``): the trial count and the best value add up, and a worker killed
mid-trial leaves that trial failed while the other carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest

from engine.runs.store import RunStore
from engine.search.study import storage
from engine.search.sweep import surplus

URL = os.environ.get("GPU_TRAINER_TEST_POSTGRES", "")
pytestmark = [
    pytest.mark.slow,
    # in CI the server must be there: a failed install fails these tests, never skips them
    pytest.mark.skipif(
        not URL and not os.environ.get("CI"),
        reason="set GPU_TRAINER_TEST_POSTGRES (.ci/run starts a server)",
    ),
]


@pytest.fixture
def url():
    assert URL, "GPU_TRAINER_TEST_POSTGRES is not set: .ci/run could not start PostgreSQL"
    return URL


def _worker(csv, study: str, url: str, trials: int, epochs: int) -> subprocess.Popen:
    argv = ["sweep", str(csv), "--worker", "--storage", url, "--study", study, "--trials"]
    argv += [str(trials), "--fix", f"epochs={epochs}", "--pruner", "none", "--device", "cpu"]
    env = dict(os.environ, GPU_TRAINER_SWEEP_HEARTBEAT="1,3", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")  # fmt: skip
    env.pop("GPU_TRAINER_DEVICE", None)
    command = [sys.executable, "-m", "gui.launcher", *argv]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def _study(name: str, url: str):
    return optuna.load_study(study_name=name, storage=storage(url))


def _check_totals(name: str, url: str, trials: int) -> list:
    everything = _study(name, url).get_trials()
    numbers = [t.number for t in everything]
    assert len(numbers) == len(set(numbers)), "a trial number twice"
    counted = [t for t in everything if not surplus(t)]
    finished = [t for t in counted if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == trials
    assert not [t for t in counted if t.state.name == "RUNNING"]
    values = [t.value for t in finished if t.state.name == "COMPLETE"]
    assert _study(name, url).best_value == max(values)  # accuracy: maximised
    runs = [r for r in RunStore().runs() if f"sweep:{name}" in r["tags"]]
    finished_runs = [r for r in runs if r["status"] in ("completed", "stopped")]
    assert sorted(r["id"] for r in finished_runs) == sorted(
        t.user_attrs["run_id"] for t in finished
    )
    return everything


def test_two_workers_share_one_study(small_csv, home, url):
    name = f"shared-{uuid.uuid4().hex[:8]}"
    workers = [_worker(small_csv, name, url, trials=6, epochs=5) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    everything = _check_totals(name, url, 6)
    assert not [t for t in everything if t.state.name == "FAIL" and not surplus(t)]
    # both workers took trials: each trial's run was recorded by its worker's process
    assert len({r["pid"] for r in RunStore().runs() if f"sweep:{name}" in r["tags"]}) == 2


def test_a_killed_worker_leaves_its_trial_failed(small_csv, home, url):
    name = f"killed-{uuid.uuid4().hex[:8]}"
    victim = _worker(small_csv, name, url, trials=5, epochs=400)  # a long first trial
    study = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is mid-trial
        try:
            study = _study(name, url)
        except KeyError:
            study = None
        if study and study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the first worker never started a trial")
    survivor = _worker(small_csv, name, url, trials=5, epochs=5)  # short trials, alongside
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    _, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    everything = _check_totals(name, url, 5)
    failed = [t for t in everything if t.state.name == "FAIL" and not surplus(t)]
    assert len(failed) == 1  # the killed worker's trial, failed by the heartbeat ...
    (trial,) = failed
    run = RunStore().get(trial.user_attrs["run_id"])  # ... and its run: its process is gone
    assert run["status"] == "interrupted" and run["pid"] == victim.pid
