"""The advisor's figures and its recommendation, in numbers and in words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.run.settings import scaled_learning_rate

MIB = 1 << 20
# on the fastest device, the smallest batch within this share of its best speed is recommended:
# a larger batch then buys little speed and takes fewer optimizer steps per epoch
FEW_STEPS = 8  # fewer updates per epoch than this earn a caution in the advice
NEAR_BEST = 0.9


@dataclass(frozen=True)
class Cell:
    """One (device, batch size) measurement. ``samples_per_s`` is None when it could not run
    (``error`` says why: out of memory, or the one-sentence error)."""

    device: str  # the settings value: "cpu", "gpu:0"
    label: str
    batch_size: int
    samples_per_s: float | None = None
    epoch_s: float | None = None  # training rows / samples_per_s
    peak_memory_bytes: int | None = None
    memory_source: str | None = None  # what the peak is ("CuPy memory pool", ...) or why N/A
    gpu_util_pct: float | None = None  # NVML, mean over the timed steps; None on the CPU
    steps: int = 0  # timed steps (warm-up excluded)
    seconds: float = 0.0  # timed seconds, device synchronised
    error: str | None = None

    @property
    def measured(self) -> bool:
        return self.samples_per_s is not None

    @property
    def is_gpu(self) -> bool:
        return self.device.startswith("gpu")

    def to_dict(self) -> dict:
        """JSON-safe: the fields, plus ``peak_memory_mib``."""
        out = asdict(self)
        peak = self.peak_memory_bytes
        out["peak_memory_mib"] = None if peak is None else round(peak / MIB, 3)
        return out


@dataclass(frozen=True)
class Advice:
    """The recommendation (``device`` and ``batch_size``; None when nothing was measured),
    every cell measured, and the recommendation in words."""

    device: str | None
    batch_size: int | None
    label: str | None
    message: str
    results: list[Cell] = field(default_factory=list)
    training_rows: int = 0
    seconds: float = 0.0  # how long measuring took
    stopped: bool = False  # ended early by should_stop
    # the learning rate to train the recommended batch with: the given settings' rate scaled
    # from their batch size (engine.run.settings.scaled_learning_rate); None without a pick
    learning_rate: float | None = None

    @property
    def recommended(self) -> Cell | None:
        return next(
            (c for c in self.results if (c.device, c.batch_size) == (self.device, self.batch_size)),
            None,
        )

    def to_dict(self) -> dict:
        return {
            "device": self.device,
            "batch_size": self.batch_size,
            "label": self.label,
            "message": self.message,
            "training_rows": self.training_rows,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "learning_rate": self.learning_rate,
            "results": [cell.to_dict() for cell in self.results],
        }


def recommend(results: list[Cell], training_rows: int, seconds: float, stopped: bool,
              rate: tuple[float, int, str] | None = None) -> Advice:  # fmt: skip
    """The fastest device (by its best samples/s) and, on it, the smallest batch size within
    ``NEAR_BEST`` of that device's best speed; with the reason in words. ``rate``: the
    settings' ``(learning rate, batch size, optimizer)``, scaled to the pick's batch in the
    advice (``scaled_learning_rate``)."""
    measured = [c for c in results if c.measured]
    if not measured:
        why = "stopped before a measurement ended" if stopped else "no batch size could run"
        message = f"No recommendation: {why}."
        errors = [c.error for c in results if c.error]
        if errors:
            message += f" The last error: {errors[-1]}."
        return Advice(None, None, None, message, list(results), training_rows, seconds, stopped)
    best = max(measured, key=lambda c: c.samples_per_s)
    on_device = [c for c in measured if c.device == best.device]
    pick = min(
        (c for c in on_device if c.samples_per_s >= NEAR_BEST * best.samples_per_s),
        key=lambda c: c.batch_size,
    )
    message = _message(measured, best, pick)
    learning_rate = None
    if rate is not None:
        learning_rate = scaled_learning_rate(rate[0], rate[1], pick.batch_size, rate[2])
        if pick.batch_size != rate[1]:
            message += (
                f" Scale the learning rate with the batch: {rate[0]:g} at batch {rate[1]} is "
                f"{learning_rate:.3g} at {pick.batch_size}."
            )
    message += _few_steps(pick.batch_size, training_rows)
    if stopped:
        message = f"Stopped early; from what was measured so far. {message}"
    return Advice(pick.device, pick.batch_size, pick.label, message, list(results),
                  training_rows, seconds, stopped, learning_rate)  # fmt: skip


def _message(measured: list[Cell], best: Cell, pick: Cell) -> str:
    cpu = _best(c for c in measured if not c.is_gpu)
    gpu = _best(c for c in measured if c.is_gpu)
    use = (
        f"Use {_name(pick)} with batch size {pick.batch_size}: "
        f"{rate_text(pick.samples_per_s)} samples/s, {duration_text(pick.epoch_s)} per epoch."
    )
    if pick is not best:
        use += (
            f" Batch size {best.batch_size} is only "
            f"{best.samples_per_s / pick.samples_per_s - 1:.0%} faster."
        )
    if cpu is not None and gpu is not None:
        if not best.is_gpu:
            return (
                f"The CPU beats the GPU for this network: {rate_text(cpu.samples_per_s)} vs "
                f"{rate_text(gpu.samples_per_s)} samples/s. {use}"
            )
        ratio = gpu.samples_per_s / cpu.samples_per_s
        return (
            f"The GPU is {ratio:.1f}× as fast as the CPU for this network: "
            f"{rate_text(gpu.samples_per_s)} vs {rate_text(cpu.samples_per_s)} samples/s. {use}"
        )
    return use


def _few_steps(batch_size: int, training_rows: int) -> str:
    """A caution when the pick leaves few updates per epoch: speed is not all a batch size
    decides, and a user applying it should know what else to change."""
    steps = -(-training_rows // batch_size)
    if steps >= FEW_STEPS:
        return ""
    return (
        f" With {training_rows:,} training rows that is {steps} step{'s' * (steps != 1)} per "
        "epoch: a batch this large usually needs a higher learning rate or more epochs to "
        "learn as much."
    )


def _best(cells) -> Cell | None:
    return max(cells, key=lambda c: c.samples_per_s, default=None)


def _name(cell: Cell) -> str:
    return "the CPU" if not cell.is_gpu else f"{cell.label} ({cell.device})"


def rate_text(value: float | None) -> str:
    """Samples per second to two significant digits ('41,000'): the measurement is not more
    exact than that; 'N/A' for none."""
    if value is None:
        return "N/A"
    if value >= 100:
        return f"{round(value, 2 - len(str(int(value)))):,.0f}"
    return f"{value:.2g}"


def duration_text(seconds: float | None) -> str:
    """A time per epoch: '120 ms', '3.5 s', '2.0 min'; 'N/A' for none."""
    if seconds is None:
        return "N/A"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def memory_text(cell: Cell) -> str:
    """The peak memory in MiB, or 'N/A'."""
    if cell.peak_memory_bytes is None:
        return "N/A"
    return f"{cell.peak_memory_bytes / MIB:,.1f} MiB"


def util_text(cell: Cell) -> str:
    return "N/A" if cell.gpu_util_pct is None else f"{cell.gpu_util_pct:.0f} %"
