"""The data section: preview, columns with their detected kind and role, target, task, splits."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.data.schema import ROLES, TASKS
from engine.run.settings import LIMITS, TrainSettings
from gui.table_model import DataFrameModel


class DataPanel(QWidget):
    """Shows one loaded CSV and lets the user fix roles, target, task and splits.

    ``schema`` is the current Schema with the user's overrides applied; ``schema_changed``
    fires on each change.
    """

    schema_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = None
        self.schema = None
        self.open_button = QPushButton("Open CSV…")
        self.open_button.setObjectName("openCsvButton")
        self.sample_button = QPushButton("Open sample")
        self.sample_button.setObjectName("openSampleButton")
        self.file_label = QLabel("No data yet: open a CSV (Ctrl+O), drop one here, or a sample.")
        self.file_label.setObjectName("fileLabel")
        self.file_label.setWordWrap(True)

        self.preview_model = DataFrameModel(parent=self)
        self.preview = QTableView()
        self.preview.setObjectName("previewTable")
        self.preview.setModel(self.preview_model)
        self.preview.verticalHeader().setDefaultSectionSize(22)

        self.columns_table = QTableWidget(0, 4)
        self.columns_table.setObjectName("columnsTable")
        self.columns_table.setHorizontalHeaderLabels(["Column", "Detected type", "Missing", "Role"])
        self.columns_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.columns_table.horizontalHeader().setStretchLastSection(True)
        self.columns_table.verticalHeader().setVisible(False)

        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetColumnCombo")
        self.target_combo.currentTextChanged.connect(self._on_target_changed)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("taskCombo")
        self.task_combo.addItems(TASKS)
        self.task_combo.currentTextChanged.connect(self._on_task_changed)
        defaults = TrainSettings()
        self.val_spin = self._fraction("valSplitSpin", defaults.val_split)
        self.test_spin = self._fraction("testSplitSpin", defaults.test_split)
        self.problems = QListWidget()
        self.problems.setObjectName("problemsList")
        self.problems.setMaximumHeight(110)

        head = QHBoxLayout()
        head.addWidget(self.open_button)
        head.addWidget(self.sample_button)
        head.addWidget(self.file_label, 1)
        form = QFormLayout()
        form.addRow("Target column", self.target_combo)
        form.addRow("Task", self.task_combo)
        splits = QHBoxLayout()
        splits.addWidget(QLabel("validation"))
        splits.addWidget(self.val_spin)
        splits.addWidget(QLabel("test"))
        splits.addWidget(self.test_spin)
        form.addRow("Split fractions", splits)

        columns_box = QWidget()
        columns_layout = QVBoxLayout(columns_box)
        columns_layout.setContentsMargins(0, 0, 0, 0)
        columns_layout.addWidget(self.columns_table, 1)
        columns_layout.addLayout(form)
        columns_layout.addWidget(QLabel("Problems found"))
        columns_layout.addWidget(self.problems)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.preview)
        split.addWidget(columns_box)
        split.setSizes([200, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(split, 1)

    def _fraction(self, name: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(*LIMITS["split"])
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(value)
        spin.valueChanged.connect(self.schema_changed)
        return spin

    # --- loading ----------------------------------------------------------------------------
    def set_data(self, table, schema) -> None:
        """Show a CsvTable and its inferred Schema."""
        self.table, self.schema = table, schema
        self.file_label.setText(table.describe())
        self.file_label.setToolTip(str(table.path))
        self.preview_model.set_frame(table.frame)
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(schema.names)
        self.target_combo.setCurrentText(schema.target or "")
        self.target_combo.blockSignals(False)
        self._refresh()

    def splits(self) -> tuple[float, float]:
        return self.val_spin.value(), self.test_spin.value()

    def set_splits(self, val_split: float, test_split: float) -> None:
        self.val_spin.setValue(val_split)
        self.test_spin.setValue(test_split)

    def restore(self, roles: dict[str, str], task: str | None) -> None:
        """Give the columns the roles and the task an earlier run used (a run reopened);
        columns this file lacks and unknown roles are skipped, the target first so that the
        roles after it stand."""
        if self.schema is None:
            return
        schema, known = self.schema, set(self.schema.names)
        for name, role in sorted(roles.items(), key=lambda item: item[1] != "target"):
            if name in known and role in ROLES and schema.column(name).role != role:
                schema = schema.with_role(name, role)
        if task in TASKS:
            schema = schema.with_task(task)
        self.schema = schema
        self.target_combo.blockSignals(True)
        self.target_combo.setCurrentText(schema.target or "")
        self.target_combo.blockSignals(False)
        self._refresh()

    def set_state(self, state: str) -> None:
        editable = state == "idle"
        for widget in (
            self.open_button,
            self.sample_button,
            self.columns_table,
            self.target_combo,
            self.task_combo,
            self.val_spin,
            self.test_spin,
        ):
            widget.setEnabled(editable)

    # --- user changes -------------------------------------------------------------------
    def _on_target_changed(self, name: str) -> None:
        if self.schema is not None and name and name != self.schema.target:
            self.schema = self.schema.with_role(name, "target")
            self._refresh()

    def _on_task_changed(self, task: str) -> None:
        if self.schema is not None and task and task != self.schema.task:
            self.schema = self.schema.with_task(task)
            self._refresh()

    def _on_role_changed(self, name: str, role: str) -> None:
        if self.schema is None or self.schema.column(name).role == role:
            return
        self.schema = self.schema.with_role(name, role)
        if role == "target":
            self.target_combo.blockSignals(True)
            self.target_combo.setCurrentText(name)
            self.target_combo.blockSignals(False)
        self._refresh()

    def _refresh(self) -> None:
        schema = self.schema
        self.task_combo.blockSignals(True)
        self.task_combo.setCurrentText(schema.task or "")
        self.task_combo.blockSignals(False)
        self.columns_table.setRowCount(len(schema.columns))
        for row, info in enumerate(schema.columns):
            name = QTableWidgetItem(info.name)
            kind = QTableWidgetItem(info.kind + _kind_detail(info))
            kind.setToolTip(info.note)
            missing = QTableWidgetItem(f"{info.n_missing:,}")
            for item in (name, kind, missing):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.columns_table.setItem(row, 0, name)
            self.columns_table.setItem(row, 1, kind)
            self.columns_table.setItem(row, 2, missing)
            combo = QComboBox()
            combo.addItems(ROLES)
            combo.setCurrentText(info.role)
            combo.currentTextChanged.connect(
                lambda role, n=info.name: self._on_role_changed(n, role)
            )
            self.columns_table.setCellWidget(row, 3, combo)
        self.problems.clear()
        self.problems.addItems([*self.table.warnings, *schema.problems])
        self.schema_changed.emit()


def _kind_detail(info) -> str:
    """What the kind's name leaves out: a number's type, a date's parts, target encoding."""
    if info.kind == "numeric":
        return f" ({info.dtype})"
    if info.kind == "datetime":
        return " (year, month, weekday, hour)" if "hour" in info.note else " (year, month, weekday)"
    if info.kind == "categorical" and "target-encoded" in info.note:
        return f" ({info.n_unique:,} values, target-encoded)"
    return ""
