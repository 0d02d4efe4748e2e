"""``gpu-trainer bench``: training throughput on the reference workloads, engine vs PyTorch."""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.add_argument("--workloads", default="small,medium,large",
                        help="comma-separated: small, medium, large")  # fmt: skip
    parser.add_argument("--device", default=None, help="auto, cpu, gpu or gpu:N")
    parser.add_argument("--repeat", type=int, default=2, help="runs per workload; best is kept")
    parser.add_argument("--rows", type=int, default=None, help="use only this many rows")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", default=None, help="write the results as JSON to this file")


def run(args) -> int:
    from engine.bench.timing import run_benchmark
    from engine.bench.workloads import WORKLOADS
    from engine.errors import UserError

    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise UserError(f"--workloads: unknown {unknown}; use any of {', '.join(WORKLOADS)}")
    if args.repeat < 1 or (args.rows is not None and args.rows < 1):
        raise UserError("--repeat and --rows must be at least 1")
    log = (lambda *a: None) if args.json else print
    results = run_benchmark(names, args.device, args.repeat, args.rows, not args.no_torch, log)
    text = json.dumps(results, indent=2)
    if args.json:
        print(text)
    if args.out:
        from engine.io.atomic import write_bytes

        write_bytes(args.out, (text + "\n").encode("utf-8"))
    return 0
