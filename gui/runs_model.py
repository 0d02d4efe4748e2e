"""The runs table's Qt models: the runs as rows (sorted by the model itself) and the proxy
that filters them with :mod:`gui.runs_filter`.

Sorting lives in the source model because a QSortFilterProxyModel compares rows by calling
``data()`` back in Python for each comparison: 1.3 s to sort 10,000 runs, measured. Sorting
precomputed keys in Python takes milliseconds, and the proxy then keeps the model's order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from gui.runs_filter import matches, parse


def data_name(run: dict) -> str:
    return os.path.basename(run.get("data_path") or "")


def duration_text(seconds) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def energy_text(joules) -> str:
    if joules is None:
        return ""
    if joules < 1e3:
        return f"{joules:.0f} J"
    return f"{joules / 1e3:.1f} kJ" if joules < 1e6 else f"{joules / 1e6:.2f} MJ"


def best_text(run: dict) -> str:
    """The best monitored value over all epochs, its name and epoch (1-based, as plotted)."""
    if run.get("best_val") is None:
        return ""
    epoch = run.get("best_epoch")
    at = f", epoch {epoch + 1}" if epoch is not None else ""
    return f"{run['best_val']:.4g} ({run.get('monitor') or 'validation'}{at})"


def started_text(run: dict) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started"]))


def tags_text(run: dict) -> str:
    return ", ".join(run.get("tags") or [])


def _shown(spec: str) -> Callable[[object], str]:
    return lambda value: "" if value is None else format(value, spec)


@dataclass(frozen=True)
class Column:
    """A column: its header, a run's cell text and sort key (None sorts last), and the
    width it starts with."""

    header: str
    text: Callable[[dict], str]
    key: Callable[[dict], object]
    numeric: bool = False
    width: int = 90


def _text_column(header: str, name: str, width: int = 90) -> Column:
    """The run's field ``name`` as it is, sorted without regard to case."""
    return Column(
        header, lambda r: r.get(name) or "", lambda r: (r.get(name) or "").casefold(), width=width
    )


def _number_column(header: str, name: str, show: Callable[[object], str]) -> Column:
    return Column(header, lambda r: show(r.get(name)), lambda r: r.get(name), numeric=True)


COLUMNS = (
    _text_column("Name", "name", 180),
    Column("Data", data_name, lambda r: data_name(r).casefold(), width=140),
    _text_column("Status", "status"),
    Column("Best validation", best_text, lambda r: r.get("best_val"), numeric=True, width=190),
    _number_column("Test", "test_metric", _shown(".4g")),
    _number_column("Epochs", "epochs", _shown("d")),
    _number_column("Duration", "seconds", duration_text),
    _text_column("Device", "device"),
    _number_column("Energy", "energy_j", energy_text),
    _number_column("Parameters", "parameters", _shown(",")),
    Column("Tags", tags_text, lambda r: tags_text(r).casefold(), width=140),
    Column("Started", started_text, lambda r: r.get("started"), width=130),
)
STARTED = len(COLUMNS) - 1


class RunsTableModel(QAbstractTableModel):
    """Run summaries as rows; cell text is made only when a cell is painted."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._runs: list[dict] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._haystacks: dict[str, str] = {}

    def set_runs(self, runs: list[dict]) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self._haystacks.clear()
        if self._sort is not None:
            self._runs = [self._runs[i] for i in self._order(*self._sort)]
        self.endResetModel()

    def run_at(self, row: int) -> dict:
        return self._runs[row]

    def change_run(self, run_id: str, **changes) -> None:
        """Apply ``changes`` (name, tags, notes) to the row of ``run_id`` in place."""
        for row, run in enumerate(self._runs):
            if run["id"] == run_id:
                run.update(changes)
                self._haystacks.pop(run_id, None)
                last = self.index(row, len(COLUMNS) - 1)
                self.dataChanged.emit(self.index(row, 0), last)
                return

    def haystack(self, row: int) -> str:
        """Every cell's text, the id and the notes, casefolded: what free text matches."""
        run = self._runs[row]
        text = self._haystacks.get(run["id"])
        if text is None:
            cells = [column.text(run) for column in COLUMNS]
            text = self._haystacks[run["id"]] = "\n".join(
                [run["id"], *cells, run.get("notes") or ""]
            ).casefold()
        return text

    # --- Qt's model interface ---------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        run, column = self._runs[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(run)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{run['id']}\n{run['notes']}" if run.get("notes") else run["id"]
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].header
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the rows by ``column``; selections and other persistent indexes follow."""
        if not 0 <= column < len(COLUMNS):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        ranking = self._order(column, order)
        new_row = [0] * len(ranking)
        for new, old in enumerate(ranking):
            new_row[old] = new
        self._runs = [self._runs[i] for i in ranking]
        old = self.persistentIndexList()
        self.changePersistentIndexList(
            old, [self.index(new_row[ix.row()], ix.column()) for ix in old]
        )
        self.layoutChanged.emit()

    def _order(self, column: int, order: Qt.SortOrder) -> list[int]:
        """Row numbers in sorted order: missing values last either way, ties kept in place."""
        keys = [COLUMNS[column].key(run) for run in self._runs]
        present = [i for i, key in enumerate(keys) if key is not None]
        present.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)
        return present + [i for i, key in enumerate(keys) if key is None]


class RunsFilterProxy(QSortFilterProxyModel):
    """The rows that pass the filter text, in the source model's order."""

    def __init__(self, source: RunsTableModel, parent=None) -> None:
        super().__init__(parent)
        self._terms = []
        self._text = False  # whether a term is free text (which needs the cells' text)
        self.setSourceModel(source)

    def set_filter(self, text: str) -> None:
        self._terms = parse(text)
        self._text = any(term.key is None for term in self._terms)
        # setting the (unused) pattern refilters every row on every Qt the project allows;
        # invalidateFilter is deprecated from Qt 6.11 and endFilterChange is new in 6.10
        self.setFilterFixedString(text)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if not self._terms:
            return True
        model = self.sourceModel()
        haystack = model.haystack(source_row) if self._text else ""
        return matches(self._terms, model.run_at(source_row), haystack)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def run_at(self, row: int) -> dict:
        return self.sourceModel().run_at(self.mapToSource(self.index(row, 0)).row())
