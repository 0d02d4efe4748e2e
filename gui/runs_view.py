"""The Runs tab: every training the run store remembers, in a table to sort and filter, with
the selected runs' curves overlaid; what can be done to them is in :mod:`gui.runs_actions`."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import UserError
from engine.runs.store import RunStore
from gui.runs_actions import RunActions
from gui.runs_model import COLUMNS, STARTED, RunsFilterProxy, RunsTableModel
from gui.runs_plot import RunsOverlay

MAX_OVERLAY = 12  # more curves than this are a tangle, and each run is one store read
FILTER_HELP = (
    "Words match any column. Terms match settings and fields: optimizer=adam, "
    "learning_rate<0.01, batch_size>=64, layers=64,32, status=completed, tag=baseline "
    "(=, !=, <, <=, >, >=; all terms must match)."
)


class RunsView(QWidget):
    """``open_requested``, ``resume_requested`` and ``replay_requested`` carry a run as
    ``RunStore.get`` gives it (resume: go on from its last checkpoint; replay: show its curves
    and telemetry in the Live tab); ``failed`` a title and a
    sentence for the window's ``show_error``. The store is read again when the tab is shown,
    on Refresh (F5), and when a training ends while the tab is visible."""

    open_requested = Signal(object)
    resume_requested = Signal(object)
    replay_requested = Signal(object)
    failed = Signal(str, str)

    def __init__(self, dialogs, store: RunStore | None = None, parent=None) -> None:
        super().__init__(parent)
        self.dialogs = dialogs
        self.store = store or RunStore()
        self.model = RunsTableModel(self)
        self.proxy = RunsFilterProxy(self.model, self)
        self.overlay = RunsOverlay()
        self.edits = RunActions(self)
        self._details: dict[str, dict] = {}  # RunStore.get() results until the next refresh
        self._last_error: str | None = None

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("runsFilter")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setPlaceholderText("Filter: text, or optimizer=adam learning_rate<0.01 …")
        self.filter_edit.setToolTip(FILTER_HELP)
        self.filter_edit.returnPressed.connect(self.apply_filter)
        self.count_label = QLabel()
        self.count_label.setObjectName("runsCount")
        self.table = self._table()
        # store reads once the arrow keys pause, not per row passed
        self._overlay_timer = self._single_shot(80, self._show_overlay)
        # filtering 10,000 runs takes about 0.1 s: filter once typing pauses, or on Enter
        self._filter_timer = self._single_shot(150, self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())
        self._build_actions()

        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.count_label)
        for action in self.actions_in_bar:
            button = QToolButton()
            button.setDefaultAction(action)
            bar.addWidget(button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.overlay)
        split.setSizes([400, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self._on_selection()

    def _single_shot(self, ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def _table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("runsTable")
        table.setModel(self.proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        # fixed row heights: Qt would otherwise measure rows of 10,000 runs
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(22)
        table.horizontalHeader().setStretchLastSection(True)
        for i, column in enumerate(COLUMNS):
            table.setColumnWidth(i, column.width)
        table.horizontalHeader().setSortIndicator(STARTED, Qt.SortOrder.DescendingOrder)
        table.setSortingEnabled(True)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        table.doubleClicked.connect(lambda _index: self.edits.open_selected())
        table.selectionModel().selectionChanged.connect(self._on_selection)
        return table

    def _action(self, text: str, slot, name: str, keys=(), on=None) -> QAction:
        """An action of ``on``, the table unless given: its shortcuts work while the table
        has the focus (Delete and Enter mean other things in the filter box); the view's while
        the focus is anywhere in the view."""
        on = on or self.table
        action = QAction(text, on)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(key) for key in keys])
        shown = f" ({QKeySequence(keys[0]).toString()})" if keys else ""
        action.setToolTip(f"{text}{shown}")
        context = Qt.ShortcutContext
        action.setShortcutContext(
            context.WidgetShortcut if on is self.table else context.WidgetWithChildrenShortcut
        )
        action.triggered.connect(lambda _checked=False: slot())
        on.addAction(action)
        return action

    def _build_actions(self) -> None:
        key, act, edits = Qt.Key, self._action, self.edits
        self.refresh_action = act("Refresh", self.refresh, "runsRefresh", [key.Key_F5], self)
        self.open_action = act(
            "Open", edits.open_selected, "runsOpen", [key.Key_Return, key.Key_Enter]
        )
        self.resume_action = act("Resume", edits.resume_selected, "runsResume")
        self.replay_action = act("Replay", edits.replay_selected, "runsReplay")
        self.rename_action = act("Rename…", edits.rename_selected, "runsRename", [key.Key_F2])
        self.tag_action = act("Tags…", edits.tag_selected, "runsTags")
        self.notes_action = act("Notes…", edits.note_selected, "runsNotes")
        self.compare_action = act("Compare", edits.compare_selected, "runsCompare")
        self.delete_action = act("Delete…", edits.delete_selected, "runsDelete", [key.Key_Delete])
        self.export_action = act("Export CSV…", edits.export_csv, "runsExport")
        self.actions_in_bar = (self.refresh_action, self.open_action, self.resume_action,
                               self.replay_action, self.rename_action,
                               self.tag_action, self.notes_action, self.compare_action,
                               self.delete_action, self.export_action)  # fmt: skip

    # --- reading the store ----------------------------------------------------------------
    def refresh(self) -> bool:
        """Read every run again (one query), keeping the selection; False when the store
        cannot be read (said once per distinct problem; the table is then empty)."""
        selected = {run["id"] for run in self.selected_runs()}
        try:
            runs = self.store.runs()
        except UserError as exc:
            self.model.set_runs([])
            if str(exc) != self._last_error:
                self._last_error = str(exc)
                self.failed.emit("Run store unavailable", str(exc))
            self._update_count()
            return False
        self._last_error = None
        self._details.clear()
        self.model.set_runs(runs)
        self._select(selected)
        self._update_count()
        return True

    def training_ended(self, _summary=None) -> None:
        """A run just ended: show it now if the tab is in view (else showing it refreshes)."""
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # the tab was chosen, not the window restored
            self.refresh()

    def run_details(self, run_id: str) -> dict:
        """The run as ``RunStore.get`` gives it, read once until the next refresh."""
        if run_id not in self._details:
            self._details[run_id] = self.store.get(run_id)
        return self._details[run_id]

    def run_changed(self, run_id: str, fields: dict) -> None:
        """``fields`` (name, tags, notes) of a run were written to the store: show them."""
        self.model.change_run(run_id, **fields)
        self._details.pop(run_id, None)
        self._overlay_timer.start()  # the legend shows names

    # --- selection --------------------------------------------------------------------------
    def selected_runs(self) -> list[dict]:
        """The selected rows' runs (summary rows), top to bottom."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.proxy.run_at(row) for row in rows]

    def current_run(self) -> dict | None:
        """The run under the cursor when selected, else the first selected one."""
        index = self.table.currentIndex()
        if index.isValid() and self.table.selectionModel().isRowSelected(index.row()):
            return self.proxy.run_at(index.row())
        selected = self.selected_runs()
        return selected[0] if selected else None

    def _select(self, run_ids: set[str]) -> None:
        if not run_ids:
            return
        selection = QItemSelection()
        for row in range(self.proxy.rowCount()):
            if self.proxy.run_at(row)["id"] in run_ids:
                selection.select(self.proxy.index(row, 0), self.proxy.index(row, 0))
        flags = QItemSelectionModel.SelectionFlag
        self.table.selectionModel().select(selection, flags.ClearAndSelect | flags.Rows)

    def _on_selection(self, *_args) -> None:
        count = len(self.table.selectionModel().selectedRows())
        for action in (self.open_action, self.replay_action, self.rename_action,
                       self.tag_action, self.notes_action, self.delete_action):  # fmt: skip
            action.setEnabled(count >= 1)
        self.compare_action.setEnabled(count == 2)
        self._overlay_timer.start()

    def apply_filter(self) -> None:
        """Show the runs that match the filter box now."""
        self._filter_timer.stop()
        self.proxy.set_filter(self.filter_edit.text())
        self._update_count()

    def _update_count(self) -> None:
        if self._last_error:
            self.count_label.setText("run store unavailable")
            self.count_label.setToolTip(self._last_error)
            return
        self.count_label.setToolTip("")
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = f"{shown:,} of {total:,} runs" if shown != total else f"{total:,} runs"
        self.count_label.setText(text)

    def _show_overlay(self) -> None:
        selected = self.selected_runs()
        note = ""
        if len(selected) > MAX_OVERLAY:
            note = f"Showing the first {MAX_OVERLAY} of {len(selected):,} selected runs."
        runs = []
        with self.edits.reporting("Cannot read the run"):
            runs = [self.run_details(run["id"]) for run in selected[:MAX_OVERLAY]]
        self.overlay.show_runs(runs, note)
