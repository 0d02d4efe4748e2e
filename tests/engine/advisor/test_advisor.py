"""The advisor (``engine.advisor``) on the CPU, with a fake second device labelled as a GPU."""

from __future__ import annotations

import json
import time

import pytest

from engine.advisor import (
    NEAR_BEST,
    OUT_OF_MEMORY,
    AdvisorDevice,
    AdvisorState,
    Cell,
    advise,
    available_devices,
    batch_ladder,
    cpu_device,
)
from engine.advisor.advice import recommend
from engine.backend import get_backend
from engine.cli.output import strict_json
from engine.data import infer_schema, read_csv
from engine.errors import GpuOutOfMemory, UserError
from engine.run.prepare import prepare
from engine.run.settings import LIMITS, LayerSpec, TrainSettings, scaled_learning_rate

SETTINGS = TrainSettings(layers=[LayerSpec(16)], seed=0)
GPU_UTIL = 55.0


class FakeGpu(AdvisorDevice):
    """A NumPy device that calls itself GPU 1: out of memory above ``max_batch``, a fixed
    utilisation, memory in use growing with the batch, and ``delay_s`` added to each step."""

    def __init__(self, max_batch: int = 64, delay_s: float = 0.0) -> None:
        super().__init__(
            "GPU 1 (fake)",
            "gpu:1",
            get_backend("cpu"),
            memory=lambda: self.in_use,
            memory_source="fake pool",
            utilisation=lambda: GPU_UTIL,
            release=self._release,
        )
        self.max_batch, self.delay_s, self.in_use = max_batch, delay_s, 0
        self.built: list[int] = []

    def _release(self) -> None:
        self.in_use = 0

    def trainer(self, data, settings):
        self.built.append(settings.batch_size)
        if settings.batch_size > self.max_batch:
            raise GpuOutOfMemory(f"batch size {settings.batch_size} does not fit; lower it")
        self.in_use = settings.batch_size * 4096
        return _Slow(super().trainer(data, settings), self.delay_s)


class _Slow:
    """A trainer whose every step takes ``delay_s`` longer."""

    def __init__(self, trainer, delay_s: float) -> None:
        self.trainer, self.delay_s = trainer, delay_s

    def step(self):
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.trainer.step()

    @property
    def done(self) -> bool:
        return self.trainer.done

    def stop(self) -> None:
        self.trainer.stop()


@pytest.fixture(scope="module")
def data(sample_dir):
    table = read_csv(sample_dir / "breast_cancer_8.csv")
    return prepare(table, infer_schema(table.frame, source=table.name), SETTINGS)


@pytest.fixture(scope="module")
def sample_dir():
    from engine.data.samples import sample_paths

    return sample_paths()[0].parent


def _cell(device: str, batch: int, rate: float) -> Cell:
    label = "CPU (test)" if device == "cpu" else f"GPU {device[-1]} (test)"
    return Cell(device, label, batch, samples_per_s=rate, epoch_s=1000 / rate)


def test_the_ladder_doubles_up_to_the_training_rows():
    assert batch_ladder(370) == [32, 64, 128, 256]
    assert batch_ladder(512) == [32, 64, 128, 256, 512]
    assert batch_ladder(20) == [20]


def test_a_device_ladder_stops_at_out_of_memory(data):
    fake = FakeGpu(max_batch=64)
    advice = advise(data, SETTINGS, [cpu_device(), fake], budget_s=2.0,
                    batch_sizes=[32, 64, 128, 256])  # fmt: skip
    on_fake = [c for c in advice.results if c.device == "gpu:1"]
    assert [c.batch_size for c in on_fake] == [32, 64, 128]
    assert [c.error for c in on_fake] == [None, None, OUT_OF_MEMORY]
    assert fake.built == [32, 64, 128]  # 256 was never tried
    on_cpu = [c.batch_size for c in advice.results if c.device == "cpu"]
    assert on_cpu == [32, 64, 128, 256]  # the fake's time went to the CPU's cells


