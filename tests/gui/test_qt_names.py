"""No widget attribute may hide a Qt method: Qt calls its virtual methods (``metric``,
``event``, ``update`` ...) through Python, and an attribute of that name crashes painting."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMainWindow

GUI = Path(__file__).resolve().parents[2] / "gui"


def test_no_instance_attribute_hides_a_qt_method():
    qt_names = set(dir(QMainWindow)) | set(dir(QDialog))
    found = []
    for path in sorted(GUI.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in re.finditer(r"self\.([A-Za-z_]\w*)\s*=(?!=)", line):
                if match.group(1) in qt_names:
                    found.append(f"{path.name}:{number}: self.{match.group(1)}")
    assert not found, "attributes named like Qt methods: " + ", ".join(found)
