"""Headless GPU check: the engine's benchmark on CUDA (CuPy) against PyTorch CUDA, as JSON.

Needs only numpy, cupy and torch (no pandas, Qt or safetensors)::

    python scripts/gpu_engine_check.py results.json [--workloads small,medium,large] [--repeat 3]

Records what ran where: GPU, driver, CUDA runtime and package versions, and the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.backend import get_backend, probe_gpu  # noqa: E402
from engine.bench.timing import run_benchmark  # noqa: E402
from engine.bench.workloads import WORKLOADS  # noqa: E402


def environment() -> dict:
    import cupy

    runtime = cupy.cuda.runtime
    found = {
        "cupy": cupy.__version__,
        "cuda_runtime": runtime.runtimeGetVersion(),
        "cuda_driver": runtime.driverGetVersion(),
        "gpu": get_backend("gpu").device_name,
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        found["nvidia_driver"] = pynvml.nvmlSystemGetDriverVersion()
        pynvml.nvmlShutdown()
    except Exception as exc:  # telemetry is optional here
        found["nvidia_driver"] = f"unknown ({type(exc).__name__})"
    try:
        import torch

        found.update(torch=torch.__version__, torch_cuda=torch.version.cuda)
    except ImportError:
        found["torch"] = None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="JSON file to write")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    probe = probe_gpu()
    if not probe.usable:
        print(f"no usable GPU: {probe.reason}", file=sys.stderr)
        return 2
    names = [n for n in args.workloads.split(",") if n]
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": environment(),
        "benchmark": run_benchmark(names, device="gpu", repeat=args.repeat),
    }
    path = Path(args.out)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
