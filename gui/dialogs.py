"""File dialogs and messages behind one object, so tests can replace them and never block."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

CSV_FILTER = "CSV files (*.csv *.tsv *.txt);;All files (*)"
MODEL_FILTER = "GPU Trainer model (*.safetensors);;All files (*)"
ONNX_FILTER = "ONNX model (*.onnx);;All files (*)"


class Dialogs:
    """Asks the user for paths and shows messages.

    Tests swap ``open_path`` / ``save_path`` for functions returning fixed paths, and
    ``ask_text`` / ``ask_notes`` / ``confirm`` for fixed answers. Messages are non-modal boxes
    kept in ``messages`` so a test can read them without an event loop blocking.
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.messages: list[QMessageBox] = []

    def open_path(self, title: str, file_filter: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self._parent, title, "", file_filter)
        return path

    def save_path(self, title: str, suggested: str, file_filter: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self._parent, title, suggested, file_filter)
        return path

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        """One line of text; None when cancelled."""
        value, ok = QInputDialog.getText(self._parent, title, label, text=text)
        return value if ok else None

    def ask_notes(self, title: str, label: str, text: str = "") -> str | None:
        """Several lines of text; None when cancelled."""
        value, ok = QInputDialog.getMultiLineText(self._parent, title, label, text)
        return value if ok else None

    def confirm(self, title: str, text: str) -> bool:
        """Yes or no, with No the default (the questions asked are about deleting)."""
        answer = QMessageBox.question(
            self._parent,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def show_message(self, title: str, text: str, error: bool = True) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information,
            title,
            text,
            QMessageBox.StandardButton.Ok,
            self._parent,
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=0, b=box: self._forget(b))
        self.messages.append(box)
        box.show()
        return box

    def _forget(self, box: QMessageBox) -> None:
        if box in self.messages:
            self.messages.remove(box)

    def close_all(self) -> None:
        for box in list(self.messages):
            box.close()
