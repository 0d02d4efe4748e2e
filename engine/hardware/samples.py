"""What the sampler records: one GPU's or the CPU's readings at one instant, and static facts.

Every reading is optional: ``None`` means "N/A" (not supported, no permission, or the GPU was
lost). Times are ``time.monotonic()`` seconds, the clock of the training records.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One GPU at one instant. Memory in bytes, PCIe in KB/s, energy in joules since driver load."""

    time: float
    index: int  # NVML index (not the CUDA index: CUDA_VISIBLE_DEVICES reorders those)
    gpu_util: float | None = None  # %
    mem_util: float | None = None  # % of time the memory controller was busy
    mem_used: int | None = None
    mem_total: int | None = None
    proc_mem: int | None = None  # this process's share of mem_used
    proc_mem_source: str | None = None  # "NVML" (matched by PID) or "CuPy pool"
    temperature: float | None = None  # °C
    power: float | None = None  # W
    power_limit: float | None = None  # W
    sm_clock: float | None = None  # MHz
    mem_clock: float | None = None  # MHz
    fan: float | None = None  # %
    pcie_rx: float | None = None  # KB/s
    pcie_tx: float | None = None  # KB/s
    clock_events: tuple[str, ...] | None = None  # throttle reasons in words; () = none
    energy: float | None = None  # J, NVML's cumulative counter
    lost: bool = False

    kind = "gpu"


@dataclass(frozen=True, slots=True)
class CpuSample:
    """The CPU at one instant. ``process_cpu`` is psutil's figure: 100 = one core busy."""

    time: float
    process_cpu: float | None = None  # %
    system_cpu: float | None = None  # % of all cores
    ram_used: int | None = None  # bytes
    ram_total: int | None = None
    rss: int | None = None  # this process's resident memory, bytes
    energy: float | None = None  # J the CPU packages used since telemetry began (RAPL)

    kind = "cpu"


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """Facts about one GPU that do not change while the app runs; read once."""

    index: int
    name: str | None = None
    uuid: str | None = None
    pci_bus_id: str | None = None  # normalised: '0000:3b:00.0'
    mem_total: int | None = None  # bytes
    power_limit: float | None = None  # W, enforced limit when first read
    max_sm_clock: float | None = None  # MHz
    max_mem_clock: float | None = None  # MHz


Sample = GpuSample | CpuSample


def sample_to_dict(sample: Sample) -> dict:
    """JSON-safe dict with a ``kind`` key ("gpu" or "cpu")."""
    out = {"kind": sample.kind, **dataclasses.asdict(sample)}
    if out.get("clock_events") is not None:
        out["clock_events"] = list(out["clock_events"])
    return out


def sample_from_dict(data: dict) -> Sample:
    """Inverse of :func:`sample_to_dict`; unknown keys (from a newer recorder) are ignored."""
    cls = GpuSample if data.get("kind", "gpu") == "gpu" else CpuSample
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if values.get("clock_events") is not None:
        values["clock_events"] = tuple(values["clock_events"])
    return cls(**values)


def info_to_dict(info: GpuInfo) -> dict:
    return dataclasses.asdict(info)


def info_from_dict(data: dict) -> GpuInfo:
    names = {f.name for f in dataclasses.fields(GpuInfo)}
    return GpuInfo(**{k: v for k, v in data.items() if k in names})
