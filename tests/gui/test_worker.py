"""The training worker and its controller, against a fake trainer with the engine's step API."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QThread

from gui.worker import EMIT_HZ, TrainingController
from tests.gui.fake_trainer import FakeTrainer


def _collect(controller):
    batches = []
    controller.progress.connect(batches.append)
    return batches


def test_runs_to_the_end_and_reports_every_step_once_in_few_batches(qtbot):
    """Batching must lose nothing: every step's loss arrives once, in order, while the
    number of signals follows the clock (EMIT_HZ), not the 2,000 steps."""
    controller = TrainingController()
    trainer = FakeTrainer(epochs=4, steps_per_epoch=500)
    batches = _collect(controller)
    with qtbot.waitSignal(controller.finished, timeout=10_000) as finished:
        controller.start(trainer)
    assert finished.args[0]["reason"] == "completed"
    steps = np.concatenate([b["steps"] for b in batches])
    losses = np.concatenate([b["losses"] for b in batches])
    assert steps.tolist() == list(range(1, 2001))
    np.testing.assert_array_equal(losses, (1.0 / steps).astype(np.float32))
    assert all(b["global_step"] == b["steps"][-1] for b in batches if len(b["steps"]))
    assert len(batches) <= EMIT_HZ * finished.args[0]["seconds"] + 2
    assert len(batches) <= len(steps) / 100
    finished_epochs = [b["epoch"] for b in batches]  # their logs stay in trainer.history
    assert finished_epochs == sorted(finished_epochs) and finished_epochs[-1] == 4
    assert batches[-1]["samples"] == 2000 * 8
    assert not controller.is_running()


def test_emits_about_emit_hz_times_a_second(qtbot):
    """A run of about 1.5 s reports about EMIT_HZ times a second: not more (each batch costs
    the GUI thread and the trainer the GIL), and not far fewer (the plots would stall)."""
    controller = TrainingController()
    trainer = FakeTrainer(epochs=1, steps_per_epoch=1500, delay=0.001)
    batches = _collect(controller)
    with qtbot.waitSignal(controller.finished, timeout=20_000) as finished:
        controller.start(trainer)
    seconds = finished.args[0]["seconds"]
    assert seconds >= 1.5
    assert EMIT_HZ * seconds / 2 <= len(batches) <= EMIT_HZ * seconds * 1.5 + 1
    gaps = np.diff([b["time"] for b in batches[:-1]])  # the last one is the final flush
    assert gaps.min() >= 0.9 / EMIT_HZ


def test_pause_step_resume_and_learning_rate_while_paused(qtbot):
    controller = TrainingController()
    trainer = FakeTrainer(epochs=2, steps_per_epoch=100, delay=0.001)
    with qtbot.waitSignal(controller.paused_changed, timeout=5_000) as paused:
        controller.start(trainer, start_paused=True)
    assert paused.args == [True]
    assert controller.is_paused()
    qtbot.wait(100)
    assert trainer.global_step == 0
    controller.set_learning_rate(0.5)
    with qtbot.waitSignal(controller.progress, timeout=5_000):
        controller.step()
    assert trainer.global_step == 1
    assert trainer.lr_seen == [0.5]
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.resume()
    assert trainer.global_step == trainer.total_steps


def test_stop_ends_the_run_early(qtbot):
    controller = TrainingController()
    trainer = FakeTrainer(epochs=100, steps_per_epoch=100, delay=0.001)
    with qtbot.waitSignal(controller.progress, timeout=5_000):
        controller.start(trainer)
    with qtbot.waitSignal(controller.finished, timeout=5_000) as finished:
        controller.stop()
    assert finished.args[0]["reason"] == "stopped"
    assert trainer.stopped
    assert trainer.global_step < trainer.total_steps


def test_join_stops_and_waits_without_the_event_loop(qtbot):
    controller = TrainingController()
    trainer = FakeTrainer(epochs=100, steps_per_epoch=100, delay=0.001)
    controller.start(trainer)
    qtbot.waitUntil(lambda: trainer.global_step > 5, timeout=5_000)
    assert controller.join(5_000)
    assert not controller.is_running()
    assert trainer.stopped


def test_a_user_error_becomes_a_message(qtbot):
    controller = TrainingController()
    trainer = FakeTrainer(epochs=1, steps_per_epoch=100, fail_at=5)
    messages = []
    controller.failed.connect(messages.append)
    with qtbot.waitSignal(controller.finished, timeout=5_000) as finished:
        controller.start(trainer)
    assert finished.args[0]["reason"] == "failed"
    assert messages == ["training diverged at step 5; lower the learning rate"]


def test_a_second_start_is_refused_while_running(qtbot):
    controller = TrainingController()
    controller.start(FakeTrainer(epochs=100, steps_per_epoch=100, delay=0.001))
    with pytest.raises(RuntimeError):
        controller.start(FakeTrainer())
    assert controller.join(5_000)


def test_the_worker_runs_in_its_own_thread(qtbot):
    controller = TrainingController()
    threads = []
    trainer = FakeTrainer(epochs=1, steps_per_epoch=10)
    original = trainer.step

    def step():
        threads.append(QThread.currentThread())
        return original()

    trainer.step = step
    with qtbot.waitSignal(controller.finished, timeout=5_000):
        controller.start(trainer)
    assert threads and all(t is not QThread.currentThread() for t in threads)