def test_every_result_has_every_figure(data):
    advice = advise(data, SETTINGS, [cpu_device(), FakeGpu(max_batch=64)], budget_s=1.5,
                    batch_sizes=[32, 64])  # fmt: skip
    rows = len(data.x_train)
    assert advice.training_rows == rows
    assert len(advice.results) == 4
    for cell in advice.results:
        assert cell.measured and cell.error is None
        assert cell.samples_per_s > 0 and cell.steps >= 1 and cell.seconds > 0
        assert cell.epoch_s == pytest.approx(rows / cell.samples_per_s)
        assert cell.peak_memory_bytes is not None and cell.peak_memory_bytes >= 0
    fake = [c for c in advice.results if c.device == "gpu:1"]
    assert [c.peak_memory_bytes for c in fake] == [32 * 4096, 64 * 4096]
    assert [c.gpu_util_pct for c in fake] == [GPU_UTIL, GPU_UTIL]
    assert all(c.memory_source == "fake pool" for c in fake)
    cpu = [c for c in advice.results if c.device == "cpu"]
    assert all(c.gpu_util_pct is None and "RSS" in c.memory_source for c in cpu)


def test_the_recommendation_is_the_fastest_device_at_its_knee(data):
    advice = advise(data, SETTINGS, [cpu_device(), FakeGpu(max_batch=128)], budget_s=2.0)
    measured = [c for c in advice.results if c.measured]
    fastest = max(measured, key=lambda c: c.samples_per_s)
    chosen = advice.recommended
    assert chosen is not None and chosen.device == fastest.device == advice.device
    assert chosen.batch_size == advice.batch_size
    assert chosen.samples_per_s >= NEAR_BEST * fastest.samples_per_s
    smaller = [
        c for c in measured if c.device == chosen.device and c.batch_size < chosen.batch_size
    ]
    assert all(c.samples_per_s < NEAR_BEST * fastest.samples_per_s for c in smaller)


def test_recommend_picks_by_numbers():
    cells = [_cell("cpu", 32, 10_000), _cell("cpu", 64, 19_000), _cell("cpu", 128, 20_000),
             _cell("gpu:0", 32, 5_000), _cell("gpu:0", 64, 12_000)]  # fmt: skip
    advice = recommend(cells, 1000, 1.0, False)
    assert (advice.device, advice.batch_size) == ("cpu", 64)  # 19,000 is within 10 % of 20,000
    assert advice.message.startswith(
        "The CPU beats the GPU for this network: 20,000 vs 12,000 samples/s."
    )
    assert "Batch size 128 is only 5% faster" in advice.message
    assert "steps per epoch" not in advice.message  # 1,000 rows / 64 = 16 steps
    few = recommend([_cell("cpu", 32, 1_000), _cell("cpu", 256, 9_000)], 1000, 1.0, False)
    assert few.batch_size == 256 and few.message.endswith(
        "With 1,000 training rows that is 4 steps per epoch: a batch this large usually needs "
        "a higher learning rate or more epochs to learn as much."
    )
    gpu_wins = recommend([_cell("cpu", 32, 10_000), _cell("gpu:0", 32, 30_000)], 1000, 1.0, False)
    assert gpu_wins.device == "gpu:0"
    assert gpu_wins.message.startswith("The GPU is 3.0× as fast as the CPU")
    nothing = recommend([Cell("cpu", "CPU", 32, error=OUT_OF_MEMORY)], 10, 1.0, False)
    assert nothing.device is None and nothing.batch_size is None
    assert nothing.message.startswith("No recommendation")


def test_the_advice_scales_the_learning_rate_with_the_batch():
    cells = [_cell("cpu", 32, 1_000), _cell("cpu", 256, 9_000)]
    advice = recommend(cells, 10_000, 1.0, False, rate=(2e-3, 64, "adamw"))
    assert advice.batch_size == 256 and advice.learning_rate == pytest.approx(4e-3)  # sqrt(4)
    assert "Scale the learning rate with the batch: 0.002 at batch 64 is 0.004 at 256." in (
        advice.message
    )
    assert advice.to_dict()["learning_rate"] == pytest.approx(4e-3)
    sgd = recommend(cells, 10_000, 1.0, False, rate=(1e-2, 64, "sgd"))
    assert sgd.learning_rate == pytest.approx(4e-2)  # the ratio itself
    same = recommend([_cell("cpu", 64, 1_000)], 10_000, 1.0, False, rate=(2e-3, 64, "adam"))
    assert same.learning_rate == 2e-3 and "Scale the learning rate" not in same.message
    assert recommend(cells, 10_000, 1.0, False).learning_rate is None  # no settings given


