"""The main window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

from engine.samples import sample_paths


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("GPU Trainer")
        self.resize(1200, 800)
        self.current_path: Path | None = None
        self._label = QLabel("Open a CSV file (Ctrl+O) or a bundled sample to begin.")
        self.setCentralWidget(self._label)
        self._build_menus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open CSV...", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.setObjectName("openCsvAction")
        open_action.triggered.connect(self.open_csv_dialog)
        file_menu.addAction(open_action)
        samples = file_menu.addMenu("Open &sample")
        for path in sample_paths():
            action = QAction(path.stem, self)
            action.triggered.connect(lambda _=False, p=path: self.load_csv(p))
            samples.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    def open_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open CSV", "", "CSV files (*.csv);;All (*)")
        if path:
            self.load_csv(path)

    def load_csv(self, path) -> bool:
        import pandas as pd

        path = Path(path)
        try:
            frame = pd.read_csv(path)
        except Exception as exc:
            QMessageBox.warning(self, "Cannot open CSV", f"{path.name}: {exc}")
            return False
        self.current_path = path
        self._label.setText(f"{path.name}: {len(frame):,} rows × {frame.shape[1]} columns")
        return True
