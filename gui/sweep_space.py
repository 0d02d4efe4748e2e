"""The Sweep tab's search space: one row per setting of the engine's default space, with a
"vary" box, a range in the CLI's spelling (``low..high`` or ``a,b,c``) and a fixed value used
when the setting does not vary (empty: the value in the Model and Training tabs)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHeaderView, QLineEdit, QTableWidget, QTableWidgetItem

from engine.errors import UserError
from engine.run.settings import TrainSettings
from engine.search.space import DEFAULTS, SearchSpace

NAME, VARY, RANGE, FIXED = range(4)


def range_text(name: str) -> str:
    """The default range of ``name`` as the CLI spells it."""
    param = DEFAULTS[name]
    if param.choices is not None:
        return ",".join(str(c) for c in param.choices)
    return f"{param.low:g}..{param.high:g}"


def current_value(name: str, settings: TrainSettings):
    """The value ``settings`` (the window's current ones) has for the sweep setting ``name``."""
    first = settings.layers[0] if settings.layers else None
    per_layer = {
        "n_layers": len(settings.layers),
        "units": first.units if first else 64,
        "activation": first.activation if first else "relu",
        "dropout": first.dropout if first else 0.0,
    }
    return per_layer[name] if name in per_layer else getattr(settings, name)


def build_space(vary: list[str], fix: list[str]) -> SearchSpace:
    """The space the sweep's workers will build from ``--vary`` and ``--fix``; a
    :class:`UserError` names a bad spec."""
    space = SearchSpace.default().varied(*vary).fixing(*fix)
    if not space.params:
        raise UserError("Tick at least one setting to vary.")
    return space


class SweepSpaceTable(QTableWidget):
    """``specs(current)`` gives the ``--vary`` and ``--fix`` lists; ``set_row`` sets one row."""

    def __init__(self, parent=None) -> None:
        super().__init__(len(DEFAULTS), 4, parent)
        self.setObjectName("sweepSpace")
        self.setHorizontalHeaderLabels(["Setting", "Vary", "Range", "Fixed value"])
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.names = list(DEFAULTS)
        self.vary_boxes: dict[str, QCheckBox] = {}
        self.range_edits: dict[str, QLineEdit] = {}
        self.fixed_edits: dict[str, QLineEdit] = {}
        for row, name in enumerate(self.names):
            item = QTableWidgetItem(name)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setItem(row, NAME, item)
            box = QCheckBox()
            box.setChecked(True)
            box.setToolTip(f"Vary {name}; unticked, it keeps the fixed value")
            box.toggled.connect(lambda on, n=name: self._on_vary(n, on))
            self.vary_boxes[name] = box
            self.setCellWidget(row, VARY, box)
            edit = QLineEdit(range_text(name))
            edit.setToolTip("low..high, or a,b,c (as gpu-trainer sweep --vary)")
            self.range_edits[name] = edit
            self.setCellWidget(row, RANGE, edit)
            fixed = QLineEdit()
            fixed.setPlaceholderText("as in the Model/Training tabs")
            fixed.setToolTip("The value when the setting does not vary (--fix)")
            fixed.setEnabled(False)
            self.fixed_edits[name] = fixed
            self.setCellWidget(row, FIXED, fixed)

    def _on_vary(self, name: str, on: bool) -> None:
        self.range_edits[name].setEnabled(on)
        self.fixed_edits[name].setEnabled(not on)

    def set_row(self, name: str, vary: bool, text: str | None = None) -> None:
        """Vary ``name`` over ``text`` (a range), or fix it to ``text`` (a value)."""
        self.vary_boxes[name].setChecked(vary)
        if text is not None:
            (self.range_edits if vary else self.fixed_edits)[name].setText(text)

    def specs(self, current: TrainSettings) -> tuple[list[str], list[str]]:
        """``(vary, fix)`` specs: ``name=range`` for ticked rows, ``name=value`` for the
        others (their fixed value, else ``current``'s)."""
        vary, fix = [], []
        for name in self.names:
            if self.vary_boxes[name].isChecked():
                text = self.range_edits[name].text().strip() or range_text(name)
                vary.append(f"{name}={text}")
            else:
                text = self.fixed_edits[name].text().strip()
                fix.append(f"{name}={text or current_value(name, current)}")
        return vary, fix
