"""ONNX export: the exported graph reproduces ``load_model(...).predict`` on raw rows."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from engine.cli import main as cli_main
from engine.data.reader import read_csv
from engine.data.samples import sample_paths
from engine.data.schema import infer_schema
from engine.data.values import FALSE_TEXTS, MISSING_MARKERS, TRUE_TEXTS, category_name
from engine.io.onnx_export import export_onnx
from engine.io.predictor import load_model
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings
from tests.engine.io.onnx_raw import raw_feeds

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TARGETS = {
    "breast_cancer_8": "malignant",
    "customer_churn": "churned",
    "diabetes": "progression",
    "wine": "cultivar",
}


@pytest.fixture(scope="module", params=sorted(TARGETS))
def exported(request, tmp_path_factory):
    """(predictor, onnx session, raw frame) for a model trained briefly on one sample."""
    name = request.param
    path = next(p for p in sample_paths() if p.stem == name)
    table = read_csv(path)
    schema = infer_schema(table.frame, target=TARGETS[name], source=table.name)
    settings = TrainSettings(epochs=4, early_stopping=0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    folder = tmp_path_factory.mktemp(name)
    model_path = job.save(folder / "model.safetensors")
    onnx_path = folder / "model.onnx"
    assert cli_main(["export-onnx", str(model_path), str(onnx_path)]) == 0
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return load_model(model_path), session, table.frame, onnx_path


def _messy(predictor, frame: pd.DataFrame) -> pd.DataFrame:
    """The first rows with holes, ±inf and a category never seen in training."""
    rows = frame.head(12).copy()
    for stats in predictor.pipeline.preprocessor.numeric:
        rows[stats.name] = rows[stats.name].astype("float64")
        rows.loc[rows.index[0], stats.name] = np.nan
        rows.loc[rows.index[1], stats.name] = np.inf
        rows.loc[rows.index[2], stats.name] = -np.inf
    for stats in predictor.pipeline.preprocessor.categorical:
        rows[stats.name] = rows[stats.name].astype(object)
        rows.loc[rows.index[3], stats.name] = None
        rows.loc[rows.index[4], stats.name] = "never-seen-in-training"
    return rows


def _compare(predictor, session, rows: pd.DataFrame, folder) -> None:
    """``rows`` written as a CSV, then fed to the graph from its raw text and to ``predict``."""
    csv_path = folder / "rows.csv"
    rows.to_csv(csv_path, index=False)
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, raw_feeds(session, csv_path))))
    expected = predictor.predict(csv_path)
    if predictor.pipeline.task == "regression":
        # the network's float32 output, compared in its own (standardised) units
        target = predictor.pipeline.target
        want = expected[f"predicted_{predictor.pipeline.target_name}"].to_numpy()
        got = outputs["value"].astype(np.float64)
        np.testing.assert_allclose(
            (got - target.mean) / target.std, (want - target.mean) / target.std, rtol=0, atol=1e-5
        )
        return
    probability_columns = [f"probability_{label}" for label in predictor.pipeline.labels]
    np.testing.assert_allclose(
        outputs["probabilities"], expected[probability_columns].to_numpy(), rtol=0, atol=1e-5
    )
    got = [category_name(v) for v in outputs["label"]]
    want = [category_name(v) for v in expected[f"predicted_{predictor.pipeline.target_name}"]]
    assert got == want


def test_onnx_matches_predict_on_raw_rows(exported, tmp_path):
    predictor, session, frame, _ = exported
    _compare(predictor, session, frame, tmp_path)


def test_onnx_matches_predict_with_missing_inf_and_unseen_values(exported, tmp_path):
    predictor, session, frame, _ = exported
    _compare(predictor, session, _messy(predictor, frame), tmp_path)


def test_onnx_batch_dimension_is_dynamic(exported, tmp_path):
    predictor, session, frame, _ = exported
    _compare(predictor, session, frame.head(1), tmp_path)
    _compare(predictor, session, frame.head(37), tmp_path)


def test_onnx_graph_is_valid_and_holds_the_preprocessing(exported):
    predictor, _, _, onnx_path = exported
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 20)]
    ops = {node.op_type for node in model.graph.node}
    preprocessor = predictor.pipeline.preprocessor
    if preprocessor.numeric:
        assert {"IsNaN", "IsInf", "Sub", "Div", "Clip", "Where"} <= ops
    if preprocessor.categorical:
        assert "RegexFullMatch" in ops
    kinds = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    assert kinds == {s.name: onnx.TensorProto.DOUBLE for s in preprocessor.numeric} | {
        s.name: onnx.TensorProto.STRING for s in preprocessor.categorical
    }
    assert [i.name for i in model.graph.input] == predictor.pipeline.input_columns
    first_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert first_dim.dim_param == "N"


def test_export_of_a_damaged_model_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model at all")
    out = tmp_path / "out.onnx"
    assert cli_main(["export-onnx", str(bad), str(out)]) == 2
    assert "bad.safetensors" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [bad]


def test_a_column_named_like_an_internal_node_exports(tmp_path):
    """Feature names are the graph's input names: internal names must never collide."""
    frame = pd.DataFrame(
        {"scaled_4": np.arange(40.0) % 5, "finite_3": np.arange(40.0) % 7, "y": np.arange(40.0) * 2}
    )
    settings = TrainSettings(epochs=2, early_stopping=0)
    schema = infer_schema(frame, target="y")
    assert schema.features == ["scaled_4", "finite_3"]
    job = TrainingJob(prepare(frame, schema, settings), settings)
    job.run()
    model_path = job.save(tmp_path / "m.safetensors")
    assert cli_main(["export-onnx", str(model_path), str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    _compare(load_model(model_path), session, frame, tmp_path)


def test_a_column_named_like_an_output_is_a_clear_error(tmp_path, capsys):
    frame = pd.DataFrame({"value": np.arange(40.0) % 5, "y": np.arange(40.0) * 2})
    settings = TrainSettings(epochs=2, early_stopping=0)
    job = TrainingJob(prepare(frame, infer_schema(frame, target="y"), settings), settings)
    job.run()
    model_path = job.save(tmp_path / "m.safetensors")
    assert cli_main(["export-onnx", str(model_path), str(tmp_path / "m.onnx")]) == 2
    assert "column 'value' has the name of an ONNX output" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


# -- the README's contract for values of every kind -----------------------------------------
def _frame_with(feature: str, target: str) -> pd.DataFrame:
    """300 rows: two numeric columns with gaps, one ``feature`` column and a ``target``."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {"tenure": rng.normal(24, 8, n).round(1), "charge": rng.uniform(10, 90, n)}
    )
    frame.loc[frame.index[::17], "charge"] = np.nan
    if feature == "text":
        frame["plan"] = rng.choice(["basic", "standard", "premium"], n).astype(object)
        frame.loc[frame.index[::13], "plan"] = None
    elif feature == "numeric-looking":  # "1"…"3" as text: 'ground' makes the column categorical
        frame["floor"] = rng.choice(["1", "2", "3", "ground"], n).astype(object)
        frame.loc[frame.index[::11], "floor"] = None
    elif feature == "boolean":
        frame["paperless"] = rng.choice([True, False], n)
    if target == "classes":
        frame["churn"] = rng.choice(["no", "yes", "later"], n)
    elif target == "integer classes":
        frame["churn"] = rng.choice([0, 1, 2], n)
    else:
        frame["churn"] = 50 + 2 * frame["tenure"] + rng.normal(0, 5, n)
    return frame


@pytest.mark.parametrize(
    ("feature", "target"),
    [
        ("text", "classes"),
        ("text", "value"),
        ("numeric-looking", "integer classes"),
        ("boolean", "classes"),
    ],
)
def test_onnx_fed_raw_csv_text_matches_predict(tmp_path, feature, target):
    """A C#, C++ or JavaScript caller has only the CSV's text and the README: the graph fed
    that way must give the labels and probabilities (or values) ``predict`` gives."""
    csv_path = tmp_path / "data.csv"
    _frame_with(feature, target).to_csv(csv_path, index=False)
    table = read_csv(csv_path)
    schema = infer_schema(table.frame, target="churn", source=table.name)
    assert schema.task == ("regression" if target == "value" else "classification")
    settings = TrainSettings(layers=[LayerSpec(8)], epochs=3, early_stopping=0, seed=0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    model_path = job.save(tmp_path / "model.safetensors")
    export_onnx(model_path, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    kinds = [i.type for i in session.get_inputs()]
    assert kinds == ["tensor(double)", "tensor(double)", "tensor(string)"]  # numbers, then text
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, raw_feeds(session, csv_path)),
        )
    )
    predictor = load_model(model_path)
    expected = predictor.predict(csv_path)
    predicted = expected["predicted_churn"]
    if target == "value":
        scale = float(table.frame["churn"].std())
        np.testing.assert_allclose(
            outputs["value"], predicted.to_numpy(), rtol=0, atol=1e-5 * scale
        )
        return
    columns = [f"probability_{label}" for label in predictor.pipeline.labels]
    probabilities = expected[columns].to_numpy()
    np.testing.assert_allclose(outputs["probabilities"], probabilities, rtol=0, atol=1e-5)
    assert outputs["label"].tolist() == predicted.tolist()


# -- values as a CSV writes them: spellings, markers, spaces, magnitudes --------------------
SPELLED_TRUE, SPELLED_FALSE = ["True", "TRUE", "true"], ["False", "FALSE", "false"]


def _write(path, columns: dict[str, list[str]]):
    """A CSV holding exactly these cell texts (the stdlib's writer quotes only what needs it)."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values()))
    return path


def _with_markers(cells: list[str], every: int, markers=("NA", "?", "null", "")) -> list[str]:
    """``cells`` with every ``every``-th one a missing marker, the markers in turn."""
    cells = list(cells)
    for i, at in enumerate(range(0, len(cells), every)):
        cells[at] = markers[i % len(markers)]
    return cells


def _booleans(rng, n: int) -> dict[str, list[str]]:
    """Booleans as pandas writes them and as people type them, with markers for missing."""
    paperless = rng.random(n) < 0.5
    autopay = rng.random(n) < 0.5
    typed = [rng.choice(SPELLED_TRUE if a else SPELLED_FALSE) for a in autopay]
    churn = np.where(paperless ^ autopay, "yes", "no")
    return {
        "tenure": _with_markers([f"{v:.1f}" for v in rng.normal(24, 8, n)], 13),
        "paperless": [str(bool(v)) for v in paperless],
        "autopay": _with_markers(typed, 15),
        "churn": list(churn),
    }


def _words(rng, n: int) -> dict[str, list[str]]:
    """Text with spaces around it, every missing marker, and names full of RE2 syntax."""
    plan = rng.choice([" basic", "basic", "premium ", "premium", "  standard  ", "standard"], n)
    city = rng.choice(["New York", "a.b", "(x)|y", "Zürich", "1+1", "a*", "[z]"], n)
    city[::40] = "aXb"  # never 'a.b'
    charge = rng.uniform(10, 90, n)
    churn = np.where(np.char.strip(plan.astype(str)) == "premium", "yes", "no")
    return {
        "charge": _with_markers([f"{v:.2f}" for v in charge], 17),
        "plan": _with_markers(list(plan), 11, MISSING_MARKERS),
        "city": list(city),
        "churn": list(churn),
    }


def _floors(rng, n: int) -> dict[str, list[str]]:
    """Numeric-looking categories: 'ground' makes the column text."""
    floor = rng.choice(["1", "2", "3", "ground"], n)
    return {
        "tenure": [f"{v:.1f}" for v in rng.normal(24, 8, n)],
        "floor": _with_markers(list(floor), 9),
        "churn": list(np.where(np.isin(floor, ["3", "ground"]), "yes", "no")),
    }


def _floors_as_numbers(rng, n: int) -> dict[str, list[str]]:
    """The same floors written as numbers only, as the reader then types the column."""
    floor = rng.choice(["3.0", " 2", "+1", "1.0", "3e0", "02", "2.", "1"], n)
    return {
        "tenure": [f"{v:.1f}" for v in rng.normal(24, 8, n)],
        "floor": _with_markers(list(floor), 9),
        "churn": ["no"] * n,
    }


def _stamps(rng, n: int) -> dict[str, list[str]]:
    """Timestamps near 1.7e9 whose seconds decide the class, and a time due of that size."""
    seconds = rng.uniform(0, 600, n)
    return {
        "stamp": _with_markers([repr(float(1.7e9 + s)) for s in seconds], 23),
        "tenure": [f"{v:.1f}" for v in rng.normal(24, 8, n)],
        "churn": list(np.where(seconds > 300, "yes", "no")),
        "due": [repr(float(1.7e9 + 2 * s + 60)) for s in seconds],
    }


def _stamps_far_out(rng, n: int) -> dict[str, list[str]]:
    """Timestamps around the threshold, and values far beyond the training range."""
    columns = _stamps(rng, n)
    columns["stamp"][:6] = ["1700000299.9", "1700000300.1", "1e12", "-1e300", "1e308", "inf"]
    return columns


def _train(csv_path, folder, target: str = "churn"):
    """(model path, onnx session) for a small model trained on ``csv_path``."""
    table = read_csv(csv_path)
    schema = infer_schema(table.frame, target=target, source=table.name)
    settings = TrainSettings(layers=[LayerSpec(8)], epochs=3, early_stopping=0, seed=0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    model_path = job.save(folder / "model.safetensors")
    export_onnx(model_path, folder / "model.onnx")
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return model_path, session


def _graph_against_predict(model_path, session, csv_path, target="churn", scale=1.0) -> float:
    """The largest difference between the graph fed ``csv_path``'s text and
    ``gpu-trainer predict`` on it, both read back as a caller would: in probability, or in
    ``scale`` (the target's deviation) for a value; the labels must be the same."""
    out = csv_path.with_name(f"{csv_path.stem}_predicted.csv")
    assert cli_main(["predict", str(model_path), str(csv_path), "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, raw_feeds(session, csv_path))))
    if "value" in outputs:
        values = np.array([float(row[f"predicted_{target}"]) for row in rows])
        return float(np.max(np.abs(outputs["value"] - values)) / scale)
    assert [str(v) for v in outputs["label"]] == [row[f"predicted_{target}"] for row in rows]
    columns = [c for c in rows[0] if c.startswith("probability_")]
    expected = np.array([[float(row[c]) for c in columns] for row in rows])
    return float(np.max(np.abs(outputs["probabilities"] - expected)))


@pytest.mark.parametrize("make", [_booleans, _words, _floors, _stamps])
def test_onnx_reads_every_cell_as_predict_does(tmp_path, make):
    """Booleans in any case the reader accepts, spaces around text, every missing marker,
    category names full of regex syntax, numeric-looking categories and timestamps near
    1.7e9: fed the CSV's text, the graph gives ``gpu-trainer predict``'s labels and
    probabilities."""
    csv_path = _write(tmp_path / "data.csv", make(np.random.default_rng(0), 240))
    model_path, session = _train(csv_path, tmp_path)
    assert _graph_against_predict(model_path, session, csv_path) <= 1e-5


def test_onnx_reads_booleans_as_one_category_in_any_spelling(tmp_path):
    csv_path = _write(tmp_path / "data.csv", _booleans(np.random.default_rng(0), 240))
    model_path, _ = _train(csv_path, tmp_path)
    stats = {s.name: s for s in load_model(model_path).pipeline.preprocessor.categorical}
    assert sorted(stats["autopay"].categories) == sorted(stats["paperless"].categories)
    assert sorted(stats["autopay"].categories) == ["false", "true"]  # read as booleans


def test_onnx_reads_numeric_looking_categories_by_their_number(tmp_path):
    """A file whose floors are all numbers is read as numbers, so '3.0' is the category
    '3' there: the graph reads those cells so too."""
    rng = np.random.default_rng(0)
    model_path, session = _train(_write(tmp_path / "data.csv", _floors(rng, 240)), tmp_path)
    numbers = _write(tmp_path / "numbers.csv", _floors_as_numbers(rng, 60))
    assert read_csv(numbers).frame["floor"].dtype == np.float64
    assert _graph_against_predict(model_path, session, numbers) <= 1e-5


@pytest.mark.parametrize(("target", "new_rows"), [("churn", _stamps_far_out), ("due", _stamps)])
def test_onnx_keeps_the_seconds_of_timestamps(tmp_path, target, new_rows):
    """Near 1.7e9 float32 steps by 128 seconds: the graph computes in float64 as the engine
    does, for a target of that size too, and clips values far beyond the training range
    alike (shown on the classes: there a value would differ by float32's rounding of the
    network's huge sums, not by the preprocessing)."""
    rng = np.random.default_rng(0)
    columns = _stamps(rng, 240)
    model_path, session = _train(_write(tmp_path / "data.csv", columns), tmp_path, target)
    numeric = load_model(model_path).pipeline.preprocessor.numeric
    assert "stamp" in [s.name for s in numeric]
    new = _write(tmp_path / "new.csv", new_rows(rng, 60))
    scale = float(np.std([float(v) for v in columns["due"]]))
    assert _graph_against_predict(model_path, session, new, target, scale) <= 1e-5


def test_the_graphs_boolean_spellings_are_the_readers():
    import pyarrow.csv as pacsv

    options = pacsv.ConvertOptions()
    assert (tuple(options.true_values), tuple(options.false_values)) == (TRUE_TEXTS, FALSE_TEXTS)
