"""The time axis without Qt: steps, epochs and seconds mapped onto each other from anchors."""

from __future__ import annotations

import numpy as np
import pytest

from gui.time_axis import (
    TimeAxis,
    epoch_marks,
    mark_stride,
    recorded_epoch_ends,
    recorded_start,
    replay_anchors,
)


def test_steps_map_to_seconds_and_back_by_interpolation():
    axis = TimeAxis(steps_per_epoch=100)
    for step, seconds in ((0, 0.0), (50, 1.0), (150, 2.0)):
        axis.add(step, seconds)
    assert axis.seconds_at([0, 25, 50, 100, 150]).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert axis.steps_at([0.5, 1.5]).tolist() == [25.0, 100.0]
    assert axis.seconds_at([200]).tolist() == [2.0]  # past the last anchor: its time
    assert axis.x_of_steps([50, 150], "step").tolist() == [50, 150]
    assert axis.x_of_steps([50, 150], "epoch").tolist() == [0.5, 1.5]
    assert axis.x_of_steps([50, 150], "time").tolist() == [1.0, 2.0]
    for mode in ("step", "epoch", "time"):
        x = axis.x_of_steps([25.0, 120.0], mode)
        assert axis.steps_of_x(x, mode).tolist() == pytest.approx([25.0, 120.0])
    assert axis.epoch_end_seconds(1).tolist() == [1.5]


def test_no_anchor_means_no_time():
    axis = TimeAxis()
    assert np.isnan(axis.seconds_at(3.0)) and np.isnan(axis.steps_at([1.0])).all()


def test_a_repeated_step_keeps_its_first_time():
    axis = TimeAxis()
    axis.add(0, 0.0)
    axis.add(10, 1.0)
    axis.add(10, 5.0)  # paused: the same step, later
    assert axis.anchors()[1].tolist() == [0.0, 1.0]


def test_anchors_stay_bounded_keeping_the_first_and_the_newest():
    axis = TimeAxis(capacity=8)
    for i in range(1000):
        axis.add(i * 10, i * 0.2)
    steps, seconds = axis.anchors()
    assert len(steps) <= 8 and steps[0] == 0 and steps[-1] == 9990
    assert np.all(np.diff(steps) > 0)
    # linear progress: any step still maps exactly
    assert axis.seconds_at([1234.0]).tolist() == pytest.approx([24.68])


def test_epoch_marks_are_bounded_and_fall_on_round_epochs():
    assert [mark_stride(n, 40) for n in (10, 40, 41, 100, 200, 201, 4000)] == [
        1,
        1,
        2,
        5,
        5,
        10,
        100,
    ]
    ends = np.arange(1, 301) * 2.0  # 300 epochs, 2 s each
    marks = epoch_marks(ends, 40)
    assert len(marks) == 30 and marks[0] == 20.0 and marks[-1] == 600.0  # every 10th epoch
    assert epoch_marks(ends[:3]).tolist() == [2.0, 4.0, 6.0]


def _rows(seconds, per_epoch=10, first_epoch=0):
    return [{"epoch": first_epoch + i, "step": (first_epoch + i + 1) * per_epoch, "seconds": s,
             "loss": 1.0 / (i + 1)} for i, s in enumerate(seconds)]  # fmt: skip


def test_a_stored_run_without_recorded_times_uses_its_epoch_durations():
    rows = _rows([2.0, 3.0, 4.0])
    assert recorded_epoch_ends(rows, None).tolist() == [2.0, 5.0, 9.0]
    samples = [{"kind": "cpu", "time": 100.0}, {"kind": "cpu", "time": 101.0}]
    assert recorded_start({"samples": samples}) == 100.0
    assert recorded_start(None) is None
    per_epoch, steps, seconds = replay_anchors(rows, recorded_epoch_ends(rows, None))
    assert per_epoch == 10 and steps == [0, 10, 20, 30] and seconds == [0.0, 2.0, 5.0, 9.0]


def test_recorded_epoch_ends_win_and_earlier_epochs_fall_before_the_start():
    rows = _rows([2.0, 3.0, 4.0, 5.0])
    telemetry = {"t0": 50.0, "samples": [], "epoch_ends": {"epoch": [2, 3], "time": [54.5, 60.0]}}
    # epochs 0 and 1 are a resumed run's earlier session: placed by their durations
    ends = recorded_epoch_ends(rows, telemetry)
    assert ends.tolist() == [-2.5, 0.5, 4.5, 10.0]
    assert recorded_start(telemetry) == 50.0
