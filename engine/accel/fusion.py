"""Fused kernels in place of a model's eager activation and optimizer code.

:class:`Fusion` gives each Dense layer whose activation has a kernel a :class:`FusedActivation`
(bias plus activation in one launch, the activation gradient in one launch) and replaces the
optimizer (Adam, AdamW, SGD with or without momentum) by a :class:`FusedOptimizer` (the
whole update in one launch, with the learning rate and the step counter on the device).
:meth:`Fusion.undo` puts the eager objects back, with the fused optimizer's moments, step
count and learning rate.

**Off by default, and unverified on a GPU**: see :mod:`engine.accel`.
"""

from __future__ import annotations

import logging

import numpy as np

from engine.accel import kernels
from engine.backend import to_numpy
from engine.nn.activations import Activation
from engine.nn.layers import Dense
from engine.nn.optimizers import SGD, Adam, AdamW

log = logging.getLogger("engine.accel")
FUSABLE_OPTIMIZERS = (Adam, AdamW, SGD)


class FusedActivation(Activation):
    """Stands in for a Dense layer's activation: ``z += bias; a = f(z)`` and
    ``grad *= f'(z)`` in one launch each."""

    def __init__(self, inner: Activation, ops) -> None:
        self.inner, self.ops = inner, ops
        self.name, self.in_place = inner.name, inner.in_place
        self.kind = kernels.ACTIVATION_CODES[inner.name]

    def forward_biased(self, z, bias, out):
        if bias is None:
            return self.inner.forward(z, out)
        self.ops.bias_act_forward(bias, z, out, self.kind)
        return out

    def forward(self, z, out):
        return self.inner.forward(z, out)

    def backward(self, grad, z, a):
        self.ops.act_backward(grad, z, a, self.kind)
        return grad

    def __repr__(self) -> str:
        return f"Fused{self.inner!r}"


class FusedOptimizer:
    """Stands in for an Adam, AdamW or SGD optimizer: the same update in one launch, with
    the hyperparameters and the step counter on the device."""

    def __init__(self, optimizer, xp, ops) -> None:
        if type(optimizer) not in FUSABLE_OPTIMIZERS:
            raise TypeError(f"no fused update for {type(optimizer).__name__}")
        self.inner, self.xp, self.ops = optimizer, xp, ops
        self.name = optimizer.name
        self.adam = isinstance(optimizer, Adam)
        hyper = np.zeros(kernels.HYPER_SIZE, dtype=np.float32)
        if self.adam:
            hyper[1:4] = optimizer.beta_1, optimizer.beta_2, optimizer.epsilon
            hyper[4] = getattr(optimizer, "weight_decay", 0.0)
        else:
            hyper[1] = optimizer.momentum
        hyper[0] = optimizer.learning_rate
        self.hyper = xp.asarray(hyper)
        state = optimizer.get_state()  # continue from the eager optimizer's moments, if any
        self.t = xp.asarray(np.array([state["iterations"]], dtype=np.int32))
        self.coeffs = xp.zeros(2, dtype=np.float32)
        self.moments = None  # [first, second]: Adam's m and v, or SGD's velocity and unused
        slots = ("m", "v") if self.adam else ("velocity",)
        if all(slot in state for slot in slots):
            self.moments = [state[slot].copy() for slot in slots]
            if len(self.moments) == 1:
                self.moments.append(xp.zeros_like(self.moments[0]))

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
        return int(to_numpy(self.t)[0])

    def step(self, params, grads) -> None:
        if self.moments is None:
            self.moments = [self.xp.zeros_like(params) for _ in range(2)]
        first, second = self.moments
        self.ops.optimizer_begin(self.t, self.hyper, self.coeffs)  # counts every optimizer
        if self.adam:
            decoupled = isinstance(self.inner, AdamW)
            self.ops.adam_update(params, grads, first, second, self.hyper, self.coeffs, decoupled)
        else:
            mode = 0 if not self.inner.momentum else 2 if self.inner.nesterov else 1
            self.ops.sgd_update(params, grads, first, self.hyper, mode)

    def get_state(self) -> dict:
        """The eager optimizer's form of this one's state (see ``Optimizer.get_state``)."""
        state = {"iterations": self.iterations}
        if self.moments is not None:
            first, second = self.moments
            if self.adam:
                state.update(m=first, v=second)
            elif self.inner.momentum:
                state["velocity"] = first
        return state

    def set_state(self, state: dict) -> None:
        self.t[...] = int(state.get("iterations", 0))
        slots = ("m", "v") if self.adam else ("velocity",)
        self.moments = None
        if all(slot in state for slot in slots):
            moments = [self.xp.asarray(state[slot], dtype=np.float32).copy() for slot in slots]
            self.moments = (
                moments if len(moments) == 2 else [*moments, self.xp.zeros_like(moments[0])]
            )

    def unwrap(self):
        """The eager optimizer again, with this one's moments, step count and learning rate."""
        self.inner.set_state(self.get_state())
        return self.inner

    def get_config(self) -> dict:
        return self.inner.get_config()

    def __repr__(self) -> str:
        return f"Fused{self.inner!r}"


class Fusion:
    """Fuses what can be fused in a built, compiled float32 ``model`` with the kernels
    ``ops`` (:mod:`engine.accel.ops`), and undoes it. Raises on any error, leaving the
    model eager."""

    def __init__(self, model, ops) -> None:
        if np.dtype(model.dtype) != np.float32:
            raise TypeError(f"the fused kernels are float32; the model is {model.dtype}")
        self.model, self.ops = model, ops
        self.layers = [
            layer
            for layer in model.layers
            if isinstance(layer, Dense) and layer.activation.name in kernels.ACTIVATION_CODES
        ]
        try:
            for layer in self.layers:
                layer.activation = FusedActivation(layer.activation, ops)
            if type(model.optimizer) in FUSABLE_OPTIMIZERS:
                model.optimizer = FusedOptimizer(model.optimizer, model.xp, ops)
        except BaseException:
            self.undo()
            raise

    def describe(self) -> list[str]:
        """What was fused: one entry per layer and one for the optimizer update."""
        done = [f"{layer.name} ({layer.activation.name})" for layer in self.layers]
        if isinstance(self.model.optimizer, FusedOptimizer):
            done.append(f"{self.model.optimizer.name} update")
        return done

    def undo(self) -> None:
        """Eager activations, and the eager optimizer with the fused one's state."""
        for layer in self.layers:
            if isinstance(layer.activation, FusedActivation):
                layer.activation = layer.activation.inner
        self.layers = []
        if isinstance(self.model.optimizer, FusedOptimizer):
            self.model.optimizer = self.model.optimizer.unwrap()
