"""The hardware panel's data: the plotted sample fields as columns, and what each field is
called on the plots, in the history CSV and in the crosshair's read-out. Qt-free."""

from __future__ import annotations

import math

import numpy as np

MAX_POINTS = 7200  # one hour at 2 Hz
MIB = 1 << 20

# plot title -> [(sample field, legend name, scale)], one per curve
GPU_PLOTS = {
    "Utilisation (%)": [("gpu_util", "GPU", 1), ("mem_util", "memory", 1)],
    "Memory (MiB)": [("mem_used", "used", 1 / MIB), ("proc_mem", "this process", 1 / MIB)],
}
CPU_PLOTS = {
    "CPU (%)": [("process_cpu", "this process", 1), ("system_cpu", "system", 1)],
    "RAM (MiB)": [("ram_used", "used", 1 / MIB), ("rss", "this process", 1 / MIB)],
}
SECONDARY = {
    "Temperature (°C)": [("temperature", "GPU", 1)],
    "Power (W)": [("power", "draw", 1), ("power_limit", "limit", 1)],
    "Clocks (MHz)": [("sm_clock", "SM", 1), ("mem_clock", "memory", 1)],
    "PCIe (MB/s)": [("pcie_rx", "rx", 1e-3), ("pcie_tx", "tx", 1e-3)],
    "Fan (%)": [("fan", "fan", 1)],
}
FIELDS = {
    name: scale
    for table in (GPU_PLOTS, CPU_PLOTS, SECONDARY)
    for series in table.values()
    for name, _label, scale in series
}
# the history CSV's column per field, with its unit (after FIELDS' scale)
CSV_COLUMNS = {
    "gpu": {
        "gpu_util": "gpu_util_pct", "mem_util": "mem_util_pct", "mem_used": "mem_used_mib",
        "proc_mem": "proc_mem_mib", "temperature": "temperature_c", "power": "power_w",
        "power_limit": "power_limit_w", "sm_clock": "sm_clock_mhz", "mem_clock": "mem_clock_mhz",
        "fan": "fan_pct", "pcie_rx": "pcie_rx_mb_s", "pcie_tx": "pcie_tx_mb_s",
    },
    "cpu": {
        "process_cpu": "process_cpu_pct", "system_cpu": "system_cpu_pct",
        "ram_used": "ram_used_mib", "rss": "rss_mib",
    },
}  # fmt: skip
# the crosshair's read-out: (field, label, format) per device kind; None = always N/A
READOUT = {
    "gpu": (("gpu_util", "GPU", "{:.0f}%"), ("mem_used", "memory", "{:,.0f} MiB"),
            ("power", "power", "{:.0f} W")),
    "cpu": (("process_cpu", "CPU", "{:.0f}%"), ("rss", "RSS", "{:,.0f} MiB"),
            (None, "power", "")),
}  # fmt: skip


class Columns:
    """The plotted sample fields as float arrays (None -> NaN), the last ``capacity`` samples."""

    def __init__(self, capacity: int = MAX_POINTS) -> None:
        self.capacity = capacity
        self._time = np.empty(capacity)
        self._values = {name: np.empty(capacity) for name in FIELDS}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        self._n = 0

    def extend(self, samples) -> None:
        samples = list(samples)[-self.capacity :]
        end = self._n + len(samples)
        drop = max(0, end - self.capacity)
        if drop:
            for array in (self._time, *self._values.values()):
                array[: self._n - drop] = array[drop : self._n]
            self._n, end = self._n - drop, end - drop
        self._time[self._n : end] = [s.time for s in samples]
        for name, scale in FIELDS.items():
            self._values[name][self._n : end] = [_value(s, name, scale) for s in samples]
        self._n = end

    def times(self) -> np.ndarray:
        return self._time[: self._n]

    def nearest(self, time: float) -> int | None:
        """The index of the sample nearest ``time`` (None when there are none)."""
        times = self.times()
        if not len(times) or not math.isfinite(time):
            return None
        i = int(np.searchsorted(times, time))
        return min((j for j in (i - 1, i) if 0 <= j < len(times)),
                   key=lambda j: abs(times[j] - time))  # fmt: skip

    def value_at(self, name: str, index: int) -> float:
        return float(self._values[name][index])

    def values(self, name: str) -> np.ndarray:
        """A copy: the plots keep what they are given, and these arrays shift in place."""
        return self._values[name][: self._n].copy()


def _value(sample, name: str, scale: float) -> float:
    value = getattr(sample, name, None)
    return math.nan if value is None else value * scale
