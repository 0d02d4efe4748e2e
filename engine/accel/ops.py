"""The fast path's kernels behind one calling convention: CUDA on CuPy, their NumPy twins on
NumPy (which is how the CPU tests check the wiring against the eager engine)."""

from __future__ import annotations

import numpy as np

from engine.accel import kernels


class NumpyOps:
    """The kernels' NumPy twins, with the kernels' calling convention."""

    def bias_act_forward(self, bias, z, a, kind: int) -> None:
        kernels.bias_act_forward_reference(bias, z, a, kind)

    def act_backward(self, grad, z, a, kind: int) -> None:
        kernels.act_backward_reference(grad, z, a, kind)

    def optimizer_begin(self, t, hyper, coeffs) -> None:
        kernels.optimizer_begin_reference(t, hyper, coeffs)

    def adam_update(self, w, g, m, v, hyper, coeffs, decoupled: bool) -> None:
        kernels.adam_update_reference(w, g, m, v, hyper, coeffs, decoupled)

    def sgd_update(self, w, g, velocity, hyper, mode: int) -> None:
        kernels.sgd_update_reference(w, g, velocity, hyper, mode)

    def gather_rows(self, src, order, batch_no, batch: int, out) -> None:
        kernels.gather_rows_reference(src, order, batch_no, batch, out)

    def store_and_advance(self, losses, loss, batch_no) -> None:
        kernels.store_and_advance_reference(losses, loss, batch_no)


class CupyOps:
    """The CUDA kernels, launched on the current stream."""

    def __init__(self) -> None:
        self.k = kernels.kernels()

    def _launch(self, name: str, n: int, args) -> None:
        self.k[name](kernels.grid(n), (kernels.THREADS,), args)

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


def ops_for(xp):
    """The kernels for the array module ``xp``: CUDA for CuPy, the twins for NumPy."""
    return CupyOps() if xp.__name__ == "cupy" else NumpyOps()
