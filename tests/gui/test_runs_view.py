"""The Runs tab in the real window, offscreen, over a run store of the test's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from engine.data import infer_schema, read_csv
from engine.run.settings import LayerSpec, TrainSettings
from engine.runs.home import checkpoint_folder
from engine.runs.store import RunStore
from gui.runs_filter import Term, field, matches, parse
from gui.runs_model import COLUMNS

COL = {column.header: i for i, column in enumerate(COLUMNS)}


def settings(**changes) -> dict:
    return {**TrainSettings().to_dict(), **changes}


def add_run(store, name, val_losses, *, monitor="val_loss", data_path="/data/iris.csv",
            status="completed", seconds=(1.0,), steps_per_epoch=10, **fields) -> str:  # fmt: skip
    """A run with one epoch per validation loss (training loss 0.1 above it)."""
    run_id = store.create_run(
        name=name,
        source="test",
        data={"path": str(data_path), "schema": fields.pop("schema", None)},
        settings=fields.pop("settings", settings()),
        seed=fields.pop("seed", 0),
        environment={},
        task="classification",
        target="y",
        monitor=monitor,
        parameters=fields.pop("parameters", 100),
        device="cpu",
    )
    for epoch, val in enumerate(val_losses):
        logs = {"loss": val + 0.1, "val_loss": val, "accuracy": 1 - val, "val_accuracy": 1 - val}
        step, took = (epoch + 1) * steps_per_epoch, seconds[epoch % len(seconds)]
        store.add_epoch(run_id, epoch, step, took, logs)
    if status != "running":
        store.finish(run_id, status, **fields)
    return run_id


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store the window will use: GPU_TRAINER_HOME set before the window is made."""
    monkeypatch.setenv("GPU_TRAINER_HOME", str(tmp_path / "home"))
    return RunStore()


@pytest.fixture
def runs(store, window, qtbot):
    """The window's Runs view, in view (which reads the store)."""
    window.result_tabs.setCurrentWidget(window.runs_view)
    view = window.runs_view
    qtbot.waitExposed(view)
    view.table.setFocus()
    return view


def cells(view, column: str) -> list[str]:
    proxy, c = view.proxy, COL[column]
    return [proxy.index(r, c).data() for r in range(proxy.rowCount())]


def select(view, *names) -> None:
    """Select the rows of ``names``, the last one current, as Ctrl+clicks would."""
    model = view.table.selectionModel()
    flags = model.SelectionFlag
    model.clearSelection()
    for row in range(view.proxy.rowCount()):
        if view.proxy.run_at(row)["name"] in names:
            index = view.proxy.index(row, 0)
            model.setCurrentIndex(index, flags.Select | flags.Rows)


def test_the_table_shows_the_best_value_over_epochs_not_the_last(store, runs, window):
    add_run(store, "dips then rises", [0.9, 0.4, 0.7])
    add_run(store, "accuracy", [0.5, 0.2, 0.3], monitor="val_accuracy", test_metric=0.77)
    assert window.result_tabs.tabText(window.result_tabs.indexOf(runs)) == "Runs"
    assert window.findChild(QTableView, "runsTable") is runs.table
    runs.refresh()
    assert cells(runs, "Name") == ["accuracy", "dips then rises"]  # newest first
    best = cells(runs, "Best validation")
    assert best[1] == "0.4 (val_loss, epoch 2)"  # the last epoch's 0.7 is not the best
    assert best[0] == "0.8 (val_accuracy, epoch 2)"  # higher is better for accuracy
    assert cells(runs, "Test") == ["0.77", ""]
    assert cells(runs, "Epochs") == ["3", "3"]
    assert runs.count_label.text() == "2 runs"


def test_numeric_columns_sort_as_numbers_and_missing_values_last(store, runs):
    for name, parameters in (("nine", 9), ("hundred", 100), ("twenty-five", 25)):
        add_run(store, name, [0.5], parameters=parameters)
    add_run(store, "no validation", [], parameters=7)
    runs.refresh()
    runs.table.sortByColumn(COL["Parameters"], Qt.SortOrder.AscendingOrder)
    assert cells(runs, "Parameters") == ["7", "9", "25", "100"]
    runs.table.sortByColumn(COL["Parameters"], Qt.SortOrder.DescendingOrder)
    assert cells(runs, "Parameters") == ["100", "25", "9", "7"]
    runs.table.sortByColumn(COL["Best validation"], Qt.SortOrder.DescendingOrder)
    assert cells(runs, "Name")[-1] == "no validation"
    runs.table.sortByColumn(COL["Best validation"], Qt.SortOrder.AscendingOrder)
    assert cells(runs, "Name")[-1] == "no validation"


