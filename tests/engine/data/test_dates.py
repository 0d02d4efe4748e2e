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
    # without a target every part stays (a target that ignores the calendar: see below)
    preprocessor = Preprocessor.fit(frame, infer_schema(frame).with_role("y", "ignored"))
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


# -- the year's fraction, and the cycles a target shows no association with ------------------
def test_cycle_association_matches_scipy_chi_square_and_anova():
    from scipy import stats

    from engine.data.dates import KEEP_P, _associated

    rng = np.random.default_rng(0)
    decided = set()
    for effect in np.linspace(0.0, 0.4, 9):
        groups = rng.integers(0, 7, 600).astype(np.float64)
        classes = np.where(rng.random(600) < 0.3 + effect * (groups == 2), "a", "b")
        table = pd.crosstab(groups, classes).to_numpy()
        p = stats.chi2_contingency(table, correction=False).pvalue
        if abs(np.log(p / KEEP_P)) > 0.1:  # clear of the threshold, where the quantile's
            assert _associated(groups, classes.astype(object), "classification") == (p <= KEEP_P)
            decided.add(p <= KEEP_P)  # approximation (within 1 %) could tip it
        y = rng.normal(size=600) + effect * (groups == 2)
        p = stats.f_oneway(*(y[groups == g] for g in range(7))).pvalue
        if abs(np.log(p / KEEP_P)) > 0.1:
            assert _associated(groups, y, "regression") == (p <= KEEP_P)
            decided.add(p <= KEEP_P)
    assert decided == {True, False}


def test_a_cycle_the_target_ignores_is_left_out_and_the_model_file_keeps_that(tmp_path):
    days = pd.date_range("2012-01-01", periods=1_400, freq="D")
    rng = np.random.default_rng(1)
    season = np.sin(2 * np.pi * days.day_of_year / 365.25)
    rain = np.where(season + rng.normal(0, 0.5, len(days)) > 0, "rain", "sun")
    frame = pd.DataFrame({"when": days.strftime("%Y-%m-%d"), "weather": rain})
    schema = infer_schema(frame)
    fitted = Preprocessor.fit(frame, schema)
    (stats,) = fitted.dates
    assert stats.dropped == ["day_of_week"]  # the weather has no weekday; the season stays
    assert "when.month_sin" in fitted.output_names
    assert not any("day_of_week" in name for name in fitted.output_names)
    assert Preprocessor.width_for(frame, schema) == fitted.n_outputs == 6
    again = Preprocessor.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(again.transform(frame), fitted.transform(frame))


def test_the_year_part_carries_the_moment_within_the_year():
    from engine.data.dates import _years, date_parts, fit_dates

    when = pd.to_datetime(
        ["2012-01-01 00:00", "2012-07-01 12:00", "2012-12-31 23:00", "2013-01-01 00:00"]
    )
    years = _years(fields(when.to_numpy("datetime64[s]")), True)
    np.testing.assert_allclose(years[:2], [2012.0, 2012 + (182 + 0.5) / 366])  # a leap year
    assert np.all(np.diff(years) > 0) and years[2] < 2013.0
    stats = fit_dates("when", when.to_numpy("datetime64[s]"), ISO, None)
    x = date_parts(stats, when.to_numpy("datetime64[s]"))
    np.testing.assert_allclose(x[:, 0], (years - years.mean()) / years.std())


def test_a_model_file_from_before_keeps_the_whole_year_and_every_cycle():
    from engine.data.dates import DateStats, date_parts

    old = {"name": "when", "format": ISO, "has_time": False, "year_mean": 2012.0,
           "year_std": 2.0, "fill": "2012-01-01T00:00:00"}  # fmt: skip
    stats = DateStats(**old)
    when = pd.to_datetime(["2014-12-31", "2014-01-01"]).to_numpy("datetime64[s]")
    x = date_parts(stats, when)
    assert x.shape == (2, 9) and stats.width == 9
    np.testing.assert_array_equal(x[:, 0], [1.0, 1.0])  # (2014 - 2012) / 2, no fraction
