"""The app's numeric-embedding choice: the engine's option list, its default, and the value
reaching the training settings."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from engine.run.settings import NUMERIC_EMBEDDINGS, TrainSettings
from gui.settings_panel import SettingsPanel


def test_the_settings_panel_offers_the_numeric_embedding(qtbot):
    panel = SettingsPanel(gpu_usable=False, gpu_reason="none here")
    qtbot.addWidget(panel)
    combo = panel.findChild(QComboBox, "numericEmbeddingCombo")
    assert tuple(combo.itemText(i) for i in range(combo.count())) == NUMERIC_EMBEDDINGS
    assert combo.currentText() == TrainSettings().numeric_embedding
    panel.set_values({"numeric_embedding": "periodic"})
    assert panel.values()["numeric_embedding"] == "periodic"
    assert TrainSettings(**panel.values()).numeric_embedding == "periodic"
    panel.set_state("running")
    assert not combo.isEnabled()
