"""GPU fast path benchmark: engine eager, engine fast path, PyTorch CUDA eager and
``torch.compile(mode="reduce-overhead")`` (CUDA graphs), on the three reference workloads.

    python scripts/bench_fastpath.py results.json [--workloads small,medium,large] [--repeat 2]

For each: samples/s (best of ``--repeat``), the ratios to PyTorch eager, and the mean GPU
utilization that NVML reported during the runs (10 Hz, in a thread). The JSON is rewritten
after each workload, and ``torch.compile`` (slow to compile) runs last in each. Headless:
numpy, cupy, torch and nvidia-ml-py only. ``--device cpu`` runs the same harness on the CPU
to check it (the fast path is for GPUs: on the CPU it is the eager engine, and PyTorch runs
eager only).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.bench.timing import engine_samples_per_s, torch_samples_per_s  # noqa: E402
from engine.bench.workloads import WORKLOADS  # noqa: E402


class Utilization:
    """Mean GPU utilization (%) while the ``with`` block runs; None without NVML."""

    def __init__(self, index: int = 0, hz: float = 10.0) -> None:
        self.index, self.interval, self.values = index, 1.0 / hz, []
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
        except Exception:  # no NVML: no utilization figure
            return self

        def poll():
            while not self._stop.wait(self.interval):
                self.values.append(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


def measure(name: str, run, repeat: int) -> dict:
    best, utilization = 0.0, []
    for _ in range(repeat):
        with Utilization() as util:
            rate = run()
        best = max(best, rate)
        if util.mean is not None:
            utilization.append(util.mean)
    mean_util = sum(utilization) / len(utilization) if utilization else None
    return {"name": name, "samples_per_s": best, "gpu_util_percent": mean_util}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--device", default="gpu", choices=["gpu", "cpu"])
    args = parser.parse_args(argv)
    torch_device = "cuda" if args.device == "gpu" else "cpu"
    results = {"device": args.device, "workloads": {}}
    for key in args.workloads.split(","):
        workload = WORKLOADS[key]
        x, y = workload.data()
        runs = {
            "engine_eager": partial(engine_samples_per_s, workload, x, y, args.device, False),
            "engine_fast": partial(engine_samples_per_s, workload, x, y, args.device, True),
            "torch_eager": partial(torch_samples_per_s, workload, x, y, torch_device),
        }
        if args.device == "gpu":  # CUDA graphs through torch.compile
            runs["torch_compiled"] = partial(
                torch_samples_per_s, workload, x, y, torch_device, "reduce-overhead"
            )
        found = {}
        for name, run in runs.items():
            try:
                found[name] = measure(name, run, args.repeat)
            except Exception as exc:  # a variant that does not run here is reported, not fatal
                found[name] = {"name": name, "error": f"{type(exc).__name__}: {exc}"[:300]}
        base = found["torch_eager"].get("samples_per_s")
        for item in found.values():
            if base and item.get("samples_per_s"):
                item["ratio_to_torch_eager"] = item["samples_per_s"] / base
        results["workloads"][key] = found
        # written after each workload: a time limit that cuts the run keeps what was measured
        results["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        Path(args.out).write_text(json.dumps(results, indent=2))
        for item in found.values():
            if "error" in item:
                print(f"{key:>6} {item['name']:>15}: {item['error']}")
                continue
            util = item["gpu_util_percent"]
            print(
                f"{key:>6} {item['name']:>15}: {item['samples_per_s']:>12,.0f} samples/s, "
                f"{item.get('ratio_to_torch_eager', float('nan')):.2f}× torch eager, GPU util "
                f"{'n/a' if util is None else f'{util:.0f} %'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
