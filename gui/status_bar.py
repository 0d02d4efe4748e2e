"""The status bar's training read-out: device badge, epoch x/y with progress, speed, times."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


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

    def busy(self, text: str) -> None:
        """An indeterminate bar, e.g. while a file loads."""
        self.progress.setRange(0, 0)
        self.epoch.setText(text)

    def idle(self, text: str = "") -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.epoch.setText(text or "Epoch –")

    def update(self, progress: dict) -> None:
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
        self.epoch.setText(text)
        self.times.setText(f"elapsed {format_seconds(time.monotonic() - self._t0)}")
