"""Fused CUDA kernels for the GPU fast path: one launch where eager CuPy takes several.

* ``bias_act_forward``: ``z += bias`` and ``a = f(z)`` for a Dense layer, in one pass;
* ``act_backward``: ``grad *= f'(z)``, in one pass;
* ``adam_update`` / ``sgd_update``: the whole optimizer update (Adam, AdamW, SGD with or
  without momentum and Nesterov) over the one flat parameter buffer, in one launch.

The hyperparameters and the step counter live in small device arrays (``hyper``, ``t``,
``coeffs``), written by ``optimizer_begin``, a one-thread kernel: a change of learning rate
is a write into ``hyper`` and the update's bias correction is computed on the device, so a
captured CUDA graph of the training step stays valid (see :mod:`engine.accel.fusion`).

Each kernel has a NumPy twin here (``*_reference``) with the same per-element formula; the
CPU tests compare the twins with the eager engine (layers, activations and optimizers) and
compile the CUDA source with nvcc where nvcc exists; the ``gpu`` tests compare the kernels
with the twins. CuPy is imported only when a kernel is first built.
"""

from __future__ import annotations

import math

import numpy as np

# activation codes shared by the CUDA source and the NumPy twins
ACTIVATION_CODES = {
    "linear": 0,
    "relu": 1,
    "leaky_relu": 2,
    "elu": 3,
    "gelu": 4,
    "tanh": 5,
    "sigmoid": 6,
}
LEAKY_ALPHA = 0.2
GELU_C = math.sqrt(2.0 / math.pi)
# hyper: [learning_rate, beta_1 or momentum, beta_2, epsilon, weight_decay]
HYPER_SIZE = 5

SOURCE = r"""
#define LEAKY_ALPHA 0.2f
#define GELU_C 0.7978845608028654f

__device__ __forceinline__ float act_forward(int kind, float z) {
    switch (kind) {
    case 1: return z > 0.0f || z != z ? z : 0.0f;  // NaN stays NaN, as in eager
    case 2: return z > LEAKY_ALPHA * z ? z : LEAKY_ALPHA * z;
    case 3: return z > 0.0f ? z : expm1f(z);
    case 4: return 0.5f * z * (1.0f + tanhf(GELU_C * (z + 0.044715f * z * z * z)));
    case 5: return tanhf(z);
    case 6: return 0.5f * (1.0f + tanhf(0.5f * z));
    default: return z;
    }
}

__device__ __forceinline__ float act_slope(int kind, float z, float a) {
    switch (kind) {
    case 1: return a > 0.0f ? 1.0f : 0.0f;
    case 2: return a > 0.0f ? 1.0f : LEAKY_ALPHA;
    case 3: return fminf(a + 1.0f, 1.0f);
    case 4: {
        float t = tanhf(GELU_C * (z + 0.044715f * z * z * z));
        return 0.5f * (1.0f + t)
            + 0.5f * z * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * 0.044715f * z * z);
    }
    case 5: return 1.0f - a * a;
    case 6: return a * (1.0f - a);
    default: return 1.0f;
    }
}

extern "C" __global__ void bias_act_forward(
    const float* __restrict__ bias, float* z, float* a, long long n, int cols, int kind) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        float value = z[i] + bias[i % cols];
        z[i] = value;
        a[i] = act_forward(kind, value);
    }
}

extern "C" __global__ void act_backward(
    float* grad, const float* __restrict__ z, const float* __restrict__ a, long long n, int kind) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        grad[i] *= act_slope(kind, z[i], a[i]);
    }
}

// One thread: count the step and fold Adam's bias correction into the step size, on the
// device, so that a replayed graph needs nothing from the host.
extern "C" __global__ void optimizer_begin(int* t, const float* hyper, float* coeffs) {
    int step = t[0] + 1;
    t[0] = step;
    float lr = hyper[0];
    float correction = sqrtf(1.0f - powf(hyper[2], (float)step));
    coeffs[0] = lr * correction / (1.0f - powf(hyper[1], (float)step));
    coeffs[1] = 1.0f - lr * hyper[4];
}

extern "C" __global__ void adam_update(
    float* w, const float* __restrict__ g, float* m, float* v,
    const float* __restrict__ hyper, const float* __restrict__ coeffs, long long n,
    int decoupled) {
    float b1 = hyper[1], b2 = hyper[2], eps = hyper[3];
    float step = coeffs[0], decay = coeffs[1];
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        float gi = g[i];
        float wi = decoupled ? w[i] * decay : w[i];
        float mi = m[i] + (1.0f - b1) * (gi - m[i]);
        float vi = v[i] + (1.0f - b2) * (gi * gi - v[i]);
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - step * (mi / (sqrtf(vi) + eps));
    }
}

extern "C" __global__ void sgd_update(
    float* w, const float* __restrict__ g, float* velocity,
    const float* __restrict__ hyper, long long n, int mode) {
    // mode 0: plain; 1: momentum; 2: Nesterov momentum
    float lr = hyper[0], momentum = hyper[1];
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        float step = lr * g[i];
        if (mode == 0) {
            w[i] -= step;
            continue;
        }
        float vel = momentum * velocity[i] - step;
        velocity[i] = vel;
        w[i] += mode == 2 ? momentum * vel - step : vel;
    }
}

// The training step's bookkeeping on the device, for a captured graph: the batch number
// lives in device memory, so the same graph serves every batch of every epoch.
extern "C" __global__ void gather_rows(
    const float* __restrict__ src, const long long* __restrict__ order,
    const int* __restrict__ batch_no, int batch, int cols, float* out) {
    long long n = (long long)batch * cols;
    long long first = (long long)batch_no[0] * batch;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        long long row = order[first + i / cols];
        out[i] = src[row * cols + i % cols];
    }
}

extern "C" __global__ void store_and_advance(
    float* losses, const float* __restrict__ loss, int* batch_no) {
    int b = batch_no[0];
    losses[b] = loss[0];
    batch_no[0] = b + 1;
}
"""

