"""Column kinds, roles and task from engine.data.schema, and the user's overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import Schema, infer_schema
from engine.errors import DataError


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "row": np.arange(1, n + 1),
            "age": rng.normal(40, 10, n).round(1),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
            "active": rng.choice(["yes", "no"], n),
            "flag": rng.choice([True, False], n),
            "country": ["NO"] * n,
            "comment": [f"free text number {i}" for i in range(n - 5)] + ["same"] * 5,
            "rooms": rng.integers(1, 6, n),
            "price": rng.normal(100, 20, n),
        }
    )


def test_kinds_and_default_roles(frame):
    schema = infer_schema(frame)
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "customer_id": "identifier",
        "row": "identifier",
        "age": "numeric",
        "city": "categorical",
        "active": "boolean",
        "flag": "boolean",
        "country": "constant",
        "comment": "categorical",
        "rooms": "numeric",
        "price": "numeric",
    }
    assert schema.target == "price"  # the last column
    assert schema.task == "regression"
    roles = {c.name: c.role for c in schema.columns}
    assert [n for n, r in roles.items() if r == "ignored"] == ["customer_id", "row", "country"]
    assert any("'customer_id' looks like an identifier" in p for p in schema.problems)
    assert any("'country'" in p and "ignored" in p for p in schema.problems)


def test_free_text_with_too_many_categories(frame):
    big = pd.concat([frame] * 3, ignore_index=True)
    big["comment"] = [f"note {i % 150}" for i in range(len(big))]
    info = infer_schema(big).column("comment")
    assert (info.kind, info.role, info.n_unique) == ("text", "ignored", 150)


def test_counts_missing_and_junk(frame):
    frame["age"] = frame["age"].astype(object)
    frame.loc[:2, "age"] = np.nan
    frame.loc[3, "age"] = "unknown"
    info = infer_schema(frame).column("age")
    assert (info.kind, info.dtype, info.n_missing) == ("numeric", "number", 4)
    assert "not numbers" in info.note


def test_infinite_values_count_as_numbers_not_categories():
    frame = pd.DataFrame({"x": [1.0, np.inf, 2.0, -np.inf, 3.0], "y": [0, 1, 0, 1, 0]})
    assert infer_schema(frame).column("x").kind == "numeric"


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a", "c"] * 5, "classification"),
        ([True, False] * 10, "classification"),
        ([0, 1, 2, 1] * 5, "classification"),
        ([1.5, 2.25, 3.0, 4.75] * 5, "regression"),
        (list(range(30)) * 2, "regression"),  # many distinct integers
    ],
)
def test_task_from_the_target(values, task):
    frame = pd.DataFrame({"x": np.arange(len(values)) % 7, "y": values})
    assert infer_schema(frame).task == task


def test_missing_target_column_names_the_choices():
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [5, 6]})
    with pytest.raises(DataError) as info:
        infer_schema(frame, target="price", source="data.csv")
    assert str(info.value) == (
        "data.csv: target column 'price' does not exist; available columns: a, b, c — "
        "pass one of them with --target"
    )


def test_overrides(frame):
    schema = infer_schema(frame, target="active")
    assert schema.task == "classification"
    changed = schema.with_role("price", "target")
    assert changed.target == "price" and changed.task == "regression"
    assert changed.column("active").role == "feature"  # the old target becomes a feature
    changed = changed.with_role("customer_id", "feature").with_task("classification")
    assert "customer_id" in changed.features and changed.task == "classification"
    assert schema.target == "active"  # the original is unchanged
    with pytest.raises(DataError):
        schema.with_role("nope", "feature")
    with pytest.raises(DataError):
        schema.with_task("clustering")


def test_round_trip(frame):
    schema = infer_schema(frame).with_role("age", "ignored")
    assert Schema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("target_values", "message"),
    [
        ([np.nan] * 12, "entirely missing"),
        (["yes"] * 12, "only one class"),
    ],
)
def test_untrainable_targets(target_values, message):
    frame = pd.DataFrame({"x": np.arange(12.0), "y": target_values})
    schema = infer_schema(frame)
    if schema.task is None or message == "only one class":
        schema = schema.with_task("classification")
    with pytest.raises(DataError, match=message):
        schema.check("data.csv")


def test_no_features_left():
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(12)], "y": [0, 1] * 6})
    with pytest.raises(DataError, match="no feature columns"):
        infer_schema(frame).check("data.csv")


def test_large_frames_are_counted_on_a_sample(monkeypatch):
    monkeypatch.setattr("engine.data.schema.SAMPLE_ROWS", 50)
    n = 400
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "const": np.r_[np.ones(n - 1), 2.0],  # constant in most samples, not in full
            "y": np.arange(n) % 3,
        }
    )
    schema = infer_schema(frame)
    assert schema.column("id").kind == "identifier"
    assert schema.column("const").kind == "boolean" or schema.column("const").n_unique == 2
    assert schema.column("y").n_unique == 3


@pytest.mark.parametrize(
    "values, shown",
    [
        (np.zeros(4), "0"),
        (np.full(4, 0.5), "0.5"),
        (np.full(4, 1e308), "1e+308"),
        (np.full(4, 3, dtype=np.int64), "3"),
        (pd.Series(["yes"] * 4, dtype="category"), "yes"),
        (pd.Series(["yes"] * 4, dtype="string[pyarrow]"), "yes"),
        ([True] * 4, "true"),
    ],
)
def test_a_constant_column_shows_its_value_as_written(values, shown):
    frame = pd.DataFrame({"c": values, "y": [0, 1, 0, 1]})
    assert infer_schema(frame).problems == (f"column 'c' has one value only ({shown}) — ignored",)


def test_problems_and_errors_read_as_one_short_line():
    long_name, broken = "n" * 500, "two\nlines"
    frame = pd.DataFrame({long_name: [1.0] * 4, broken: [np.nan, 1.0, 2.0, 3.0], "y": [0, 1] * 2})
    problems = infer_schema(frame).problems
    assert problems[0].startswith(f"column '{'n' * 39}…' has one value only")
    assert problems[1] == r"column 'two\nlines' has 1 missing values — filled with the median"
    wide = pd.DataFrame({f"c{i}": [1, 2] for i in range(1000)})
    with pytest.raises(DataError) as info:
        infer_schema(wide, target="price")
    assert "available columns: c0, c1, c2, c3, c4 and 995 more — pass" in str(info.value)
    for message in [*problems, str(info.value)]:
        assert "\n" not in message and len(message) < 200 and "np." not in message
