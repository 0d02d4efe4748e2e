"""A bounded series of (x, y) points: the live loss plot's and a run's per-step losses.

Memory stays fixed however long a run is: at capacity the series halves its resolution
(keeps every other point and then takes every other new one) instead of growing.
"""

from __future__ import annotations

import numpy as np


class DecimatingBuffer:
    """(x, y) points in fixed memory: at capacity, halves its resolution instead of growing."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self._x = np.empty(capacity, np.float64)
        self._y = np.empty(capacity, np.float64)
        self._n = 0
        self._stride = 1
        self._seen = 0  # points offered since the stride last changed

    def __len__(self) -> int:
        return self._n

    @property
    def stride(self) -> int:
        return self._stride

    def clear(self) -> None:
        self._n, self._stride, self._seen = 0, 1, 0

    def extend(self, x, y) -> None:
        # plain floats: iterating NumPy scalars costs several times more per point
        for xi, yi in zip(np.asarray(x, np.float64).tolist(), np.asarray(y, np.float64).tolist()):
            if self._seen % self._stride == 0:
                if self._n == self.capacity:
                    self._halve()
                self._x[self._n] = xi
                self._y[self._n] = yi
                self._n += 1
            self._seen += 1

    def _halve(self) -> None:
        half = self.capacity // 2
        self._x[:half] = self._x[: self.capacity : 2]
        self._y[:half] = self._y[: self.capacity : 2]
        self._n = half
        self._stride *= 2
        self._seen = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[: self._n].copy(), self._y[: self._n].copy()

    def get_state(self) -> dict:
        x, y = self.data()
        return {"x": x, "y": y, "stride": self._stride, "seen": self._seen}

    def set_state(self, state: dict) -> None:
        """Go on from :meth:`get_state` (a checkpoint)."""
        n = len(state["x"])
        self._x[:n], self._y[:n] = state["x"], state["y"]
        self._n, self._stride, self._seen = n, int(state["stride"]), int(state["seen"])