def test_a_scaled_rate_stays_within_bounds():
    low, high = LIMITS["learning_rate"]
    assert scaled_learning_rate(1e-3, 32, 128, "adam") == pytest.approx(2e-3)
    assert scaled_learning_rate(2e-3, 128, 32, "rmsprop") == pytest.approx(1e-3)
    assert scaled_learning_rate(1e-3, 32, 64, "sgd") == pytest.approx(2e-3)
    # a batch 1,024 times larger: at most 8 times the rate, whatever the optimizer
    assert scaled_learning_rate(2e-3, 64, 65_536, "adamw") == pytest.approx(1.6e-2)
    assert scaled_learning_rate(1e-2, 64, 65_536, "sgd") == pytest.approx(8e-2)
    assert scaled_learning_rate(1e-2, 65_536, 64, "sgd") == pytest.approx(1.25e-3)
    assert scaled_learning_rate(5.0, 1, 64, "sgd") == high
    assert scaled_learning_rate(2e-6, 64, 1, "sgd") == low


def test_the_cpu_beating_a_slow_gpu_is_said_plainly(data):
    advice = advise(data, SETTINGS, [cpu_device(), FakeGpu(max_batch=64, delay_s=0.005)],
                    budget_s=1.5, batch_sizes=[32, 64])  # fmt: skip
    assert advice.device == "cpu"
    assert advice.message.startswith("The CPU beats the GPU for this network: ")


def test_a_tiny_budget_ends_quickly_with_fewer_cells(data):
    start = time.monotonic()
    slow = FakeGpu(max_batch=1024, delay_s=0.05)  # its cells outlast the budget at once
    advice = advise(data, SETTINGS, [cpu_device(), slow], budget_s=0.05,
                    batch_sizes=[32, 64, 128, 256])  # fmt: skip
    assert time.monotonic() - start < 3.0
    assert 1 <= len(advice.results) < 8
    assert advice.device is not None


def test_a_slow_cell_does_not_take_the_budget(data):
    """Each step of the fake takes 0.2 s: the clock is read between steps."""
    start = time.monotonic()
    advice = advise(data, SETTINGS, [FakeGpu(max_batch=1024, delay_s=0.2)], budget_s=1.0,
                    batch_sizes=[32, 64, 128])  # fmt: skip
    assert time.monotonic() - start < 1.0 + 4 * 0.2 + 1.0  # a warm-up and a timed step over
    assert advice.results[0].measured


def test_should_stop_ends_it_with_what_was_measured(data):
    state = AdvisorState()
    seen = []

    def progress(report):
        seen.append(report)
        if len(report.results) >= 1:
            state.stop()

    advice = advise(data, SETTINGS, [cpu_device(), FakeGpu(max_batch=1024)], budget_s=30.0,
                    progress=progress, should_stop=state.stop_requested)  # fmt: skip
    assert advice.stopped
    assert len(advice.results) == 1 and advice.results[0].measured
    assert advice.seconds < 20.0
    assert advice.device == advice.results[0].device


def test_progress_is_monotonic_and_ends_at_one(data):
    state = AdvisorState()
    reports = []

    def progress(report):
        reports.append(report)
        state.report(report)

    advise(data, SETTINGS, [cpu_device()], budget_s=1.0, batch_sizes=[32, 64],
           progress=progress)  # fmt: skip
    fractions = [r.fraction for r in reports]
    assert len(reports) > 3
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    counts = [len(r.results) for r in reports]
    assert counts == sorted(counts) and counts[-1] == 2
    assert reports[-1].eta_s == 0.0
    assert state.latest() is reports[-1]


def test_the_advice_is_strict_json(data):
    advice = advise(data, SETTINGS, [cpu_device()], budget_s=0.5, batch_sizes=[32])
    out = json.loads(strict_json(advice.to_dict()))
    assert out["device"] == "cpu" and out["batch_size"] == 32
    assert set(out["results"][0]) >= {"device", "batch_size", "samples_per_s", "epoch_s",
                                      "peak_memory_mib", "gpu_util_pct"}  # fmt: skip


def test_a_bad_budget_is_refused(data):
    with pytest.raises(UserError, match="budget"):
        advise(data, SETTINGS, [cpu_device()], budget_s=0)


def test_the_real_devices_start_with_the_cpu():
    devices = available_devices()
    try:
        assert devices[0].value == "cpu" and not devices[0].is_gpu
        assert all(d.value == f"gpu:{i}" for i, d in enumerate(devices[1:]))
    finally:
        for device in devices:
            device.close()
