"""Getting a CSV into the window: the open dialog, drag and drop, the recent files and the
bundled samples. Files are read and their schema inferred off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject

from engine.data import infer_schema, read_csv
from engine.data.samples import sample_paths
from gui.dialogs import CSV_FILTER
from gui.loader import BackgroundTask

DEFAULT_SAMPLE = ("breast_cancer_8.csv", "malignant")


def read_table(path, target: str | None = None):
    """Read a CSV and infer its schema (runs in the loader thread)."""
    table = read_csv(path)
    return table, infer_schema(table.frame, target=target, source=table.name)


class DataLoading(QObject):
    """Loads CSVs for ``window`` and ends each load with its ``data_loaded`` or ``load_failed``.

    Owns the File menu's "Open recent" and "Open sample" submenus (``add_menus``).
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self._task = BackgroundTask(self)
        self._task.done.connect(self._on_loaded)
        self._task.failed.connect(self._on_failed)
        self._path: Path | None = None
        self.recent_menu = None
        self.samples_menu = None

    @property
    def running(self) -> bool:
        return self._task.running

    def join(self) -> None:
        self._task.join()

    def add_menus(self, menu) -> None:
        self.recent_menu = menu.addMenu("Open &recent")
        self.samples_menu = menu.addMenu("Open &sample")
        for path in sample_paths():
            self.samples_menu.addAction(path.stem, lambda p=path: self.load_async(p))
        self.refresh_recent_menu()

    def refresh_recent_menu(self) -> None:
        recent = self._window.store.recent_files()
        self.recent_menu.clear()
        for path in recent:
            self.recent_menu.addAction(str(path), lambda p=path: self.load_async(p))
        self.recent_menu.setEnabled(bool(recent))

    def open_dialog(self) -> None:
        path = self._window.dialogs.open_path("Open CSV", CSV_FILTER)
        if path:
            self.load_async(path)

    def open_startup_data(self) -> None:
        """The most recent file that still exists, else the bundled breast-cancer sample."""
        for path in self._window.store.recent_files():
            if path.is_file():
                self.load_async(path)
                return
        name, target = DEFAULT_SAMPLE
        for path in sample_paths():
            if path.name == name:
                self.load_async(path, target)

    def load_async(self, path, target: str | None = None) -> bool:
        """Start loading ``path`` off the GUI thread; False when busy training or loading."""
        window = self._window
        if window.is_training() or self._task.running:
            window.show_error("Cannot open a file now", "Wait for the current run or load to end.")
            return False
        path = self._path = Path(path)
        window.status.busy(f"Loading {path.name}…")
        self._task.start(lambda: read_table(path, target))
        return True

    def load(self, path, target: str | None = None) -> bool:
        """Load ``path`` as the dialog does and return once done: True when it loaded."""
        window = self._window
        outcome: list[bool] = []
        loop = QEventLoop()

        def finish(ok: bool) -> None:
            outcome.append(ok)
            loop.quit()

        ok_conn = window.data_loaded.connect(lambda _p: finish(True))
        fail_conn = window.load_failed.connect(lambda _m: finish(False))
        try:
            if self.load_async(path, target) and not outcome:
                loop.exec()
        finally:
            window.data_loaded.disconnect(ok_conn)
            window.load_failed.disconnect(fail_conn)
        return bool(outcome and outcome[0])

    def accepts(self, event) -> bool:
        """Whether a drag carries a local file (the window accepts such drags)."""
        urls = event.mimeData().urls()
        return bool(urls) and urls[0].isLocalFile()

    def drop(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.load_async(urls[0].toLocalFile())

    def _on_loaded(self, result) -> None:
        table, schema = result
        window, path = self._window, self._path
        window.current_path = path
        window.data_panel.set_data(table, schema)
        window.store.add_recent_file(path)
        self.refresh_recent_menu()
        window.status.idle(f"{table.frame.shape[0]:,} rows loaded")
        window.setWindowTitle(f"GPU Trainer — {path.name}")
        window.set_state("idle")
        window.data_loaded.emit(path)

    def _on_failed(self, message: str) -> None:
        window = self._window
        window.status.idle()
        window.show_error("Cannot open CSV", message)
        window.load_failed.emit(message)
