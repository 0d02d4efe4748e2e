"""Training settings: optimizer, learning rate, batch size, epochs, L2, patience, seed, device.

Every default, choice and range comes from :mod:`engine.run.settings`, as the CLI's do."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from engine.run.settings import DEVICES, LIMITS, OPTIMIZERS, TrainSettings

# the panel's share of the settings: TrainSettings' fields and their defaults
FIELDS = ("optimizer", "learning_rate", "batch_size", "epochs", "l2", "early_stopping", "seed",
          "device")  # fmt: skip
DEFAULTS = {name: getattr(TrainSettings(), name) for name in FIELDS}


class SettingsPanel(QWidget):
    """The hyperparameters as a form; ``values()`` / ``set_values()`` use plain dicts."""

    learning_rate_changed = Signal(float)

    def __init__(self, gpu_usable: bool, gpu_reason: str | None, parent=None) -> None:
        super().__init__(parent)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizerCombo")
        self.optimizer_combo.addItems(OPTIMIZERS)
        self.learning_rate_spin = QDoubleSpinBox()
        self.learning_rate_spin.setObjectName("learningRateSpin")
        self.learning_rate_spin.setDecimals(6)
        self.learning_rate_spin.setRange(*LIMITS["learning_rate"])
        self.learning_rate_spin.setSingleStep(1e-4)
        self.batch_size_spin = self._spin("batchSizeSpin", *LIMITS["batch_size"])
        self.epochs_spin = self._spin("epochsSpin", *LIMITS["epochs"])
        self.l2_spin = QDoubleSpinBox()
        self.l2_spin.setObjectName("l2Spin")
        self.l2_spin.setDecimals(6)
        self.l2_spin.setRange(*LIMITS["l2"])
        self.l2_spin.setSingleStep(1e-4)
        self.patience_spin = self._spin("patienceSpin", *LIMITS["early_stopping"])
        self.patience_spin.setSpecialValueText("off")
        self.patience_spin.setToolTip(
            "Stop when the validation loss has not improved for this many epochs"
        )
        self.seed_spin = self._spin("seedSpin", *LIMITS["seed"])
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        for text, key in DEVICES:
            self.device_combo.addItem(text, key)
        if not gpu_usable:
            self._disable_gpu(gpu_reason or "no usable NVIDIA GPU")

        form = QFormLayout(self)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.learning_rate_spin)
        form.addRow("Batch size", self.batch_size_spin)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("L2 penalty", self.l2_spin)
        form.addRow("Early-stopping patience", self.patience_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Device", self.device_combo)

        self.set_values(DEFAULTS)
        self.learning_rate_spin.valueChanged.connect(self.learning_rate_changed)

    def _spin(self, name: str, low: int, high: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        return spin

    def _disable_gpu(self, reason: str) -> None:
        model = self.device_combo.model()
        index = self.device_combo.findData("gpu")
        if isinstance(model, QStandardItemModel) and index >= 0:
            item = model.item(index)
            item.setEnabled(False)
            item.setToolTip(f"The GPU cannot be used: {reason}")
        self.device_combo.setToolTip(f"GPU unavailable: {reason}")

    def gpu_enabled(self) -> bool:
        model = self.device_combo.model()
        return model.item(self.device_combo.findData("gpu")).isEnabled()

    def values(self) -> dict:
        return {
            "optimizer": self.optimizer_combo.currentText(),
            "learning_rate": self.learning_rate_spin.value(),
            "batch_size": self.batch_size_spin.value(),
            "epochs": self.epochs_spin.value(),
            "l2": self.l2_spin.value(),
            "early_stopping": self.patience_spin.value(),
            "seed": self.seed_spin.value(),
            "device": self.device_combo.currentData(),
        }

    def set_values(self, values: dict) -> None:
        """Apply known keys; unknown keys and values of the wrong type are ignored."""
        merged = {**DEFAULTS, **{k: v for k, v in values.items() if k in DEFAULTS}}
        try:
            if merged["optimizer"] in OPTIMIZERS:
                self.optimizer_combo.setCurrentText(merged["optimizer"])
            self.learning_rate_spin.setValue(float(merged["learning_rate"]))
            self.batch_size_spin.setValue(int(merged["batch_size"]))
            self.epochs_spin.setValue(int(merged["epochs"]))
            self.l2_spin.setValue(float(merged["l2"]))
            self.patience_spin.setValue(int(merged["early_stopping"]))
            self.seed_spin.setValue(int(merged["seed"]))
        except (TypeError, ValueError):
            return
        index = self.device_combo.findData(merged["device"])
        if index >= 0 and (merged["device"] != "gpu" or self.gpu_enabled()):
            self.device_combo.setCurrentIndex(index)

    def set_state(self, state: str) -> None:
        """'idle': all editable; 'running': none; 'paused': only the learning rate."""
        for widget in (
            self.optimizer_combo,
            self.batch_size_spin,
            self.epochs_spin,
            self.l2_spin,
            self.patience_spin,
            self.seed_spin,
            self.device_combo,
        ):
            widget.setEnabled(state == "idle")
        self.learning_rate_spin.setEnabled(state in ("idle", "paused"))
