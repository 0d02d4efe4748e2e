"""The "Find the fastest settings" dialog: measure the loaded sample, Apply, Stop, close."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from engine.advisor import AdvisorDevice, cpu_device
from engine.backend import get_backend
from gui.advisor_dialog import TITLE, AdvisorDialog


def _dialog(window, qtbot, devices, budget_s, batch_sizes=None) -> AdvisorDialog:
    dialog = AdvisorDialog(window, devices=devices, budget_s=budget_s, batch_sizes=batch_sizes)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_action_needs_data_and_no_training(window, breast_cancer):
    action = window.advisor.action
    assert action.text().replace("&", "") == "Find the fastest settings…"
    assert action.shortcut().toString() == "Ctrl+Shift+B"
    assert not action.isEnabled()
    assert window.advisor.show_dialog() is None and window.errors[-1][0] == "Nothing to measure"
    assert window.load_csv(breast_cancer)
    assert action.isEnabled()


def test_measure_then_apply_sets_device_and_batch_size(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    panel = window.settings_panel
    before = panel.values()
    assert (before["device"], before["batch_size"]) == ("auto", 64)
    dialog = _dialog(window, qtbot, [cpu_device()], 1.0, [128, 256])
    assert dialog.windowTitle() == TITLE and not dialog.isModal()
    assert not dialog.apply_button.isEnabled()
    assert dialog.start()
    assert dialog.running and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.advice is not None, timeout=30_000)
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 0).text().startswith("CPU")
    assert dialog.progress.value() == 1000
    assert dialog.recommendation.text() == dialog.advice.message
    assert dialog.apply_button.isEnabled() and not dialog.stop_button.isEnabled()
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    after = panel.values()
    assert after["device"] == "cpu" and after["batch_size"] == dialog.advice.batch_size
    assert after["batch_size"] in (128, 256)
    # the rate scaled with the batch (ticked by default; adamw: by the square root)
    assert dialog.scale_rate.isChecked() and before["optimizer"] == "adamw"
    scale = (after["batch_size"] / before["batch_size"]) ** 0.5
    assert after["learning_rate"] == pytest.approx(before["learning_rate"] * scale, rel=1e-3)
    assert dialog.advice.learning_rate == pytest.approx(after["learning_rate"], rel=1e-3)
    assert "Scale the learning rate" in dialog.advice.message
    assert "learning rate" in window.statusBar().currentMessage()
    changed = ("device", "batch_size", "learning_rate")
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    settings = window.train_settings()
    assert (settings.batch_size, settings.learning_rate) == (
        after["batch_size"],
        pytest.approx(after["learning_rate"]),
    )


def test_apply_keeps_the_rate_when_told_to(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    before = window.settings_panel.values()
    dialog = _dialog(window, qtbot, [cpu_device()], 0.5, [256])
    dialog.scale_rate.setChecked(False)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.advice is not None, timeout=30_000)
    assert dialog.apply()
    after = window.settings_panel.values()
    assert after["batch_size"] == 256 and after["learning_rate"] == before["learning_rate"]


def test_apply_offers_a_second_gpu_in_the_device_box(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    fake = AdvisorDevice("GPU 1 (fake)", "gpu:1", get_backend("cpu"))  # NumPy, named a GPU
    dialog = _dialog(window, qtbot, [fake], 0.5, [32])
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.advice is not None, timeout=30_000)
    assert dialog.advice.device == "gpu:1"
    assert dialog.apply()
    assert window.settings_panel.values()["device"] == "gpu:1"


def test_stop_ends_it_with_what_was_measured(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    dialog = _dialog(window, qtbot, [cpu_device()], 60.0, [32, 64, 128, 256])
    start = time.monotonic()
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.table.rowCount() >= 1, timeout=30_000)
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.advice is not None, timeout=10_000)
    assert time.monotonic() - start < 40
    assert dialog.advice.stopped and 1 <= len(dialog.advice.results) < 4
    assert "stopped" in dialog.eta_label.text()
    assert dialog.apply_button.isEnabled()


def test_closing_the_window_ends_the_measurement(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    dialog = window.advisor.show_dialog()  # the real devices, the default budget
    assert dialog is not None and dialog.running
    qtbot.waitUntil(lambda: dialog.state.latest() is not None, timeout=30_000)
    start = time.monotonic()
    window.close()
    assert not dialog.running
    assert time.monotonic() - start < 10
