"""GUI test fixtures: every test gets its own QSettings, never the developer's."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """Point QSettings (INI format, every scope) at a temporary folder."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(tmp_path / "settings"))
    yield tmp_path / "settings"


@pytest.fixture
def window(qtbot):
    """A main window, shown offscreen, closed (and its threads joined) after the test."""
    from gui.app import create_main_window

    win = create_main_window()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def breast_cancer(sample_dir):
    return sample_dir / "breast_cancer_8.csv"
