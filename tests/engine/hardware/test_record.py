"""scripts/record_telemetry.py runs end to end on the CPU (the GPU run writes the fixture)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.hardware import read_recording

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "record_telemetry.py"


def test_record_script_on_the_cpu(tmp_path):
    args = ["--device", "cpu", "--rows", "2000", "--epochs", "1", "--idle", "0.3", "--rate", "10"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = read_recording(tmp_path / "telemetry_cpu.json")
    assert data["mode"] == "cpu" and data["meta"]["workload"]["rows"] == 2000
    assert data["summary"]["device"] == "cpu" and data["summary"]["samples"] >= 2
    assert len(data["meta"]["epoch_logs"]) == 1
