"""Whether a process of this machine still runs: how a run or a half-written file left by a
killed process is told from one whose writer is alive."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True unless ``pid`` is known to be gone, a zombie included (on POSIX; elsewhere it
    cannot be told, and the answer is True)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0 only probes
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and waits to be reaped (its parent was killed, say, and no
    one reaps orphans here): it still answers signals, yet runs no more."""
    try:
        import psutil  # not on every machine (the GPU image): then it cannot be told
    except ImportError:
        return False
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
