"""The model file: round trip, prediction on raw rows, refusal of damaged or foreign files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

from engine import load_model
from engine.data import read_csv
from engine.errors import DataError, ModelFileError, UserError
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings

FAST = TrainSettings(layers=[LayerSpec(16)], epochs=15, early_stopping=0)


@pytest.fixture(scope="module")
def churn_model(tmp_path_factory):
    from engine.data.samples import sample_paths

    path = next(p for p in sample_paths() if p.name == "customer_churn.csv")
    table = read_csv(path)
    job = TrainingJob(prepare(table, settings=FAST), FAST)
    job.run()
    out = tmp_path_factory.mktemp("m") / "churn.safetensors"
    job.save(out, extra_metadata={"hardware": {"gpu": "none"}})
    return out, job, table


def test_round_trip_predicts_like_the_trained_model(churn_model):
    path, job, table = churn_model
    predictor = load_model(path)
    assert predictor.pipeline.task == "classification"
    assert predictor.pipeline.labels == ["no", "yes"]
    assert predictor.metadata["extra"]["hardware"] == {"gpu": "none"}
    for section in ("architecture", "preprocessing", "schema", "settings", "metrics", "versions"):
        assert predictor.metadata[section]
    assert predictor.metrics["test"]["accuracy"] == pytest.approx(job.evaluate()["accuracy"])
    result = predictor.predict(table.frame)
    assert list(result.columns) == ["predicted_churned", "probability_no", "probability_yes"]
    expected = job.model.predict(job.data.pipeline.preprocessor.transform(table.frame))[:, 0]
    np.testing.assert_allclose(result["probability_yes"], expected, rtol=1e-5)
    assert set(result["predicted_churned"]) <= {"no", "yes"}


def test_predict_from_a_csv_path_ignores_extra_columns_and_needs_required_ones(
    churn_model, tmp_path
):
    path, _, table = churn_model
    predictor = load_model(path)
    frame = table.frame.head(5).drop(columns=["churned", "customer_id"]).assign(extra=1)
    csv = tmp_path / "new.csv"
    frame.to_csv(csv, sep=";", index=False)
    assert len(predictor.predict(csv)) == 5
    with pytest.raises(DataError) as info:
        predictor.predict(frame.drop(columns=["plan"]))
    assert "'plan'" in str(info.value)


def test_regression_predictions_in_original_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    frame = pd.DataFrame({"x": x, "price": 1000 + 200 * x})
    settings = TrainSettings(epochs=60, early_stopping=0)
    job = TrainingJob(prepare(frame, settings=settings), settings)
    job.run()
    metrics = job.evaluate()
    assert metrics["r2"] > 0.95 and len(metrics["y_true"]) == metrics["n"]
    job.save(tmp_path / "m.safetensors")
    out = load_model(tmp_path / "m.safetensors").predict(pd.DataFrame({"x": [0.0, 1.0]}))
    np.testing.assert_allclose(out["predicted_price"], [1000, 1200], rtol=0.05)


def test_no_pickle_and_safetensors_layout(churn_model):
    from safetensors import safe_open

    path, _, _ = churn_model
    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata()
        assert meta["format"] == "gpu-trainer-model"
        assert json.loads(meta["architecture"])
        names = list(fh.keys())  # noqa: SIM118 (safe_open is not a dict)
        assert names and all(fh.get_tensor(k).dtype == np.float32 for k in names)
    assert b"pickle" not in path.read_bytes()


def _damaged(path, tmp_path, how):
    blob = bytearray(path.read_bytes())
    if how == "truncated":
        blob = blob[: len(blob) // 2]
    elif how == "flipped":
        blob[-3] ^= 0xFF
    elif how == "header":
        blob[8:20] = b"not json at!"
    elif how == "empty":
        blob = b""
    elif how == "text":
        blob = b"a,b,c\n1,2,3\n"
    out = tmp_path / f"{how}.safetensors"
    out.write_bytes(bytes(blob))
    return out


@pytest.mark.parametrize("how", ["truncated", "flipped", "header", "empty", "text"])
def test_damaged_files_are_refused(churn_model, tmp_path, how):
    with pytest.raises(ModelFileError) as info:
        load_model(_damaged(churn_model[0], tmp_path, how))
    assert f"{how}.safetensors" in str(info.value)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not a GPU Trainer model"):
        load_model(path)
    header = b'{"__metadata__":{"format":"gpu-trainer-model","format_version":"99"}}'
    (tmp_path / "new.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="format 99"):
        load_model(tmp_path / "new.safetensors")


def test_atomic_write_leaves_nothing_on_error(churn_model, tmp_path, monkeypatch):
    _, job, _ = churn_model
    target = tmp_path / "model.safetensors"

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("engine.io.atomic.os.replace", fail)
    with pytest.raises(UserError, match="model.safetensors: cannot be written \\(disk full\\)"):
        job.save(target)
    assert list(tmp_path.iterdir()) == []


def test_a_changed_statistic_with_valid_json_is_caught(tmp_path):
    """Editing a number in the metadata (still valid JSON) must not go unnoticed."""
    from engine.io.model_file import read_model_file, save_model

    path = tmp_path / "m.safetensors"
    save_model(path, [np.ones((2, 1), np.float32)], {"target": {"mean": 154.27}})
    blob = path.read_bytes()
    assert blob.count(b"154.27") == 1
    path.write_bytes(blob.replace(b"154.27", b"954.27"))  # same length: still a valid file
    with pytest.raises(ModelFileError, match="damaged"):
        read_model_file(path)


def test_a_model_file_with_missing_sections_is_refused_cleanly(tmp_path):
    from engine.io.model_file import save_model
    from engine.io.predictor import load_model

    path = tmp_path / "m.safetensors"
    save_model(path, [np.ones((2, 1), np.float32)], {})
    with pytest.raises(ModelFileError, match="incomplete"):
        load_model(path)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b'"dtype":"F32"', b'"dtype":"I32"'), (b'"shape":[2,3]', b'"shape":[3,2]')],
    ids=["dtype", "shape"],
)
def test_an_edited_tensor_header_is_caught(tmp_path, old, new):
    """The checksum covers each tensor's declared dtype and shape, not only its bytes."""
    from engine.io.model_file import read_model_file, save_model

    path = tmp_path / "m.safetensors"
    save_model(path, [np.arange(6, dtype=np.float32).reshape(2, 3)], {"target": {}})
    blob = path.read_bytes()
    assert blob.count(old) == 1
    path.write_bytes(blob.replace(old, new))  # same length: safetensors still loads it
    with pytest.raises(ModelFileError, match="checksum"):
        read_model_file(path)


