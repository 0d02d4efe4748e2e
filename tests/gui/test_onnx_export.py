"""File > Export ONNX… in the real window: the file runs in onnxruntime like the model file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.io.predictor import load_model
from tests.engine.io.onnx_raw import raw_feeds

ort = pytest.importorskip("onnxruntime")


def _train(window, qtbot, path):
    assert window.load_csv(path)
    window.settings_panel.epochs_spin.setValue(3)
    window.settings_panel.patience_spin.setValue(0)
    assert not window.export_onnx_action.isEnabled()
    with qtbot.waitSignal(window.training_finished, timeout=60_000):
        window.train()
    assert window.export_onnx_action.isEnabled()


def test_export_onnx_action_writes_a_graph_that_predicts_like_the_model(
    window, qtbot, breast_cancer, tmp_path
):
    _train(window, qtbot, breast_cancer)
    model_path, onnx_path = tmp_path / "model.safetensors", tmp_path / "model.onnx"
    window.dialogs.save_path = lambda *_: str(model_path)
    window.export_action.trigger()
    window.dialogs.save_path = lambda *_: str(tmp_path / "model")  # the suffix is added
    window.export_onnx_action.trigger()
    assert onnx_path.is_file(), window.errors

    predictor = load_model(model_path)
    rows = tmp_path / "rows.csv"
    pd.read_csv(breast_cancer).head(8).to_csv(rows, index=False)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, raw_feeds(session, rows))))  # the CSV's text
    expected = predictor.predict(rows)
    columns = [f"probability_{label}" for label in predictor.pipeline.labels]
    np.testing.assert_allclose(
        outputs["probabilities"], expected[columns].to_numpy(), rtol=0, atol=1e-5
    )


def test_export_onnx_errors_keep_the_window_usable(window, qtbot, breast_cancer, tmp_path):
    window.exports.export_onnx()
    assert window.errors[-1][0] == "Nothing to export"
    _train(window, qtbot, breast_cancer)
    window.dialogs.save_path = lambda *_: str(tmp_path / "no such folder" / "model.onnx")
    assert window.exports.export_onnx() is None
    title, text = window.errors[-1]
    assert title == "Cannot export ONNX" and "no such folder" in text
    assert window.dialogs.messages and not window.dialogs.messages[-1].isModal()
    window.dialogs.save_path = lambda *_: str(tmp_path / "model.onnx")
    assert window.exports.export_onnx() == tmp_path / "model.onnx"
    assert window.controls.train_button.isEnabled()
