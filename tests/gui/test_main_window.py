"""The main window without training: names, data loading, errors, layers, settings."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QWidget

from engine.backend import probe_gpu
from gui.settings_store import SettingsStore

STABLE_NAMES = (
    "openCsvButton",
    "targetColumnCombo",
    "layersTable",
    "addLayerButton",
    "epochsSpin",
    "batchSizeSpin",
    "learningRateSpin",
    "deviceCombo",
    "trainButton",
    "pauseButton",
    "stepButton",
    "stopButton",
    "exportButton",
    "lossPlot",
    "metricPlot",
    "hardwarePanel",
    "progressBar",
)


def test_every_stable_object_name_exists_once(window):
    for name in STABLE_NAMES:
        found = window.findChildren(QWidget, name)
        assert len(found) == 1, name


def test_load_csv_shows_preview_columns_target_and_problems(window, sample_dir):
    assert window.load_csv(sample_dir / "customer_churn.csv")
    panel = window.data_panel
    assert panel.preview_model.rowCount() == 2000
    assert panel.preview_model.columnCount() == 9
    assert panel.target_combo.currentText() == "churned"
    assert panel.task_combo.currentText() == "classification"
    roles = {
        panel.columns_table.item(r, 0).text(): panel.columns_table.cellWidget(r, 3).currentText()
        for r in range(panel.columns_table.rowCount())
    }
    assert roles["customer_id"] == "ignored"
    problems = [panel.problems.item(i).text() for i in range(panel.problems.count())]
    assert any("customer_id" in p and "identifier" in p for p in problems)
    assert window.controls.train_button.isEnabled()
    assert "Parameters:" in window.model_panel.params_label.text()


def test_changing_the_target_changes_the_task(window, sample_dir):
    assert window.load_csv(sample_dir / "diabetes.csv")
    assert window.data_panel.task_combo.currentText() == "regression"
    window.data_panel.target_combo.setCurrentText("sex")
    assert window.data_panel.schema.target == "sex"
    assert window.data_panel.task_combo.currentText() == "classification"
    assert "sigmoid" in window.model_panel.output_label.text()


def test_a_bad_csv_shows_an_error_and_the_window_stays_usable(window, tmp_path, breast_cancer):
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n", encoding="utf-8")
    assert not window.load_csv(bad)
    title, text = window.errors[-1]
    assert title == "Cannot open CSV" and "ragged.csv" in text
    assert window.dialogs.messages and not window.dialogs.messages[-1].isModal()
    assert window.load_csv(breast_cancer)
    assert window.current_path == breast_cancer
    assert window.controls.train_button.isEnabled()


def test_a_missing_file_is_an_error_too(window, tmp_path):
    assert not window.load_csv(tmp_path / "nowhere.csv")
    assert "not found" in window.errors[-1][1]


def test_first_launch_opens_the_breast_cancer_sample(window, qtbot):
    with qtbot.waitSignal(window.data_loaded, timeout=10_000):
        window.open_startup_data()
    assert window.current_path.name == "breast_cancer_8.csv"
    assert window.data_panel.target_combo.currentText() == "malignant"
    assert window.controls.train_button.isEnabled()


def test_a_later_launch_reopens_the_most_recent_file(qtbot, sample_dir):
    from gui.app import create_main_window

    first = create_main_window()
    qtbot.addWidget(first)
    assert first.load_csv(sample_dir / "wine.csv")
    first.close()
    second = create_main_window()
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.data_loaded, timeout=10_000):
        second.open_startup_data()
    assert second.current_path.name == "wine.csv"
    assert second.recent_menu.actions()[0].text().endswith("wine.csv")
    second.close()


def test_dropping_a_csv_loads_it(window, qtbot, sample_dir):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_dir / "wine.csv"))])
    event = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.data_loaded, timeout=10_000):
        window.dropEvent(event)
    assert window.current_path.name == "wine.csv"


def test_open_button_uses_the_injectable_dialog(window, qtbot, breast_cancer):
    window.dialogs.open_path = lambda *_: str(breast_cancer)
    with qtbot.waitSignal(window.data_loaded, timeout=10_000):
        qtbot.mouseClick(window.data_panel.open_button, Qt.MouseButton.LeftButton)
    assert window.current_path == breast_cancer


def test_layers_can_be_added_removed_and_reordered_with_a_live_count(window, breast_cancer):
    assert window.load_csv(breast_cancer)
    panel = window.model_panel
    panel.set_layers([])
    assert panel.param_count() == 8 + 1  # inputs straight to one sigmoid unit
    panel.add_layer()
    panel.table.cellWidget(0, 0).setValue(10)
    assert panel.param_count() == (8 + 1) * 10 + (10 + 1)
    assert panel.params_label.text().startswith("Parameters: 101")
    panel.add_layer()
    panel.table.cellWidget(1, 0).setValue(4)
    panel.table.cellWidget(1, 1).setCurrentText("tanh")
    panel.table.cellWidget(1, 2).setValue(0.25)
    panel.table.selectRow(1)
    panel.move_current(-1)
    assert [(r.units, r.activation, r.dropout) for r in panel.layers()] == [
        (4, "tanh", 0.25),
        (10, "auto", 0.0),  # a new layer: the default activation
    ]
    panel.table.selectRow(0)
    panel.remove_current()
    assert [r.units for r in panel.layers()] == [10]


def test_gpu_choice_reflects_the_probe(window):
    probe = probe_gpu()
    assert window.settings_panel.gpu_enabled() == probe.usable
    if not probe.usable:
        assert probe.reason in window.settings_panel.device_combo.toolTip()
    assert window.status.device.text().startswith(("GPU:", "CPU"))


def test_training_settings_and_layers_are_remembered(qtbot):
    from engine.run.settings import LayerSpec
    from gui.app import create_main_window

    first = create_main_window()
    qtbot.addWidget(first)
    first.settings_panel.epochs_spin.setValue(7)
    first.settings_panel.learning_rate_spin.setValue(0.01)
    first.model_panel.set_layers([LayerSpec(12, "tanh", 0.1)])
    first._save_training_settings()
    first.close()
    second = create_main_window()
    qtbot.addWidget(second)
    assert second.settings_panel.values()["epochs"] == 7
    assert second.settings_panel.values()["learning_rate"] == 0.01
    assert [(r.units, r.activation) for r in second.model_panel.layers()] == [(12, "tanh")]
    second.close()


def test_settings_store_survives_damaged_values(qapp):
    from PySide6.QtCore import QSettings

    settings = QSettings()
    settings.setValue("training/settings", "{not json")
    store = SettingsStore(settings)
    assert store.training_settings() == {}


def test_train_without_data_is_an_error(window):
    assert not window.train()
    assert window.errors[-1][0] == "Nothing to train on"
    assert not window.is_training()


def test_a_schema_without_features_is_refused_with_a_message(window, breast_cancer):
    assert window.load_csv(breast_cancer)
    schema = window.data_panel.schema
    for name in schema.features:
        schema = schema.with_role(name, "ignored")
    window.data_panel.schema = schema
    assert not window.train()
    assert window.errors[-1][0] == "Cannot start training"
    assert "feature" in window.errors[-1][1]
    assert not window.is_training()
    assert window.controls.train_button.isEnabled()
