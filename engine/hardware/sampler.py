"""The hardware sampler: NVML GPU telemetry at 1–2 Hz, or the CPU when NVML is unavailable.

Qt-free. Call :meth:`Sampler.poll` yourself, or :meth:`Sampler.start` a background thread and
collect new samples with :meth:`Sampler.drain`. Samples are timestamped with the training
clock (``time.monotonic()``), so telemetry and loss share one x-axis.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from types import ModuleType

from engine.hardware.cpu import CpuReader
from engine.hardware.nvml import NvmlReader, NvmlUnavailable, load_nvml, normalize_bus_id
from engine.hardware.rapl import POWERCAP, RaplCounter
from engine.hardware.samples import GpuInfo, Sample
from engine.hardware.summary import cpu_energy_fields, cpu_summary, gpu_summary


class Sampler:
    """Samples the training GPU (found by PCI bus id) and every other GPU, or the CPU.

    ``nvml`` is a pynvml-like module (default: ``import pynvml`` on first use); ``psutil``
    likewise for CPU mode. ``pool_bytes`` reports this process's GPU memory where NVML cannot
    match our PID (containers); :meth:`attach` sets it to CuPy's memory pool. PCIe
    throughput and the energy counter are slow to read: they are re-read every
    ``slow_every_s`` seconds and repeated in the samples between. The CPU packages' energy
    (RAPL, under ``powercap``) is read at every poll in both modes, so that its wraps are seen;
    the run summary reports it beside the GPU's.
    """

    def __init__(
        self,
        nvml: ModuleType | None = None,
        *,
        rate_hz: float = 2.0,
        capacity: int = 7200,
        clock: Callable[[], float] = time.monotonic,
        psutil: ModuleType | None = None,
        pool_bytes: Callable[[], int | None] | None = None,
        slow_every_s: float = 5.0,
        powercap=POWERCAP,
    ) -> None:
        if not 0 < rate_hz <= 20:
            raise ValueError(f"rate_hz must be in (0, 20], got {rate_hz}")
        self.rate_hz = rate_hz
        self.slow_every_s = slow_every_s
        self.clock = clock
        self.samples: deque[Sample] = deque(maxlen=capacity)
        self.mode: str | None = None  # "gpu" or "cpu" once opened
        self.reason: str | None = None  # why CPU mode
        self.training_index: int | None = None  # NVML index of the GPU the engine trains on
        self.note: str | None = None
        self.error: str | None = None  # last unexpected error in the background thread
        self.reader: NvmlReader | None = None
        self._nvml, self._psutil, self._pool_bytes = nvml, psutil, pool_bytes
        self._want: tuple[str, str | None] = ("auto", None)
        self._cpu: CpuReader | None = None
        self._pending: deque[Sample] = deque(maxlen=capacity)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._powercap = powercap
        self.cpu_energy: RaplCounter | None = None  # opened with the device choice
        # (t0, GPU energy at start, CPU energy at start)
        self._run: tuple[float, float | None, float | None] | None = None

    # -- choosing the device ---------------------------------------------------------------
    def attach(self, backend) -> None:
        """Follow ``backend`` (engine.backend.Backend): its GPU by PCI bus id, else the CPU.

        Cheap: NVML starts on the next :meth:`poll` (the background thread's, when started).
        """
        if backend.is_gpu:
            self.select_gpu(backend.info.get("pci_bus_id"))
            if self._pool_bytes is None:
                self._pool_bytes = _cupy_pool_bytes(backend.gpu_index)
        else:
            self.select_cpu(backend.reason or "the CPU was chosen")

    def select_gpu(self, pci_bus_id: str | None) -> None:
        """Sample the GPU at ``pci_bus_id`` as the training GPU (None: the first one)."""
        self._select(("gpu", pci_bus_id))

    def select_cpu(self, reason: str) -> None:
        """Sample the CPU; ``reason`` says why training does not use a GPU."""
        self._select(("cpu", reason))

    def _select(self, want: tuple[str, str | None]) -> None:
        # NVML starts on the next poll or open(), so a GUI thread calling this never waits on it
        with self._lock:
            self._want, self.mode, self.training_index = want, None, None

    def open(self) -> None:
        """Start NVML (or the CPU fallback) now rather than on the first poll."""
        with self._lock:
            if self.mode is None:
                self._choose()

    def _choose(self) -> None:
        if self.cpu_energy is None:
            self.cpu_energy = RaplCounter(self._powercap)
        kind, detail = self._want
        if kind != "cpu" and self.reader is None:
            try:
                self.reader = NvmlReader(load_nvml(self._nvml), self.slow_every_s)
            except NvmlUnavailable as exc:
                return self._use_cpu(str(exc))
            if not self.reader.devices:
                self.reader.close()
                self.reader = None
                return self._use_cpu("NVML found no NVIDIA GPU")
        if kind == "cpu":
            return self._use_cpu(detail)
        self.mode, self.reason, self.note, self.training_index = "gpu", None, None, 0
        if detail is not None:
            found = self.reader.find(detail)
            if found is None:
                self.note = f"the training GPU ({normalize_bus_id(detail)}) is not in NVML's list"
            self.training_index = 0 if found is None else found

    def _use_cpu(self, reason: str) -> None:
        self.mode, self.reason, self.training_index = "cpu", reason, None
        if self._cpu is None:
            self._cpu = CpuReader(self._psutil)

    # -- facts -----------------------------------------------------------------------------
    @property
    def devices(self) -> list[GpuInfo]:
        return self.reader.devices if self.reader is not None else []

    @property
    def system(self) -> dict:
        return dict(self.reader.system) if self.reader is not None else {}

    @property
    def training_info(self) -> GpuInfo | None:
        return None if self.training_index is None else self.devices[self.training_index]

    @property
    def notice(self) -> str | None:
        """What the user should know about the telemetry, in one sentence, or None."""
        if self.mode == "cpu":
            if self._want[0] == "gpu":
                return f"GPU telemetry unavailable: {self.reason}; showing the CPU"
            return f"no NVIDIA GPU in use: {self.reason}"
        if self.reader is not None and self.training_index in self.reader.lost:
            return f"GPU {self.training_index} was lost (fell off the bus); its telemetry stopped"
        return self.note

    # -- sampling --------------------------------------------------------------------------
    def poll(self) -> list[Sample]:
        """Read every device once; returns the new samples (also kept in ``samples``)."""
        with self._lock:
            if self.mode is None:
                self._choose()
            now = self.clock()
            cpu_joules = self.cpu_energy.read()
            if self.mode == "cpu":
                new = [self._cpu.read(now, cpu_joules)]
            else:
                new = [
                    self.reader.read(i, now, self._pool_bytes if i == self.training_index else None)
                    for i in range(len(self.reader.devices))
                ]
            self.samples.extend(new)
            self._pending.extend(new)
        return new

    def drain(self) -> list[Sample]:
        """Samples taken since the previous drain (thread-safe)."""
        with self._lock:
            out = list(self._pending)
            self._pending.clear()
        return out

    def training_samples(self) -> list[Sample]:
        """Buffered samples of the device the engine trains on (the CPU in CPU mode)."""
        with self._lock:
            if self.mode == "cpu":
                return [s for s in self.samples if s.kind == "cpu"]
            return [s for s in self.samples if s.kind == "gpu" and s.index == self.training_index]

    def start(self) -> None:
        """Poll on a daemon thread at ``rate_hz`` until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hardware-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def close(self) -> None:
        """Stop the thread and shut NVML down."""
        self.stop()
        with self._lock:
            if self.reader is not None:
                self.reader.close()
                self.reader = None
            self.mode = None

    def _loop(self) -> None:
        interval = 1.0 / self.rate_hz
        while True:
            try:
                self.poll()
            except Exception as exc:  # telemetry must never take training down
                self.error = f"{type(exc).__name__}: {exc}"
            if self._stop.wait(interval):
                return

    # -- run summary -----------------------------------------------------------------------
    def begin_run(self, t0: float) -> None:
        """Training started at ``t0`` (``time.monotonic()``): reads the energy counter and polls.

        This and :meth:`end_run` poll once, so even a run shorter than a tick has samples.
        """
        with self._lock:
            self.poll()
            energy = None
            if self.mode == "gpu":
                energy = self.reader.energy(self.training_index)
            self._run = (t0, energy, self.cpu_energy.read())

    def end_run(self, epochs: int) -> dict:
        """The run's summary as a JSON-safe dict (see docs/CONTRACTS.md, "Sampler")."""
        with self._lock:
            if self._run is None:
                raise RuntimeError("end_run() without begin_run()")
            (t0, energy_start, cpu_start), self._run = self._run, None
            t1 = self.poll()[0].time
            cpu_energy = (cpu_start, self.cpu_energy.read())
            cpu = cpu_energy_fields(cpu_energy, epochs, self.cpu_energy.reason)
            if self.mode == "cpu":
                return {**cpu_summary(self.training_samples(), t0, t1, epochs, cpu_energy), **cpu}
            energy_end = self.reader.energy(self.training_index)
            summary = gpu_summary(
                self.training_samples(),
                self.training_info,
                t0,
                t1,
                epochs,
                (energy_start, energy_end),
            )
            return {**summary, **cpu}


def _cupy_pool_bytes(device_index: int) -> Callable[[], int | None]:
    """Bytes CuPy's default memory pool holds on ``device_index``, when CuPy is loaded."""

    def read() -> int | None:
        cupy = sys.modules.get("cupy")
        if cupy is None:
            return None
        try:
            with cupy.cuda.Device(device_index):
                return int(cupy.get_default_memory_pool().total_bytes())
        except Exception:  # CuPy without a usable device: no figure rather than no telemetry
            return None

    return read
