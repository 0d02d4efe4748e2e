"""The decision threshold of a two-class model: stored in the model file, used by the
predictor and by the ONNX graph's ``label``; files written before it decide at 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.reader import read_csv
from engine.data.samples import sample_paths
from engine.data.schema import infer_schema
from engine.errors import UserError
from engine.io.model_file import read_model_file, save_model
from engine.io.predictor import load_model
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings

SAMPLE, TARGET = "breast_cancer_8", "malignant"


def _job(name: str, target: str, threshold=None) -> TrainingJob:
    path = next(p for p in sample_paths() if p.stem == name)
    table = read_csv(path)
    schema = infer_schema(table.frame, target=target, source=table.name)
    settings = TrainSettings(epochs=3, early_stopping=0, threshold=threshold)
    return TrainingJob(prepare(table, schema, settings), settings)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """``{"default", "low", "old"}`` model files of one short run (thresholds 0.5 stored,
    0.3 stored, and none stored, as files written before thresholds) and the CSV."""
    folder = tmp_path_factory.mktemp("threshold")
    job = _job(SAMPLE, TARGET)
    job.run()
    files = {"default": job.save(folder / "default.safetensors")}
    job.set_threshold(0.3)
    files["low"] = job.save(folder / "low.safetensors")
    weights, sections = read_model_file(files["default"])
    del sections["target"]["threshold"]
    files["old"] = save_model(folder / "old.safetensors", weights, sections)
    return files, next(p for p in sample_paths() if p.stem == SAMPLE)


def test_the_threshold_is_stored_and_read_back(models):
    files, _ = models
    assert read_model_file(files["low"])[1]["target"]["threshold"] == 0.3
    assert read_model_file(files["low"])[1]["settings"]["threshold"] == 0.3
    assert load_model(files["low"]).threshold == 0.3
    assert load_model(files["default"]).threshold == 0.5
    assert "threshold" not in read_model_file(files["old"])[1]["target"]
    assert load_model(files["old"]).threshold == 0.5


def test_labels_change_exactly_where_the_probability_lies_between_the_thresholds(models):
    files, csv = models
    column = f"predicted_{TARGET}"
    default = load_model(files["default"]).predict(csv)
    low = load_model(files["low"]).predict(csv)
    p = default["probability_1"].to_numpy()
    assert np.array_equal(p, low["probability_1"].to_numpy())
    between = (p > 0.3) & (p <= 0.5)
    assert between.sum() >= 5  # the run leaves rows there: the check below has teeth
    changed = default[column].to_numpy() != low[column].to_numpy()
    assert np.array_equal(changed, between)
    assert set(low[column][between]) == {1} and set(default[column][between]) == {0}
    assert np.array_equal(low[column].to_numpy(), (p > 0.3).astype(np.int64))


def test_an_old_file_predicts_as_before(models):
    """No threshold in the file: the most probable class, exactly as older versions did."""
    files, csv = models
    old = load_model(files["old"]).predict(csv)
    proba = old[["probability_0", "probability_1"]].to_numpy()
    assert old[f"predicted_{TARGET}"].tolist() == proba.argmax(axis=1).tolist()
    assert old.equals(load_model(files["default"]).predict(csv))


def test_the_threshold_can_be_overridden_at_prediction_time(models):
    files, csv = models
    overridden = load_model(files["default"], threshold=0.3)
    assert overridden.threshold == 0.3
    assert overridden.predict(csv).equals(load_model(files["low"]).predict(csv))


@pytest.mark.parametrize("value", [0.0, 1.0, 2.0, -0.1, float("nan")])
def test_a_threshold_outside_0_1_is_refused(models, value):
    files, _ = models
    with pytest.raises(UserError, match="between 0 and 1"):
        load_model(files["default"], threshold=value)
    with pytest.raises(UserError, match="between 0 and 1"):
        TrainSettings(threshold=value).check()


@pytest.mark.parametrize(
    ("name", "target", "kind"),
    [("diabetes", "progression", "regression"), ("wine", "cultivar", "3-class")],
)
def test_a_threshold_for_another_target_is_one_sentence(name, target, kind):
    with pytest.raises(UserError, match=f"two-class targets only.*{kind}") as caught:
        _job(name, target, threshold=0.3)
    assert "\n" not in str(caught.value)


def test_onnx_label_uses_the_stored_threshold(models, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from engine.io.onnx_export import export_onnx
    from tests.engine.io.onnx_raw import raw_feeds

    files, csv = models
    export_onnx(files["low"], tmp_path / "low.onnx")
    session = ort.InferenceSession(str(tmp_path / "low.onnx"), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], raw_feeds(session, csv))
    expected = load_model(files["low"]).predict(csv)
    p = expected["probability_1"].to_numpy()
    np.testing.assert_allclose(probabilities[:, 1], p, atol=1e-5)
    clear = np.abs(p - 0.3) > 1e-5  # float32 sums may differ in the last bits
    assert clear.sum() >= len(p) - 2
    between = clear & (p > 0.3) & (p <= 0.5)
    assert between.sum() >= 5
    assert np.array_equal(label[clear], expected[f"predicted_{TARGET}"].to_numpy()[clear])
    assert set(label[between]) == {1}  # 0.5 would have said 0 there
