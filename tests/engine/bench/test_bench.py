"""`gpu-trainer bench` runs end to end on a tiny workload; the engine core loads no data stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_bench_cli_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    args = [
        "bench",
        "--workloads",
        "small,large",
        "--rows",
        "64",
        "--device",
        "cpu",
        "--repeat",
        "1",
    ]
    code = (
        f"import sys; from engine.cli import main; sys.exit(main({[*args, '--out', str(out)]!r}))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    assert set(results["workloads"]) == {"small", "large"}
    large = results["workloads"]["large"]
    assert large["rows"] == 64 and large["engine_samples_per_s"] > 0
    assert large["fraction_of_peak"] > 0 and large["peak_gflops"] > 0
    assert "large:" in run.stdout and "samples/s" in run.stdout


def test_bench_rejects_unknown_workloads():
    from engine.cli import main

    assert main(["bench", "--workloads", "huge", "--no-torch"]) == 2


def test_engine_core_imports_without_the_data_stack():
    code = (
        "import sys, engine.nn.models, engine.nn.trainer, engine.nn.callbacks\n"
        "import engine.bench.timing\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(run.stdout.replace("'", '"')))
    assert loaded.isdisjoint({"pandas", "pyarrow", "safetensors", "torch", "PySide6"})