def test_text_and_hyperparameter_filters_combine(store, runs, qtbot):
    layers = [vars(LayerSpec(64)), vars(LayerSpec(32))]
    add_run(store, "adam", [0.5],
            settings=settings(optimizer="adam", learning_rate=0.001, batch_size=32,
                              layers=layers))  # fmt: skip
    add_run(store, "sgd", [0.6], data_path="/data/wine.csv",
            settings=settings(optimizer="sgd", learning_rate=0.05, batch_size=128,
                              layers=[vars(LayerSpec(128))]))  # fmt: skip
    rmsprop = add_run(store, "rmsprop", [0.4], status="stopped",
            settings=settings(optimizer="rmsprop", learning_rate=0.005, batch_size=64,
                              layers=layers))  # fmt: skip
    store.update(rmsprop, tags=["baseline"])
    runs.refresh()

    def shown(text):
        runs.filter_edit.setText(text)
        qtbot.keyClick(runs.filter_edit, Qt.Key.Key_Return)
        return sorted(cells(runs, "Name"))

    assert shown("optimizer=adam") == ["adam"]
    assert shown("learning_rate<0.01") == ["adam", "rmsprop"]
    assert shown("learning_rate=1e-3") == ["adam"]
    assert shown("batch_size>=64") == ["rmsprop", "sgd"]
    assert shown("layers=64,32") == ["adam", "rmsprop"]
    assert shown("status=completed") == ["adam", "sgd"]
    assert shown("tag=baseline") == ["rmsprop"]
    assert shown("WINE") == ["sgd"]  # the data column, any case
    assert shown("layers=64,32 learning_rate<0.004") == ["adam"]
    assert runs.count_label.text() == "1 of 3 runs"
    assert shown("no_such_setting=1") == []
    assert shown("") == ["adam", "rmsprop", "sgd"]
    runs.filter_edit.setText("sgd")  # typing: applied once the typing pauses
    qtbot.waitUntil(lambda: cells(runs, "Name") == ["sgd"])


def test_the_filter_language_without_qt():
    run = {
        "settings": {"optimizer": "Adam", "learning_rate": 0.001, "fast_path": None},
        "status": "completed",
        "name": "my run",
        "data_path": "/x/Iris.csv",
        "tags": ["A"],
    }
    assert field(run, "data") == "iris.csv" and field(run, "fast_path") == "none"
    assert field(run, "no_such_key") is None
    assert parse('name="my run" LR') == [Term("name", "=", "my run"), Term(None, "", "lr")]
    assert matches(parse("optimizer=ADAM learning_rate>=1e-3"), run, "")
    assert not matches(parse("learning_rate>abc"), run, "")
    assert not matches(parse("tag!=a"), run, "")
    assert matches(parse('name="my run" tag=a'), run, "")
    assert not matches(parse("iris"), run, "other text")


def test_two_runs_overlay_on_one_chart_against_the_chosen_x_axis(store, runs, qtbot):
    a = add_run(store, "a", [0.9, 0.5, 0.6], seconds=(2.0, 3.0, 4.0), steps_per_epoch=10)
    b = add_run(store, "b", [0.8, 0.3], seconds=(1.5,), steps_per_epoch=25)
    add_run(store, "not chosen", [0.1])
    runs.refresh()
    select(runs, "a", "b")
    overlay = runs.overlay
    qtbot.waitUntil(lambda: (a, "val_loss") in overlay.curves and (b, "loss") in overlay.curves)
    x, y = overlay.curves[(a, "val_loss")].getData()
    assert x.tolist() == [1, 2, 3] and y.tolist() == [0.9, 0.5, 0.6]
    x, y = overlay.curves[(b, "loss")].getData()
    assert x.tolist() == [1, 2] and np.allclose(y, [0.9, 0.4])
    assert overlay.curves[(b, "val_accuracy")].getData()[1].tolist() == pytest.approx([0.2, 0.7])
    assert {run_id for run_id, _ in overlay.curves} == {a, b}
    legend = [label.text for _, label in overlay.loss_plot.plotItem.legend.items]
    assert sorted(legend) == ["a", "b"]
    colours = {overlay.curves[(run_id, "loss")].opts["pen"].color().name() for run_id in (a, b)}
    assert len(colours) == 2
    assert overlay.curves[(a, "loss")].opts["pen"].width() == 1

    overlay.x_combo.setCurrentText("step")
    assert overlay.curves[(a, "loss")].getData()[0].tolist() == [10, 20, 30]
    assert overlay.curves[(b, "loss")].getData()[0].tolist() == [25, 50]
    overlay.x_combo.setCurrentText("time")
    assert overlay.curves[(a, "loss")].getData()[0].tolist() == [2.0, 5.0, 9.0]
    assert overlay.curves[(b, "val_loss")].getData()[0].tolist() == [1.5, 3.0]


