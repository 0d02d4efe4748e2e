"""Optimizers with Keras's names, arguments and update rules, over one flat buffer.

``step(params, grads)`` updates the flat parameter buffer in place from the flat gradient
buffer (both ``(P,)``), with state buffers of the same size and one scratch buffer, so an
update is a handful of in-place passes and allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np

from engine.backend import array_module


def _module(a):
    """:func:`~engine.backend.array_module` with NumPy's answer first (every CPU step)."""
    return np if type(a) is np.ndarray else array_module(a)


class Optimizer:
    """Subclasses name their state buffers in ``slots`` and implement ``_update``."""

    name = ""
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = float(learning_rate)
        self.iterations = 0
        self._state: dict | None = None
        self._bound: tuple | None = None  # (the state, its slots as _update's arguments)

    def step(self, params, grads) -> None:
        """One update of ``params`` ``(P,)`` from ``grads`` ``(P,)``, in place."""
        if self._state is None or self._state["scratch"].shape != params.shape:
            xp = array_module(params)
            self._state = {slot: xp.zeros_like(params) for slot in (*self.slots, "scratch")}
        if self._bound is None or self._bound[0] is not self._state:  # made once per state
            self._bound = (self._state, {slot: self._state[slot] for slot in self.slots})
        self.iterations += 1
        self._update(params, grads, self._state["scratch"], **self._bound[1])

    def _update(self, w, g, scratch, **state) -> None:
        raise NotImplementedError

    def get_state(self) -> dict:
        """``{"iterations": int, <slot>: (P,) array for each slot}``, the slots once it has
        stepped. The arrays are this optimizer's own buffers: copy them to keep them."""
        state = {"iterations": self.iterations}
        if self._state is not None:
            state.update({slot: self._state[slot] for slot in self.slots})
        return state

    def set_state(self, state: dict) -> None:
        """Continue from ``state`` (:meth:`get_state`'s form; the arrays are copied). Without
        every slot the moments start from zero at the next step."""
        self.iterations = int(state.get("iterations", 0))
        self._state = None
        if self.slots and all(slot in state for slot in self.slots):
            first = state[self.slots[0]]
            xp = array_module(first)
            self._state = {slot: xp.array(state[slot], copy=True) for slot in self.slots}
            self._state["scratch"] = xp.zeros_like(first)

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain or momentum SGD: ``v = momentum * v - lr * g``; ``w += v``
    (Nesterov: ``w += momentum * v - lr * g``)."""

    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum else ()

    def _update(self, w, g, scratch, velocity=None) -> None:
        xp = _module(w)
        xp.multiply(g, self.learning_rate, out=scratch)
        if velocity is None:
            w -= scratch
            return
        velocity *= self.momentum
        velocity -= scratch
        if self.nesterov:
            w -= scratch
            xp.multiply(velocity, self.momentum, out=scratch)
            w += scratch
        else:
            w += velocity

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, arXiv:1412.6980) in Keras's form: the bias correction folds
    into the step size and ``epsilon`` is added to ``sqrt(v)`` uncorrected."""

    name = "adam"
    slots = ("m", "v")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, w, g, scratch, m, v) -> None:
        xp = _module(w)
        t = self.iterations
        step = self.learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        xp.subtract(g, m, out=scratch)
        scratch *= 1.0 - self.beta_1
        m += scratch
        xp.multiply(g, g, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.beta_2
        v += scratch
        xp.sqrt(v, out=scratch)
        scratch += self.epsilon
        xp.divide(m, scratch, out=scratch)
        scratch *= step
        w -= scratch

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, arXiv:1711.05101):
    ``w -= lr * weight_decay * w`` before the Adam step."""

    name = "adamw"

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = float(weight_decay)

    def _update(self, w, g, scratch, m, v) -> None:
        if self.weight_decay:  # (weight_decay 0 is Adam, pass for pass)
            w *= 1.0 - self.learning_rate * self.weight_decay
        super()._update(w, g, scratch, m, v)

    def get_config(self) -> dict:
        return {**super().get_config(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) in Keras's form: ``v = rho * v + (1 - rho) * g**2``,
    ``w -= lr * g / sqrt(v + epsilon)``, optionally centred and with momentum."""

    name = "rmsprop"

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
    ):
        super().__init__(learning_rate)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)
        self.slots = ("v", *(("mean_grad",) if centered else ()), *(("mom",) if momentum else ()))

    def _update(self, w, g, scratch, v, mean_grad=None, mom=None) -> None:
        xp = _module(w)
        xp.multiply(g, g, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.rho
        v += scratch
        if mean_grad is None:
            xp.add(v, self.epsilon, out=scratch)
        else:
            mean_grad *= self.rho
            mean_grad += (1.0 - self.rho) * g
            xp.multiply(mean_grad, mean_grad, out=scratch)
            xp.subtract(v, scratch, out=scratch)
            scratch += self.epsilon
        xp.sqrt(scratch, out=scratch)
        xp.divide(g, scratch, out=scratch)
        scratch *= self.learning_rate
        if mom is None:
            w -= scratch
            return
        mom *= self.momentum
        mom += scratch
        w -= mom

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def get(identifier) -> Optimizer:
    """An optimizer from its Keras name (default arguments) or an :class:`Optimizer`."""
    if isinstance(identifier, Optimizer):
        return identifier
    name = str(identifier).lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {identifier!r}; use one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]()
