"""Several seconds of live plotting under the event loop.

PySide6 6.12.0 with pyqtgraph 0.14.0 kills exactly this ("Fatal Python error: none_dealloc"
in AxisItem.drawPicture, GUIDE §7): this test is what catches the next version that crashes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from gui.plots import LossPlot, MetricPlot

SECONDS = 4


def test_plots_survive_seconds_of_live_updates(qtbot):
    loss, metric = LossPlot(capacity=256), MetricPlot()
    for widget in (loss, metric):
        qtbot.addWidget(widget)
        widget.resize(600, 300)
        widget.show()
    qtbot.waitExposed(loss)
    state = {"step": 0, "epoch": 0, "ticks": 0}
    history = {"accuracy": [], "val_accuracy": [], "val_loss": []}
    rng = np.random.default_rng(0)

    def tick():
        start = state["step"]
        steps = np.arange(start + 1, start + 41)
        losses = (1.0 / np.sqrt(steps) + rng.normal(0, 0.02, 40)).astype(np.float32)
        if state["ticks"] % 25 == 7:
            losses[3] = np.nan  # a diverging step: the finite check must drop it, not crash
        loss.add_steps(steps, losses)
        loss.redraw()
        state["step"] += 40
        state["ticks"] += 1
        if state["ticks"] % 10 == 0:
            for key, value in (("accuracy", 0.5), ("val_accuracy", 0.4)):
                history[key].append(value)
            history["val_loss"].append(float(losses[-1]))
            state["epoch"] += 1
            loss.show_validation(history["val_loss"], 400, state["epoch"])
            metric.show_history(history, state["epoch"])
            metric.redraw()
        if state["ticks"] % 40 == 0:
            loss.log_toggle.toggle()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    qtbot.wait(SECONDS * 1000)
    timer.stop()
    assert state["ticks"] > SECONDS * 10
    assert 0 < len(loss.raw_curve.getData()[0]) <= 256
    assert len(metric.series()["accuracy"][0]) == state["epoch"]
