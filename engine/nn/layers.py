"""Layers: ``Dense`` and ``Dropout``, with explicit ``forward`` / ``backward``.

A layer's parameters are views into the model's one flat parameter buffer and its gradients
views into the one flat gradient buffer (``bind``), so the optimizer updates every parameter
in a few passes over one array. Work buffers are kept per layer and grown to the largest
batch seen; a smaller batch uses their first rows, so a training step allocates nothing.
"""

from __future__ import annotations

import numpy as np

from engine.nn import activations, initializers, regularizers


class Layer:
    """Base class: a layer without parameters that passes its input through."""

    kind = "layer"
    n_params = 0

    def __init__(self, name: str | None = None):
        self.name = name
        self.input_dim: int | None = None
        self.output_dim: int | None = None

    def build(self, input_dim: int) -> int:
        """Fix the input width; return the output width."""
        self.input_dim = self.output_dim = input_dim
        return input_dim

    def bind(self, xp, params, grads, rng=None) -> None:
        """Take views of ``params`` / ``grads`` (this layer's slice of the flat buffers)."""
        self.xp = xp
        self.rng = rng
        self.dtype = params.dtype
        self._buffers: dict[str, object] = {}
        self._views: dict[tuple[str, int], object] = {}  # _buffer's views, by key and rows

    def weights(self) -> list:
        """Parameter views in Keras's order."""
        return []

    def forward(self, x, training: bool = False):
        return x

    def backward(self, grad, input_grad: bool = True, through_activation: bool = True):
        return grad

    def penalty(self):
        """Device scalar regularisation loss, or None."""
        return None

    def work_buffers(self) -> list:
        """The work buffers this layer writes (as they are now: they grow with the batch)."""
        return list(self._buffers.values())

    def _buffer(self, key: str, n: int, width: int):
        """Rows ``[:n]`` of a work buffer ``(rows, width)`` grown to at least ``n`` rows.

        The view is kept (one per key and row count, dropped when the buffer grows): a step
        asks for the same few views thousands of times."""
        view = self._views.get((key, n))
        if view is not None:
            return view
        buf = self._buffers.get(key)
        if buf is None or buf.shape[0] < n:
            buf = self.xp.empty((n, width), dtype=self.dtype)
            self._buffers[key] = buf
            self._views = {k: v for k, v in self._views.items() if k[0] != key}
        if len(self._views) >= 32:  # many batch sizes (predictions of many lengths)
            self._views = {}
        view = self._views[(key, n)] = buf[:n]
        return view

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Dense(Layer):
    """``a = activation(x @ kernel + bias)``: ``x`` ``(n, in)``, kernel ``(in, units)``."""

    kind = "dense"

    def __init__(
        self,
        units: int,
        activation=None,
        input_dim: int | None = None,
        kernel_initializer: str | None = None,
        use_bias: bool = True,
        kernel_regularizer=None,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
    ):
        super().__init__(name)
        if int(units) < 1:
            raise ValueError(f"Dense needs at least 1 unit, not {units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.kernel_initializer = kernel_initializer or initializers.default_for(
            self.activation.name
        )
        initializers.get(self.kernel_initializer)
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        if input_dim is None and input_shape is not None:
            input_dim = input_shape[-1]
        self.declared_input_dim = None if input_dim is None else int(input_dim)

    def build(self, input_dim: int) -> int:
        if self.declared_input_dim is not None and self.declared_input_dim != input_dim:
            raise ValueError(
                f"layer {self.name!r} expects {self.declared_input_dim} inputs, gets {input_dim}"
            )
        self.input_dim, self.output_dim = input_dim, self.units
        self.n_params = input_dim * self.units + (self.units if self.use_bias else 0)
        return self.units

    def initial_weights(self, rng) -> list:
        """Host float64 arrays ``[kernel (in, units), bias (units,)]`` for a fresh layer."""
        init = initializers.get(self.kernel_initializer)
        kernel = init(rng, (self.input_dim, self.units))
        return [kernel, np.zeros(self.units)] if self.use_bias else [kernel]

    def bind(self, xp, params, grads, rng=None) -> None:
        super().bind(xp, params, grads, rng)
        size = self.input_dim * self.units
        shape = (self.input_dim, self.units)
        self.kernel, self.kernel_grad = params[:size].reshape(shape), grads[:size].reshape(shape)
        if self.use_bias:
            self.bias, self.bias_grad = params[size:], grads[size:]

    def weights(self) -> list:
        return [self.kernel, self.bias] if self.use_bias else [self.kernel]

    def forward(self, x, training: bool = False):
        """``x`` ``(n, in)`` -> activations ``(n, units)`` (a work buffer: copy to keep)."""
        xp, n = self.xp, x.shape[0]
        z = self._buffer("z", n, self.units)
        xp.dot(x, self.kernel, out=z)  # (dot: less call overhead than matmul, same BLAS)
        a = z if self.activation.in_place else self._buffer("a", n, self.units)
        self.activation.forward_biased(z, self.bias if self.use_bias else None, a)
        self._x, self.z, self.a = x, z, a
        return a

    def backward(self, grad, input_grad: bool = True, through_activation: bool = True):
        """``grad`` ``(n, units)`` = ``dL/da`` (``dL/dz`` when not ``through_activation``;
        overwritten) -> fills the parameter gradients; returns ``dL/dx`` ``(n, in)`` or None."""
        xp = self.xp
        if through_activation:
            self.activation.backward(grad, self.z, self.a)
        xp.dot(self._x.T, grad, out=self.kernel_grad)
        if self.use_bias:
            # a matrix-vector product with ones: BLAS sums the columns faster than sum(axis=0)
            xp.dot(self._ones(grad.shape[0]), grad, out=self.bias_grad)
        if self.kernel_regularizer is not None:
            self.kernel_regularizer.add_gradient(self.kernel, self.kernel_grad)
        if not input_grad:
            return None
        dx = self._buffer("dx", grad.shape[0], self.input_dim)
        return xp.dot(grad, self.kernel.T, out=dx)

    def _ones(self, n: int):
        ones = self._buffers.get("ones")
        if ones is None or ones.shape[0] < n:
            ones = self._buffers["ones"] = self.xp.ones(n, dtype=self.dtype)
        return ones[:n]

    def penalty(self):
        if self.kernel_regularizer is None:
            return None
        return self.kernel_regularizer.penalty(self.kernel)

    def get_config(self) -> dict:
        reg = self.kernel_regularizer
        return {
            "name": self.name,
            "units": self.units,
            "activation": self.activation.name,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "kernel_regularizer": None if reg is None else reg.get_config(),
            "input_dim": self.declared_input_dim,
        }

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r})"


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of inputs while training and scales the rest by
    ``1 / (1 - rate)``; the identity at inference."""

    kind = "dropout"

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), not {rate}")
        self.rate = float(rate)

    def bind(self, xp, params, grads, rng=None) -> None:
        super().bind(xp, params, grads, rng)
        self._mask = None

    def forward(self, x, training: bool = False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=self.dtype) >= self.rate
        self._mask = keep.astype(self.dtype) * (1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, grad, input_grad: bool = True, through_activation: bool = True):
        if self._mask is not None:
            grad *= self._mask
        return grad

    def get_config(self) -> dict:
        return {"name": self.name, "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


LAYERS = {"Dense": Dense, "Dropout": Dropout}
