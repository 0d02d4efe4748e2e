"""What the hardware sampler costs: process CPU time while it samples, as % of one core.

    python scripts/bench_sampler.py --seconds 20            # fake NVML and psutil CPU mode
    python scripts/bench_sampler.py --seconds 20 --real     # plus the real NVML (on a GPU)

Each mode runs the sampler's own thread at ``--rate`` Hz for ``--seconds`` while the main
thread sleeps, and reports the process CPU time over that span (all threads), and the mean
time one poll takes, measured over 200 polls in a row. A first row with no sampler gives the
baseline (it also absorbs start-up work of the freshly imported libraries).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.hardware import Sampler  # noqa: E402
from tests.engine.hardware.fake_nvml import FakeGpu, FakeNvml, NVMLError_LibraryNotFound  # noqa: E402


def cost(sampler: Sampler, seconds: float) -> dict:
    sampler.poll()  # NVML start-up and static facts are not the steady-state cost
    mode = sampler.mode
    cpu0, wall0 = time.process_time(), time.monotonic()
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    t = time.perf_counter()
    for _ in range(200):
        sampler.poll()
    per_poll = (time.perf_counter() - t) / 200
    sampler.close()
    return {
        "mode": mode,
        "core_pct": 100 * cpu / wall,
        "cpu_s": cpu,
        "wall_s": wall,
        "poll_ms": 1e3 * per_poll,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--real", action="store_true", help="also the real NVML (needs a GPU)")
    args = parser.parse_args(argv)
    modes = {
        "fake NVML, 1 GPU": lambda: FakeNvml([FakeGpu()]),
        "fake NVML, 2 GPUs": lambda: FakeNvml([FakeGpu(), FakeGpu(bus_id="0000:AF:00.0")]),
        "CPU mode (psutil)": lambda: FakeNvml(init_error=NVMLError_LibraryNotFound),
    }
    if args.real:
        modes["real NVML"] = lambda: None
    print(f"{args.rate:g} Hz for {args.seconds:g} s per mode")
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(args.seconds)
    idle = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
    print(f"{'no sampler (baseline)':<22} {idle:6.3f}% of a core")
    for name, nvml in modes.items():
        sampler = Sampler(nvml=nvml(), rate_hz=args.rate)
        r = cost(sampler, args.seconds)
        print(
            f"{name:<22} {r['core_pct']:6.3f}% of a core "
            f"({r['cpu_s'] * 1e3:.1f} ms CPU in {r['wall_s']:.1f} s; "
            f"one poll {r['poll_ms']:.3f} ms; {r['mode']} mode)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