def test_the_diff_lists_only_the_settings_that_differ(store, runs):
    add_run(store, "slow", [0.5], settings=settings(learning_rate=0.001), seed=1)
    add_run(store, "fast", [0.5], settings=settings(learning_rate=0.01), seed=2)
    runs.refresh()
    select(runs, "slow", "fast")
    assert runs.compare_action.isEnabled()
    runs.compare_action.trigger()
    dialog = runs.edits.diff_dialog
    assert dialog.objectName() == "runsDiff" and dialog.isVisible() and not dialog.isModal()
    table = dialog.table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
        for r in range(table.rowCount())
    }
    assert rows == {"learning_rate": ("0.01", "0.001"), "seed": ("2", "1")}
    select(runs, "slow")
    assert not runs.compare_action.isEnabled()


def test_rename_tags_and_notes_are_kept_in_the_store(store, runs, window, qtbot):
    one = add_run(store, "one", [0.5])
    two = add_run(store, "two", [0.5])
    store.update(one, tags=["shared", "mine"])
    store.update(two, tags=["shared"])
    runs.refresh()
    select(runs, "one")
    window.dialogs.ask_text = lambda title, label, text: f"{text} renamed"
    qtbot.keyClick(runs.table, Qt.Key.Key_F2)
    assert store.get(one)["name"] == "one renamed"
    assert "one renamed" in cells(runs, "Name")

    select(runs, "one renamed", "two")
    asked = []
    window.dialogs.ask_text = lambda title, label, text: asked.append(text) or "best, new"
    runs.tag_action.trigger()
    assert asked == ["shared"]  # only what both runs have is offered
    assert store.get(one)["tags"] == ["mine", "best", "new"]
    assert store.get(two)["tags"] == ["best", "new"]

    select(runs, "two")
    window.dialogs.ask_notes = lambda title, label, text: "first line\nsecond line"
    runs.notes_action.trigger()
    assert store.get(two)["notes"] == "first line\nsecond line"
    runs.filter_edit.setText("second line")
    runs.apply_filter()
    assert cells(runs, "Name") == ["two"]


def test_delete_removes_the_run_and_its_checkpoints_but_not_a_running_run(
    store, runs, window, qtbot
):
    done = add_run(store, "done", [0.5])
    folder = checkpoint_folder(done)
    folder.mkdir(parents=True)
    for epoch in (1, 2):
        (folder / f"epoch{epoch}.ckpt").write_bytes(b"x")
        store.add_checkpoint(done, epoch, folder / f"epoch{epoch}.ckpt")
    live = add_run(store, "training now", [0.5], status="running")  # this process: alive
    runs.refresh()
    questions = []
    window.dialogs.confirm = lambda title, text: questions.append(text) or False
    select(runs, "done")
    qtbot.keyClick(runs.table, Qt.Key.Key_Delete)
    assert questions and "done" in questions[0]
    assert store.get(done)  # not confirmed: kept

    window.dialogs.confirm = lambda title, text: True
    qtbot.keyClick(runs.table, Qt.Key.Key_Delete)
    assert [run["id"] for run in store.runs()] == [live]
    assert not folder.exists()
    assert cells(runs, "Name") == ["training now"]

    errors = len(window.errors)
    select(runs, "training now")
    runs.delete_action.trigger()
    assert len(window.errors) == errors + 1
    assert "is training now" in window.errors[-1][1]
    assert [run["id"] for run in store.runs()] == [live]


