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


def test_no_widget_method_hides_a_qt_method():
    """A method named like one of its Qt base's (``show``, ``update``, ``metric``...) replaces
    it for Qt as well; only Qt's event handlers and model methods are meant to be overridden."""
    import importlib
    import inspect

    from PySide6.QtCore import QAbstractItemModel, QObject

    found = []
    for path in sorted(GUI.glob("*.py")):
        module = importlib.import_module(f"gui.{path.stem}")
        for name, cls in vars(module).items():
            if (
                not (inspect.isclass(cls) and issubclass(cls, QObject))
                or cls.__module__ != module.__name__
            ):
                continue
            qt_base = next(b for b in cls.__mro__ if b.__module__.startswith("PySide6"))
            for attr in vars(cls):
                overridable = (
                    attr.endswith("Event")
                    or attr == "staticMetaObject"  # set on every class by PySide6 itself
                    or issubclass(qt_base, QAbstractItemModel)
                )
                if attr in dir(qt_base) and not attr.startswith("__") and not overridable:
                    found.append(f"{path.name}: {name}.{attr} hides {qt_base.__name__}.{attr}")
    assert not found, "; ".join(found)
