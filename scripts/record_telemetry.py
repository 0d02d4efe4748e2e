"""Record hardware telemetry while the engine trains the medium reference workload (GUIDE §5).

On an NVIDIA GPU this writes the fixture that tests/gui/test_hardware_panel.py replays:

    python scripts/record_telemetry.py --device gpu --out "$OUT"     # -> $OUT/telemetry_h100.json

``--out`` is a folder (the file is named after the GPU) or a ``.json`` path. Anywhere else,
try it on the CPU: ``--device cpu --rows 2000``. Needs numpy and nvidia-ml-py (CuPy on the
GPU); psutil only on the CPU.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.backend import get_backend  # noqa: E402
from engine.hardware import Sampler, recording, write_recording  # noqa: E402
from engine.hardware.text import summary_line  # noqa: E402


def medium_workload(rows: int, features: int = 50, seed: int = 0):
    """Standard-normal float32 features; label 1 where the first three features sum above 0."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    y = (x[:, :3].sum(axis=1) > 0).astype(np.float32)[:, None]
    return x, y


def build_model(device: str, features: int):
    """256-256 ReLU, sigmoid out, BCE, Adam."""
    from engine import Sequential
    from engine.nn.layers import Dense

    model = Sequential(device=device)
    model.add(Dense(256, activation="relu", input_dim=features))
    model.add(Dense(256, activation="relu", input_dim=256))
    model.add(Dense(1, activation="sigmoid", input_dim=256))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def train(backend, sampler: Sampler, args) -> dict:
    """Train while the sampler runs; returns what ran, when, and the per-epoch logs."""
    from engine.nn.trainer import Trainer

    x, y = medium_workload(args.rows)
    model = build_model(backend.device, x.shape[1])
    trainer = Trainer(model, x, y, epochs=args.epochs, batch_size=args.batch_size, seed=0)
    trainer.learning_rate = 1e-3
    epochs = []
    t0 = time.monotonic()
    sampler.begin_run(t0)
    for record in trainer:
        end = record.epoch_end
        if end is not None:
            epochs.append(
                {"epoch": end.epoch, "time": end.time, "seconds": end.seconds, **end.logs}
            )
    backend.synchronize()
    t1 = time.monotonic()
    return {
        "t0": t0,
        "t1": t1,
        "epoch_logs": epochs,
        "samples_per_second": args.rows * args.epochs / (t1 - t0),
    }


def versions() -> dict:
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("cupy-cuda12x", "cupy-cuda13x", "cupy", "nvidia-ml-py", "psutil"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def output_path(out: str, sampler: Sampler) -> Path:
    """``out`` itself when it names a .json file, else telemetry_<gpu model>.json inside it."""
    path = Path(out)
    if path.suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    path.mkdir(parents=True, exist_ok=True)
    info = sampler.training_info
    found = re.search(r"\b([A-Z]{1,2}\d{2,4})\b", info.name or "") if info else None
    slug = found.group(1).lower() if found else ("gpu" if info else "cpu")
    return path / f"telemetry_{slug}.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder (or .json path) to write to")
    parser.add_argument("--device", default="gpu", help="gpu, gpu:N or cpu (default gpu)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rate", type=float, default=2.0, help="samples per second")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds sampled before/after")
    args = parser.parse_args(argv)

    backend = get_backend(args.device)
    sampler = Sampler(rate_hz=args.rate)
    sampler.attach(backend)
    sampler.start()
    try:
        time.sleep(args.idle)  # a baseline before training
        run = train(backend, sampler, args)
        summary = sampler.end_run(args.epochs)
        time.sleep(args.idle)
    finally:
        sampler.stop()
    meta = {
        "source": "scripts/record_telemetry.py",
        "recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": backend.device,
        "device_name": backend.device_name,
        "workload": {
            "name": "medium",
            "rows": args.rows,
            "features": 50,
            "hidden": [256, 256],
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "optimizer": "adam, lr 1e-3",
            "loss": "binary_crossentropy",
        },
        "rate_hz": args.rate,
        "versions": versions(),
        **run,
    }
    data = recording(sampler, summary, **meta)
    path = write_recording(output_path(args.out, sampler), data)
    sampler.close()
    print(f"{len(data['samples'])} samples, {run['samples_per_second']:,.0f} samples/s -> {path}")
    print(summary_line(summary))
    if sampler.error:
        print(f"sampler error: {sampler.error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
