"""``gpu-trainer advise``: the JSON shape, the table, and bad input in one line."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from engine.cli import main

FAST = ["--layers", "8", "--budget", "1"]


def test_json_is_one_object_with_the_recommendation(sample_dir, capsys):
    argv = ["advise", str(sample_dir / "wine.csv"), "--target", "cultivar", "--json", *FAST]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert captured.err == ""
    chosen = [
        c
        for c in out["results"]
        if (c["device"], c["batch_size"]) == (out["device"], out["batch_size"])
    ]
    assert len(chosen) == 1 and chosen[0]["samples_per_s"] > 0
    assert out["device"] == "cpu" or out["device"].startswith("gpu:")  # as `train --device`
    assert f"batch size {out['batch_size']}:" in out["message"]
    assert out["budget_s"] == 1.0 and out["training_rows"] > 0
    # the default rate (2e-3 at batch 64 with adamw), scaled to the recommended batch
    expected = min(8.0, max(1 / 8, (out["batch_size"] / 64) ** 0.5)) * 2e-3
    assert abs(out["learning_rate"] - expected) < 1e-12
    cell = out["results"][0]
    assert cell["device"] == "cpu" and cell["batch_size"] == 32
    assert cell["samples_per_s"] > 0 and cell["epoch_s"] > 0
    assert "peak_memory_mib" in cell and cell["gpu_util_pct"] is None


def test_the_text_is_a_table_and_the_advice(sample_dir, capsys):
    assert main(["advise", str(sample_dir / "diabetes.csv"), *FAST]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["device", "batch", "samples/s", "time/epoch", "peak", "memory",
                                "GPU", "util"]  # fmt: skip
    assert sum(line.startswith("*") for line in lines) == 1
    assert "Use the CPU with batch size" in lines[-1] or "GPU" in lines[-1]
    assert "measuring regression of 'progression'" in captured.err
    assert "measured CPU" in captured.err  # not a terminal: a line per measurement


def test_a_bad_target_exits_2_with_one_line(sample_dir, capsys):
    assert main(["advise", str(sample_dir / "wine.csv"), "--target", "nope", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "'nope' does not exist" in captured.err


def test_a_bad_budget_exits_2(sample_dir, capsys):
    assert main(["advise", str(sample_dir / "wine.csv"), "--budget", "-1"]) == 2
    assert "--budget -1" in capsys.readouterr().err


def test_ctrl_c_ends_the_measurement_with_what_it_has(sample_dir, capsys):
    """SIGINT once the command listens for it: the advice comes from the cells measured."""

    def interrupt():
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    start = time.monotonic()
    argv = ["advise", str(sample_dir / "wine.csv"), "--layers", "8", "--budget", "60", "--json"]
    assert main(argv) == 0
    thread.join()
    out = json.loads(capsys.readouterr().out)
    assert out["stopped"] and time.monotonic() - start < 30
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
