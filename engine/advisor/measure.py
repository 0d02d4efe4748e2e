"""Find the fastest device and batch size by measuring: a short timed run of the user's own
network on the user's own data, on every device, at batch sizes from 32 doubling up.

```python
state = AdvisorState()                          # progress and Stop, shared with another thread
advice = advise(prepare(table, schema, settings), settings,
                progress=state.report, should_stop=state.stop_requested)
advice.device, advice.batch_size, advice.message   # "cpu", 256, "The CPU beats the GPU ..."
```

The budget is split across the (device, batch size) cells still to measure, so a cell that
ends early (out of memory) leaves its time to the others; the clock is checked between
steps, so one slow cell cannot take the whole budget. Qt-free: the app runs it in a thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.advisor.advice import Advice, Cell, recommend
from engine.advisor.devices import AdvisorDevice, available_devices
from engine.errors import GpuOutOfMemory, UserError
from engine.run.settings import LIMITS, TrainSettings

DEFAULT_BUDGET_S = 20.0
FIRST_BATCH = 32
WARMUP_STEPS = 2  # the first steps allocate, compile kernels and fill caches: not timed
WARMUP_SHARE = 0.3  # ... and take at most this share of a cell's time (one step at least)
REPORT_EVERY_S = 0.1
OUT_OF_MEMORY = "out of memory"


@dataclass(frozen=True)
class Progress:
    """Where a measurement stands: ``fraction`` of the budget spent (0..1, never going back),
    ``eta_s`` seconds left, ``text`` the cell being measured, ``results`` the cells so far."""

    fraction: float
    elapsed_s: float
    eta_s: float
    text: str
    results: tuple[Cell, ...]


class AdvisorState:
    """Progress and cancellation shared between the measuring thread and another one (as
    Orange's TaskState): pass ``report`` as ``progress`` and ``stop_requested`` as
    ``should_stop``; read :meth:`latest` and call :meth:`stop` from elsewhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._stop = threading.Event()

    def report(self, progress: Progress) -> None:
        with self._lock:
            self._latest = progress

    def latest(self) -> Progress | None:
        with self._lock:
            return self._latest

    def stop(self) -> None:
        self._stop.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()


def batch_ladder(rows: int, first: int = FIRST_BATCH) -> list[int]:
    """``first``, doubling while the batch fits in ``rows`` (the training rows): a larger one
    would train on every row at once all the same."""
    largest = min(rows, int(LIMITS["batch_size"][1]))
    sizes = [max(1, min(first, rows))]
    while sizes[-1] * 2 <= largest:
        sizes.append(sizes[-1] * 2)
    return sizes


def advise(
    data,
    settings: TrainSettings | None = None,
    devices: list[AdvisorDevice] | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    batch_sizes: list[int] | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Advice:
    """Measure ``data``'s (a ``PreparedData``) network from ``settings`` on ``devices``
    (default: :func:`available_devices`, closed afterwards) at ``batch_sizes`` (default:
    :func:`batch_ladder` of the training rows) within about ``budget_s`` seconds.

    A device's ladder stops at its first batch size that runs out of memory. ``should_stop()``
    is asked between steps: a true answer ends the measurement with what was measured.
    """
    if not budget_s > 0:
        raise UserError(f"the time budget must be a positive number of seconds, not {budget_s}")
    settings = settings or TrainSettings()
    own = devices is None
    devices = available_devices() if own else list(devices)
    rows = len(data.x_train)
    sizes = sorted(set(batch_sizes)) if batch_sizes else batch_ladder(rows)
    try:
        run = _Run(data, settings, devices, sizes, budget_s, progress, should_stop, clock)
        return run.measure_all()
    finally:
        if own:
            for device in devices:
                device.close()


class _Run:
    """One call of :func:`advise`: the plan, the clock, the results and the reports."""

    def __init__(self, data, settings, devices, sizes, budget_s, progress, should_stop, clock):
        self.data, self.settings, self.devices, self.sizes = data, settings, devices, sizes
        self.budget_s, self.clock = budget_s, clock
        self.progress = progress or (lambda _report: None)
        self.should_stop = should_stop or (lambda: False)
        self.results: list[Cell] = []
        self.full: set[int] = set()  # devices (by position) whose ladder ended out of memory
        self.start = clock()
        self.deadline = self.start + budget_s
        self.fraction = 0.0
        self.last_report = -1.0
        self.stopped = False

    def plan(self) -> list[tuple[int, int]]:
        """(device position, batch size) still to measure: batch by batch across the devices,
        so a budget that runs out still compares the devices at the smaller batches."""
        done = {(c.device, c.batch_size) for c in self.results}
        return [
            (i, size)
            for size in self.sizes
            for i, device in enumerate(self.devices)
            if i not in self.full and (device.value, size) not in done
        ]

    def measure_all(self) -> Advice:
        while plan := self.plan():
            if self.should_stop():
                self.stopped = True
                break
            now = self.clock()
            if now >= self.deadline and any(c.measured for c in self.results):
                break
            index, size = plan[0]
            share = max(0.0, self.deadline - now) / len(plan)
            cell = self.measure(self.devices[index], size, now + share)
            if cell is None:  # stopped during the warm-up
                self.stopped = True
                break
            self.results.append(cell)
            if cell.error == OUT_OF_MEMORY:
                self.full.add(index)
            self.report(cell.label, force=True)
        for device in self.devices:  # the last cells' cached blocks go back to the GPU
            device.release()
        seconds = self.clock() - self.start
        self.fraction = 1.0
        self.report("done", force=True)
        rate = (self.settings.learning_rate, self.settings.batch_size, self.settings.optimizer)
        return recommend(self.results, len(self.data.x_train), seconds, self.stopped, rate)

    def measure(self, device: AdvisorDevice, size: int, deadline: float) -> Cell | None:
        """One cell; None when stopped before a single step was timed."""
        text = f"{device.label} · batch {size}"
        cell = Cell(device.value, device.label, size, memory_source=device.memory_source)
        self.report(text, force=True)
        device.release()  # the previous cell's trainer is gone: its cached blocks go back
        monitor = _Monitor(device)
        trainer = None
        try:
            trainer = device.trainer(self.data, replace(self.settings, batch_size=size))
            warm_until = self.clock() + WARMUP_SHARE * max(0.0, deadline - self.clock())
            for _ in range(WARMUP_STEPS):
                trainer.step()
                if self.should_stop():
                    return None
                if self.clock() >= warm_until:
                    break
            self._synchronize(device)
            monitor.begin_timing()
            t0, samples, steps = self.clock(), 0, 0
            while True:
                samples += trainer.step().samples
                steps += 1
                self.report(text)
                if self.clock() >= deadline or self.should_stop():
                    break
            self._synchronize(device)
            seconds = self.clock() - t0
        except (GpuOutOfMemory, MemoryError):
            return replace(cell, error=OUT_OF_MEMORY, **monitor.stop())
        except UserError as exc:  # a diverging loss, for one: said, and the ladder goes on
            return replace(cell, error=str(exc), **monitor.stop())
        finally:
            if trainer is not None and not trainer.done:
                trainer.stop()
            del trainer
            readings = monitor.stop()
        rate = samples / seconds if seconds > 0 else None
        epoch_s = len(self.data.x_train) / rate if rate else None
        return replace(cell, samples_per_s=rate, epoch_s=epoch_s, steps=steps, seconds=seconds,
                       **readings)  # fmt: skip

    @staticmethod
    def _synchronize(device: AdvisorDevice) -> None:
        with device.backend.activate():  # the device's own stream, not GPU 0's
            device.backend.synchronize()

    def report(self, text: str, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last_report < REPORT_EVERY_S:
            return
        self.last_report = now
        elapsed = now - self.start
        self.fraction = max(self.fraction, min(1.0, elapsed / self.budget_s))
        eta = 0.0 if self.fraction >= 1.0 else max(0.0, self.deadline - now)
        self.progress(Progress(self.fraction, elapsed, eta, text, tuple(self.results)))


class _Monitor:
    """Polls a device on a thread while a cell runs: the peak of ``memory()`` above its value
    at the start, and the mean ``utilisation()`` over the timed steps."""

    def __init__(self, device: AdvisorDevice, every_s: float = 0.02, util_every_s: float = 0.5):
        self.device, self.every_s, self.util_every_s = device, every_s, util_every_s
        self.baseline = _read(device.memory)
        self.peak = self.baseline
        self.utilisation: list[float] = []
        self.result: dict | None = None
        self._timing = False
        self._last_util = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="advisor-monitor", daemon=True)
        self._thread.start()

    def begin_timing(self) -> None:
        self._timing = True

    def stop(self) -> dict:
        """``peak_memory_bytes`` and ``gpu_util_pct`` (None where the device cannot say)."""
        if self.result is None:
            self._done.set()
            self._thread.join()
            self._poll(final=True)
            growth = None if self.peak is None else max(0, self.peak - (self.baseline or 0))
            util = self.utilisation
            mean = sum(util) / len(util) if util else None
            self.result = {"peak_memory_bytes": growth, "gpu_util_pct": mean}
        return self.result

    def _loop(self) -> None:
        while not self._done.wait(self.every_s):
            self._poll()

    def _poll(self, final: bool = False) -> None:
        memory = _read(self.device.memory)
        if memory is not None:
            self.peak = memory if self.peak is None else max(self.peak, memory)
        now = time.monotonic()
        due = now - self._last_util >= self.util_every_s or (final and not self.utilisation)
        if self._timing and due:
            self._last_util = now
            value = _read(self.device.utilisation)
            if value is not None:
                self.utilisation.append(float(value))


def _read(reader: Callable[[], float | int | None]):
    """A reading, or None: a reader that fails must not end the measurement."""
    try:
        return reader()
    except Exception:  # noqa: BLE001 - telemetry is optional (NVML, psutil, CuPy)
        return None
