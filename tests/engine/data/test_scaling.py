"""Standardisation of any finite float64: the textbook figures for ordinary columns, finite
figures for columns beyond float32 (±1e308, 1e200·i, 1e-320·i), and never a warning."""

from __future__ import annotations

import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from engine.data.scaling import LIMIT, mean_std, standardise


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _exact(values) -> tuple[float, float]:
    """Mean and standard deviation in exact arithmetic (a variance of 1e616 has no float)."""
    values = [Fraction(v) for v in values]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    with localcontext(prec=40):
        std = (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()
    return float(mean), float(std)


def test_an_ordinary_column_gets_the_plain_figures():
    values = np.random.default_rng(0).normal(3.0, 2.0, 1000)
    mean, std = mean_std(values.copy())
    assert mean == pytest.approx(values.mean(), rel=1e-14)
    assert std == pytest.approx(values.std(), rel=1e-14)


@pytest.mark.parametrize(
    "values",
    [
        np.where(np.arange(60) % 2, 1e308, -1e308),
        1e200 * np.arange(60.0),
        np.full(7, 1.7976931348623157e308) * [1, 1, 1, -1, 1, 1, -1],
        1e-320 * np.arange(60.0),  # subnormal
    ],
    ids=["±1e308", "1e200·i", "±largest", "1e-320·i"],
)
def test_columns_beyond_float32_get_finite_exact_figures(values):
    mean, std = mean_std(values.copy())
    expected_mean, expected_std = _exact(values)
    assert mean == pytest.approx(expected_mean, rel=1e-12, abs=1e-320)
    assert std == pytest.approx(expected_std, rel=1e-3 if values.max() < 1e-300 else 1e-12)
    assert np.isfinite([mean, std]).all() and std > 0


def test_the_fill_counts_as_that_many_values():
    values = np.array([1e308, -1e308, 5e307])
    mean, std = mean_std(values.copy(), n_filled=3, fill=5e307)
    expected = _exact([1e308, -1e308, 5e307, 5e307, 5e307, 5e307])
    assert (mean, std) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value", [0.0, 3.0, -1e308, 1e-320])
def test_a_column_of_one_value_has_unit_spread(value):
    assert mean_std(np.full(5, value)) == (value, 1.0)
    assert mean_std(np.full(2, value), n_filled=4, fill=value) == (value, 1.0)


def test_no_values_at_all():
    assert mean_std(np.empty(0)) == (0.0, 1.0)


def test_standardise_is_exactly_the_plain_formula_for_ordinary_numbers():
    x = np.random.default_rng(1).normal(5.0, 3.0, 1000)
    np.testing.assert_array_equal(standardise(x.copy(), 5.5, 2.5), (x - 5.5) / 2.5)


def test_standardise_does_not_overflow_between_the_extremes():
    # (-1e308 - 9.8e307) overflows float64, but the result is about -9.9 deviations
    x = np.array([-1e308, 1e308])
    z = standardise(x, 9.8e307, 2e307)
    np.testing.assert_allclose(z, [-9.9, 0.1], rtol=1e-12)


def test_far_values_are_clipped_and_missing_stays_missing():
    x = np.array([1e308, -1e308, np.nan, np.inf, 3.0])
    z = standardise(x, 0.0, 1e-300)
    assert z[[0, 1]].tolist() == [LIMIT, -LIMIT]
    assert np.isnan(z[2]) and z[3] == LIMIT and z[4] == LIMIT
    assert np.abs(z[np.isfinite(z)]).max() <= LIMIT


def test_broadcast_over_columns():
    x = np.array([[1.0, 3.0], [1e308, -1e308]])
    z = standardise(x, np.array([[2.0], [0.0]]), np.array([[1.0], [1e308]]))
    np.testing.assert_allclose(z, [[-1.0, 1.0], [1.0, -1.0]])
