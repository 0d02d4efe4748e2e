"""Running a sweep: worker processes that each take trials from one study until it has
enough, and the loop that watches them.

Each worker is ``gpu-trainer sweep … --worker`` in its own process: on a GPU machine the
workers take the GPUs in turn (``gpu:N``); on the CPU the BLAS threads are shared out among
them so that they do not oversubscribe the cores. The study caps the trials for every worker
together (``MaxTrialsCallback``, counting finished and running trials), so several
``gpu-trainer sweep`` commands on several machines, pointed at one ``--storage`` and
``--study``, run one sweep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from engine.errors import UserError

COUNTED = ("COMPLETE", "PRUNED", "RUNNING")


def parse_seconds(text: str | None) -> float | None:
    """``'90'``, ``'90s'``, ``'10m'``, ``'1.5h'`` -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    scale = units.get(text[-1:])
    try:
        value = float(text[:-1] if scale else text) * (scale or 1)
    except ValueError:
        raise UserError(f"--timeout {text!r}: give seconds, or a number with s, m or h") from None
    if value <= 0:
        raise UserError("--timeout must be more than 0")
    return value


def worker_environment(index: int, jobs: int, device: str) -> dict:
    """The environment of worker ``index`` of ``jobs``: its GPU, or its share of the cores."""
    env = dict(os.environ)
    if device in ("auto", "gpu"):
        from engine.backend import probe_gpu

        probe = probe_gpu()
        if probe.usable and probe.device_count:
            env["GPU_TRAINER_DEVICE"] = f"gpu:{index % probe.device_count}"
            return env
    if device.startswith("gpu"):
        env["GPU_TRAINER_DEVICE"] = device
        return env
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               GPU_TRAINER_DEVICE="cpu")  # fmt: skip
    return env


@dataclass
class Progress:
    complete: int
    pruned: int
    failed: int
    running: int
    best: float | None
    best_trial: int | None


