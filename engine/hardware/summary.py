"""A run's hardware summary (energy, mean utilisation, peak memory) and the idle-GPU advice."""

from __future__ import annotations

from collections.abc import Sequence

from engine.hardware.rapl import SOURCE as RAPL_SOURCE
from engine.hardware.samples import CpuSample, GpuInfo, GpuSample

MIB = 1 << 20
IDLE_WINDOW_S = 10.0
IDLE_THRESHOLD_PCT = 40.0
IDLE_ADVICE = (
    "GPU mostly idle — the model is too small to keep it busy; "
    "a larger batch size or the CPU may be faster"
)


def idle_advice(samples: Sequence[GpuSample], now: float, since: float) -> str | None:
    """The advice line when mean GPU utilisation over the last 10 s of training is under 40%.

    ``since`` is when training started: no verdict before 10 s of it have passed.
    """
    if now - since < IDLE_WINDOW_S:
        return None
    recent = [
        s.gpu_util for s in samples if s.time >= now - IDLE_WINDOW_S and s.gpu_util is not None
    ]
    if not recent or sum(recent) / len(recent) >= IDLE_THRESHOLD_PCT:
        return None
    return IDLE_ADVICE


def gpu_summary(
    samples: Sequence[GpuSample],
    info: GpuInfo,
    t0: float,
    t1: float,
    epochs: int,
    energy_counter: tuple[float | None, float | None] = (None, None),
) -> dict:
    """JSON-safe summary of one GPU over [t0, t1]; ``energy_counter`` is NVML's (start, end) J.

    Without the counter, energy is estimated by integrating the power samples over time.
    """
    during = [s for s in samples if t0 <= s.time <= t1]
    run = [s for s in during if not s.lost]
    lost = len(run) < len(during)
    start, end = energy_counter
    if lost:  # a partial figure would read as the run's energy
        energy, source = None, None
    elif start is not None and end is not None:
        energy, source = end - start, "NVML energy counter"
    else:
        energy, source = _integrate_power(run), "estimated from power samples"
    proc = [s for s in run if s.proc_mem is not None]
    return {
        "device": "gpu",
        "name": info.name,
        "pci_bus_id": info.pci_bus_id,
        "seconds": t1 - t0,
        "epochs": epochs,
        "samples": len(run),
        "mean_gpu_util_pct": _mean(s.gpu_util for s in run),
        "mean_mem_util_pct": _mean(s.mem_util for s in run),
        "peak_memory_mib": _peak_mib(s.mem_used for s in run),
        "peak_process_memory_mib": _peak_mib(s.proc_mem for s in proc),
        "process_memory_source": proc[-1].proc_mem_source if proc else None,
        "mean_power_w": _mean(s.power for s in run),
        "peak_temperature_c": _max(s.temperature for s in run),
        "energy_j": energy,
        "energy_source": None if energy is None else source,
        "joules_per_epoch": energy / epochs if energy is not None and epochs > 0 else None,
        "clock_events": sorted({w for s in run for w in s.clock_events or ()}),
        "lost": lost,
    }


def cpu_energy_fields(
    counter: tuple[float | None, float | None], epochs: int, reason: str | None
) -> dict:
    """The CPU packages' energy over a run from RAPL's (start, end) joules, or why it is N/A.

    Added to every run summary, a GPU run's too: the CPU's share of a run's energy is real.
    """
    start, end = counter
    energy = end - start if start is not None and end is not None else None
    return {
        "cpu_energy_j": energy,
        "cpu_joules_per_epoch": energy / epochs if energy is not None and epochs > 0 else None,
        "cpu_energy_source": RAPL_SOURCE if energy is not None else None,
        "cpu_energy_na": None if energy is not None else reason or "no CPU energy counter",
    }


def cpu_summary(
    samples: Sequence[CpuSample],
    t0: float,
    t1: float,
    epochs: int,
    energy_counter: tuple[float | None, float | None] = (None, None),
) -> dict:
    """JSON-safe summary of the CPU over [t0, t1]; ``energy_counter`` is RAPL's (start, end)
    joules, None where it cannot be read (then energy is None: the CPU has no power samples
    to estimate it from)."""
    run = [s for s in samples if t0 <= s.time <= t1]
    start, end = energy_counter
    energy = end - start if start is not None and end is not None else None
    return {
        "device": "cpu",
        "seconds": t1 - t0,
        "epochs": epochs,
        "samples": len(run),
        "mean_process_cpu_pct": _mean(s.process_cpu for s in run),
        "mean_system_cpu_pct": _mean(s.system_cpu for s in run),
        "peak_rss_mib": _peak_mib(s.rss for s in run),
        "peak_ram_used_mib": _peak_mib(s.ram_used for s in run),
        "energy_j": energy,
        "energy_source": RAPL_SOURCE if energy is not None else None,
        "joules_per_epoch": energy / epochs if energy is not None and epochs > 0 else None,
    }


def _integrate_power(samples: Sequence[GpuSample]) -> float | None:
    points = [(s.time, s.power) for s in samples if s.power is not None]
    if len(points) < 2:
        return None
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(points, points[1:]))


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _max(values) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _peak_mib(values) -> float | None:
    peak = _max(values)
    return None if peak is None else peak / MIB
