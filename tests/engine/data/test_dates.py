"""Date columns: detected in text and parsed columns, expanded into parts, missing-safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.dates import ISO, PARSED, detect_format, fields, parse
from engine.data.preprocess import Preprocessor
from engine.data.reader import read_csv
from engine.data.schema import infer_schema

WHEN = pd.date_range("2011-12-25 03:00", periods=300, freq="29h")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("%Y-%m-%d", ISO),
        ("%Y-%m-%d %H:%M:%S", ISO),
        ("%Y-%m-%dT%H:%M:%SZ", ISO),
        ("%Y/%m/%d", "%Y/%m/%d"),
        ("%m/%d/%Y", "%m/%d/%Y"),
        ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M"),
    ],
)
def test_text_dates_are_detected_and_read_back(spelling, expected):
    texts = pd.Series(WHEN.strftime(spelling))
    assert detect_format(texts) == expected
    when = parse(texts, expected)
    truth = pd.to_datetime(texts, format=spelling if expected != ISO else ISO)
    np.testing.assert_array_equal(when, truth.dt.tz_localize(None).to_numpy("datetime64[s]"))


@pytest.mark.parametrize("texts", [["a", "b"], ["1.5", "2"], ["12-ab", "x"], ["2012", "2013"]])
def test_text_that_is_not_a_date_is_not_detected(texts):
    assert detect_format(pd.Series(texts * 10)) is None


def test_fields_match_pandas():
    when = WHEN.to_numpy("datetime64[s]")
    got = fields(when)
    assert np.array_equal(got["year"], WHEN.year)
    assert np.array_equal(got["month"], WHEN.month)
    assert np.array_equal(got["day_of_week"], WHEN.day_of_week)
    assert np.array_equal(got["day_of_year"], WHEN.day_of_year)
    assert np.allclose(got["hour"], WHEN.hour + WHEN.minute / 60)


def _csv(tmp_path, column: list[str]) -> pd.DataFrame:
    path = tmp_path / "dates.csv"
    y = np.arange(len(column)) % 3
    pd.DataFrame({"when": column, "y": y}).to_csv(path, index=False)
    return read_csv(path).frame


@pytest.mark.parametrize(
    "spelling", ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S+02:00"]
)
def test_a_date_column_read_from_csv_is_datetime_not_identifier_or_number(tmp_path, spelling):
    frame = _csv(tmp_path, list(WHEN.strftime(spelling)))
    info = infer_schema(frame).column("when")
    assert (info.kind, info.role) == ("datetime", "feature")
    assert "year, month, day of week" in info.note
    assert ("hour" in info.note) == ("%H" in spelling)
    preprocessor = Preprocessor.fit(frame, infer_schema(frame))
    assert preprocessor.output_names[:3] == ["when.year", "when.month", "when.day_of_week"]
    assert preprocessor.n_outputs == (12 if "%H" in spelling else 9)


def test_zoned_times_read_as_utc_whether_parsed_or_text(tmp_path):
    texts = list(WHEN.strftime("%Y-%m-%dT%H:%M:%S+02:00"))
    parsed = _csv(tmp_path, texts)["when"]
    assert pd.api.types.is_datetime64_any_dtype(parsed.dtype)
    as_text = pd.Series(texts, dtype=object)
    want = (WHEN - pd.Timedelta(hours=2)).to_numpy("datetime64[s]")
    np.testing.assert_array_equal(parse(parsed, PARSED), want)
    np.testing.assert_array_equal(parse(as_text, PARSED), want)


def test_missing_and_unparsable_dates_take_the_fill_and_nothing_crashes(tmp_path):
    texts = list(WHEN.strftime("%Y/%m/%d"))
    texts[3], texts[7] = "not a date", ""
    frame = _csv(tmp_path, texts)
    schema = infer_schema(frame)
    info = schema.column("when")
    assert info.kind == "datetime" and info.n_missing == 2
    assert "1 value is not a date" in info.note
    pre = Preprocessor.fit(frame, schema)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    odd = pd.DataFrame({"when": ["31/31/2031", None, "2012/02/30", "?", pre.dates[0].fill[:10]]})
    x = again.transform(odd)
    assert np.all(np.isfinite(x))
    for row in x[1:]:
        np.testing.assert_array_equal(row, x[0])  # every bad cell reads as the fill date


def test_parts_are_bounded_and_cyclic():
    frame = pd.DataFrame({"when": WHEN.strftime("%Y-%m-%d %H:%M"), "y": np.arange(300.0)})
    schema = infer_schema(frame)
    x = Preprocessor.fit(frame, schema).transform(frame)
    names = Preprocessor.fit(frame, schema).output_names
    assert np.all(np.abs(x[:, 1:]) <= 1 + 1e-6)
    sin, cos = x[:, names.index("when.month_sin")], x[:, names.index("when.month_cos")]
    np.testing.assert_allclose(sin**2 + cos**2, 1, atol=1e-6)
    np.testing.assert_allclose(sin, np.sin(2 * np.pi * WHEN.month / 12), atol=1e-6)
    year = x[:, 0]
    assert abs(year.mean()) < 1e-5 and abs(year.std() - 1) < 1e-5
