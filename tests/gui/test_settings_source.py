"""One source of defaults: the app and ``gpu-trainer train`` start from the same settings.

Both read :mod:`engine.run.settings`; a default or option list copied into either side would
make the same CSV train a different model from the window than from the command line.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox

from engine.cli import build_parser
from engine.cli.train import settings_from
from engine.run import settings
from gui.main_window import MainWindow
from gui.settings_store import SettingsStore


def _fresh_window(qtbot) -> MainWindow:
    """A window whose store has never saved anything (no remembered settings or layers)."""
    store = SettingsStore(QSettings())
    assert store.training_settings() == {}
    window = MainWindow(store)
    qtbot.addWidget(window)
    return window


def test_app_and_cli_default_to_the_same_settings(qtbot, breast_cancer):
    window = _fresh_window(qtbot)
    assert window.load_csv(breast_cancer)
    from_app = window.train_settings()
    args = build_parser("train").parse_args(["train", str(breast_cancer)])
    from_cli = settings_from(args)
    assert from_app.to_dict() == from_cli.to_dict()
    assert from_app.to_dict() == settings.TrainSettings().to_dict()
    window.close()


def test_app_offers_exactly_the_engine_option_lists(qtbot):
    window = _fresh_window(qtbot)
    combo = window.findChild(QComboBox, "optimizerCombo")
    optimizers = tuple(combo.itemText(i) for i in range(combo.count()))
    assert optimizers == settings.OPTIMIZERS
    assert "adamw" in optimizers
    table = window.model_panel.table
    assert table.rowCount() > 0
    for row in range(table.rowCount()):
        activation = table.cellWidget(row, 1)
        offered = tuple(activation.itemText(i) for i in range(activation.count()))
        assert offered == settings.HIDDEN_ACTIVATIONS
    window.close()
