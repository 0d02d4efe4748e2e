"""Whether a process of this machine still runs: how a run or a half-written file left by a
killed process is told from one whose writer is alive."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True unless ``pid`` is known to be gone (on POSIX; elsewhere it cannot be told, and the
    answer is True)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0 only probes
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True
