"""Live hardware telemetry beside the training curves: GPU (NVML) or CPU (psutil) plots.

The engine's :class:`~engine.hardware.Sampler` reads NVML on its own thread; a QTimer in the
GUI thread drains its new samples and redraws, so no NVML call runs in the GUI thread and
only the GUI thread touches widgets. The x-axis is seconds since ``run_started(t0)``, on the
``time.monotonic()`` clock of the training records.

The redraw runs while training competes for the CPU, so it stays cheap: sample fields are
kept as columns appended per drain (not rebuilt from every sample), and titles and legends
change only when the plotted series do. Epoch boundaries are thin vertical lines, a fixed pool
of them (``gui.time_axis.epoch_marks`` thins them out on long runs).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.hardware import (
    GpuInfo,
    Sampler,
    idle_advice,
    info_from_dict,
    sample_from_dict,
    sample_to_dict,
)
from engine.hardware.text import device_line, sample_line, summary_line
from gui.hardware_columns import (
    CPU_PLOTS,
    CSV_COLUMNS,
    GPU_PLOTS,
    MAX_POINTS,
    READOUT,
    SECONDARY,
    Columns,
)
from gui.plots import LivePlotWidget, cheap_grid, share_x_range
from gui.time_axis import MAX_MARKS, epoch_marks

PENS = (pg.mkPen("#1f77b4", width=1), pg.mkPen("#ff7f0e", width=1))
MARK_PEN = pg.mkPen((120, 120, 120, 110), width=1, style=Qt.PenStyle.DotLine)


class HardwarePanel(QWidget):
    """GPU or CPU telemetry plots, current values, notices and the run summary.

    See docs/CONTRACTS.md, "Hardware panel", for how the main window drives it.
    """

    def __init__(self, sampler: Sampler | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hardwarePanel")
        self._owns_sampler = sampler is None
        self.sampler = sampler if sampler is not None else Sampler()
        self.last_summary: dict | None = None
        self._samples: deque = deque(maxlen=MAX_POINTS)
        self._columns = Columns(MAX_POINTS)
        self._layout: tuple | None = None  # the (title, series) per plot now on screen
        self._mode: str | None = None
        self._t0: float | None = None
        self._training = False
        self._dirty = False
        # set by a view that spaces all live drawing under one budget (LiveView); without
        # one, new samples are drawn as they arrive
        self.request_redraw = None
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / self.sampler.rate_hz))
        self._timer.timeout.connect(self._drain)
        self._build()

    def _build(self) -> None:
        self.device_label = self._label("hwDevice", "Hardware: not attached")
        self.notice_label = self._label("hwNotice", "", "color: #b35900; font-weight: bold")
        self.advisor_label = self._label("hwAdvisor", "", "color: #b35900")
        self.values_label = self._label("hwValues", "no readings yet")
        self.summary_label = self._label("hwSummary", "")
        for label in (self.notice_label, self.advisor_label, self.summary_label):
            label.hide()
        self.secondary = QComboBox(objectName="hwSecondary")
        self.secondary.addItems(list(SECONDARY))
        self.secondary.currentTextChanged.connect(self._redraw)
        self.plots = [LivePlotWidget(background="w") for _ in range(3)]
        self.curves = []
        for plot in self.plots:
            plot.addLegend(offset=(5, 5))
            cheap_grid(plot)
            plot.setLabel("bottom", "seconds since training started")
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # titles carry the units
            self.curves.append([plot.plot(pen=pen, antialias=False) for pen in PENS])
        share_x_range(self.plots)
        self.epoch_lines: list[list[pg.InfiniteLine]] = [[] for _ in self.plots]
        # Side by side, so that each plot keeps a readable height in the live tab; the
        # chooser and its plot are GPU-only and take the row below.
        self.chooser = QWidget(objectName="hwChooser")
        chooser = QHBoxLayout(self.chooser)
        chooser.setContentsMargins(0, 0, 0, 0)
        chooser.addWidget(QLabel("Also plot:"))
        chooser.addWidget(self.secondary)
        chooser.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.plots[0])
        row.addWidget(self.plots[1])
        layout = QVBoxLayout(self)
        for widget in (self.device_label, self.notice_label, self.advisor_label):
            layout.addWidget(widget)
        layout.addLayout(row, 1)
        layout.addWidget(self.chooser)
        layout.addWidget(self.plots[2], 1)
        layout.addWidget(self.values_label)
        layout.addWidget(self.summary_label)

    def _label(self, name: str, text: str, style: str = "") -> QLabel:
        label = QLabel(text, objectName=name, wordWrap=True)
        label.setStyleSheet(style)
        return label

    # -- the main window's API -------------------------------------------------------------
    def attach(self, backend) -> None:
        """Watch the device ``backend`` (engine.backend.Backend) trains on, and start polling."""
        self.sampler.attach(backend)
        self._samples.clear()
        self._columns.clear()
        self._mode = None
        self.sampler.start()
        self._timer.start()

    def run_started(self, t0: float) -> None:
        """Training started at ``t0`` (``time.monotonic()``): the x-axis origin from now on."""
        self._t0, self._training = t0, True
        self.summary_label.hide()
        self.sampler.begin_run(t0)

    def run_finished(self, epochs: int) -> dict:
        """End the run; returns its summary (see docs/CONTRACTS.md) and shows it."""
        self._training = False
        self.advisor_label.hide()
        self.last_summary = self.sampler.end_run(epochs)
        self.summary_label.setText(summary_line(self.last_summary))
        self.summary_label.show()
        return self.last_summary

    def run_samples(self) -> list[dict]:
        """The training device's samples since the run started, as plain dicts (a run's
        telemetry in the run store)."""
        since = self._t0 if self._t0 is not None else float("-inf")
        return [sample_to_dict(s) for s in self.sampler.training_samples() if s.time >= since]

    def set_epoch_marks(self, seconds) -> None:
        """Thin vertical lines at the epochs' ends, ``(epochs,)`` seconds since the start
        (epoch 1 first); past ``MAX_MARKS`` only every 2nd, 5th, 10th … is drawn."""
        marks = epoch_marks(np.asarray(seconds, dtype=np.float64), MAX_MARKS)
        marks = marks[np.isfinite(marks)]
        for plot, lines in zip(self.plots, self.epoch_lines):
            while len(lines) < len(marks):
                line = pg.InfiniteLine(angle=90, movable=False, pen=MARK_PEN)
                plot.addItem(line, ignoreBounds=True)  # never widens the auto-range
                lines.append(line)
            for i, line in enumerate(lines):
                if i < len(marks):
                    line.setValue(float(marks[i]))
                line.setVisible(i < len(marks))

    def epoch_mark_positions(self, plot: int = 0) -> list[float]:
        """Where plot ``plot``'s epoch lines are now (seconds)."""
        return [line.value() for line in self.epoch_lines[plot] if line.isVisible()]

    def reading_at(self, seconds: float) -> str | None:
        """The training device's main readings nearest ``seconds`` on the plots' x-axis, as
        the crosshair shows them ("GPU 87% · memory 2,048 MiB · power 310 W"); None when
        there are no samples."""
        index = self._columns.nearest(seconds + self._origin()) if len(self._columns) else None
        if index is None:
            return None
        parts = []
        for name, label, fmt in READOUT["gpu" if self._mode == "gpu" else "cpu"]:
            value = math.nan if name is None else self._columns.value_at(name, index)
            parts.append(f"{label} {fmt.format(value) if math.isfinite(value) else 'N/A'}")
        return " · ".join(parts)

    def samples_frame(self) -> pd.DataFrame:
        """One row per plotted sample: ``time_s`` (the plots' x) and the device's readings,
        the unit in each column's name (``gpu_util_pct``, ``mem_used_mib``, ``power_w`` … or
        ``process_cpu_pct``, ``rss_mib`` …); empty when there are no samples."""
        if not len(self._columns):
            return pd.DataFrame()
        columns = {"time_s": self._columns.times() - self._origin()}
        names = CSV_COLUMNS["gpu" if self._mode == "gpu" else "cpu"]
        columns.update({column: self._columns.values(name) for name, column in names.items()})
        return pd.DataFrame(columns)

    def load_samples(self, samples, devices=None, t0: float | None = None) -> None:
        """Show recorded samples without a live sampler.

        ``samples`` is a list of samples (objects or dicts), or a whole recording as read by
        ``engine.hardware.read_recording`` (its devices, notice and summary are shown too).
        """
        self.shutdown()
        record = samples if isinstance(samples, dict) else {"samples": samples}
        items = [sample_from_dict(s) if isinstance(s, dict) else s for s in record["samples"]]
        devices = devices if devices is not None else record.get("devices") or []
        devices = [d if isinstance(d, GpuInfo) else info_from_dict(d) for d in devices]
        gpus = [s for s in items if s.kind == "gpu"]
        index = record.get("training_index")
        if gpus and index is None:
            index = gpus[0].index
        self._mode = "gpu" if gpus else "cpu"
        self._samples.clear()
        self._samples.extend([s for s in gpus if s.index == index] if gpus else items)
        self._columns.clear()
        self._columns.extend(self._samples)
        info = next((d for d in devices if d.index == index), GpuInfo(index)) if gpus else None
        self._show_header(info, record.get("system") or {}, record.get("notice"))
        self._t0 = t0 if t0 is not None else (record.get("meta") or {}).get("t0")
        summary = record.get("summary")
        if summary:
            self.last_summary = summary
            self.summary_label.setText(summary_line(summary))
            self.summary_label.show()
        self._redraw()

    def shutdown(self) -> None:
        """Stop polling (window close); shuts NVML down when the panel made the sampler."""
        self._timer.stop()
        if self._owns_sampler:
            self.sampler.close()
        else:
            self.sampler.stop()

    # -- drawing ---------------------------------------------------------------------------
    def _drain(self) -> None:
        new = self.sampler.drain()
        if self._mode is None and self.sampler.mode is not None:
            self._mode = self.sampler.mode
            self._show_header(self.sampler.training_info, self.sampler.system, self.sampler.notice)
        mine = [s for s in new if self._is_training_device(s)]
        if not mine:
            return
        self._samples.extend(mine)
        self._columns.extend(mine)
        self._show_notice(self.sampler.notice)
        if self._training and self._mode == "gpu":
            advice = idle_advice(self._samples, mine[-1].time, self._t0)
            self.advisor_label.setText(advice or "")
            self.advisor_label.setVisible(advice is not None)
        self._dirty = True
        if self.request_redraw is None:
            self.redraw()
        else:
            self.request_redraw()

    def redraw(self) -> bool:
        """Draw the samples that arrived since the last redraw; False when there were none."""
        if not self._dirty:
            return False
        self._redraw()
        return True

    def _is_training_device(self, sample) -> bool:
        if self._mode == "cpu":
            return sample.kind == "cpu"
        return sample.kind == "gpu" and sample.index == self.sampler.training_index

    def _show_header(self, info: GpuInfo | None, system: dict, notice: str | None) -> None:
        text = device_line(info, system)
        if info is not None and info.pci_bus_id:
            text += f" · PCI {info.pci_bus_id}"
        self.device_label.setText(text)
        self.secondary.setEnabled(self._mode == "gpu")
        self.chooser.setVisible(self._mode == "gpu")
        self.plots[2].setVisible(self._mode == "gpu")
        self._show_notice(notice)

    def _show_notice(self, notice: str | None) -> None:
        self.notice_label.setText(notice or "")
        self.notice_label.setVisible(bool(notice))

    def _origin(self) -> float:
        """The plots' x = 0 on ``time.monotonic()``: the run's start, else the first sample."""
        if self._t0 is not None:
            return self._t0
        return float(self._columns.times()[0]) if len(self._columns) else 0.0

    def _redraw(self) -> None:
        self._dirty = False
        if not self._samples:
            for curve in (c for curves in self.curves for c in curves):
                curve.setData([], [])
            return
        columns = self._columns
        x = columns.times() - self._origin()
        layout = dict(GPU_PLOTS if self._mode == "gpu" else CPU_PLOTS)
        if self._mode == "gpu":
            layout[self.secondary.currentText()] = SECONDARY[self.secondary.currentText()]
        layout = tuple((title, tuple(series)) for title, series in layout.items())
        relabel = layout != self._layout
        self._layout = layout
        for plot, curves, (title, series) in zip(self.plots, self.curves, layout):
            if relabel:
                plot.setTitle(title)
                plot.plotItem.legend.clear()
            for i, curve in enumerate(curves):
                if i >= len(series):
                    if relabel:
                        curve.setData([], [])
                    continue
                name, label, _scale = series[i]
                # None readings are NaN here, so the finite check stays on
                curve.setData(x, columns.values(name), connect="finite")
                if relabel:
                    plot.plotItem.legend.addItem(curve, label)
        self.values_label.setText(sample_line(self._samples[-1]))
        for plot in self.plots:
            plot.settle()
