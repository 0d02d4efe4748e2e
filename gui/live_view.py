"""The live tab: loss and metric plots over the hardware panel, fed by the worker's batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from gui.hardware_panel import HardwarePanel
from gui.plots import LossPlot, MetricPlot

LOSS_LABELS = {
    "classification": "Loss (cross-entropy, nats)",
    "regression": "Loss (MSE, standardised target)",
}
METRIC_LABELS = {
    "classification": "Accuracy (fraction correct)",
    "regression": "MAE (standardised target)",
}


class LiveView(QWidget):
    """Owns the plots' data for one run: per-step losses and per-epoch logs."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.loss = LossPlot()
        self.metric = MetricPlot()
        self.hardware = HardwarePanel()
        self.epoch_logs: list[dict] = []
        self.plots = QSplitter(Qt.Orientation.Vertical)
        self.plots.setObjectName("plotsSplitter")
        self.plots.addWidget(self.loss)
        self.plots.addWidget(self.metric)
        self.plots.addWidget(self.hardware)
        self.plots.setSizes([300, 220, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

    def clear(self) -> None:
        self.loss.clear()
        self.metric.clear()
        self.epoch_logs = []

    def start(self, task: str, t0: float, backend=None) -> None:
        self.loss.set_loss_name(LOSS_LABELS.get(task, "Loss"))
        self.metric.set_metric_label(METRIC_LABELS.get(task, "Metric"))
        if backend is not None:
            self.hardware.attach(backend)
        self.hardware.run_started(t0)

    def add_progress(self, batch: dict) -> None:
        self.loss.add_steps(batch["steps"], batch["losses"])
        for epoch, logs, step in batch["epochs"]:
            self.epoch_logs.append({"epoch": epoch + 1, "step": step, **logs})
            if "val_loss" in logs:
                self.loss.add_validation(step, logs["val_loss"])
            self.metric.add_epoch(epoch, logs)
        self.loss.redraw()

    def run_finished(self, epochs: int) -> dict:
        return self.hardware.run_finished(epochs)

    def history_frame(self) -> pd.DataFrame:
        """One row per epoch: epoch, the global step it ended at, and every logged value."""
        return pd.DataFrame(self.epoch_logs)

    def loss_points(self) -> tuple[np.ndarray, np.ndarray]:
        return self.loss.raw.data()

    def shutdown(self) -> None:
        self.hardware.shutdown()
