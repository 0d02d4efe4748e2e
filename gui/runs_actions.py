"""What the user does to the runs selected in the Runs tab: open, resume, replay, rename, tag,
note, compare, delete (with the checkpoint files) and export the table. Every store error
becomes one message through the view's ``failed`` signal; the view stays usable."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QObject

from engine.errors import UserError
from engine.runs.home import checkpoint_folder
from gui.dialogs import CSV_FILTER
from gui.exports import write_csv_atomically
from gui.runs_diff import RunsDiffDialog
from gui.runs_model import data_name

EXPORT_COLUMNS = ("id", "name", "data", "status", "monitor", "best_val", "best_epoch",
                  "test_metric", "epochs", "seconds", "device", "energy_j", "parameters", "tags",
                  "started")  # fmt: skip


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, trimmed, empty ones dropped, each once."""
    return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


def remove_checkpoints(run_id: str, paths: list[str]) -> list[str]:
    """Delete a deleted run's checkpoint files, then its checkpoint folder once empty;
    returns what could not be removed, one sentence each."""
    problems = []
    for path in map(Path, paths):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
    with contextlib.suppress(OSError):  # not empty, or never made: leave it
        checkpoint_folder(run_id).rmdir()
    return problems


def runs_frame(runs: list[dict]) -> pd.DataFrame:
    """The table's runs as numbers and text, in the given order, for a CSV (epochs from 1)."""
    rows = []
    for run in runs:
        best_epoch = run.get("best_epoch")
        rows.append({
            "id": run["id"],
            "name": run["name"],
            "data": data_name(run),
            "status": run["status"],
            "monitor": run.get("monitor"),
            "best_val": run.get("best_val"),
            "best_epoch": None if best_epoch is None else best_epoch + 1,
            "test_metric": run.get("test_metric"),
            "epochs": run.get("epochs"),
            "seconds": run.get("seconds"),
            "device": run.get("device"),
            "energy_j": run.get("energy_j"),
            "parameters": run.get("parameters"),
            "tags": ", ".join(run.get("tags") or []),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(run["started"])),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=EXPORT_COLUMNS)


class RunActions(QObject):
    """The actions' slots, over a :class:`~gui.runs_view.RunsView`'s selection and store."""

    def __init__(self, view) -> None:
        super().__init__(view)
        self._view = view
        self.diff_dialog: RunsDiffDialog | None = None

    @contextlib.contextmanager
    def reporting(self, title: str):
        """Turn a store error inside the block into one message."""
        try:
            yield
        except UserError as exc:
            self._view.failed.emit(title, str(exc))

    def open_selected(self) -> None:
        run = self._view.current_run()
        if run is None:
            return
        with self.reporting("Cannot open the run"):
            self._view.open_requested.emit(self._view.store.get(run["id"]))

    def resume_selected(self) -> None:
        run = self._view.current_run()
        if run is None:
            return
        with self.reporting("Cannot resume the run"):
            self._view.resume_requested.emit(self._view.store.get(run["id"]))

    def replay_selected(self) -> None:
        run = self._view.current_run()
        if run is None:
            return
        with self.reporting("Cannot replay the run"):
            self._view.replay_requested.emit(self._view.store.get(run["id"]))

    def rename_selected(self) -> None:
        run = self._view.current_run()
        if run is None:
            return
        name = self._view.dialogs.ask_text("Rename run", "Name:", run["name"])
        if name is not None and name.strip():
            self._change(run, name=name.strip())

    def tag_selected(self) -> None:
        """Edit the tags the selected runs share; tags only some of them have are kept."""
        runs = self._view.selected_runs()
        if not runs:
            return
        shared = [t for t in runs[0]["tags"] if all(t in run["tags"] for run in runs[1:])]
        text = self._view.dialogs.ask_text(
            "Tag runs", "Tags, comma-separated (those the selected runs share):", ", ".join(shared)
        )
        if text is None:
            return
        tags = parse_tags(text)
        for run in runs:
            own = [t for t in run["tags"] if t not in shared]
            if not self._change(run, tags=list(dict.fromkeys(own + tags))):
                return

    def note_selected(self) -> None:
        run = self._view.current_run()
        if run is None:
            return
        label = f"Notes on {run['name']}:"
        notes = self._view.dialogs.ask_notes("Notes", label, run.get("notes") or "")
        if notes is not None:
            self._change(run, notes=notes)

    def _change(self, run: dict, **fields) -> bool:
        """Write ``fields`` to the store, then to the table; False when the store refused."""
        try:
            self._view.store.update(run["id"], **fields)
        except UserError as exc:
            self._view.failed.emit("Cannot change the run", str(exc))
            return False
        self._view.run_changed(run["id"], fields)
        return True

    def delete_selected(self) -> None:
        """Delete the selected runs and their checkpoint files, after asking; a run that is
        training is refused with the store's reason, the others are deleted."""
        view = self._view
        runs = view.selected_runs()
        if not runs:
            return
        names = ", ".join(run["name"] for run in runs[:3])
        if len(runs) > 3:
            names += f" and {len(runs) - 3:,} more"
        question = f"Delete {names}? Their history and checkpoints go too; this cannot be undone."
        if not view.dialogs.confirm("Delete runs", question):
            return
        problems = []
        for run in runs:
            try:
                paths = view.store.delete(run["id"])
            except UserError as exc:
                problems.append(str(exc))
                continue
            problems += remove_checkpoints(run["id"], paths)
        if problems:
            view.failed.emit("Cannot delete every run", "; ".join(problems))
        view.refresh()

    def compare_selected(self) -> RunsDiffDialog | None:
        """The settings, seed and data where the two selected runs differ, in a window."""
        runs = self._view.selected_runs()
        if len(runs) != 2:
            return None
        with self.reporting("Cannot compare the runs"):
            a, b = (self._view.run_details(run["id"]) for run in runs)
            if self.diff_dialog is None:
                self.diff_dialog = RunsDiffDialog(self._view)
            self.diff_dialog.compare(a, b)
            self.diff_dialog.show()
            self.diff_dialog.raise_()
        return self.diff_dialog

    def export_csv(self) -> Path | None:
        """The table as it is shown (filtered and sorted) as a CSV file."""
        view = self._view
        path = view.dialogs.save_path("Export runs", "runs.csv", CSV_FILTER)
        if not path:
            return None
        path = Path(path) if Path(path).suffix else Path(path).with_suffix(".csv")
        runs = [view.proxy.run_at(row) for row in range(view.proxy.rowCount())]
        try:
            write_csv_atomically(runs_frame(runs), path)
        except (UserError, OSError) as exc:
            view.failed.emit("Cannot export the runs", str(exc))
            return None
        return path
