"""One vertical line across several plots, following the mouse, for reading values at a moment.

The plots' scenes report mouse moves through a ``pg.SignalProxy`` that passes on at most
``rate`` a second (the newest position), so a fast mouse costs a bounded amount of work, and
nothing runs while the mouse is not over a plot.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject

LINE_PEN = pg.mkPen("#555555", width=1)


class Crosshair(QObject):
    """A line on each of ``plots``; ``locate(plot, x)`` is called with the plot under the mouse
    and the x there (in that plot's data coordinates), and answers with :meth:`place`."""

    def __init__(self, plots, locate, rate: float = 30, parent=None) -> None:
        super().__init__(parent)
        self._locate = locate
        self.lines: dict[pg.PlotWidget, pg.InfiniteLine] = {}
        self._proxies = []
        for plot in plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=LINE_PEN)
            line.setZValue(10)
            line.hide()
            plot.addItem(line, ignoreBounds=True)  # never widens the auto-range
            self.lines[plot] = line
            proxy = pg.SignalProxy(
                plot.scene().sigMouseMoved, rateLimit=rate, slot=self._slot(plot)
            )
            self._proxies.append(proxy)

    def _slot(self, plot):
        return lambda args: self._moved(plot, args[0])

    def _moved(self, plot: pg.PlotWidget, scene_pos) -> None:
        view = plot.getViewBox()
        if plot.isVisible() and view.sceneBoundingRect().contains(scene_pos):
            self._locate(plot, view.mapSceneToView(scene_pos).x())

    def place(self, positions: dict) -> None:
        """``{plot: x}``: each plot's line at its x; a plot left out, or with x None, shows none."""
        for plot, line in self.lines.items():
            x = positions.get(plot)
            if x is None:
                line.hide()
            else:
                line.setValue(x)
                line.show()

    def positions(self) -> dict:
        """``{plot: x}`` of the lines shown now."""
        return {plot: line.value() for plot, line in self.lines.items() if line.isVisible()}