def progress(study) -> Progress:
    trials = study.get_trials(deepcopy=False)
    count = {state: 0 for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
    for trial in trials:
        if surplus(trial):
            continue
        count[trial.state.name] = count.get(trial.state.name, 0) + 1
    best = study.best_trial if count["COMPLETE"] else None
    return Progress(count["COMPLETE"], count["PRUNED"], count["FAIL"], count["RUNNING"],
                    best.value if best else None, best.number if best else None)  # fmt: skip


# what else asks a process to stop: a service manager or `timeout` (SIGTERM, often to the
# whole process group), a closed terminal or SSH session (SIGHUP)
STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def run_workers(argv: list[str], jobs: int, device: str, study, on_progress=None,
                poll_s: float = 1.0) -> int:  # fmt: skip
    """Start ``jobs`` workers (``gpu-trainer`` with ``argv`` and ``--worker``), report the
    study's progress every ``poll_s`` until they end; Ctrl+C, SIGTERM or SIGHUP stop them
    cleanly (their running trials are failed) and are waited for. Returns how many workers
    failed."""
    from engine.search.lifeline import tied

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    command = [sys.executable, "-m", "gui.launcher", *argv, "--worker"]
    workers: list[subprocess.Popen] = []
    previous = handle(STOP_SIGNALS, interrupt)
    try:
        for i in range(jobs):
            # each worker's stdin is a pipe held open here: it stops itself when this process
            # ends, even by SIGKILL (engine.search.lifeline)
            env = tied(worker_environment(i, jobs, device))
            workers.append(subprocess.Popen(command, env=env, stdin=subprocess.PIPE))
        while any(w.poll() is None for w in workers):
            if on_progress is not None:
                on_progress(progress(study))
            time.sleep(poll_s)
    except KeyboardInterrupt:
        handle(STOP_SIGNALS, signal.SIG_IGN)  # the stop is under way: wait for the workers
        for w in workers:
            _ask_to_stop(w)
        for w in workers:
            w.wait()
        raise
    finally:
        restore(previous)
        for w in workers:
            w.stdin.close()
    if on_progress is not None:
        on_progress(progress(study))
    return sum(1 for w in workers if w.returncode not in (0, 130))


def _ask_to_stop(worker: subprocess.Popen) -> None:
    """SIGINT on POSIX; elsewhere the end of its stdin, which its lifeline takes as a stop."""
    if worker.poll() is not None:
        return
    if os.name == "posix":
        worker.send_signal(signal.SIGINT)
    else:
        worker.stdin.close()


def handle(signals, handler, *, force: bool = False) -> dict:
    """Set ``handler`` for each of ``signals``; returns the handlers replaced, for
    :func:`restore` (none where it cannot: signals are the main thread's). A signal set to be
    ignored (``nohup``'s SIGHUP) stays ignored unless ``force``."""
    previous = {}
    try:
        for number in signals:
            old = signal.getsignal(number)
            if old is signal.SIG_IGN and not force:
                continue
            signal.signal(number, handler)
            previous[number] = signal.SIG_DFL if old is None else old  # None: set outside Python
    except ValueError:  # not the main thread
        pass
    except BaseException:  # a signal between two of them: put back what was changed
        restore(previous)
        raise
    return previous


def restore(previous: dict) -> None:
    for number, old in previous.items():
        signal.signal(number, old)


class Surplus(Exception):
    """A trial started past the cap: workers that started trials at the same moment both saw
    the study one short. The trial is failed at once, marked ``surplus``, and not counted."""


class StopRequest:
    """A worker's handler of SIGINT (Ctrl+C, the leader's stop, the lifeline), SIGTERM and
    SIGHUP. It only notes the request; the worker stops where that is safe: between a trial's
    stages and steps (the running trial's objective calls :meth:`check`: the run is recorded
    as stopped and the trial failed), or between trials. An interrupt raised anywhere, inside
    one of Optuna's writes to the study say, could leave a trial running."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum=None, frame=None) -> None:
        if not self.requested:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.ERROR)  # a stop is not a failure
        self.requested = True

    def check(self, *_) -> None:
        """Raise ``KeyboardInterrupt`` where a stop was asked for."""
        if self.requested:
            raise KeyboardInterrupt


def work(study, objective, trials: int, timeout: float | None, poll_s: float = 1.0,
         stop: StopRequest | None = None) -> None:  # fmt: skip
    """One worker's loop: trials until the study has ``trials`` (all workers together) or
    ``timeout`` seconds have passed. A worker out of trials waits while other workers' trials
    run: when one of them dies, its trial is failed (heartbeat) and re-run here. A stop signal
    ends it with ``KeyboardInterrupt`` at the next safe point (``stop``, which ``objective``
    should check between its stages and steps)."""
    stop = stop or StopRequest()
    # SIGINT always: it is how the leader asks (a background start had it ignored)
    previous = handle((signal.SIGINT,), stop, force=True)
    previous.update(handle(STOP_SIGNALS, stop))
    try:
        _work_until_done(study, objective, trials, timeout, poll_s, stop)
    finally:
        restore(previous)


def _work_until_done(study, objective, trials, timeout, poll_s, stop: StopRequest) -> None:
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    counted = tuple(TrialState[s] for s in COUNTED)
    cap = MaxTrialsCallback(trials, states=counted)

    def capped(trial):
        stop.check()  # asked during Optuna's ask: this trial fails, cleanly
        before = study.get_trials(deepcopy=False, states=counted)
        if sum(1 for t in before if t.number < trial.number) >= trials:
            trial.set_user_attr("surplus", True)
            study.stop()
            optuna.logging.set_verbosity(optuna.logging.ERROR)  # not a failure to report
            raise Surplus(f"trial {trial.number} is past the cap of {trials}")
        return objective(trial)

    def stop_between_trials(study, trial):
        if stop.requested:
            study.stop()  # no next trial; the loop below raises

    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        stop.check()
        optuna.storages.fail_stale_trials(study)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        if not cap_reached(study, trials):
            study.optimize(capped, timeout=left, callbacks=[cap, stop_between_trials],
                           gc_after_trial=False, catch=(Surplus,))  # fmt: skip
            stop.check()
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            continue
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            return
        time.sleep(poll_s)


def surplus(trial) -> bool:
    return bool(trial.user_attrs.get("surplus"))


def cap_reached(study, trials: int) -> bool:
    states = study.get_trials(deepcopy=False)
    return sum(1 for t in states if t.state.name in COUNTED) >= trials
