"""Losses, each the mean over the batch, with their gradients.

``y`` is ``(n, k)`` like the output, or ``(n,)`` class indices for the sparse loss. A loss that
follows a sigmoid or softmax head (``fused_activation``) is computed from the logits ``z``:
``log(1 + exp(-|z|))`` and ``logsumexp`` never overflow, and its gradient with respect to the
logits, ``(a - y) / n``, never divides by a saturated probability.
"""

from __future__ import annotations

import numpy as np

from engine.backend import array_module, to_numpy

# probabilities are clipped to [EPS, 1 - EPS] where a loss must take their log (Keras's value)
EPS = 1e-7


class Loss:
    """Subclasses implement ``value_and_grad`` and, when fused, ``logits_value_and_grad``."""

    name = ""
    fused_activation: str | None = None

    def value_and_grad(self, y, a, grad):
        """Loss (device scalar) of outputs ``a`` ``(n, k)``; writes ``dL/da`` into ``grad``."""
        raise NotImplementedError

    def logits_value_and_grad(self, y, z, a, grad):
        """Loss of logits ``z`` whose activation is ``a``; writes ``dL/dz`` into ``grad``."""
        raise NotImplementedError

    def value(self, y, a, z=None):
        """The loss alone, from the logits when they are given and the loss is fused."""
        grad = array_module(a).empty_like(a)
        if z is not None and self.fused_activation is not None:
            return self.logits_value_and_grad(y, z, a, grad)
        return self.value_and_grad(y, a, grad)

    def __call__(self, y_true, y_pred) -> float:
        """Keras-style: the mean loss of probabilities or values ``y_pred``."""
        xp = array_module(y_pred)
        y_pred = xp.asarray(y_pred, dtype=xp.float64)
        y_pred = y_pred.reshape(-1, 1) if y_pred.ndim == 1 else y_pred
        if self.name == "sparse_categorical_crossentropy":
            check_class_indices(to_numpy(y_true).reshape(-1), y_pred.shape[-1])
        y_true = xp.asarray(y_true, dtype=xp.float64)
        if self.name != "sparse_categorical_crossentropy":
            y_true = y_true.reshape(y_pred.shape)
        return float(self.value(y_true, y_pred))

    def __repr__(self) -> str:
        return f"<loss {self.name}>"


class _Classification(Loss):
    """A cross-entropy with optional label smoothing and class weights.

    ``label_smoothing`` ``eps`` trains towards ``y (1 - eps) + eps / k`` (``k`` classes; 2 for a
    binary head), Keras's definition. ``class_weights`` ``(k,)`` (host floats; None: all 1)
    weigh each row's loss by the weight of its class, ``y @ class_weights``, computed from the
    unsmoothed ``y``; the loss stays the mean over the batch of the weighted row losses.
    """

    def __init__(self, label_smoothing: float = 0.0, class_weights=None):
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), not {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]

    @property
    def plain(self) -> bool:
        return self.label_smoothing == 0.0 and self.class_weights is None

    def _weights(self, y):
        """``(n, 1)`` row weights, or None when no class weights are set."""
        if self.class_weights is None:
            return None
        xp = array_module(y)
        return y @ xp.asarray(self.class_weights, dtype=y.dtype).reshape(-1, 1)

    def _smoothed(self, y, k: int):
        if self.label_smoothing == 0.0:
            return y
        eps = self.label_smoothing
        if k == 1:
            return y * (1.0 - eps) + 0.5 * eps
        return y * (1.0 - eps) + (eps / k) * y.sum(axis=-1, keepdims=True)

    def __repr__(self) -> str:
        return (
            f"<loss {self.name} label_smoothing={self.label_smoothing} "
            f"class_weights={self.class_weights}>"
        )


