"""The GPU fast path: fused CUDA kernels, and the training step captured as one CUDA graph.

Reached only through :func:`engine.nn.step.make_train_function`, which asks
:func:`make_fast_step` to build on the eager step:

* :mod:`engine.accel.kernels`: the CUDA source and each kernel's NumPy twin;
* :mod:`engine.accel.ops`: the kernels (or the twins) behind one calling convention;
* :mod:`engine.accel.fusion`: fused activations and optimizer in a model, and undoing them;
* :mod:`engine.accel.graph`: the full step captured once and replayed for every full batch.

**Off by default, and unverified on a GPU.** It is switched on by ``Trainer(...,
fast_path=True)``, ``TrainSettings(fast_path=True)`` or ``GPU_TRAINER_FAST=1``, and then only
on a GPU: the CPU tests pass a :class:`FastPath` with the kernels' NumPy twins and a NumPy
stand-in for capture, which checks all of it but the CUDA code against the eager engine.
Anything that cannot be fused stays eager, and any error falls back to the eager step with
the reason logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger("engine.accel")


@dataclass(frozen=True)
class FastPath:
    """What the fast path does: ``fuse`` the activations and the optimizer update, and
    capture the step as a graph (``graph``). ``ops``: the kernels (default: CUDA's on CuPy;
    :class:`~engine.accel.ops.NumpyOps` runs their twins anywhere); ``capture``: how a step
    is captured (default: :class:`~engine.accel.graph.CudaGraphCapture`)."""

    fuse: bool = True
    graph: bool = True
    ops: object | None = None
    capture: object | None = None


def requested(explicit=None) -> FastPath | None:
    """The fast path asked for: ``explicit`` (a bool or a :class:`FastPath`), else
    ``GPU_TRAINER_FAST=1`` in the environment; None when off."""
    if isinstance(explicit, FastPath):
        return explicit
    if explicit is None:
        explicit = os.environ.get("GPU_TRAINER_FAST", "").strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
    return FastPath() if explicit else None


class FusedStep:
    """A step whose model runs fused kernels until :meth:`close` undoes them."""

    def __init__(self, inner, fusion) -> None:
        self.inner, self.fusion = inner, fusion

    def __getattr__(self, name):  # the wrapped step's buffers, sizes and methods
        return getattr(self.inner, name)

    def close(self) -> None:
        self.fusion.undo()
        self.inner.close()


def make_fast_step(step, config: FastPath, *, shuffle: bool, batch_callbacks: bool):
    """``step`` (the eager :class:`~engine.nn.step.TrainStep`) with what ``config`` asks for
    that this run allows; ``step`` itself when nothing applies."""
    from engine.accel.fusion import Fusion
    from engine.accel.graph import CudaGraphCapture, GraphStep, unsupported
    from engine.accel.ops import ops_for

    model = step.model
    if config.ops is None and not model.backend.is_gpu:
        log.info("fast path asked for on %s: it is for GPUs", model.backend.name)
        return step
    try:
        ops = config.ops or ops_for(model.xp)
        if config.fuse:
            fusion = Fusion(model, ops)
            log.info("fast path: fused %s", ", ".join(fusion.describe()) or "nothing")
            step = FusedStep(step, fusion)
    except Exception as exc:  # noqa: BLE001 - any failure means: stay eager, say why
        log.warning("fast path off, running eager: %s: %s", type(exc).__name__, exc)
        return step
    if not config.graph:
        return step
    reason = unsupported(step, shuffle, batch_callbacks)
    if reason is None:
        try:
            return GraphStep(step, config.capture or CudaGraphCapture(), ops)
        except Exception as exc:  # noqa: BLE001 - stay eager, say why
            reason = f"{type(exc).__name__}: {exc}"
    log.info("CUDA graph off, steps run eagerly: %s", reason)
    return step
