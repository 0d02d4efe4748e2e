"""The status bar's training read-out: device badge, epoch x/y with progress, speed, times."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

# The read-out changes at most this often (and at each new epoch): every change repaints the
# status bar, which costs the training CPU time, and twice a second reads as live.
SHOW_EVERY_S = 0.5


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingStatus:
    """Widgets added to a QStatusBar; ``update`` takes the worker's progress dicts."""

    def __init__(self, bar: QStatusBar) -> None:
        self.device = QLabel()
        self.device.setObjectName("deviceBadge")
        self.epoch = QLabel("Epoch –")
        self.epoch.setObjectName("epochLabel")
        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setMaximumWidth(180)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.speed = QLabel()
        self.speed.setObjectName("speedLabel")
        self.times = QLabel()
        self.times.setObjectName("timeLabel")
        bar.addWidget(self.device)
        for widget in (self.epoch, self.progress, self.speed, self.times):
            bar.addPermanentWidget(widget)
        self._t0 = 0.0
        self._epochs = 0
        self._total_steps = 1
        self._last = (0.0, 0)  # (time, samples) at the last speed reading
        self._pending: dict | None = None  # the newest progress, not yet shown
        self._shown = (-float("inf"), -1)  # (time, epoch) of the progress on screen
        self._later = QTimer(self.progress, singleShot=True)  # shows a held-back progress
        self._later.timeout.connect(self._show_pending)

    def set_device(self, text: str) -> None:
        self.device.setText(text)
        self.device.setToolTip(text)

    def start(self, epochs: int, total_steps: int) -> None:
        self._t0 = time.monotonic()
        self._epochs = epochs
        self._total_steps = max(1, total_steps)
        self._last = (self._t0, 0)
        self.progress.setRange(0, self._total_steps)
        self.progress.setValue(0)
        self.epoch.setText(f"Epoch 1/{epochs}")
        self.speed.setText("")
        self.times.setText("")
        self._drop_pending()
        self._shown = (-float("inf"), -1)

    def busy(self, text: str) -> None:
        """An indeterminate bar, e.g. while a file loads."""
        self._drop_pending()
        self.progress.setRange(0, 0)
        self.epoch.setText(text)

    def idle(self, text: str = "") -> None:
        self._drop_pending()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.epoch.setText(text or "Epoch –")

    def update(self, progress: dict, at_once: bool = False) -> None:
        """Take the worker's progress. It is shown at once when ``at_once`` (a single step
        while paused), at a new epoch and at the last step, else at most every
        ``SHOW_EVERY_S``: a held-back one is shown when that is up."""
        now, epoch = float(progress["time"]), int(progress["epoch"])
        shown_at, shown_epoch = self._shown
        wait = shown_at + SHOW_EVERY_S - now
        last = int(progress["global_step"]) >= self._total_steps
        if wait > 0 and not at_once and epoch == shown_epoch and not last:
            self._pending = progress
            if not self._later.isActive():
                self._later.start(max(1, round(wait * 1000)))
            return
        self._show(progress)

    def _drop_pending(self) -> None:
        self._pending = None
        self._later.stop()

    def _show_pending(self) -> None:
        if self._pending is not None:
            self._show(self._pending)

    def _show(self, progress: dict) -> None:
        self._drop_pending()
        self._shown = (float(progress["time"]), int(progress["epoch"]))
        step = int(progress["global_step"])
        now = float(progress["time"])
        samples = int(progress["samples"])
        self.progress.setValue(min(step, self._total_steps))
        epoch = min(int(progress["epoch"]) + 1, self._epochs)
        self.epoch.setText(f"Epoch {epoch}/{self._epochs}")
        t_last, s_last = self._last
        if now - t_last >= 0.5:
            self.speed.setText(f"{(samples - s_last) / (now - t_last):,.0f} samples/s")
            self._last = (now, samples)
        elapsed = now - self._t0
        text = f"elapsed {format_seconds(elapsed)}"
        if 0 < step < self._total_steps:
            eta = elapsed * (self._total_steps - step) / step
            text += f" · ETA {format_seconds(eta)}"
        self.times.setText(text)

    def finish(self, text: str) -> None:
        self._show_pending()
        self.epoch.setText(text)
        self.times.setText(f"elapsed {format_seconds(time.monotonic() - self._t0)}")
