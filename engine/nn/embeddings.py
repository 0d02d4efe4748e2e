"""Periodic embeddings of numeric inputs (PLR: Periodic -> Linear -> ReLU).

Gorishniy et al. 2022, "On Embeddings for Numerical Features in Tabular Deep Learning":
each of the first ``features`` inputs ``x_j`` becomes ``v_j = [cos(2 pi c_j x_j),
sin(2 pi c_j x_j)]`` with ``k`` learned frequencies ``c_j`` ``(k,)`` drawn from
``N(0, sigma^2)``, then ``relu(v_j @ W_j + b_j)`` with its own ``W_j`` ``(2k, d)`` and
``b_j`` ``(d,)``. The output is the ``features * d`` embeddings, feature by feature, followed
by the other inputs unchanged. Forward and backward are written once against ``xp`` (NumPy or
CuPy), inside work buffers kept per layer, so a training step allocates nothing.
"""

from __future__ import annotations

import math

from engine.nn.layers import Layer

TWO_PI = 2.0 * math.pi


class PeriodicEmbedding(Layer):
    """``x`` ``(n, in)`` -> ``(n, features * dims + in - features)``: the first ``features``
    columns embedded (see the module), the rest passed through."""

    kind = "periodic_embedding"

    def __init__(
        self,
        features: int,
        frequencies: int = 16,
        dims: int = 8,
        sigma: float = 0.1,
        input_dim: int | None = None,
        name: str | None = None,
    ):
        super().__init__(name)
        if int(features) < 1 or int(frequencies) < 1 or int(dims) < 1:
            raise ValueError("a periodic embedding needs at least 1 feature, frequency and dim")
        if not float(sigma) > 0:
            raise ValueError(f"the frequencies' sigma must be positive, not {sigma}")
        self.features, self.frequencies, self.dims = int(features), int(frequencies), int(dims)
        self.sigma = float(sigma)
        self.declared_input_dim = None if input_dim is None else int(input_dim)

    def build(self, input_dim: int) -> int:
        if self.declared_input_dim is not None and self.declared_input_dim != input_dim:
            raise ValueError(
                f"layer {self.name!r} expects {self.declared_input_dim} inputs, gets {input_dim}"
            )
        if input_dim < self.features:
            raise ValueError(f"layer {self.name!r} embeds {self.features} of {input_dim} inputs")
        f, k, d = self.features, self.frequencies, self.dims
        self.input_dim = input_dim
        self.output_dim = f * d + input_dim - f
        self.n_params = f * k + f * 2 * k * d + f * d
        return self.output_dim

    def initial_weights(self, rng) -> list:
        """Host float64 ``[frequencies (f, k), kernel (f, 2k, d), bias (f, d)]``: the
        frequencies from ``N(0, sigma^2)``, kernel and bias uniform in ``±1/sqrt(2k)``."""
        f, k, d = self.features, self.frequencies, self.dims
        bound = 1.0 / math.sqrt(2 * k)
        return [
            rng.normal(0.0, self.sigma, (f, k)),
            rng.uniform(-bound, bound, (f, 2 * k, d)),
            rng.uniform(-bound, bound, (f, d)),
        ]

    def bind(self, xp, params, grads, rng=None) -> None:
        super().bind(xp, params, grads, rng)
        f, k, d = self.features, self.frequencies, self.dims
        shapes = {"frequency": (f, k), "kernel": (f, 2 * k, d), "bias": (f, d)}
        offset = 0
        for key, shape in shapes.items():
            end = offset + math.prod(shape)
            setattr(self, key, params[offset:end].reshape(shape))
            setattr(self, f"{key}_grad", grads[offset:end].reshape(shape))
            offset = end

    def weights(self) -> list:
        return [self.frequency, self.kernel, self.bias]

    def _work(self, key: str, shape: tuple[int, ...], rows_axis: int):
        """A work buffer of ``shape`` grown along ``rows_axis`` to at least that many rows."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape[rows_axis] < shape[rows_axis]:
            buf = self._buffers[key] = self.xp.empty(shape, dtype=self.dtype)
        index = [slice(None)] * len(shape)
        index[rows_axis] = slice(0, shape[rows_axis])
        return buf[tuple(index)]

    def forward(self, x, training: bool = False):
        """``x`` ``(n, in)`` -> ``(n, out)`` (a work buffer: copy to keep)."""
        xp, n = self.xp, x.shape[0]
        f, k, d = self.features, self.frequencies, self.dims
        xt = self._work("xt", (f, n), 1)  # 2 pi x of the embedded columns, feature-major
        xp.multiply(x[:, :f].T, TWO_PI, out=xt)
        z = self._work("z", (f, n, k), 1)
        xp.multiply(xt[:, :, None], self.frequency[:, None, :], out=z)
        v = self._work("v", (f, n, 2 * k), 1)  # [cos z, sin z]
        xp.cos(z, out=v[:, :, :k])
        xp.sin(z, out=v[:, :, k:])
        h = self._work("h", (f, n, d), 1)
        xp.matmul(v, self.kernel, out=h)
        h += self.bias[:, None, :]
        xp.maximum(h, 0, out=h)
        out = self._work("out", (n, self.output_dim), 0)
        xp.copyto(out[:, : f * d].reshape(n, f, d), h.transpose(1, 0, 2))
        xp.copyto(out[:, f * d :], x[:, f:])
        self._xt, self._v, self._h = xt, v, h
        return out

    def backward(self, grad, input_grad: bool = True, through_activation: bool = True):
        """``grad`` ``(n, out)`` = ``dL/d out`` -> fills the parameter gradients; returns
        ``dL/dx`` ``(n, in)`` or None."""
        xp, n = self.xp, grad.shape[0]
        f, k, d = self.features, self.frequencies, self.dims
        v, h = self._v, self._h
        gh = self._work("gh", (f, n, d), 1)
        xp.copyto(gh, grad[:, : f * d].reshape(n, f, d).transpose(1, 0, 2))
        mask = self._work("mask", (f, n, d), 1)
        xp.sign(h, out=mask)  # h >= 0 after the ReLU: 1 where it passed, 0 where cut
        gh *= mask
        xp.matmul(v.transpose(0, 2, 1), gh, out=self.kernel_grad)
        xp.sum(gh, axis=1, out=self.bias_grad)
        dv = self._work("dv", (f, n, 2 * k), 1)
        xp.matmul(gh, self.kernel.transpose(0, 2, 1), out=dv)
        # d/dz [cos z, sin z] = [-sin z, cos z]
        dz = self._work("dz", (f, n, k), 1)
        xp.multiply(dv[:, :, k:], v[:, :, :k], out=dz)
        tmp = self._work("tmp", (f, n, k), 1)
        xp.multiply(dv[:, :, :k], v[:, :, k:], out=tmp)
        dz -= tmp
        xp.matmul(self._xt[:, None, :], dz, out=self.frequency_grad[:, None, :])
        if not input_grad:
            return None
        dx = self._work("dx", (n, self.input_dim), 0)
        dxt = self._work("dxt", (f, n, 1), 1)
        xp.matmul(dz, self.frequency[:, :, None], out=dxt)
        dxt *= TWO_PI
        xp.copyto(dx[:, :f], dxt[:, :, 0].T)
        xp.copyto(dx[:, f:], grad[:, f * d :])
        return dx

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "features": self.features,
            "frequencies": self.frequencies,
            "dims": self.dims,
            "sigma": self.sigma,
            "input_dim": self.declared_input_dim,
        }

    def __repr__(self) -> str:
        return (
            f"PeriodicEmbedding({self.features}, frequencies={self.frequencies}, "
            f"dims={self.dims}, sigma={self.sigma})"
        )


LAYERS = {"PeriodicEmbedding": PeriodicEmbedding}
