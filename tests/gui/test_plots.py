"""Plots stay bounded and smoothing ignores what it cannot average."""

from __future__ import annotations

import numpy as np
import pytest

from gui.plots import Ema, LossPlot, MetricPlot


def test_ema_is_bias_corrected_and_skips_nan():
    ema = Ema(0.9)
    out = ema.update([2.0, np.nan, 2.0])
    assert out.tolist() == pytest.approx([2.0, 2.0, 2.0])


def test_loss_plot_draws_bounded_curves(qtbot):
    plot = LossPlot(capacity=64)
    qtbot.addWidget(plot)
    steps = np.arange(1, 1001)
    plot.add_steps(steps, 1.0 / steps)
    plot.show_validation([0.3, 0.1, 0.05], 500, 2)  # the third epoch is not reported yet
    plot.redraw()
    assert plot.val_curve.getData()[0].tolist() == [500, 1000]
    x, y = plot.raw_curve.getData()
    assert 0 < len(x) <= 64
    assert plot.smooth_curve.getData()[1][-1] < plot.smooth_curve.getData()[1][0]
    plot.log_toggle.setChecked(True)
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()
    plot.clear()
    assert len(plot.raw) == 0


def test_metric_plot_has_a_curve_per_metric_and_split(qtbot):
    plot = MetricPlot()
    qtbot.addWidget(plot)
    history = {"loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.4], "lr": [0.1]}
    plot.show_history(history, 1)
    for key, value in (("loss", 0.5), ("accuracy", 0.7), ("val_accuracy", 0.6), ("lr", 0.1)):
        history[key].append(value)  # the trainer appends; the plot reads, keeping no copy
    plot.show_history(history, 2)
    assert set(plot.series()) == {"accuracy", "val_accuracy"}
    xs, ys = plot.series()["accuracy"]
    assert xs.tolist() == [1, 2] and ys.tolist() == [0.5, 0.7]


def test_frame_budget_spaces_redraws_by_their_cost():
    from gui.live_view import FrameBudget

    budget = FrameBudget(share=0.05, min_s=0.1, max_s=1.0)
    assert budget.wait(now=0.0) == 0.0  # the first redraw is due at once
    budget.spent(started=10.0, seconds=0.002)  # cheap: the worker's full rate
    assert budget.wait(now=10.05) == pytest.approx(0.05)
    budget.spent(started=20.0, seconds=0.02)  # 20 ms of drawing: wait 0.4 s
    assert budget.wait(now=20.1) == pytest.approx(0.3)
    assert budget.wait(now=20.5) == 0.0
    budget.spent(started=30.0, seconds=0.5)  # never longer than max_s
    assert budget.wait(now=30.0) == pytest.approx(1.0)


def test_frame_budget_counts_the_paints_that_follow_a_redraw():
    from gui.live_view import FrameBudget

    budget = FrameBudget(share=0.05, min_s=0.1, max_s=1.0)
    budget.spent(started=10.0, seconds=0.002)  # handing the plots their data
    budget.charge(0.008)  # Qt paints them later: 10 ms in all, so wait 0.2 s
    assert budget.wait(now=10.0) == pytest.approx(0.2)
    budget.spent(started=20.0, seconds=0.002)  # a new frame starts from its own cost
    assert budget.wait(now=20.0) == pytest.approx(0.1)


def _paints_per_change(qtbot, settle: bool) -> float:
    from PySide6.QtCore import QCoreApplication

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    qtbot.waitExposed(plot)
    paints = []
    plot.plot.paint_cost = paints.append
    if not settle:
        plot.plot.settle = lambda: None
    for _ in range(3):
        QCoreApplication.processEvents()
    paints.clear()
    frames, start = 12, 0
    for _ in range(frames):
        steps = np.arange(start, start + 50)
        plot.add_steps(steps, (1.0 / np.sqrt(steps + 1.0)).astype(np.float32))
        start += 50
        assert plot.redraw()
        for _ in range(4):
            QCoreApplication.processEvents()
    assert all(seconds >= 0 for seconds in paints)
    return len(paints) / frames


def test_a_live_plot_paints_once_per_data_change(qtbot):
    """pyqtgraph re-ranges at the start of a paint, which schedules a second paint; settling
    the range first halves the drawing. Measured both ways so a pyqtgraph change shows."""
    assert _paints_per_change(qtbot, settle=True) == pytest.approx(1.0, abs=0.2)
    assert _paints_per_change(qtbot, settle=False) >= 1.8  # what settle() saves


def test_importing_gui_keeps_qt_painting_on_the_gui_thread():
    import os

    import gui  # noqa: F401

    assert "QT_NO_GUI_THREADPOOL" in os.environ


def test_the_legend_of_a_rising_metric_sits_at_the_bottom(qtbot):
    """Accuracy climbs to the top of its plot, so its legend goes to the bottom corner."""
    from PySide6.QtCore import QCoreApplication

    plot = MetricPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.show_history({"accuracy": [0.9], "val_accuracy": [0.8]}, 1)
    plot.redraw()
    legend, tops = plot.plot.plotItem.legend, {}
    for rising in (False, True):
        plot.set_metric_label("Accuracy", rising=rising)
        QCoreApplication.processEvents()
        tops[rising] = legend.mapRectToScene(legend.boundingRect()).top()
    assert tops[True] > tops[False] + 100  # 300 px tall: the bottom corner, not the top