class BinaryCrossentropy(_Classification):
    """``class_weights``: ``(weight of 0, weight of 1)``, applied to each output."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _weights(self, y):
        if self.class_weights is None:
            return None
        low, high = self.class_weights
        return y * (high - low) + low

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        p = xp.clip(a, EPS, 1.0 - EPS)
        if self.plain:
            loss = -(y * xp.log(p) + (1.0 - y) * xp.log(1.0 - p)).mean()
            xp.divide(p - y, p * (1.0 - p) * y.size, out=grad)
            return loss
        w, t = self._weights(y), self._smoothed(y, 1)
        rows = -(t * xp.log(p) + (1.0 - t) * xp.log(1.0 - p))
        g = (p - t) / (p * (1.0 - p) * y.size)
        if w is not None:
            rows, g = rows * w, g * w
        grad[...] = g
        return rows.mean()

    def logits_value_and_grad(self, y, z, a, grad):
        xp = array_module(z)
        if self.plain:
            # max(z, 0) - z y + log1p(exp(-|z|)), the same operations in two buffers
            rows = xp.maximum(z, 0)
            t = xp.multiply(z, y)
            rows -= t
            xp.abs(z, out=t)
            xp.negative(t, out=t)
            xp.exp(t, out=t)
            xp.log1p(t, out=t)
            rows += t
            loss = _mean(rows)
            xp.subtract(a, y, out=grad)
            grad *= 1.0 / y.size
            return loss
        w, t = self._weights(y), self._smoothed(y, 1)
        rows = xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))
        xp.subtract(a, t, out=grad)
        grad *= 1.0 / y.size
        if w is not None:
            rows = rows * w
            grad *= w
        return rows.mean()


class CategoricalCrossentropy(_Classification):
    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        p = xp.clip(a, EPS, 1.0)
        w, t = self._weights(y), self._smoothed(y, y.shape[-1])
        rows = -(t * xp.log(p)).sum(axis=-1, keepdims=True)
        xp.divide(t, p, out=grad)
        grad *= -1.0 / y.shape[0]
        if w is not None:
            rows = rows * w
            grad *= w
        return rows.mean()

    def logits_value_and_grad(self, y, z, a, grad):
        xp = array_module(z)
        w, t = self._weights(y), self._smoothed(y, y.shape[-1])
        total = y.sum(axis=-1, keepdims=True)
        rows = total * _logsumexp(z) - (t * z).sum(axis=-1, keepdims=True)
        xp.multiply(a, total, out=grad)
        grad -= t
        grad *= 1.0 / y.shape[0]
        if w is not None:
            rows = rows * w
            grad *= w
        return rows.mean()


class SparseCategoricalCrossentropy(Loss):
    """``y``: ``(n,)`` class indices (any float or int dtype)."""

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        onehot = _onehot(y, a)
        p = xp.clip(a, EPS, 1.0)
        loss = -(onehot * xp.log(p)).sum(axis=-1).mean()
        xp.divide(onehot, p, out=grad)
        grad *= -1.0 / a.shape[0]
        return loss

    def logits_value_and_grad(self, y, z, a, grad):
        xp = array_module(z)
        onehot = _onehot(y, z)
        loss = (_logsumexp(z) - (onehot * z).sum(axis=-1, keepdims=True)).mean()
        xp.subtract(a, onehot, out=grad)
        grad *= 1.0 / z.shape[0]
        return loss


class MeanSquaredError(Loss):
    name = "mse"

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        xp.subtract(a, y, out=grad)
        loss = _mean(grad * grad)
        grad *= 2.0 / y.size
        return loss


class MeanAbsoluteError(Loss):
    name = "mae"

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        error = a - y
        xp.sign(error, out=grad)
        grad *= 1.0 / y.size
        return xp.abs(error).mean()


class Huber(Loss):
    """Quadratic within ``delta`` of the target, linear beyond (Keras's default delta 1)."""

    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta = float(delta)

    def value_and_grad(self, y, a, grad):
        xp = array_module(a)
        error = a - y
        small = xp.clip(error, -self.delta, self.delta)
        # 0.5 e^2 inside, delta (|e| - delta / 2) outside: both equal s (|e| - s / 2), s = clip(e)
        loss = (xp.abs(small) * (xp.abs(error) - 0.5 * xp.abs(small))).mean()
        xp.multiply(small, 1.0 / y.size, out=grad)
        return loss


def check_class_indices(y: np.ndarray, n_classes: int) -> None:
    """Raise ValueError unless every host value of ``y`` is a whole number from 0 to
    ``n_classes - 1``: the sparse loss would make any other value an all-zero one-hot row,
    which trains silently on nothing."""
    values = np.asarray(y, dtype=np.float64)
    bad = ~((values >= 0) & (values < n_classes) & (values == np.floor(values)))
    if bad.any():
        row = int(bad.argmax())
        raise ValueError(
            f"y has the class index {_number(values[row])} at row {row}; sparse labels must "
            f"be whole numbers from 0 to {n_classes - 1} for a last layer of {n_classes} units"
        )


def _number(value: float) -> str:
    """5.0 -> '5', 1.5 -> '1.5', nan -> 'nan': a label as it was given."""
    return str(int(value)) if value.is_integer() else str(value)


def _mean(a):
    """``a.mean()`` as a device scalar; on NumPy without ``mean``'s Python layer (the same
    pairwise sum and the same division, so the same bits), which costs as much as the
    arithmetic on a mini-batch."""
    if type(a) is not np.ndarray:
        return a.mean()
    total = np.add.reduce(a, axis=None)
    return total.dtype.type(total / np.intp(a.size))


def _logsumexp(z):
    """``(n, 1)``: ``log(sum(exp(z)))`` per row, shifted by the row maximum."""
    xp = array_module(z)
    top = z.max(axis=-1, keepdims=True)
    return top + xp.log(xp.exp(z - top).sum(axis=-1, keepdims=True))


def _onehot(y, like):
    """``(n, k)`` one-hot rows (dtype of ``like``) for class indices ``y`` ``(n,)``."""
    xp = array_module(like)
    classes = xp.arange(like.shape[-1])
    return (y.reshape(-1, 1).astype(classes.dtype) == classes).astype(like.dtype)


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
    )
}
_ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "huber_loss": "huber",
}


def get(identifier) -> Loss:
    """A loss from its Keras name (default arguments) or a :class:`Loss`."""
    if isinstance(identifier, Loss):
        return identifier
    name = _ALIASES.get(str(identifier).lower(), str(identifier).lower())
    if name not in LOSSES:
        raise ValueError(f"unknown loss {identifier!r}; use one of {', '.join(LOSSES)}")
    return LOSSES[name]()
