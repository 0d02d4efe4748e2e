"""Activation functions with their derivatives, written once against ``xp``.

Each activation maps pre-activations ``z`` ``(n, units)`` to outputs ``a`` of the same shape
(``forward``) and multiplies an upstream gradient ``dL/da`` into ``dL/dz`` in place
(``backward``). Activations whose derivative can be read off their output alone run in place
(``in_place``: ``a`` overwrites ``z``), which saves a buffer and a memory pass per layer.
"""

from __future__ import annotations

import math

from engine.backend import array_module


class Activation:
    """``a = f(z)``; subclasses implement ``forward(z, out)`` and ``backward(grad, z, a)``."""

    name = "linear"
    in_place = True

    def forward(self, z, out):
        """Write ``f(z)`` into ``out`` (which may be ``z``) and return it."""
        return z

    def forward_biased(self, z, bias, out):
        """``z += bias`` (unless None), then :meth:`forward`: a Dense layer's whole
        elementwise pass, which a fused kernel can take in one go."""
        if bias is not None:
            z += bias
        return self.forward(z, out)

    def backward(self, grad, z, a):
        """``grad`` ``(n, units)``: ``dL/da`` on entry, ``dL/dz`` on return (in place)."""
        return grad

    def __call__(self, z):
        xp = array_module(z)
        return self.forward(z, z.copy() if self.in_place else xp.empty_like(z))

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


class Linear(Activation):
    pass


class ReLU(Activation):
    name = "relu"

    def forward(self, z, out):
        return array_module(z).maximum(z, 0, out=out)

    def backward(self, grad, z, a):
        # a multiply by the mask is several times faster than boolean indexing
        return array_module(a).multiply(grad, a > 0, out=grad)


class LeakyReLU(Activation):
    """Keras's default negative slope, 0.2."""

    name = "leaky_relu"
    alpha = 0.2

    def forward(self, z, out):
        return array_module(z).maximum(z, self.alpha * z, out=out)

    def backward(self, grad, z, a):
        grad *= (a > 0) * (1.0 - self.alpha) + self.alpha
        return grad


class ELU(Activation):
    name = "elu"

    def forward(self, z, out):
        xp = array_module(z)
        out[...] = xp.where(z > 0, z, xp.expm1(xp.minimum(z, 0)))
        return out

    def backward(self, grad, z, a):
        # f'(z) is 1 for z > 0 and exp(z) = a + 1 (at most 1) below
        grad *= array_module(a).minimum(a + 1.0, 1.0)
        return grad


class GELU(Activation):
    """The tanh approximation of GELU (Keras's ``approximate=True``): NumPy has no erf."""

    name = "gelu"
    in_place = False
    _c = math.sqrt(2.0 / math.pi)

    def _tanh(self, z):
        xp = array_module(z)
        return xp.tanh(self._c * (z + 0.044715 * z**3))

    def forward(self, z, out):
        t = self._tanh(z)
        t += 1.0
        t *= z
        t *= 0.5
        out[...] = t
        return out

    def backward(self, grad, z, a):
        t = self._tanh(z)
        slope = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * self._c * (1.0 + 3 * 0.044715 * z * z)
        grad *= slope
        return grad


class Tanh(Activation):
    name = "tanh"

    def forward(self, z, out):
        return array_module(z).tanh(z, out=out)

    def backward(self, grad, z, a):
        grad *= 1.0 - a * a
        return grad


class Sigmoid(Activation):
    """Computed as ``(1 + tanh(z / 2)) / 2``, which never overflows."""

    name = "sigmoid"
    in_place = False

    def forward(self, z, out):
        xp = array_module(z)
        xp.multiply(z, 0.5, out=out)
        xp.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out

    def backward(self, grad, z, a):
        grad *= a * (1.0 - a)
        return grad


class Softmax(Activation):
    """Over the last axis, shifted by the row maximum so ``exp`` never overflows."""

    name = "softmax"
    in_place = False

    def forward(self, z, out):
        xp = array_module(z)
        xp.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        xp.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, grad, z, a):
        grad -= (grad * a).sum(axis=-1, keepdims=True)
        grad *= a
        return grad


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Linear, ReLU, LeakyReLU, ELU, GELU, Tanh, Sigmoid, Softmax)
}


def get(identifier) -> Activation:
    """An activation from its Keras name (``None`` means linear) or an :class:`Activation`."""
    if isinstance(identifier, Activation):
        return identifier
    name = "linear" if identifier is None else str(identifier).lower()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {identifier!r}; use one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
