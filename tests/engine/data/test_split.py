"""Seeded, stratified train / validation / test splits."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import split_indices
from engine.errors import UserError


def test_partition_and_sizes():
    train, val, test = split_indices(1000, 0.15, 0.2, seed=3)
    assert (len(train), len(val), len(test)) == (650, 150, 200)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(1000))


def test_seeded():
    a = split_indices(100, 0.2, 0.2, seed=7)
    b = split_indices(100, 0.2, 0.2, seed=7)
    c = split_indices(100, 0.2, 0.2, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])


def test_stratified_keeps_class_proportions():
    classes = np.r_[np.zeros(900, int), np.ones(100, int)]
    np.random.default_rng(0).shuffle(classes)
    train, val, test = split_indices(1000, 0.1, 0.2, seed=0, classes=classes)
    assert classes[test].sum() == 20 and classes[val].sum() == 10 and classes[train].sum() == 70


def test_tiny_class_keeps_a_training_row():
    classes = np.array([0] * 20 + [1])
    train, _, _ = split_indices(21, 0.3, 0.3, seed=0, classes=classes)
    assert 20 in train


@pytest.mark.parametrize(("val", "test"), [(0.5, 0.5), (-0.1, 0.2), (0.2, 1.0)])
def test_bad_fractions(val, test):
    with pytest.raises(UserError):
        split_indices(10, val, test)