KERNEL_NAMES = (
    "bias_act_forward",
    "act_backward",
    "optimizer_begin",
    "adam_update",
    "sgd_update",
    "gather_rows",
    "store_and_advance",
)


# -- NumPy twins: the same per-element formulas ----------------------------------------------


def act_forward_reference(kind: int, z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float32)
    if kind == 1:
        return np.maximum(z, np.float32(0))
    if kind == 2:
        return np.where(z > LEAKY_ALPHA * z, z, np.float32(LEAKY_ALPHA) * z)
    if kind == 3:
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if kind == 4:
        return 0.5 * z * (1.0 + np.tanh(np.float32(GELU_C) * (z + 0.044715 * z * z * z)))
    if kind == 5:
        return np.tanh(z)
    if kind == 6:
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    return z.copy()


def act_slope_reference(kind: int, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    z, a = np.asarray(z, np.float32), np.asarray(a, np.float32)
    if kind == 1:
        return (a > 0).astype(np.float32)
    if kind == 2:
        return np.where(a > 0, np.float32(1), np.float32(LEAKY_ALPHA))
    if kind == 3:
        return np.minimum(a + 1.0, 1.0)
    if kind == 4:
        t = np.tanh(np.float32(GELU_C) * (z + 0.044715 * z * z * z))
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * GELU_C * (1.0 + 3 * 0.044715 * z * z)
    if kind == 5:
        return 1.0 - a * a
    if kind == 6:
        return a * (1.0 - a)
    return np.ones_like(z)


def bias_act_forward_reference(bias, z, a, kind: int) -> None:
    """In place, as the kernel: ``z += bias``; ``a[...] = f(z)`` (``a`` may be ``z``)."""
    z += bias
    a[...] = act_forward_reference(kind, z)


def act_backward_reference(grad, z, a, kind: int) -> None:
    grad *= act_slope_reference(kind, z, a)


def optimizer_begin_reference(t: np.ndarray, hyper: np.ndarray, coeffs: np.ndarray) -> None:
    t[0] += 1
    step = float(t[0])
    lr = float(hyper[0])
    denominator = 1.0 - float(hyper[1]) ** step  # 0 only for SGD with momentum 1 (unused)
    correction = math.sqrt(1.0 - float(hyper[2]) ** step)
    coeffs[0] = lr * correction / denominator if denominator else math.inf
    coeffs[1] = 1.0 - lr * float(hyper[4])


def adam_update_reference(w, g, m, v, hyper, coeffs, decoupled: bool) -> None:
    b1, b2, eps = (np.float32(h) for h in hyper[1:4])
    if decoupled:
        w *= np.float32(coeffs[1])
    m += (1 - b1) * (g - m)
    v += (1 - b2) * (g * g - v)
    w -= np.float32(coeffs[0]) * (m / (np.sqrt(v) + eps))


def sgd_update_reference(w, g, velocity, hyper, mode: int) -> None:
    lr, momentum = np.float32(hyper[0]), np.float32(hyper[1])
    step = lr * g
    if mode == 0:
        w -= step
        return
    velocity *= momentum
    velocity -= step
    w += momentum * velocity - step if mode == 2 else velocity


def gather_rows_reference(src, order, batch_no, batch: int, out) -> None:
    first = int(batch_no[0]) * batch
    np.take(src.reshape(len(src), -1), order[first : first + batch], axis=0,
            out=out.reshape(batch, -1))  # fmt: skip


def store_and_advance_reference(losses, loss, batch_no) -> None:
    losses[int(batch_no[0])] = loss
    batch_no[0] += 1


# -- the kernels, built on first use -----------------------------------------------------

_modules: dict = {}
THREADS = 256


def kernels():
    """``{name: cupy.RawKernel}`` for the current device, compiled (NVRTC) on first use."""
    import cupy

    device = cupy.cuda.Device().id
    if device not in _modules:
        module = cupy.RawModule(code=SOURCE, options=("-std=c++14",))
        _modules[device] = {name: module.get_function(name) for name in KERNEL_NAMES}
    return _modules[device]


def grid(n: int) -> tuple[int]:
    """Blocks for ``n`` elements: grid-stride loops, so a few per multiprocessor is plenty."""
    return (max(1, min(4096, (n + THREADS - 1) // THREADS)),)
