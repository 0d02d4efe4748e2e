"""The bounded series stays bounded, keeps the whole run at a coarser stride, and goes on
from a checkpoint exactly."""

from __future__ import annotations

import numpy as np
import pytest

from engine.series import DecimatingBuffer


def test_buffer_keeps_everything_until_full():
    buffer = DecimatingBuffer(8)
    buffer.extend(range(5), range(5))
    x, y = buffer.data()
    assert x.tolist() == [0, 1, 2, 3, 4]


def test_buffer_halves_its_resolution_instead_of_growing():
    buffer = DecimatingBuffer(100)
    n = 1_000_000
    buffer.extend(np.arange(n), np.arange(n))
    x, _ = buffer.data()
    assert len(x) <= 100
    assert x[0] == 0 and x[-1] > n * 0.9  # the whole run, at a coarser stride
    assert np.all(np.diff(x) == buffer.stride)


def test_buffer_rejects_odd_capacity():
    with pytest.raises(ValueError):
        DecimatingBuffer(7)


def test_buffer_goes_on_from_its_state_as_if_never_stopped():
    whole, first = DecimatingBuffer(16), DecimatingBuffer(16)
    whole.extend(range(100), range(100))
    first.extend(range(37), range(37))
    resumed = DecimatingBuffer(16)
    resumed.set_state(first.get_state())
    resumed.extend(range(37, 100), range(37, 100))
    for a, b in zip(whole.data(), resumed.data()):
        np.testing.assert_array_equal(a, b)
