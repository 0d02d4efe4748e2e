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

from engine.run.settings import (
    CLASS_WEIGHTS,
    DEVICES,
    LIMITS,
    LR_SCHEDULES,
    NUMERIC_EMBEDDINGS,
    OPTIMIZERS,
    TrainSettings,
)

# the panel's share of the settings: TrainSettings' fields and their defaults
FIELDS = ("optimizer", "learning_rate", "batch_size", "epochs", "l2", "early_stopping", "seed",
          "device", "lr_schedule", "weight_decay", "label_smoothing", "class_weight",
          "numeric_embedding")  # fmt: skip
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

        self.lr_schedule_combo = QComboBox()
        self.lr_schedule_combo.setObjectName("lrScheduleCombo")
        self.lr_schedule_combo.addItems(LR_SCHEDULES)
        self.lr_schedule_combo.setToolTip("cosine: a short warm-up, then a cosine decay")
        self.weight_decay_spin = QDoubleSpinBox()
        self.weight_decay_spin.setObjectName("weightDecaySpin")
        self.weight_decay_spin.setDecimals(5)
        self.weight_decay_spin.setRange(*LIMITS["weight_decay"])
        self.weight_decay_spin.setSingleStep(1e-3)
        self.weight_decay_spin.setToolTip("adamw's decoupled weight decay")
        self.label_smoothing_spin = QDoubleSpinBox()
        self.label_smoothing_spin.setObjectName("labelSmoothingSpin")
        self.label_smoothing_spin.setDecimals(3)
        self.label_smoothing_spin.setRange(*LIMITS["label_smoothing"])
        self.label_smoothing_spin.setSingleStep(0.01)
        self.class_weight_combo = QComboBox()
        self.class_weight_combo.setObjectName("classWeightCombo")
        self.class_weight_combo.addItems(CLASS_WEIGHTS)
        self.class_weight_combo.setToolTip("balanced: each class weighs as much in the loss")
        self.numeric_embedding_combo = QComboBox()
        self.numeric_embedding_combo.setObjectName("numericEmbeddingCombo")
        self.numeric_embedding_combo.addItems(NUMERIC_EMBEDDINGS)
        self.numeric_embedding_combo.setToolTip(
            "periodic: each numeric column as learned sines and cosines, then a small layer"
        )

        form = QFormLayout(self)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.learning_rate_spin)
        form.addRow("Batch size", self.batch_size_spin)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("L2 penalty", self.l2_spin)
        form.addRow("Early-stopping patience", self.patience_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Device", self.device_combo)
        form.addRow("Learning-rate schedule", self.lr_schedule_combo)
        form.addRow("Weight decay", self.weight_decay_spin)
        form.addRow("Label smoothing", self.label_smoothing_spin)
        form.addRow("Class weights", self.class_weight_combo)
        form.addRow("Numeric embedding", self.numeric_embedding_combo)
        self.cv_folds_spin = self._spin("cvFolds", 0, int(LIMITS["cv_folds"][1]))
        self.cv_folds_spin.setSpecialValueText("off")  # 1 fold is skipped: 0, 2, 3, …
        self.cv_folds_spin.setToolTip("Folds for Run ▸ Cross-validate… (off: 5)")
        self.cv_folds_spin.valueChanged.connect(self._skip_one_fold)
        self._cv_folds = 0
        form.addRow("Cross-validation folds", self.cv_folds_spin)

        self.set_values(DEFAULTS)
        self.learning_rate_spin.valueChanged.connect(self.learning_rate_changed)

    def _spin(self, name: str, low: int, high: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        return spin

    def cv_folds(self) -> int:
        """The folds Run ▸ Cross-validate… uses; 0 when off."""
        return self.cv_folds_spin.value()

    def _skip_one_fold(self, value: int) -> None:
        if value == 1:  # one fold is no cross-validation: step over it
            value = int(LIMITS["cv_folds"][0]) if self._cv_folds == 0 else 0
            self.cv_folds_spin.setValue(value)
        self._cv_folds = value

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
            "lr_schedule": self.lr_schedule_combo.currentText(),
            "weight_decay": self.weight_decay_spin.value(),
            "label_smoothing": self.label_smoothing_spin.value(),
            "class_weight": self.class_weight_combo.currentText(),
            "numeric_embedding": self.numeric_embedding_combo.currentText(),
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
            if merged["lr_schedule"] in LR_SCHEDULES:
                self.lr_schedule_combo.setCurrentText(merged["lr_schedule"])
            self.weight_decay_spin.setValue(float(merged["weight_decay"]))
            self.label_smoothing_spin.setValue(float(merged["label_smoothing"]))
            if merged["class_weight"] in CLASS_WEIGHTS:
                self.class_weight_combo.setCurrentText(merged["class_weight"])
            if merged["numeric_embedding"] in NUMERIC_EMBEDDINGS:
                self.numeric_embedding_combo.setCurrentText(merged["numeric_embedding"])
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
            self.lr_schedule_combo,
            self.weight_decay_spin,
            self.label_smoothing_spin,
            self.class_weight_combo,
            self.numeric_embedding_combo,
        ):
            widget.setEnabled(state == "idle")
        self.learning_rate_spin.setEnabled(state in ("idle", "paused"))
