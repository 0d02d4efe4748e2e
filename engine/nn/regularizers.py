"""Weight penalties added to the loss, as Keras's ``regularizers.l2``."""

from __future__ import annotations


class L2:
    """``factor * sum(w ** 2)`` added to the loss, so ``2 * factor * w`` to the gradient."""

    def __init__(self, l2: float = 0.01):
        self.l2 = float(l2)

    def penalty(self, w):
        """Device scalar: the penalty for kernel ``w`` ``(in, out)``."""
        flat = w.reshape(-1)
        return self.l2 * flat.dot(flat)

    def add_gradient(self, w, grad) -> None:
        """``grad += 2 * factor * w`` in place."""
        grad += (2.0 * self.l2) * w

    def get_config(self) -> dict:
        return {"l2": self.l2}

    def __repr__(self) -> str:
        return f"L2(l2={self.l2})"


def l2(factor: float = 0.01) -> L2:
    return L2(factor)


def get(identifier) -> L2 | None:
    """``None``, an :class:`L2`, ``{"l2": factor}`` (a config) or the name ``'l2'``."""
    if identifier is None or isinstance(identifier, L2):
        return identifier
    if isinstance(identifier, dict):
        return L2(**identifier)
    if identifier == "l2":
        return L2()
    raise ValueError(f"unknown regularizer {identifier!r}; use engine.regularizers.l2(factor)")
