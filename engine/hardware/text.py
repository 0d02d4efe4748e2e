"""Hardware readings in words, for the panel's text lines and the CLI (N/A for missing)."""

from __future__ import annotations

from engine.hardware.samples import CpuSample, GpuInfo, GpuSample, Sample

MIB = 1 << 20
NA = "N/A"


def device_line(info: GpuInfo | None, system: dict) -> str:
    """'NVIDIA H100 80GB HBM3 · driver 550.54.15 · CUDA 12.4' (or 'CPU')."""
    if info is None:
        return "CPU"
    driver, cuda = system.get("driver_version"), system.get("cuda_version")
    return f"{info.name or f'GPU {info.index}'} · driver {driver or NA} · CUDA {cuda or NA}"


def sample_line(sample: Sample | None) -> str:
    """The current values in one line."""
    if sample is None:
        return "no readings yet"
    if isinstance(sample, CpuSample):
        return _cpu_line(sample)
    return _gpu_line(sample)


def _gpu_line(s: GpuSample) -> str:
    if s.lost:
        return f"GPU {s.index} lost"
    events = NA if s.clock_events is None else ", ".join(s.clock_events) or "none"
    proc = _mib(s.proc_mem)
    if s.proc_mem_source is not None:
        proc += f" ({s.proc_mem_source})"
    return " · ".join(
        [
            f"GPU {_num(s.gpu_util, '%')}",
            f"memory busy {_num(s.mem_util, '%')}",
            f"memory {_mib(s.mem_used)} / {_mib(s.mem_total)}",
            f"this process {proc}",
            f"{_num(s.temperature, ' °C')}",
            f"power {_num(s.power, ' W')} / {_num(s.power_limit, ' W')}",
            f"SM {_num(s.sm_clock, ' MHz')}",
            f"memory clock {_num(s.mem_clock, ' MHz')}",
            f"fan {_num(s.fan, '%')}",
            f"PCIe rx {_mb(s.pcie_rx)} tx {_mb(s.pcie_tx)}",
            f"clocks held back: {events}",
            f"energy {_num(s.energy, ' J')}",
        ]
    )


def _cpu_line(s: CpuSample) -> str:
    return " · ".join(
        [
            f"process CPU {_num(s.process_cpu, '%')}",
            f"system CPU {_num(s.system_cpu, '%')}",
            f"RAM {_mib(s.ram_used)} / {_mib(s.ram_total)}",
            f"this process {_mib(s.rss)}",
        ]
    )


def summary_line(summary: dict) -> str:
    """A run summary (from ``Sampler.end_run``) in one line."""
    if summary.get("device") == "cpu":
        return (
            f"Run: mean process CPU {_num(summary['mean_process_cpu_pct'], '%')}, "
            f"peak RSS {_num(summary['peak_rss_mib'], ' MiB')}, {cpu_energy_text(summary)}"
        )
    energy = _num(summary["energy_j"], " J")
    if summary["energy_source"] == "estimated from power samples":
        energy += " (estimated)"
    return (
        f"Run: mean GPU {_num(summary['mean_gpu_util_pct'], '%')}, "
        f"peak memory {_num(summary['peak_memory_mib'], ' MiB')}, "
        f"energy {energy}, {_num(summary['joules_per_epoch'], ' J')} per epoch; "
        f"{cpu_energy_text(summary)}"
    )


def cpu_energy_text(summary: dict) -> str:
    """'CPU energy 1,234 J, 123 J per epoch', or 'CPU energy N/A: why'. Summaries recorded
    before CPU energy was measured say only N/A."""
    energy = summary.get("cpu_energy_j")
    if energy is None:
        why = summary.get("cpu_energy_na")
        return f"CPU energy {NA}: {why}" if why else f"CPU energy {NA}"
    per_epoch = _num(summary.get("cpu_joules_per_epoch"), " J")
    return f"CPU energy {_num(energy, ' J')}, {per_epoch} per epoch"


def _num(value: float | None, unit: str) -> str:
    return NA if value is None else f"{value:,.0f}{unit}"


def _mib(value: int | None) -> str:
    return NA if value is None else f"{value / MIB:,.0f} MiB"


def _mb(kb_per_s: float | None) -> str:
    return NA if kb_per_s is None else f"{kb_per_s / 1000:,.1f} MB/s"
