"""The status bar's read-out: live but rate-limited, and never left stale."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QStatusBar

from gui.status_bar import SHOW_EVERY_S, TrainingStatus


@pytest.fixture
def status(qtbot):
    bar = QStatusBar()  # held here for the test's length: the read-out's widgets live in it
    qtbot.addWidget(bar)
    yield TrainingStatus(bar)


def _progress(step: int, epoch: int = 0, at: float | None = None) -> dict:
    return {
        "global_step": step,
        "epoch": epoch,
        "samples": step * 32,
        "time": time.monotonic() if at is None else at,
    }


def test_progress_is_shown_at_most_twice_a_second_and_the_newest_soon_after(qtbot, status):
    status.start(epochs=3, total_steps=300)
    now = time.monotonic()
    status.update(_progress(10, at=now))
    assert status.progress.value() == 10  # the first one at once
    status.update(_progress(20, at=now + 0.1))
    status.update(_progress(30, at=now + 0.2))
    assert status.progress.value() == 10  # held back: the bar repaints at most every 0.5 s
    qtbot.waitUntil(lambda: status.progress.value() == 30, timeout=int(SHOW_EVERY_S * 4000))
    status.update(_progress(100, epoch=1, at=now + 0.3))
    assert status.progress.value() == 100  # a new epoch shows at once
    assert status.epoch.text() == "Epoch 2/3"
    status.update(_progress(300, epoch=2, at=now + 0.35))
    assert status.progress.value() == 300  # and so does the last step


def test_finish_shows_the_last_progress_held_back(qtbot, status):
    status.start(epochs=2, total_steps=200)
    status.update(_progress(10, at=time.monotonic()))
    status.update(_progress(42))  # stopped right after
    status.finish("Stopped after 0 epoch(s)")
    assert status.progress.value() == 42
    assert status.epoch.text() == "Stopped after 0 epoch(s)"
    status.idle()
    qtbot.wait(int(SHOW_EVERY_S * 1500))
    assert status.progress.value() == 0  # nothing held back comes back after a reset


def test_a_single_step_while_paused_shows_at_once(status):
    status.start(epochs=2, total_steps=200)
    now = time.monotonic()
    status.update(_progress(10, at=now))
    status.update(_progress(11, at=now + 0.05), at_once=True)  # the Step button, paused
    assert status.progress.value() == 11
