"""Training throughput of the engine and of PyTorch on the same workload, side by side.

Binary cross-entropy, Adam (lr 1e-3), shuffled every epoch. Each run is timed over all its
epochs after a few warm-up steps on a separate run; data generation and upload are excluded.
PyTorch, when importable, trains the same network on the same data in the same process with
as many threads as NumPy's BLAS, its runs alternating with the engine's; the best run of each
is kept and the ratio engine / PyTorch reported. Peak: the best float32 matmul rate of a
large square ``xp.matmul`` measured in the same run.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from engine.bench.workloads import WORKLOADS, Workload

WARMUP_STEPS = 3


def blas_threads() -> int:
    """Threads NumPy's BLAS uses (threadpoolctl when installed, else the CPU count)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return max(counts) if counts else os.cpu_count() or 1


def engine_samples_per_s(
    workload: Workload, x, y, device: str | None, fast_path: bool | None = False
) -> float:
    from engine.nn.layers import Dense
    from engine.nn.models import Sequential
    from engine.nn.optimizers import Adam
    from engine.nn.trainer import Trainer

    model = Sequential(device=device, seed=0)
    for i, units in enumerate(workload.hidden):
        model.add(Dense(units, activation="relu", input_dim=workload.features if i == 0 else None))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=Adam(1e-3))
    warmup = Trainer(
        model, x, y, epochs=1, batch_size=workload.batch_size, seed=1, fast_path=fast_path
    )  # fmt: skip  (kernels compile here, untimed)
    for _ in range(min(WARMUP_STEPS, warmup.total_steps)):
        warmup.step()
    trainer = Trainer(model, x, y, workload.epochs, workload.batch_size, seed=0,
                      fast_path=fast_path)  # fmt: skip
    model.backend.synchronize()
    start = time.perf_counter()
    for _ in trainer:
        pass
    trainer.drain_losses()
    model.backend.synchronize()
    return len(x) * workload.epochs / (time.perf_counter() - start)


def torch_samples_per_s(
    workload: Workload, x, y, device: str, compile_mode: str | None = None
) -> float:
    """PyTorch's samples/s; ``compile_mode``: ``torch.compile`` the network with that mode
    (``"reduce-overhead"`` replays CUDA graphs)."""
    import torch

    torch.manual_seed(0)
    widths = (workload.features, *workload.hidden)
    modules = []
    for a, b in zip(widths, widths[1:]):
        modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules, torch.nn.Linear(widths[-1], 1)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    if compile_mode:
        net = torch.compile(net, mode=compile_mode)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    generator = torch.Generator(device="cpu").manual_seed(0)

    def run(epochs: int, max_steps: int | None = None) -> None:
        total = torch.zeros((), device=device)
        steps = 0
        for _ in range(epochs):
            order = torch.randperm(len(xt), generator=generator).to(device)
            for start in range(0, len(xt), workload.batch_size):
                index = order[start : start + workload.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(net(xt[index]), yt[index])
                loss.backward()
                optimizer.step()
                total += loss.detach()  # summed on the device, read once: no per-step sync
                steps += 1
                if steps == max_steps:
                    return
        total.item()

    run(1, WARMUP_STEPS)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run(workload.epochs)
    if device != "cpu":
        torch.cuda.synchronize()
    return len(x) * workload.epochs / (time.perf_counter() - start)


def matmul_peak_gflops(backend, size: int | None = None, repeat: int = 5) -> float:
    """Best float32 rate of ``(size, size) @ (size, size)`` on the backend's device."""
    xp = backend.xp
    size = size or (8192 if backend.is_gpu else 2048)
    a = backend.asarray(np.random.default_rng(0).standard_normal((size, size)))
    out = xp.empty_like(a)
    xp.matmul(a, a, out=out)
    best = float("inf")
    for _ in range(repeat):
        backend.synchronize()
        start = time.perf_counter()
        xp.matmul(a, a, out=out)
        backend.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def run_benchmark(names, device=None, repeat=2, rows=None, use_torch=True, log=print) -> dict:
    """Time every workload in ``names``; the best of ``repeat`` runs each. Returns JSON-safe
    results and logs one line per workload."""
    from engine.backend import get_backend

    backend = get_backend(device)
    torch_device = torch_version = None
    if use_torch:
        try:
            import torch
        except ImportError:
            log("PyTorch is not installed: engine figures only")
        else:
            torch_device = "cuda" if backend.is_gpu else "cpu"
            torch_version = torch.__version__
            torch.set_num_threads(blas_threads())
    threads = blas_threads()
    results = {
        "device": backend.device,
        "device_name": backend.device_name,
        "backend": backend.name,
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch_version,
        "repeat": repeat,
        "timing": f"best of {repeat} full run(s) after {WARMUP_STEPS} warm-up steps",
        "flops_formula": "6 * sum(in * out) per sample over the Dense layers",
        "workloads": {},
    }
    log(f"{backend.describe()} · {threads} BLAS thread(s) · {results['timing']}")
    for name in names:
        workload = WORKLOADS[name]
        x, y = workload.data(rows)
        # engine and PyTorch runs alternate, so a machine that slows down hits both
        engine_runs, torch_runs = [], []
        for _ in range(repeat):
            engine_runs.append(engine_samples_per_s(workload, x, y, device))
            if torch_device is not None:
                torch_runs.append(torch_samples_per_s(workload, x, y, torch_device))
        engine = max(engine_runs)
        entry = {"rows": len(x), "epochs": workload.epochs, "batch_size": workload.batch_size,
                 "engine_samples_per_s": engine, "engine_runs": engine_runs}  # fmt: skip
        line = f"{name:>6}: engine {engine:>10,.0f} samples/s"
        if torch_runs:
            ref = max(torch_runs)
            entry.update(torch_samples_per_s=ref, torch_runs=torch_runs, ratio=engine / ref)
            line += f" · PyTorch {ref:>10,.0f} samples/s · ratio {engine / ref:.2f}x"
        if name == "large":
            peak = matmul_peak_gflops(backend)
            reached = engine * workload.flops_per_sample() / 1e9
            entry.update(peak_gflops=peak, train_gflops=reached, fraction_of_peak=reached / peak)
            line += f" · {reached:,.0f} of {peak:,.0f} GFLOP/s matmul peak ({reached / peak:.0%})"
        results["workloads"][name] = entry
        log(line)
    return results
