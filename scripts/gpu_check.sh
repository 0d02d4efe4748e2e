#!/usr/bin/env bash
# The GPU evidence run, headless, in one go (about 5 minutes on an H100):
#   1. what machine it is (GPU, driver, CUDA, package versions),
#   2. the `gpu`-marked tests (CuPy against NumPy; the fast path's kernels against their
#      NumPy twins and fast training against eager),
#   3. the fast path benchmark: engine eager, engine fast path, PyTorch CUDA eager and
#      torch.compile (CUDA graphs) on the three workloads, with NVML utilization,
#   4. the headless test suite with the GPU as the default device and the fast path on.
# GPU_CHECK_ALL=1 adds the earlier benchmark and a telemetry recording (about 4 minutes).
# Usage: scripts/gpu_check.sh OUTDIR      (OUTDIR defaults to $OUT, else ./out)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-out}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log
    local name=$1 limit=$2; shift 2
    echo "== $name (limit ${limit}s)"
    local t0=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "   rc=$rc in $((SECONDS - t0))s"
    tail -n 5 "$out/$name.log" | sed 's/^/   | /'
    echo "$name rc=$rc seconds=$((SECONDS - t0))" >>"$out/summary.txt"
}

{
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total,pci.bus_id,power.limit --format=csv
    nvidia-smi | head -n 4 | tail -n 2
    $py - <<'PY'
import platform, numpy, cupy, torch
print("python", platform.python_version())
print("numpy", numpy.__version__)
print("cupy", cupy.__version__, "cuda runtime", cupy.cuda.runtime.runtimeGetVersion())
print("torch", torch.__version__, "cuda", torch.version.cuda)
try:
    import pynvml
    pynvml.nvmlInit()
    print("nvml driver", pynvml.nvmlSystemGetDriverVersion())
except Exception as exc:
    print("nvml", exc)
PY
    $py -m gui.launcher info
} >"$out/environment.txt" 2>&1
cat "$out/environment.txt"

pytest_args=(-q -p no:cacheprovider -o addopts="" --ignore=tests/gui)
step gpu_tests 150 $py -m pytest -m gpu "${pytest_args[@]}" tests
step bench_fastpath 240 $py scripts/bench_fastpath.py "$out/bench_fastpath.json"
if [ -n "${GPU_CHECK_ALL:-}" ]; then
    step bench_gpu 180 $py scripts/gpu_engine_check.py "$out/bench_gpu.json"
    step telemetry 90 $py scripts/record_telemetry.py --device gpu --out "$out/telemetry.json"
fi
step headless_suite_on_gpu_fast 150 \
    env GPU_TRAINER_FAST=1 $py -m pytest "${pytest_args[@]}" tests/engine
cat "$out/summary.txt"
