"""The GPU fast path: fused kernels in place of the eager layer and optimizer code.

:func:`enable` swaps, on a compiled model, each Dense layer's bias-plus-activation and
activation gradient, and the optimizer update (Adam, AdamW, SGD with or without momentum),
for one kernel launch each (:mod:`engine.fused`). The optimizer's learning rate and step
counter then live on the device.

**Off by default, and unverified on a GPU.** It is switched on by ``Trainer(...,
fast_path=True)``, ``TrainSettings(fast_path=True)`` or ``GPU_TRAINER_FAST=1``. On NumPy the
same wiring runs the kernels' NumPy twins, which is how the CPU tests check it against the
eager engine; the CUDA kernels compile (nvcc, in the tests) but have not run on a GPU yet.
Anything it cannot fuse stays eager, and any error while enabling it falls back to the eager
engine with the reason logged.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from engine import fused
from engine.optimizers import SGD, Adam, AdamW

log = logging.getLogger(__name__)


def requested(explicit: bool | None = None) -> bool:
    """``explicit`` when given, else ``GPU_TRAINER_FAST=1`` in the environment."""
    if explicit is not None:
        return bool(explicit)
    return os.environ.get("GPU_TRAINER_FAST", "").strip().lower() in ("1", "true", "yes", "on")


class NumpyOps:
    """The kernels' NumPy twins, with the kernels' calling convention."""

    def bias_act_forward(self, bias, z, a, kind: int) -> None:
        fused.bias_act_forward_reference(bias, z, a, kind)

    def act_backward(self, grad, z, a, kind: int) -> None:
        fused.act_backward_reference(grad, z, a, kind)

    def optimizer_begin(self, t, hyper, coeffs) -> None:
        fused.optimizer_begin_reference(t, hyper, coeffs)

    def adam_update(self, w, g, m, v, hyper, coeffs, decoupled: bool) -> None:
        fused.adam_update_reference(w, g, m, v, hyper, coeffs, decoupled)

    def sgd_update(self, w, g, velocity, hyper, mode: int) -> None:
        fused.sgd_update_reference(w, g, velocity, hyper, mode)

    def gather_rows(self, src, order, batch_no, batch: int, out) -> None:
        fused.gather_rows_reference(src, order, batch_no, batch, out)

    def store_and_advance(self, losses, loss, batch_no) -> None:
        fused.store_and_advance_reference(losses, loss, batch_no)


class CupyOps:
    """The CUDA kernels, launched on the current stream."""

    def __init__(self) -> None:
        self.k = fused.kernels()

    def _launch(self, name: str, n: int, args) -> None:
        self.k[name](fused.grid(n), (fused.THREADS,), args)

    def bias_act_forward(self, bias, z, a, kind: int) -> None:
        n = z.size
        self._launch("bias_act_forward", n, (bias, z, a, np.int64(n), np.int32(z.shape[-1]),
                                             np.int32(kind)))  # fmt: skip

    def act_backward(self, grad, z, a, kind: int) -> None:
        n = grad.size
        self._launch("act_backward", n, (grad, z, a, np.int64(n), np.int32(kind)))

    def optimizer_begin(self, t, hyper, coeffs) -> None:
        self.k["optimizer_begin"]((1,), (1,), (t, hyper, coeffs))

    def adam_update(self, w, g, m, v, hyper, coeffs, decoupled: bool) -> None:
        n = w.size
        self._launch("adam_update", n, (w, g, m, v, hyper, coeffs, np.int64(n),
                                        np.int32(decoupled)))  # fmt: skip

    def sgd_update(self, w, g, velocity, hyper, mode: int) -> None:
        n = w.size
        self._launch("sgd_update", n, (w, g, velocity, hyper, np.int64(n), np.int32(mode)))

    def gather_rows(self, src, order, batch_no, batch: int, out) -> None:
        cols = int(np.prod(src.shape[1:], dtype=np.int64)) if src.ndim > 1 else 1
        self._launch("gather_rows", batch * cols,
                     (src, order, batch_no, np.int32(batch), np.int32(cols), out))  # fmt: skip

    def store_and_advance(self, losses, loss, batch_no) -> None:
        self.k["store_and_advance"]((1,), (1,), (losses, loss, batch_no))


class FusedOptimizer:
    """Stands in for an Adam, AdamW or SGD optimizer: the same update in one launch, with
    the hyperparameters and the step counter on the device."""

    def __init__(self, optimizer, xp, ops) -> None:
        if type(optimizer) not in (Adam, AdamW, SGD):
            raise TypeError(f"no fused update for {type(optimizer).__name__}")
        self.inner, self.xp, self.ops = optimizer, xp, ops
        self.name = optimizer.name
        hyper = np.zeros(fused.HYPER_SIZE, dtype=np.float32)
        if isinstance(optimizer, Adam):
            hyper[1:4] = optimizer.beta_1, optimizer.beta_2, optimizer.epsilon
            hyper[4] = getattr(optimizer, "weight_decay", 0.0)
        else:
            hyper[1] = optimizer.momentum
        hyper[0] = optimizer.learning_rate
        self.hyper = xp.asarray(hyper)
        self.t = xp.asarray(np.array([optimizer.iterations], dtype=np.int32))
        self.coeffs = xp.zeros(2, dtype=np.float32)
        self._state = None
        eager = optimizer._state  # continue from the eager optimizer's moments, if any
        if eager is not None:
            slots = ("m", "v") if isinstance(optimizer, Adam) else ("velocity",)
            if all(slot in eager for slot in slots):
                self._state = [eager[slot].copy() for slot in slots]
                if len(self._state) == 1:
                    self._state.append(xp.zeros_like(self._state[0]))

    @property
    def learning_rate(self) -> float:
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.inner.learning_rate = float(value)
        self.hyper[0] = np.float32(value)  # a write into device memory: graphs stay valid

    @property
    def iterations(self) -> int:
        """Updates made, read from the device counter (a replayed graph counts there only)."""
        from engine.backend import to_numpy

        return int(to_numpy(self.t)[0])

    def step(self, params, grads) -> None:
        if self._state is None:
            self._state = [self.xp.zeros_like(params) for _ in range(2)]
        first, second = self._state
        self.inner.iterations += 1
        self.ops.optimizer_begin(self.t, self.hyper, self.coeffs)  # counts every optimizer
        if isinstance(self.inner, Adam):
            decoupled = isinstance(self.inner, AdamW)
            self.ops.adam_update(params, grads, first, second, self.hyper, self.coeffs, decoupled)
        else:
            mode = 0 if not self.inner.momentum else 2 if self.inner.nesterov else 1
            self.ops.sgd_update(params, grads, first, self.hyper, mode)

    def unwrap(self):
        """The eager optimizer again, with this one's moments, step count and learning rate."""
        inner = self.inner
        inner.iterations = self.iterations
        if self._state is not None:
            first, second = self._state
            slots = {"m": first, "v": second} if isinstance(inner, Adam) else {"velocity": first}
            if isinstance(inner, SGD) and not inner.momentum:
                slots = {}
            inner._state = {**slots, "scratch": self.xp.zeros_like(first)}
        return inner

    def get_config(self) -> dict:
        return self.inner.get_config()

    def __repr__(self) -> str:
        return f"Fused{self.inner!r}"


