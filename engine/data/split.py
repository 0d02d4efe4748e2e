"""Seeded train / validation / test splits, stratified by class for classification."""

from __future__ import annotations

import numpy as np

from engine.errors import UserError


def split_indices(
    n_rows: int,
    val_fraction: float,
    test_fraction: float,
    seed: int | None = 0,
    classes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions ``(train, val, test)``, each sorted, together a partition of ``range(n_rows)``.

    With ``classes`` (int class index per row) every class is split in the same proportions,
    and each class keeps at least one training row.
    """
    for name, value in (("validation", val_fraction), ("test", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise UserError(f"the {name} split must be between 0 and 1, not {value}")
    if val_fraction + test_fraction >= 1.0:
        raise UserError(
            f"validation ({val_fraction}) and test ({test_fraction}) splits leave no "
            "training rows; make them add up to less than 1"
        )
    rng = np.random.default_rng(seed)
    groups = [np.arange(n_rows)] if classes is None else _class_groups(classes)
    # which part each row falls in (0 train, 1 validation, 2 test): reading the parts off
    # this in order gives them sorted without sorting
    assigned = np.zeros(n_rows, dtype=np.int8)
    for group in groups:
        group = rng.permutation(group)
        n_test = int(round(test_fraction * len(group)))
        n_val = int(round(val_fraction * len(group)))
        if n_test + n_val >= len(group):  # a tiny class keeps one training row
            n_test = min(n_test, len(group) - 1)
            n_val = max(0, len(group) - 1 - n_test)
        assigned[group[:n_test]] = 2
        assigned[group[n_test : n_test + n_val]] = 1
    return tuple(np.flatnonzero(assigned == part).astype(np.int64) for part in range(3))


def _class_groups(classes: np.ndarray) -> list[np.ndarray]:
    classes = np.asarray(classes)
    if len(classes) and classes.min() >= 0 and classes.max() < 2**15:
        classes = classes.astype(np.int16)  # a stable sort of small integers is a radix sort
    order = np.argsort(classes, kind="stable")
    boundaries = np.flatnonzero(np.diff(classes[order])) + 1
    return np.split(order, boundaries)