def test_the_header_dtype_names_are_the_ones_safetensors_writes(tmp_path):
    from engine.io.model_file import read_model_file, save_model

    path = tmp_path / "m.safetensors"
    weights = [np.ones((2, 1), np.float32), np.ones(3, np.float64)]
    save_model(path, weights, {})
    loaded, _ = read_model_file(path)  # would not match its checksum if the names differed
    assert [w.dtype for w in loaded] == [np.float32, np.float64]


def test_a_format_1_file_is_still_read(tmp_path):
    """Models written before the checksum covered the header stay usable."""
    from safetensors.numpy import save

    from engine.io.model_file import SECTIONS, _checksum_v1, read_model_file

    tensors = {"w000": np.ones((2, 1), np.float32)}
    metadata = {"format": "gpu-trainer-model", "format_version": "1"}
    metadata.update({name: json.dumps({"name": name}) for name in SECTIONS})
    metadata["checksum"] = _checksum_v1(tensors, metadata)
    path = tmp_path / "old.safetensors"
    path.write_bytes(save(tensors, metadata=metadata))
    weights, sections = read_model_file(path)
    assert sections["target"] == {"name": "target"} and weights[0].shape == (2, 1)


def test_a_file_whose_widths_do_not_add_up_is_refused(churn_model, tmp_path):
    """A consistent checksum over inconsistent parts (a bug, or a crafted file): the network
    must take what the preprocessing gives."""
    from engine.io.model_file import read_model_file, save_model

    weights, sections = read_model_file(churn_model[0])
    numeric = sections["preprocessing"]["numeric"]
    sections["preprocessing"]["numeric"] = numeric[:-1]  # one input fewer
    path = tmp_path / "odd.safetensors"
    save_model(path, weights, sections)
    with pytest.raises(ModelFileError, match="takes .* inputs but the preprocessing gives"):
        load_model(path)


def test_annotate_keeps_exactly_the_input_rows_when_the_index_repeats(churn_model):
    path, _, table = churn_model
    frame = pd.concat([table.frame.head(5), table.frame.head(5)])  # index 0..4 twice
    result = load_model(path).annotate(frame)
    assert len(result) == 10 and list(result.index) == list(frame.index)
    pd.testing.assert_frame_equal(
        result[frame.columns.drop("churned")], frame.drop(columns="churned")
    )
    first, second = result.iloc[:5], result.iloc[5:]  # the same rows, predicted alike
    assert first["predicted_churned"].tolist() == second["predicted_churned"].tolist()
    np.testing.assert_allclose(first["probability_yes"], second["probability_yes"], atol=1e-6)