def ops_for(xp):
    return CupyOps() if xp.__name__ == "cupy" else NumpyOps()


def enable(model) -> list[str]:
    """Fuse what can be fused in a built, compiled ``model``; returns what was fused.

    Raises on any error (the caller falls back to the eager engine).
    """
    from engine.layers import Dense

    if np.dtype(model.dtype) != np.float32:
        raise TypeError(f"the fused kernels are float32; the model is {np.dtype(model.dtype)}")
    ops = ops_for(model.xp)
    done = []
    for layer in model.layers:
        if isinstance(layer, Dense) and layer.activation.name in fused.ACTIVATION_CODES:
            layer.fused = (ops, fused.ACTIVATION_CODES[layer.activation.name])
            done.append(f"{layer.name} ({layer.activation.name})")
    if type(model.optimizer) in (Adam, AdamW, SGD):
        model.optimizer = FusedOptimizer(model.optimizer, model.xp, ops)
        done.append(f"{model.optimizer.name} update")
    return done


def disable(model) -> None:
    """Undo :func:`enable`: eager layers, and the eager optimizer with the fused one's state."""
    for layer in model.layers:
        if getattr(layer, "fused", None) is not None:
            layer.fused = None
    if isinstance(model.optimizer, FusedOptimizer):
        model.optimizer = model.optimizer.unwrap()


def try_enable(model) -> bool:
    """:func:`enable`, logging what was fused, or why not (then the model stays eager)."""
    try:
        done = enable(model)
    except Exception as exc:  # noqa: BLE001 - any failure means: stay eager, say why
        log.warning("fast path off, running eager: %s: %s", type(exc).__name__, exc)
        return False
    log.info("fast path: fused %s", ", ".join(done) or "nothing")
    return True
