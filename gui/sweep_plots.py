"""The Sweep tab's charts: the best value so far against the trial number, the settings of
every completed trial against its value (parallel coordinates) and the parameter
importances. Each takes plain lists of trials (``number``, ``params``, ``value``)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.search.space import DEFAULTS
from gui.plots import PALETTE, cheap_grid

VALUE_AXIS = "value"


def best_so_far(trials: list, maximize: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(numbers, best)`` over the completed ``trials`` in trial order."""
    done = sorted((t for t in trials if t.value is not None), key=lambda t: t.number)
    numbers, best, current = [], [], None
    for trial in done:
        if current is None or (trial.value > current if maximize else trial.value < current):
            current = trial.value
        numbers.append(trial.number)
        best.append(current)
    return np.array(numbers, dtype=np.float64), np.array(best, dtype=np.float64)


def normalise(values: list, name: str) -> list[float]:
    """``values`` of one setting mapped to 0..1: numbers (log scale where the space's default
    is) by their range, anything else by its place among the distinct values."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        log = DEFAULTS[name].log if name in DEFAULTS else False
        xs = [math.log(v) if log and v > 0 else float(v) for v in values]
        low, high = min(xs), max(xs)
        return [0.5 if high == low else (x - low) / (high - low) for x in xs]
    levels = sorted({str(v) for v in values})
    place = {level: i for i, level in enumerate(levels)}
    span = max(1, len(levels) - 1)
    return [place[str(v)] / span if len(levels) > 1 else 0.5 for v in values]


def value_colour(fraction: float, maximize: bool):
    """Good values bright, bad ones dark (viridis)."""
    fraction = fraction if maximize else 1.0 - fraction
    return pg.colormap.get("viridis").map(min(1.0, max(0.0, fraction)), mode="qcolor")


class BestCurve(pg.PlotWidget):
    """Each completed trial's value (dots) and the best so far (line)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepBestCurve")
        self.setBackground("w")
        cheap_grid(self)
        self.setLabel("bottom", "Trial")
        self.setLabel("left", "Validation value")
        self.dots = self.plot(pen=None, symbol="o", symbolSize=6, symbolBrush=PALETTE[0])
        self.curve = self.plot(pen=pg.mkPen(PALETTE[1], width=2), stepMode=None)

    def show_trials(self, trials: list, maximize: bool) -> None:
        done = [t for t in trials if t.value is not None]
        self.dots.setData([t.number for t in done], [t.value for t in done])
        numbers, best = best_so_far(done, maximize)
        self.curve.setData(numbers, best)


class ParallelCoordinates(pg.PlotWidget):
    """One polyline per completed trial across normalised axes (one per setting, then the
    value), coloured by the value; ``curves`` holds them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepParallel")
        self.setBackground("w")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getAxis("left").setTicks([[(0.0, "low"), (1.0, "high")]])
        self.curves: list[pg.PlotDataItem] = []
        self.axes: list[str] = []

    def show_trials(self, trials: list, maximize: bool) -> None:
        done = [t for t in trials if t.value is not None and t.params]
        for curve in self.curves:
            self.removeItem(curve)
        self.curves = []
        names = sorted({name for t in done for name in t.params}, key=_order)
        self.axes = [*names, VALUE_AXIS]
        self.getAxis("bottom").setTicks([list(enumerate(self.axes))])
        if not done:
            return
        columns = [normalise([t.params.get(n) for t in done if n in t.params], n) for n in names]
        rows = {n: [t for t in done if n in t.params] for n in names}
        where = {n: {t.number: y for t, y in zip(rows[n], col)} for n, col in zip(names, columns)}
        values = normalise([t.value for t in done], VALUE_AXIS)
        xs = np.arange(len(self.axes), dtype=np.float64)
        for trial, fraction in zip(done, values):
            ys = [where[n].get(trial.number, np.nan) for n in names] + [fraction]
            pen = pg.mkPen(value_colour(fraction, maximize), width=2)
            curve = self.plot(xs, np.array(ys, dtype=np.float64), pen=pen, connect="finite")
            self.curves.append(curve)
        self.setXRange(-0.2, len(self.axes) - 0.8, padding=0)
        self.setYRange(-0.05, 1.05, padding=0)


class Importances(QWidget):
    """Parameter importances as horizontal bars; ``values`` holds the last ones shown."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepImportances")
        self.note = QLabel("Importances show once two trials have completed.")
        self.note.setWordWrap(True)
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.setLabel("bottom", "Importance")
        self.bars: pg.BarGraphItem | None = None
        self.values: dict[str, float] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.chart, 1)

    def show_importances(self, values: dict[str, float], note: str = "") -> None:
        self.values = dict(values)
        if self.bars is not None:
            self.chart.removeItem(self.bars)
            self.bars = None
        self.note.setText(note)
        self.note.setVisible(bool(note))
        if not values:
            return
        names = list(values)[::-1]  # most important on top
        ys = np.arange(len(names), dtype=np.float64)
        widths = np.array([values[n] for n in names], dtype=np.float64)
        self.bars = pg.BarGraphItem(x0=0, y=ys, height=0.6, width=widths, brush=PALETTE[0])
        self.chart.addItem(self.bars)
        self.chart.getAxis("left").setTicks([list(zip(ys.tolist(), names))])
        self.chart.setXRange(0, max(1e-9, float(widths.max())) * 1.05)
        self.chart.setYRange(-0.6, len(names) - 0.4, padding=0)


def _order(name: str) -> tuple[int, str]:
    names = list(DEFAULTS)
    return (names.index(name) if name in names else len(names), name)
