"""ONNX export of target-encoded columns (many values) and the refusal for date columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.cli import main as cli_main
from engine.data.reader import read_csv
from engine.data.schema import infer_schema
from engine.data.values import category_name
from engine.io.predictor import load_model
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings
from tests.engine.io.onnx_raw import raw_feeds

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _frame(task: str, n: int = 1_500) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 120, n)
    effect = rng.normal(size=120)[codes]
    frame = pd.DataFrame({"x": rng.normal(size=n), "tail": [f"N{c:03d}" for c in codes],
                          "few": np.array(["a", "b", "c"])[codes % 3]})  # fmt: skip
    if task == "regression":
        frame["y"] = 5 + 2 * effect + frame["x"]
    elif task == "binary":
        frame["y"] = np.where(effect + 0.3 * frame["x"] > 0, "yes", "no")
    else:
        frame["y"] = np.array(["p", "q", "r"])[np.digitize(effect, [-0.4, 0.4])]
    return frame


def _train(frame: pd.DataFrame, folder):
    path = folder / "train.csv"
    frame.to_csv(path, index=False)
    table = read_csv(path)
    schema = infer_schema(table.frame, target="y", source=table.name)
    settings = TrainSettings(epochs=3, early_stopping=0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    return job.save(folder / "model.safetensors")


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_onnx_matches_predict_with_target_encoding_and_unseen_values(task, tmp_path):
    frame = _frame(task)
    model_path = _train(frame, tmp_path)
    predictor = load_model(model_path)
    assert predictor.pipeline.preprocessor.encoded  # 'tail' is target-encoded
    onnx_path = tmp_path / "model.onnx"
    assert cli_main(["export-onnx", str(model_path), str(onnx_path)]) == 0
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rows = frame.head(40).copy()
    rows.loc[rows.index[0], "tail"] = "NEVER-SEEN"
    rows.loc[rows.index[1], "tail"] = None
    rows.loc[rows.index[2], "tail"] = "  " + str(rows["tail"].iloc[5]) + " "
    rows.loc[rows.index[3], "tail"] = "NA"
    rows.loc[rows.index[4], "tail"] = "N999"
    csv_path = tmp_path / "rows.csv"
    rows.to_csv(csv_path, index=False)
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, raw_feeds(session, csv_path))))
    want = predictor.predict(csv_path)
    target = f"predicted_{predictor.pipeline.target_name}"
    if task == "regression":
        std = predictor.pipeline.target.std
        np.testing.assert_allclose(got["value"] / std, want[target].to_numpy() / std, atol=1e-5)
        return
    columns = [f"probability_{label}" for label in predictor.pipeline.labels]
    np.testing.assert_allclose(got["probabilities"], want[columns].to_numpy(), atol=1e-5)
    assert [category_name(v) for v in got["label"]] == [category_name(v) for v in want[target]]


def test_unseen_values_get_the_prior_in_the_engine_and_the_graph(tmp_path):
    model_path = _train(_frame("binary"), tmp_path)
    predictor = load_model(model_path)
    pre = predictor.pipeline.preprocessor
    stats = pre.encoded[0]
    x = pre.transform(pd.DataFrame({"x": [0.0, 0.0], "tail": ["NEVER-SEEN", "N999"], "few": "a"}))
    column = pre.output_names.index("tail~target")
    np.testing.assert_allclose(x[:, column], stats.prior[0], rtol=1e-6)
    assert 0.2 < stats.prior[0] < 0.8  # the training share of 'yes'


def test_a_model_with_a_date_column_refuses_export_with_a_reason(tmp_path, capsys):
    frame = _frame("binary", 300)
    when = pd.date_range("2013-01-01", periods=300, freq="5h")
    frame.insert(0, "when", when.strftime("%m/%d/%Y %H:%M"))
    model_path = _train(frame, tmp_path)
    out = tmp_path / "model.onnx"
    assert cli_main(["export-onnx", str(model_path), str(out)]) == 2
    err = capsys.readouterr().err
    assert "date column 'when'" in err and "cannot read dates" in err
    assert not out.exists()
