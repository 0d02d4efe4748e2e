"""The run controls: Train, Pause/Resume, Step, Stop, Reset, Export and Predict."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget


class ControlsBar(QWidget):
    """Buttons only; the window connects them and calls ``set_state`` as the run moves."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.train_button = self._button("Train", "trainButton", "Start training (Ctrl+Return)")
        self.pause_button = self._button("Pause", "pauseButton", "Pause or resume (Space)")
        self.step_button = self._button("Step", "stepButton", "Train one mini-batch while paused")
        self.stop_button = self._button("Stop", "stopButton", "End the run; the model is kept")
        self.reset_button = self._button("Reset", "resetButton", "Clear the plots and the model")
        self.export_button = self._button("Export model…", "exportButton", "Save (Ctrl+S)")
        self.predict_button = self._button("Predict CSV…", "predictButton", "Run a model file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (
            self.train_button,
            self.pause_button,
            self.step_button,
            self.stop_button,
            self.reset_button,
        ):
            layout.addWidget(button)
        layout.addStretch(1)
        layout.addWidget(self.export_button)
        layout.addWidget(self.predict_button)
        self.set_state("empty", trained=False)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    def set_state(self, state: str, trained: bool) -> None:
        """``state``: empty (no data), idle, preparing, running or paused."""
        active = state in ("running", "paused")
        self.train_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(active)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.step_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(active or state == "preparing")
        self.reset_button.setEnabled(state in ("idle", "empty") and trained)
        self.export_button.setEnabled(state in ("idle", "empty") and trained)
        self.predict_button.setEnabled(state in ("idle", "empty"))
