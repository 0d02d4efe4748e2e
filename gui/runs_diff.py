"""What differs between two runs: settings, seed and data, side by side, nothing that is equal."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


def layers_text(layers) -> str:
    """``[{"units": 64, "activation": "relu", "dropout": 0.0}, ...]`` as one line."""
    if not isinstance(layers, list):
        return value_text(layers)
    parts = []
    for layer in layers:
        if not isinstance(layer, dict):
            parts.append(str(layer))
            continue
        text = f"{layer.get('units')} {layer.get('activation', '')}".strip()
        if layer.get("dropout"):
            text += f" (dropout {layer['dropout']:g})"
        parts.append(text)
    return " → ".join(parts) or "none"


def value_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def comparable(run: dict) -> dict[str, object]:
    """What shaped a run (a RunStore.get() result): every setting, the seed it ran with, and
    the data it read."""
    values: dict[str, object] = {}
    for key, value in (run.get("settings") or {}).items():
        values[key] = layers_text(value) if key == "layers" else value
    values.update({
        "seed": run.get("seed"),
        "data": run.get("data_path"),
        "data SHA-256": run.get("data_sha256"),
        "data rows": run.get("data_rows"),
        "data columns": run.get("data_columns"),
        "target": run.get("target"),
        "task": run.get("task"),
    })  # fmt: skip
    return values


def settings_diff(a: dict, b: dict) -> list[tuple[str, str, str]]:
    """``(name, a's value, b's value)`` for each setting, seed or data fact that differs."""
    va, vb = comparable(a), comparable(b)
    keys = dict.fromkeys([*va, *vb])
    differ = [k for k in keys if va.get(k) != vb.get(k)]
    return [(k, value_text(va.get(k)), value_text(vb.get(k))) for k in differ]


class RunsDiffDialog(QDialog):
    """A non-modal window with one row per difference; reused for the next comparison."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("runsDiff")
        self.resize(640, 360)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("runsDiffTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def compare(self, a: dict, b: dict) -> list[tuple[str, str, str]]:
        """Fill the table with how ``a`` and ``b`` differ; returns the rows shown."""
        rows = settings_diff(a, b)
        self.setWindowTitle(f"{a['name']} vs {b['name']}")
        self.table.setHorizontalHeaderLabels(["Setting", a["name"], b["name"]])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.summary.setText(
            f"{len(rows)} difference(s) in settings, seed and data."
            if rows
            else "The two runs have the same settings, seed and data."
        )
        return rows
