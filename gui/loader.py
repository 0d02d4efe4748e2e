"""Run one blocking call (reading a CSV, predicting) off the GUI thread and report back."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.errors import UserError

log = logging.getLogger(__name__)


class _CallWorker(QObject):
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__()  # no parent: it is moved to its thread
        self._fn = fn

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn()
        except UserError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("Not enough memory to finish; try a smaller file.")
        except Exception as exc:  # any failure becomes a message; the app stays usable
            log.error("background task failed:\n%s", traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)
        # Not moved back to the GUI thread, nor deleteLater'd: PySide keeps the GIL in
        # moveToThread while Qt takes its thread lock, and a GUI thread deleting objects at that
        # moment (holding the lock, wanting the GIL) deadlocks. The owner drops this object in
        # the GUI thread once the thread has ended.
        self.finished.emit()


class BackgroundTask(QObject):
    """One call at a time in a QThread; ``done(result)`` or ``failed(message)`` comes back.

    ``running`` says whether a call is in flight; ``join()`` waits for it (used on close).
    """

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _CallWorker | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, fn: Callable[[], object]) -> None:
        if self.running:
            raise RuntimeError("a background task is already running")
        worker = _CallWorker(fn)
        thread = QThread()
        thread.setObjectName("BackgroundTask")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(thread.deleteLater)
        self._worker, self._thread = worker, thread
        thread.start()

    def join(self, timeout_ms: int = 60_000) -> bool:
        thread = self._thread
        if thread is None:
            return True
        ended = thread.wait(timeout_ms)
        if ended:
            self._release()
        return ended

    def _on_done(self, result) -> None:
        self._finish()
        self.done.emit(result)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._release()

    def _release(self) -> None:
        if self._thread is not None:
            self._worker, self._thread = None, None
