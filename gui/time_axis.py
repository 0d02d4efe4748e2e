"""One run's time axis: training steps, epochs and seconds since the start, mapped onto each other.

Qt-free. A live run adds an anchor, (global step, seconds since the start), per progress batch of
the worker; a replayed run has its epochs' ends as anchors. Steps between anchors are placed by
linear interpolation (``np.interp``), so mapping thousands of steps is one vectorised call and no
Python work per step. Seconds are on the ``time.monotonic()`` clock minus the run's start ``t0``,
the hardware panel's x-axis.
"""

from __future__ import annotations

import math

import numpy as np

MODES = ("step", "epoch", "time")
X_LABELS = {
    "step": "Training step (mini-batches)",
    "epoch": "Epoch",
    "time": "Seconds since training started",
}
MAX_ANCHORS = 2048  # per run; past it the older anchors are thinned
MAX_MARKS = 40  # epoch boundary lines on a plot; more would hide the curves
MARK_STRIDES = (1, 2, 5)  # thinned marks fall on every 1, 2, 5, 10, 20, 50 … epochs


class TimeAxis:
    """Anchors ``(step, seconds)`` in fixed memory, and the mappings between the three units.

    Steps are global training steps (mini-batches since the run began, counting a resumed run's
    earlier ones), epochs are ``step / steps_per_epoch`` (epoch ``k`` ends at step
    ``k * steps_per_epoch``), seconds are since the run's start. Before the first anchor or past
    the last one, times are those of the nearest anchor; with no anchor they are NaN.
    """

    def __init__(self, steps_per_epoch: int = 1, capacity: int = MAX_ANCHORS) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self._steps = np.empty(capacity)
        self._seconds = np.empty(capacity)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def reset(self, steps_per_epoch: int = 1) -> None:
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self._n = 0

    def add(self, step: float, seconds: float) -> None:
        """``step`` steps were done ``seconds`` after the start. A step not beyond the last
        anchor's is ignored: the first time a step was reached is the one kept."""
        if self._n and step <= self._steps[self._n - 1]:
            return
        if self._n == self.capacity:
            # every other older anchor goes; the first and the newest stay
            keep = np.r_[0 : self._n - 1 : 2, self._n - 1]
            half = len(keep)
            self._steps[:half], self._seconds[:half] = self._steps[keep], self._seconds[keep]
            self._n = half
        self._steps[self._n], self._seconds[self._n] = step, seconds
        self._n += 1

    def anchors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, seconds)``, each ``(n,)``, a copy."""
        return self._steps[: self._n].copy(), self._seconds[: self._n].copy()

    def seconds_at(self, steps) -> np.ndarray:
        """Seconds at which each of ``steps`` (any shape) was done."""
        steps = np.asarray(steps, dtype=np.float64)
        if not self._n:
            return np.full(steps.shape, np.nan)
        return np.interp(steps, self._steps[: self._n], self._seconds[: self._n])

    def steps_at(self, seconds) -> np.ndarray:
        """The (fractional) step being trained at each of ``seconds``."""
        seconds = np.asarray(seconds, dtype=np.float64)
        if not self._n:
            return np.full(seconds.shape, np.nan)
        return np.interp(seconds, self._seconds[: self._n], self._steps[: self._n])

    def x_of_steps(self, steps, mode: str) -> np.ndarray:
        """``steps`` as x-coordinates of ``mode`` (one of ``MODES``)."""
        steps = np.asarray(steps, dtype=np.float64)
        if mode == "step":
            return steps
        if mode == "epoch":
            return steps / self.steps_per_epoch
        return self.seconds_at(steps)

    def steps_of_x(self, x, mode: str) -> np.ndarray:
        """The inverse of :meth:`x_of_steps`."""
        x = np.asarray(x, dtype=np.float64)
        if mode == "step":
            return x
        if mode == "epoch":
            return x * self.steps_per_epoch
        return self.steps_at(x)

    def epoch_end_seconds(self, epochs: int) -> np.ndarray:
        """``(epochs,)`` seconds at which epochs 1 … ``epochs`` ended."""
        return self.seconds_at(np.arange(1, epochs + 1) * self.steps_per_epoch)


def mark_stride(count: int, limit: int = MAX_MARKS) -> int:
    """Mark every ``stride``-th of ``count`` epochs so that at most ``limit`` are marked;
    the stride is a round number (1, 2, 5, 10, 20, 50 …) so that the marks are easy to read."""
    scale = 1
    while True:
        for stride in MARK_STRIDES:
            if count <= limit * stride * scale:
                return stride * scale
        scale *= 10


def epoch_marks(ends: np.ndarray, limit: int = MAX_MARKS) -> np.ndarray:
    """The epoch-end seconds to draw as boundary lines: every ``mark_stride``-th of ``ends``
    (``(epochs,)``, epoch 1 first), at most ``limit`` of them."""
    stride = mark_stride(len(ends), limit)
    return np.asarray(ends, dtype=np.float64)[stride - 1 :: stride]


def recorded_start(telemetry: dict | None) -> float | None:
    """A stored run's start on ``time.monotonic()``: recorded as ``t0`` in its telemetry, else
    (runs stored before that) its first sample's time, else None."""
    telemetry = telemetry or {}
    if telemetry.get("t0") is not None:
        return float(telemetry["t0"])
    samples = telemetry.get("samples") or []
    return float(samples[0]["time"]) if samples else None


def recorded_epoch_ends(history: list[dict], telemetry: dict | None) -> np.ndarray:
    """``(rows,)`` seconds since the start at which each stored epoch row ended.

    The telemetry's ``epoch_ends`` (``{"epoch": [0-based], "time": [monotonic]}``, with its
    ``t0``) where recorded; otherwise the rows' summed durations, shifted to meet the recorded
    ends (a resumed run's earlier epochs then fall before this session's start).
    """
    ends = np.cumsum([row.get("seconds") or 0.0 for row in history], dtype=np.float64)
    telemetry = telemetry or {}
    marks = telemetry.get("epoch_ends") or {}
    if telemetry.get("t0") is None or not marks.get("epoch"):
        return ends
    t0 = float(telemetry["t0"])
    known = dict(zip(marks["epoch"], (float(t) - t0 for t in marks["time"])))
    rows = [i for i, row in enumerate(history) if row.get("epoch") in known]
    if rows:
        first = rows[0]
        ends += known[history[first]["epoch"]] - ends[first]
        for i in rows:
            ends[i] = known[history[i]["epoch"]]
    return ends


def replay_anchors(history: list[dict], ends: np.ndarray) -> tuple[int, list, list]:
    """``(steps_per_epoch, steps, seconds)`` of a stored run: its epoch rows (``epoch``
    0-based, ``step``, ``seconds``) ending at ``ends`` (:func:`recorded_epoch_ends`) are the
    anchors, with the first epoch's start before them."""
    rows = [(row, float(end)) for row, end in zip(history, ends) if row.get("step") is not None]
    if not rows:
        return 1, [], []
    first, first_end = rows[0]
    per_epoch = max(1, round(first["step"] / (first["epoch"] + 1)))
    steps = [first["step"] - per_epoch] + [row["step"] for row, _ in rows]
    seconds = [first_end - (first.get("seconds") or 0.0)] + [end for _, end in rows]
    return per_epoch, steps, seconds


def finite(value) -> bool:
    return value is not None and math.isfinite(value)
