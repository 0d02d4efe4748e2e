"""The training worker thread: drives the engine's step-by-step trainer and reports in batches.

``TrainingWorker`` is a QObject moved to a QThread; it only computes and emits. Pause, step and
stop are ``threading.Event`` flags checked between mini-batches, so nothing is ever killed.
Records are batched and emitted at most ``EMIT_HZ`` times a second: per-step signals would
flood the GUI thread's queue.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.errors import TrainingDiverged, UserError

# Each batch wakes the GUI thread, which then needs the GIL the worker runs on; on 2 cores that
# costs the training more than the GUI's own CPU time shows. The plots redraw at most 4 times
# a second and the status bar twice, so 5 batches a second keep both fed (scripts/bench_gui.py:
# window-open throughput 92-94 % of headless at 10 Hz, 96-97 % at 2 Hz, in one fast phase).
EMIT_HZ = 5
log = logging.getLogger(__name__)


class TrainingWorker(QObject):
    """Runs ``trainer.step()`` until done or stopped, in whatever thread it is moved to.

    progress: dict with ``steps`` int64[n], ``losses`` float32[n] (since the last emit),
    ``global_step``, ``epoch`` (epochs finished: their logs are in the trainer's
    ``history``, which the worker does not copy), ``samples`` (samples trained so far),
    ``time`` (monotonic). finished: dict with ``reason``
    (completed / stopped / diverged / failed), ``history`` and ``seconds``. failed: the
    message.
    """

    progress = Signal(object)
    failed = Signal(str)
    paused_changed = Signal(bool)
    finished = Signal(object)

    def __init__(self, trainer, emit_hz: float = EMIT_HZ, start_paused: bool = False) -> None:
        super().__init__()  # no parent: it is moved to its thread
        self._trainer = trainer
        self._interval = 1.0 / emit_hz
        self._stop = threading.Event()
        self._running = threading.Event()  # set = not paused
        self._wake = threading.Event()
        self._step_requests = 0
        self._lock = threading.Lock()
        self._pending_lr: float | None = None
        self._reported_epoch = 0
        self._samples = 0
        if not start_paused:
            self._running.set()

    # --- called from the GUI thread -------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()
        self._wake.set()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def request_step(self) -> None:
        with self._lock:
            self._step_requests += 1
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def set_learning_rate(self, lr: float) -> None:
        with self._lock:
            self._pending_lr = float(lr)
        self._wake.set()

    # --- runs in the worker thread ----------------------------------------------------------
    @Slot()
    def run(self) -> None:
        reason = "completed"
        t0 = time.monotonic()
        paused = not self._running.is_set()
        if paused:
            self.paused_changed.emit(True)
        try:
            last_emit = time.monotonic()
            while not self._trainer.done:
                if self._stop.is_set():
                    reason = "stopped"
                    self._trainer.stop()
                    break
                self._apply_learning_rate()
                if not self._running.is_set():
                    if not paused:
                        paused = True
                        self._flush()
                        self.paused_changed.emit(True)
                    if not self._take_step_request():
                        self._wake.wait(0.1)
                        self._wake.clear()
                        continue
                    self._one_step()
                    self._flush()
                    last_emit = time.monotonic()
                    continue
                if paused:
                    paused = False
                    self.paused_changed.emit(False)
                self._one_step()
                now = time.monotonic()
                if now - last_emit >= self._interval:
                    self._flush()
                    last_emit = now
                # No time.sleep(0) to hand the GIL over between steps: each step releases it in
                # its matrix products anyway, and that sleep cost 6 % of the medium workload's
                # throughput on 2 cores (this worker alternated with a plain loop).
            self._flush()
        except UserError as exc:
            reason = "diverged" if isinstance(exc, TrainingDiverged) else "failed"
            self.failed.emit(str(exc))
        except MemoryError:
            reason = "failed"
            self.failed.emit("Out of memory: lower the batch size or the layer sizes.")
        except Exception as exc:  # a bug must not take the app down; keep its traceback
            reason = "failed"
            log.error("training failed:\n%s", traceback.format_exc())
            self.failed.emit(_describe(exc))
        # Not moved back to the GUI thread, nor deleteLater'd: PySide keeps the GIL in
        # moveToThread while Qt takes its thread lock, and a GUI thread deleting objects at that
        # moment (holding the lock, wanting the GIL) deadlocks. The owner drops this object in
        # the GUI thread once the thread has ended.
        summary = {"reason": reason, "history": self._trainer.history}  # the run is over: no copy
        self.finished.emit({**summary, "seconds": time.monotonic() - t0})

    def _one_step(self) -> None:
        self._samples += int(self._trainer.step().samples)

    def _take_step_request(self) -> bool:
        with self._lock:
            if self._step_requests:
                self._step_requests -= 1
                return True
        return False

    def _apply_learning_rate(self) -> None:
        with self._lock:
            lr, self._pending_lr = self._pending_lr, None
        if lr is not None:
            self._trainer.learning_rate = lr

    def _flush(self) -> None:
        steps, losses = self._trainer.drain_losses()
        epoch = self._trainer.epoch
        if not len(steps) and epoch == self._reported_epoch:
            return
        self._reported_epoch = epoch
        self.progress.emit(
            {
                "steps": steps,
                "losses": losses,
                "global_step": self._trainer.global_step,
                "epoch": epoch,
                "samples": self._samples,
                "time": time.monotonic(),
            }
        )


def _describe(exc: BaseException) -> str:
    # GPU out-of-memory arrives as engine.GpuOutOfMemory, a UserError with its own advice
    return f"Training stopped by an unexpected error ({type(exc).__name__}: {exc})."


class TrainingController(QObject):
    """Owns the worker's QThread: start, pause, resume, step, stop and join.

    Re-emits the worker's signals, so the window connects once and never holds the worker.
    """

    progress = Signal(object)
    failed = Signal(str)
    paused_changed = Signal(bool)
    finished = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._paused = False

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self.is_running() and self._paused

    def start(self, trainer, emit_hz: float = EMIT_HZ, start_paused: bool = False) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already in progress")
        worker = TrainingWorker(trainer, emit_hz, start_paused)
        thread = QThread()
        thread.setObjectName("TrainingThread")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.failed.connect(self.failed)
        worker.paused_changed.connect(self._on_paused)
        worker.finished.connect(self._on_finished)
        # Direct: the thread must end even while the GUI thread is blocked in join().
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(thread.deleteLater)
        self._worker, self._thread, self._paused = worker, thread, start_paused
        thread.start()

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.resume()

    def step(self) -> None:
        if self._worker is not None:
            self._worker.request_step()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def set_learning_rate(self, lr: float) -> None:
        if self._worker is not None:
            self._worker.set_learning_rate(lr)

    def join(self, timeout_ms: int = 30_000) -> bool:
        """Stop the run and wait for its thread to end; True when it ended in time."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        ended = thread.wait(timeout_ms)
        if ended:
            self._release()
        return ended

    def _on_paused(self, paused: bool) -> None:
        self._paused = paused
        self.paused_changed.emit(paused)

    def _on_finished(self, summary: dict) -> None:
        thread = self._thread
        if thread is not None:
            thread.wait()
        self._release()
        self.finished.emit(summary)

    def _release(self) -> None:
        self._worker, self._thread, self._paused = None, None, False
