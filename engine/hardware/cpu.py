"""CPU and RAM readings through psutil, for when training runs without an NVIDIA GPU.

psutil is imported lazily and may be missing (the GPU image has no psutil): then only this
process's CPU % is read, from ``time.process_time()``.
"""

from __future__ import annotations

import time

from engine.hardware.samples import CpuSample


class CpuReader:
    """Reads :class:`CpuSample` values; the first read primes psutil's CPU counters."""

    def __init__(self, psutil=None) -> None:
        if psutil is None:
            try:
                import psutil
            except ImportError:
                psutil = None
        self._psutil = psutil
        self._process = psutil.Process() if psutil is not None else None
        self._last = (time.monotonic(), time.process_time())
        if psutil is not None:
            # cpu_percent(None) measures since the previous call; prime both counters
            self._process.cpu_percent(None)
            psutil.cpu_percent(None)

    def read(self, now: float, energy: float | None = None) -> CpuSample:
        """The readings at ``now``; ``energy`` is the CPU packages' joules (RAPL), if known."""
        if self._psutil is None:
            return CpuSample(now, process_cpu=self._process_time_percent(), energy=energy)
        ram = self._psutil.virtual_memory()
        return CpuSample(
            time=now,
            energy=energy,
            process_cpu=float(self._process.cpu_percent(None)),
            system_cpu=float(self._psutil.cpu_percent(None)),
            ram_used=int(ram.total - ram.available),
            ram_total=int(ram.total),
            rss=int(self._process.memory_info().rss),
        )

    def _process_time_percent(self) -> float | None:
        wall, cpu = time.monotonic(), time.process_time()
        (last_wall, last_cpu), self._last = self._last, (wall, cpu)
        return 100.0 * (cpu - last_cpu) / (wall - last_wall) if wall > last_wall else None