def test_export_writes_the_filtered_and_sorted_table(store, runs, window, tmp_path):
    for name, val in (("b", 0.3), ("a", 0.2), ("c", 0.9)):
        add_run(store, name, [val + 0.5, val])
    runs.refresh()
    runs.filter_edit.setText("best_val<0.5")
    runs.apply_filter()
    runs.table.sortByColumn(COL["Best validation"], Qt.SortOrder.AscendingOrder)
    window.dialogs.save_path = lambda *args: str(tmp_path / "runs")
    path = runs.edits.export_csv()
    assert path == tmp_path / "runs.csv"
    frame = pd.read_csv(path)
    assert frame["name"].tolist() == ["a", "b"]
    assert frame["best_val"].tolist() == pytest.approx([0.2, 0.3])
    assert frame["best_epoch"].tolist() == [2, 2]
    assert frame["data"].tolist() == ["iris.csv", "iris.csv"]


def test_open_puts_the_runs_data_and_settings_back(store, runs, window, qtbot, breast_cancer):
    schema = infer_schema(read_csv(breast_cancer).frame, target="malignant")
    ignored = schema.features[0]
    trained = TrainSettings(
        layers=[LayerSpec(16, "tanh", 0.1)], optimizer="sgd", learning_rate=0.02,
        batch_size=64, epochs=7, val_split=0.25, test_split=0.1, seed=5,
    ).to_dict()  # fmt: skip
    add_run(store, "to reopen", [0.5], data_path=breast_cancer, settings=trained, seed=5,
            schema=schema.with_role(ignored, "ignored").to_dict())  # fmt: skip
    runs.refresh()
    select(runs, "to reopen")
    with qtbot.waitSignal(window.data_loaded, timeout=20_000):
        qtbot.keyClick(runs.table, Qt.Key.Key_Return)
    assert window.current_path == breast_cancer
    values = window.settings_panel.values()
    assert (values["optimizer"], values["batch_size"], values["epochs"]) == ("sgd", 64, 7)
    assert values["learning_rate"] == pytest.approx(0.02) and values["seed"] == 5
    assert window.model_panel.layers() == [LayerSpec(16, "tanh", 0.1)]
    assert window.data_panel.splits() == pytest.approx((0.25, 0.1))
    assert window.data_panel.schema.target == "malignant"
    assert window.data_panel.schema.column(ignored).role == "ignored"
    assert window.train_settings().optimizer == "sgd"


def test_open_says_when_the_data_file_is_gone(store, runs, window, tmp_path):
    add_run(store, "moved away", [0.5], data_path=tmp_path / "gone.csv")
    runs.refresh()
    select(runs, "moved away")
    runs.open_action.trigger()
    title, text = window.errors[-1]
    assert title == "Cannot open the run" and "gone.csv" in text and "is gone" in text
    assert window.current_path is None


def test_refresh_on_f5_and_when_a_training_ends(store, runs, window, qtbot):
    assert runs.model.rowCount() == 0
    add_run(store, "new", [0.5])
    window.training_finished.emit({"reason": "completed"})
    assert cells(runs, "Name") == ["new"]
    add_run(store, "newer", [0.5])
    qtbot.keyClick(runs.table, Qt.Key.Key_F5)
    assert cells(runs, "Name") == ["newer", "new"]


def test_a_corrupt_store_is_one_message_and_the_app_stays_usable(
    store, window, qtbot, breast_cancer
):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b"this is not a database\x00" * 200)
    view = window.runs_view
    window.result_tabs.setCurrentWidget(view)
    qtbot.waitExposed(view)
    store_errors = [e for e in window.errors if e[0] == "Run store unavailable"]
    assert len(store_errors) == 1 and "damaged" in store_errors[0][1]
    assert view.count_label.text() == "run store unavailable"
    window.result_tabs.setCurrentWidget(window.live)
    window.result_tabs.setCurrentWidget(view)  # the same problem is not said twice
    assert len([e for e in window.errors if e[0] == "Run store unavailable"]) == 1
    assert window.load_csv(breast_cancer)
    assert window.controls.train_button.isEnabled()
    store.path.unlink()
    assert view.refresh() and view.count_label.text() == "0 runs"
