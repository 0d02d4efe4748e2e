"""The network's hidden layers as an editable table, with a live parameter count."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.run.model_factory import count_params
from engine.run.settings import (
    HIDDEN_ACTIVATIONS,
    LARGE_TABLE_ACTIVATION,
    LIMITS,
    SMALL_TABLE_ACTIVATION,
    SMALL_TABLE_ROWS,
    LayerSpec,
    TrainSettings,
)

AUTO_TIP = (f"auto: {SMALL_TABLE_ACTIVATION} on a table under {SMALL_TABLE_ROWS:,} rows, else "
            f"{LARGE_TABLE_ACTIVATION} (measured on real tables)")  # fmt: skip


class ModelPanel(QWidget):
    """Hidden layers (units, activation, dropout); the output layer follows from the task."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("layersTable")
        self.table.setHorizontalHeaderLabels(["Units", "Activation", "Dropout"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(28)

        self.add_button = self._button("Add", "addLayerButton", self.add_layer_after_current)
        self.remove_button = self._button("Remove", "removeLayerButton", self.remove_current)
        self.up_button = self._button("Up", "moveLayerUpButton", lambda: self.move_current(-1))
        self.down_button = self._button("Down", "moveLayerDownButton", lambda: self.move_current(1))
        self.output_label = QLabel()
        self.params_label = QLabel()
        self.params_label.setObjectName("paramCountLabel")

        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Hidden layers (input → … → output)"))
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.output_label)
        layout.addWidget(self.params_label)

        self._n_inputs = 0
        self._n_outputs = 1
        self._task = "classification"
        self._output_text = "set by the task"
        self.set_layers(TrainSettings().layers)
        self.changed.connect(self._update_labels)

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    # --- rows ---------------------------------------------------------------------------
    def layers(self) -> list[LayerSpec]:
        rows = []
        for r in range(self.table.rowCount()):
            units = self.table.cellWidget(r, 0).value()
            activation = self.table.cellWidget(r, 1).currentText()
            dropout = self.table.cellWidget(r, 2).value()
            rows.append(LayerSpec(units, activation, round(dropout, 4)))
        return rows

    def set_layers(self, rows: list[LayerSpec]) -> None:
        self.table.setRowCount(0)
        for row in rows:
            self._insert_row(self.table.rowCount(), row)
        self.changed.emit()

    def add_layer(self, row: LayerSpec | None = None, at: int | None = None) -> None:
        at = self.table.rowCount() if at is None else at
        if row is None:
            row = self.layers()[at - 1] if at > 0 else TrainSettings().layers[0]
        self._insert_row(at, row)
        self.table.selectRow(at)
        self.changed.emit()

    def add_layer_after_current(self) -> None:
        current = self.table.currentRow()
        self.add_layer(at=current + 1 if current >= 0 else None)

    def remove_current(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            row = self.table.rowCount() - 1
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()

    def move_current(self, delta: int) -> None:
        row = self.table.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.table.rowCount():
            return
        rows = self.layers()
        rows[row], rows[target] = rows[target], rows[row]
        self.set_layers(rows)
        self.table.selectRow(target)

    def _insert_row(self, at: int, row: LayerSpec) -> None:
        self.table.insertRow(at)
        units = QSpinBox()
        units.setRange(*LIMITS["units"])
        units.setValue(int(row.units))
        units.valueChanged.connect(self.changed)
        activation = QComboBox()
        activation.addItems(HIDDEN_ACTIVATIONS)
        known = row.activation in HIDDEN_ACTIVATIONS
        activation.setCurrentText(row.activation if known else TrainSettings().layers[0].activation)
        activation.setToolTip(AUTO_TIP)
        activation.currentTextChanged.connect(self.changed)
        dropout = QDoubleSpinBox()
        dropout.setRange(*LIMITS["dropout"])
        dropout.setSingleStep(0.05)
        dropout.setDecimals(2)
        dropout.setValue(float(row.dropout))
        dropout.valueChanged.connect(self.changed)
        self.table.setCellWidget(at, 0, units)
        self.table.setCellWidget(at, 1, activation)
        self.table.setCellWidget(at, 2, dropout)

    # --- the derived parts ----------------------------------------------------------------
    def set_io(self, n_inputs: int, n_outputs: int, task: str, output_text: str) -> None:
        """Input width (after encoding), outputs and task, for the labels."""
        self._n_inputs, self._n_outputs, self._task = n_inputs, n_outputs, task
        self._output_text = output_text
        self._update_labels()

    def param_count(self) -> int:
        settings = TrainSettings(layers=self.layers())
        return count_params(self._n_inputs, self._n_outputs, self._task, settings)

    def _update_labels(self) -> None:
        self.output_label.setText(f"Output layer: {self._output_text}")
        if self._n_inputs:
            text = f"Parameters: {self.param_count():,} ({self._n_inputs} inputs)"
        else:
            text = "Parameters: open a CSV to count them"
        self.params_label.setText(text)
