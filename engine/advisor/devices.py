"""What the advisor measures on: one description per device, and the real list from the probe.

A device is described by what the measurement needs from it: a label for people, the value
``TrainSettings.device`` takes, the :class:`~engine.backend.Backend` to synchronise, a
memory reader (bytes in use now: the process's RSS on the CPU, CuPy's memory pool on a GPU),
a utilisation reader (NVML's GPU utilisation, %; None on the CPU) and how to make a trainer
on it. Tests describe a fake second device the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.backend import Backend, get_backend, probe_gpu
from engine.errors import UserError
from engine.nn.trainer import Trainer
from engine.run.model_factory import build_model
from engine.run.settings import LIMITS, TrainSettings


def _no_reading() -> None:
    return None


def _nothing() -> None:
    return None


@dataclass(eq=False)
class AdvisorDevice:
    """One device to measure. ``memory()`` and ``utilisation()`` are called from a polling
    thread while a measurement runs; ``memory_source`` says what ``memory()`` reads, or why
    there is no figure. ``release()`` gives cached memory back between measurements;
    ``close()`` ends the readers."""

    label: str
    value: str  # what TrainSettings.device / `train --device` takes: "cpu", "gpu:0"
    backend: Backend
    memory: Callable[[], int | None] = _no_reading
    memory_source: str | None = None
    utilisation: Callable[[], float | None] = _no_reading
    release: Callable[[], None] = _nothing
    close: Callable[[], None] = _nothing

    @property
    def is_gpu(self) -> bool:
        return self.value.startswith("gpu")

    def trainer(self, data, settings: TrainSettings) -> Trainer:
        """The network ``settings`` describe, on this device, ready to train ``data``'s
        training rows at ``settings.batch_size`` (no validation: only training is timed).
        Raises ``GpuOutOfMemory`` / ``MemoryError`` when the batch does not fit."""
        on_device = replace(settings, device=self.backend.device)
        model = build_model(data.n_inputs, data.n_outputs, data.task, on_device,
                            numeric_inputs=data.n_numeric, table_rows=data.rows)  # fmt: skip
        return Trainer(
            model,
            data.x_train,
            data.y_train,
            epochs=int(LIMITS["epochs"][1]),  # never reached: the advisor stops on the clock
            batch_size=settings.batch_size,
            shuffle=True,
            seed=settings.seed,
            fast_path=settings.fast_path,
        )


def available_devices() -> list[AdvisorDevice]:
    """The CPU, then every GPU the backend probe finds usable (``gpu:0``, ``gpu:1``, ...)."""
    devices = [cpu_device()]
    probe = probe_gpu()
    for index in range(probe.device_count if probe.usable else 0):
        with contextlib.suppress(UserError):  # a GPU that cannot be used is left out
            devices.append(gpu_device(index))
    return devices


def cpu_device() -> AdvisorDevice:
    backend = get_backend("cpu")
    rss, source = _rss_reader()
    return AdvisorDevice(f"CPU ({backend.device_name})", "cpu", backend, rss, source)


def gpu_device(index: int) -> AdvisorDevice:
    backend = get_backend(f"gpu:{index}")
    utilisation, close = _nvml_utilisation(backend)

    def pool_bytes() -> int:
        with backend.activate():  # the pool answers for the calling thread's current GPU
            return int(backend.xp.get_default_memory_pool().total_bytes())

    def release() -> None:
        with backend.activate():
            backend.xp.get_default_memory_pool().free_all_blocks()

    return AdvisorDevice(
        label=f"GPU {index} ({backend.device_name})",
        value=backend.device,
        backend=backend,
        memory=pool_bytes,
        memory_source="CuPy memory pool",
        utilisation=utilisation,
        release=release,
        close=close,
    )


def _rss_reader() -> tuple[Callable[[], int | None], str]:
    """This process's resident memory (psutil), or no reading and why."""
    try:
        import psutil
    except ImportError:
        return _no_reading, "N/A: psutil is not installed"
    process = psutil.Process()
    return (lambda: int(process.memory_info().rss)), "growth of the process's RSS"


def _nvml_utilisation(backend: Backend):
    """``(read, close)``: NVML's utilisation of ``backend``'s GPU (found by PCI bus id) through
    the hardware sampler, None when NVML cannot say."""
    from engine.hardware import Sampler

    sampler = Sampler(capacity=16)
    sampler.attach(backend)

    def read() -> float | None:
        samples = sampler.poll()
        if sampler.mode != "gpu" or sampler.training_index is None:
            return None
        return samples[sampler.training_index].gpu_util

    return read, sampler.close
