"""``numeric_embedding="periodic"`` end to end: the network it builds, the model file, the
predictor, the ONNX export (against onnxruntime), the settings, the CLI and the app."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cli.arguments import settings_from
from engine.data.reader import read_csv
from engine.data.samples import sample_paths
from engine.data.schema import infer_schema
from engine.errors import UserError
from engine.io.onnx_export import export_onnx
from engine.io.predictor import load_model
from engine.nn.embeddings import PeriodicEmbedding
from engine.run.job import TrainingJob
from engine.run.model_factory import build_model, count_params
from engine.run.prepare import prepare
from engine.run.settings import EMBEDDING_DIMS, TrainSettings

TARGETS = {"customer_churn": "churned", "diabetes": "progression", "wine": "cultivar"}


def _job(name: str, **settings):
    path = next(p for p in sample_paths() if p.stem == name)
    table = read_csv(path)
    schema = infer_schema(table.frame, target=TARGETS[name], source=table.name)
    settings = TrainSettings(epochs=3, early_stopping=0, numeric_embedding="periodic", **settings)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    return job, table


@pytest.fixture(scope="module", params=sorted(TARGETS))
def trained(request, tmp_path_factory):
    job, table = _job(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    return job, table, job.save(folder / "model.safetensors"), folder


def test_the_numeric_inputs_and_only_they_are_embedded(trained):
    job = trained[0]
    first = job.model.layers[0]
    n_numeric = len(job.data.pipeline.preprocessor.numeric)
    assert n_numeric == job.data.n_numeric > 0
    assert isinstance(first, PeriodicEmbedding) and first.features == n_numeric
    # the numbers come first among the network's inputs
    names = job.data.pipeline.feature_names[:n_numeric]
    assert names == [s.name for s in job.data.pipeline.preprocessor.numeric]
    assert job.model.layers[1].input_dim == job.data.n_inputs + n_numeric * (EMBEDDING_DIMS - 1)


def test_the_model_file_predicts_as_the_trained_model(trained):
    job, table, path, _ = trained
    predictor = load_model(path)
    assert isinstance(predictor.model.layers[0], PeriodicEmbedding)
    expected = job.model.predict(job.data.x_test)
    got = predictor.model.predict(predictor.pipeline.encode(job.data.test_frame()))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_onnx_runtime_matches_the_predictor(trained):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from tests.engine.io.test_onnx_export import _compare

    _, table, path, folder = trained
    onnx_path = folder / "model.onnx"
    export_onnx(path, onnx_path)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    _compare(load_model(path), session, table.frame, folder)


def test_without_numeric_columns_or_when_none_there_is_no_embedding():
    settings = TrainSettings(numeric_embedding="periodic", device="cpu")
    assert not isinstance(build_model(5, 1, "regression", settings).layers[0], PeriodicEmbedding)
    plain = TrainSettings(device="cpu")
    assert count_params(5, 1, "regression", plain, numeric_inputs=3) == count_params(
        5, 1, "regression", plain
    )
    assert count_params(5, 1, "regression", settings, numeric_inputs=3) > count_params(
        5, 1, "regression", plain
    )


def test_settings_check_stored_runs_and_cli():
    with pytest.raises(UserError, match="numeric embedding 'fourier'"):
        TrainSettings(numeric_embedding="fourier").check()
    assert TrainSettings.from_dict({"epochs": 3}).numeric_embedding == "none"
    stored = TrainSettings(numeric_embedding="periodic").to_dict()
    assert TrainSettings.from_dict(stored).numeric_embedding == "periodic"
    import argparse

    from engine.cli.arguments import add_network_arguments

    parser = argparse.ArgumentParser()
    add_network_arguments(parser)
    assert (
        settings_from(parser.parse_args([])).numeric_embedding == TrainSettings().numeric_embedding
    )
    args = parser.parse_args(["--numeric-embedding", "periodic"])
    assert settings_from(args).numeric_embedding == "periodic"
    with pytest.raises(SystemExit):
        parser.parse_args(["--numeric-embedding", "fourier"])
