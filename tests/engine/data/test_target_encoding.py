"""Many-valued categorical columns: kept as categories, target-encoded as scikit-learn does,
fitted on the training rows only, unseen values at the prior."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.preprocess import Preprocessor, _named_codes
from engine.data.schema import infer_schema
from engine.data.target_encoding import _folds, fit_encoding

sklearn_preprocessing = pytest.importorskip("sklearn.preprocessing")


def _table(n: int, n_values: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_values, n)
    effect = rng.normal(size=n_values)[codes]
    if task == "regression":
        y = 10 + 3 * effect + rng.normal(size=n)
    elif task == "binary":
        y = np.where(effect + rng.normal(size=n) > 0, "late", "on time")
    else:
        y = np.array(["a", "b", "c"], dtype=object)[np.digitize(effect, [-0.5, 0.5])]
    return pd.DataFrame({"x": rng.normal(size=n), "tail": [f"N{c:04d}" for c in codes], "y": y})


@pytest.mark.parametrize("n", [2_000, 50_000])
def test_many_values_that_repeat_are_a_category_at_any_row_count(n):
    frame = _table(n, n_values=300)
    frame["note"] = [f"free text number {i} with words" for i in range(n)]
    frame["note"] = frame["note"].where(np.arange(n) % 3 > 0, "repeated")
    schema = infer_schema(frame)
    assert schema.column("tail").kind == "categorical"
    assert schema.column("tail").role == "feature"
    assert schema.column("note").kind == "text"


@pytest.mark.parametrize(
    ("task", "kind"),
    [("regression", "continuous"), ("binary", "binary"), ("multi", "multiclass")],
)
def test_encodings_are_scikit_learns_fitted_on_training_rows(task, kind):
    frame = _table(3_000, task=task)
    rows = np.arange(0, 3_000, 3)
    codes, names = _named_codes(frame["tail"])
    engine_task = "regression" if task == "regression" else "classification"
    stats, crossed = fit_encoding("tail", codes, names, rows, frame["y"], engine_task)
    y = frame["y"].iloc[rows].to_numpy()
    if task == "regression":
        y = (y - y.mean()) / y.std()
    reference = sklearn_preprocessing.TargetEncoder(target_type=kind, **_folds(kind, len(y), 0))
    want = reference.fit_transform(frame[["tail"]].iloc[rows].to_numpy(), y)
    np.testing.assert_allclose(crossed, want.reshape(len(rows), -1))
    width = 3 if task == "multi" else 1
    assert stats.width == width and crossed.shape == (len(rows), width)
    table = stats.table(list(reference.categories_[0]) + ["never seen"])
    for j in range(width):
        np.testing.assert_allclose(table[:-2, j], reference.encodings_[j])
    np.testing.assert_allclose(table[-2], np.atleast_1d(reference.target_mean_))
    if task == "binary":  # the prior is the training share of the second class
        np.testing.assert_allclose(stats.prior, [np.mean(y == "on time")])


def test_preprocessor_cross_fits_training_rows_and_encodes_the_rest_with_the_fit():
    frame = _table(4_000)
    schema = infer_schema(frame)
    train, val = np.arange(3_000), np.arange(3_000, 4_000)
    pre, (x_train, x_val) = Preprocessor.fit_transform(frame, schema, train, [train, val])
    assert pre.output_names == ["x", "tail~target"]
    assert pre.encoded and not pre.categorical
    stats = pre.encoded[0]
    lookup = dict(zip(stats.categories, np.asarray(stats.values)[:, 0]))
    want_val = [lookup.get(t, stats.prior[0]) for t in frame["tail"].iloc[val]]
    np.testing.assert_allclose(np.asarray(x_val)[:, 1], want_val, rtol=1e-6)
    want_train = [lookup[t] for t in frame["tail"].iloc[train]]
    assert not np.allclose(np.asarray(x_train)[:, 1], want_train)  # cross-fitted: no leak
    # saved as plain JSON, read back, unseen and missing cells
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    odd = pd.DataFrame({"x": [0.0, 0.0, 0.0], "tail": ["ZZZ", None, f"  {stats.most_frequent} "]})
    x = again.transform(odd)
    most = lookup[stats.most_frequent]
    np.testing.assert_allclose(x[:, 1], [stats.prior[0], most, most], rtol=1e-6)
    assert Preprocessor.width_for(frame, schema) == pre.n_outputs


def test_multiclass_gets_one_column_per_class():
    frame = _table(3_000, task="multi")
    pre = Preprocessor.fit(frame, infer_schema(frame))
    assert pre.output_names == ["x", "tail~a", "tail~b", "tail~c"]
    assert Preprocessor.width_for(frame, infer_schema(frame)) == 4
    x = pre.transform(pd.DataFrame({"x": [1.0], "tail": ["unseen"]}))
    np.testing.assert_allclose(x[0, 1:], pre.encoded[0].prior, rtol=1e-6)
    np.testing.assert_allclose(sum(pre.encoded[0].prior), 1.0)


def test_an_old_preprocessing_section_loads_without_the_new_parts():
    old = {"numeric": [{"name": "x", "median": 0.0, "mean": 0.0, "std": 1.0}],
           "categorical": []}  # fmt: skip
    pre = Preprocessor.from_dict(old)
    assert pre.dates == [] and pre.encoded == [] and pre.n_outputs == 1
