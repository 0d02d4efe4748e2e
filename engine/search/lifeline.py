"""A child process's tie to the process that started it, so that no sweep process outlives
the one that started it, however that one ended (Stop, a closed window, SIGKILL, a crash).

The parent starts the child with ``stdin`` a pipe it never writes to and ``tied(env)`` as its
environment. The child calls :func:`watch`: a thread waits for the end of ``stdin``, which comes
when every copy of the pipe's writing end is closed: when the parent has ended, by any means.
It then stops the child as Ctrl+C would (``KeyboardInterrupt`` in the main thread: the running
trial is recorded as stopped), and ends it outright ``grace_s`` later if it still runs.

The app ties the sweep's leader to itself, and the leader ties each worker to itself.
"""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time

ENV = "GPU_TRAINER_LIFELINE"  # "stdin": the parent holds this process's stdin open
GRACE_S = 30.0  # after the parent ended: how long a clean stop may take
EXIT_CODE = 130  # what an interrupted command returns


def tied(env: dict) -> dict:
    """``env`` for a child whose ``stdin`` the caller keeps open as a pipe for its lifetime."""
    return dict(env, **{ENV: "stdin"})


def watch(grace_s: float = GRACE_S, fd: int = 0) -> bool:
    """Stop this process when its parent ends, where the parent tied it (``ENV``); True where
    it watches. ``fd``: the pipe from the parent (standard input). Call it from the main
    thread."""
    if os.environ.get(ENV) != "stdin":
        return False
    # the parent asks for a stop with SIGINT, and the thread below simulates one: both need
    # Python's handler, which a process started in the background (SIGINT ignored) lacks
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    thread = threading.Thread(target=_wait, args=(fd, grace_s), name="lifeline", daemon=True)
    thread.start()
    return True


def _wait(fd: int, grace_s: float) -> None:
    try:
        while os.read(fd, 4096):  # the parent never writes: b"" is the end of the pipe
            pass
    except OSError:  # not a readable descriptor: nothing tells when the parent ends
        return
    _thread.interrupt_main()
    time.sleep(grace_s)
    os._exit(EXIT_CODE)
