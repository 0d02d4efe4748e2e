"""The fast path's fused kernels: their NumPy twins equal the eager engine, the fast-path
wiring trains exactly like eager on NumPy, the CUDA source compiles (nvcc), and, on a GPU,
the kernels equal their twins and fast training equals eager within float32 tolerance."""

from __future__ import annotations

import logging
import shutil
import subprocess

import numpy as np
import pytest

from engine import Sequential, Trainer
from engine.accel import FastPath, kernels, requested
from engine.accel.fusion import FusedActivation, FusedOptimizer
from engine.accel.graph import NumpyCapture
from engine.accel.ops import CupyOps, NumpyOps
from engine.nn.activations import get as get_activation
from engine.nn.layers import Dense
from engine.nn.optimizers import SGD, Adam, AdamW

RNG = np.random.default_rng(0)
X = RNG.standard_normal((256, 6)).astype(np.float32)
Y = (X[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)


@pytest.mark.parametrize("name", list(kernels.ACTIVATION_CODES))
def test_activation_twins_equal_the_eager_activations(name):
    kind = kernels.ACTIVATION_CODES[name]
    activation = get_activation(name)
    z = RNG.standard_normal((64, 9)).astype(np.float32) * 3
    bias = RNG.standard_normal(9).astype(np.float32)
    eager_z = z + bias
    eager_a = activation.forward(eager_z, eager_z.copy())
    twin_z, twin_a = z.copy(), np.empty_like(z)
    kernels.bias_act_forward_reference(bias, twin_z, twin_a, kind)
    np.testing.assert_allclose(twin_z, eager_z, rtol=1e-6)
    np.testing.assert_allclose(twin_a, eager_a, rtol=1e-5, atol=1e-6)
    grad = RNG.standard_normal(z.shape).astype(np.float32)
    eager_grad = activation.backward(grad.copy(), eager_z, eager_a)
    twin_grad = grad.copy()
    kernels.act_backward_reference(twin_grad, twin_z, twin_a, kind)
    np.testing.assert_allclose(twin_grad, eager_grad, rtol=1e-5, atol=1e-6)


def _model(optimizer, activation="relu"):
    model = Sequential(device="cpu", seed=4)
    model.add(Dense(16, activation=activation, input_dim=6))
    model.add(Dense(8, activation="tanh"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


# on NumPy: the kernels' twins, the same wiring as on a GPU
FUSED = FastPath(graph=False, ops=NumpyOps())
CAPTURED = FastPath(fuse=False, ops=NumpyOps(), capture=NumpyCapture())
FUSED_AND_CAPTURED = FastPath(ops=NumpyOps(), capture=NumpyCapture())


def _train(optimizer, fast: bool, activation="relu", lr_change=None):
    model = _model(optimizer, activation)
    trainer = Trainer(model, X, Y, epochs=3, batch_size=32, seed=1, validation_data=(X, Y),
                      fast_path=FUSED if fast else False)  # fmt: skip
    if fast:
        assert isinstance(model.optimizer, FusedOptimizer)
    for record in trainer:
        if lr_change and record.step == lr_change[0]:
            trainer.learning_rate = lr_change[1]
    return model.get_weights(), trainer.history


OPTIMIZERS = {
    "adam": lambda: Adam(1e-2),
    "adamw": lambda: AdamW(1e-2, weight_decay=0.01),
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: SGD(0.05, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("activation", ["relu", "gelu", "elu"])
def test_fast_path_wiring_trains_like_eager(name, activation):
    eager_w, eager_h = _train(OPTIMIZERS[name](), False, activation)
    fast_w, fast_h = _train(OPTIMIZERS[name](), True, activation)
    for a, b in zip(eager_w, fast_w):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast_h["loss"], eager_h["loss"], rtol=1e-4)


def test_learning_rate_changes_reach_the_device_copy():
    eager_w, _ = _train(Adam(1e-2), False, lr_change=(5, 1e-3))
    fast_w, _ = _train(Adam(1e-2), True, lr_change=(5, 1e-3))
    for a, b in zip(eager_w, fast_w):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_what_cannot_be_fused_stays_eager(caplog):
    model = Sequential(device="cpu", seed=0)
    model.add(Dense(4, activation="softmax", input_dim=6))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    with caplog.at_level(logging.INFO, logger="engine.accel"):
        Trainer(model, X, np.eye(4, dtype=np.float32)[(X[:, 0] > 0).astype(int)], fast_path=FUSED)
    assert "fused nothing" in caplog.text
    assert not isinstance(model.layers[0].activation, FusedActivation)
    assert type(model.optimizer).__name__ == "RMSprop"


def test_a_failure_to_enable_leaves_the_model_eager(caplog):
    model = Sequential(device="cpu", seed=0, dtype="float64")  # the kernels are float32
    model.add(Dense(4, activation="relu", input_dim=6))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    with caplog.at_level(logging.WARNING, logger="engine.accel"):
        trainer = Trainer(model, X, Y, epochs=1, fast_path=FUSED)
    assert "float32" in caplog.text and "eager" in caplog.text
    assert trainer.fast_path is False and isinstance(model.optimizer, Adam)
    assert not isinstance(model.layers[0].activation, FusedActivation)
    list(trainer)


def test_off_by_default_and_never_on_the_cpu(monkeypatch, caplog):
    monkeypatch.delenv("GPU_TRAINER_FAST", raising=False)
    assert requested() is None
    monkeypatch.setenv("GPU_TRAINER_FAST", "1")
    assert requested() == FastPath() and requested(False) is None
    with caplog.at_level(logging.INFO, logger="engine.accel"):
        trainer = Trainer(_model("adam"), X, Y, epochs=1)
    assert trainer.fast_path is False and "for GPUs" in caplog.text
    assert isinstance(trainer.model.optimizer, Adam)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_the_cuda_source_compiles(tmp_path, arch):
    """The kernels are NVRTC-compiled by CuPy at run time; nvcc checks the same source here."""
    source = tmp_path / "kernels.cu"
    source.write_text(kernels.SOURCE)
    done = subprocess.run(
        ["nvcc", "-std=c++14", f"-arch={arch}", "-c", str(source), "-o", str(tmp_path / "f.o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr


# -- on a GPU ------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(kernels.ACTIVATION_CODES))
def test_cuda_activation_kernels_equal_their_twins(name):
    import cupy

    kind, ops = kernels.ACTIVATION_CODES[name], CupyOps()
    z = (RNG.standard_normal((300, 17)) * 3).astype(np.float32)
    bias = RNG.standard_normal(17).astype(np.float32)
    grad = RNG.standard_normal(z.shape).astype(np.float32)
    twin_z, twin_a, twin_g = z.copy(), np.empty_like(z), grad.copy()
    kernels.bias_act_forward_reference(bias, twin_z, twin_a, kind)
    kernels.act_backward_reference(twin_g, twin_z, twin_a, kind)
    dz, da, dg = cupy.asarray(z), cupy.empty(z.shape, np.float32), cupy.asarray(grad)
    ops.bias_act_forward(cupy.asarray(bias), dz, da, kind)
    ops.act_backward(dg, dz, da, kind)
    np.testing.assert_allclose(dz.get(), twin_z, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(da.get(), twin_a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dg.get(), twin_g, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fast_training_on_the_gpu_equals_eager(name):
    weights = []
    for fast in (False, True):
        model = Sequential(device="gpu", seed=4)
        model.add(Dense(32, activation="relu", input_dim=6))
        model.add(Dense(16, activation="gelu"))
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer=OPTIMIZERS[name]())
        trainer = Trainer(model, X, Y, epochs=3, batch_size=32, seed=1, fast_path=fast)
        assert trainer.fast_path is fast  # (until the run ends: then the model is eager again)
        for record in trainer:
            if record.step == 10:
                trainer.learning_rate = trainer.learning_rate / 2
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)


def test_tf32_is_off_by_default_and_set_before_or_after_the_first_matmul(monkeypatch):
    import sys
    import types

    from engine.backend import set_tf32

    monkeypatch.delenv("CUPY_TF32", raising=False)
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    set_tf32(False)
    assert __import__("os").environ["CUPY_TF32"] == "0"  # read by CuPy at its first matmul
    calls = []
    linalg = types.SimpleNamespace(
        COMPUTE_TYPE_TF32="tf32", COMPUTE_TYPE_DEFAULT="default",
        set_compute_type=lambda dtype, kind: calls.append((np.dtype(dtype), kind)),
    )  # fmt: skip
    core = types.ModuleType("cupy._core")
    core._routines_linalg = linalg
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    monkeypatch.setitem(sys.modules, "cupy._core", core)
    monkeypatch.setitem(sys.modules, "cupy._core._routines_linalg", linalg)
    set_tf32(True)  # CuPy already imported: its compute type is switched as well
    assert __import__("os").environ["CUPY_TF32"] == "1"
    assert calls == [(np.dtype(np.float32), "tf32")]


# -- the captured step (CUDA graph) ---------------------------------------------------------


def _graph_run(capture: bool, fast: bool, n: int = 250):
    config = {(False, False): False, (False, True): FUSED, (True, False): CAPTURED,
              (True, True): FUSED_AND_CAPTURED}[capture, fast]  # fmt: skip
    model = _model(Adam(1e-2), "relu")
    trainer = Trainer(model, X[:n], Y[:n], epochs=3, batch_size=32, seed=1,
                      validation_data=(X, Y), fast_path=config)  # fmt: skip
    if capture:
        assert hasattr(trainer.train_function, "graph")
    records = list(trainer)
    steps, losses = trainer.drain_losses()
    if fast:  # the device step counter counted every update, replayed or not
        assert model.optimizer.iterations == len(records)
    return model.get_weights(), trainer.history, losses, records


@pytest.mark.parametrize("fast", [False, True])
def test_a_replayed_step_trains_exactly_like_eager(fast):
    """The step as a graph keeps its batch number, order, sums and losses on the device;
    replayed (here: on NumPy), it must give what the eager loop gives, ragged batch included."""
    eager_w, eager_h, eager_l, eager_r = _graph_run(False, fast)
    graph_w, graph_h, graph_l, graph_r = _graph_run(True, fast)
    assert len(graph_r) == len(eager_r) == 3 * 8  # 250 rows: 7 full batches and 26 rows
    for a, b in zip(eager_w, graph_w):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(graph_l, eager_l)
    assert graph_h == eager_h


def test_steps_that_cannot_be_captured_say_why(caplog):
    from engine.nn.layers import Dropout

    model = Sequential(device="cpu", seed=0)
    model.add(Dense(8, activation="relu", input_dim=6))
    model.add(Dropout(0.2))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    with caplog.at_level(logging.INFO, logger="engine.accel"):
        trainer = Trainer(model, X, Y, epochs=1, fast_path=CAPTURED)
    assert not hasattr(trainer.train_function, "graph")
    assert "Dropout" in caplog.text
    list(trainer)  # and it trains eagerly


def test_a_failed_capture_leaves_the_step_eager(caplog):
    class Broken(NumpyCapture):
        def capture(self, body):
            raise RuntimeError("operation not permitted when stream is capturing")

    eager_w, *_ = _graph_run(False, False)
    model = _model(Adam(1e-2), "relu")
    broken = FastPath(fuse=False, ops=NumpyOps(), capture=Broken())
    trainer = Trainer(model, X[:250], Y[:250], epochs=3, batch_size=32, seed=1,
                      validation_data=(X, Y), fast_path=broken)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="engine.accel"):
        list(trainer)
    assert "stays eager" in caplog.text and "not permitted" in caplog.text
    for a, b in zip(eager_w, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.gpu
def test_graph_replay_on_the_gpu_equals_eager():
    weights = []
    for fast in (False, True):
        model = Sequential(device="gpu", seed=4)
        model.add(Dense(32, activation="relu", input_dim=6))
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer=Adam(1e-2), metrics=["accuracy"])
        trainer = Trainer(model, X[:250], Y[:250], epochs=3, batch_size=32, seed=1,
                          validation_data=(X, Y), fast_path=fast)  # fmt: skip
        graph = trainer.train_function
        assert hasattr(graph, "graph") is fast
        list(trainer)
        if fast:
            assert graph.failed is None, graph.failed
            assert graph.graph is not None  # captured and replayed
        weights.append((model.get_weights(), trainer.history))
    (w0, h0), (w1, h1) = weights
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1["accuracy"], h0["accuracy"], atol=1e-6)


def test_the_graph_holds_the_work_buffers_it_was_captured_with():
    """Validation grows the layers' buffers past the batch; the captured ones must stay
    alive (on a GPU, freed memory would be handed to other arrays while the graph writes)."""
    model = _model(Adam(1e-2), "relu")
    trainer = Trainer(model, X[:250], Y[:250], epochs=2, batch_size=32, seed=1,
                      validation_data=(X, Y), fast_path=CAPTURED)  # fmt: skip
    graph = trainer.train_function
    trainer.step()  # the first full batch: run, then captured
    held = {id(b) for b in graph.kept}
    captured = graph.work_buffers()
    assert captured and {id(b) for b in captured} == held
    for _ in range(trainer.steps_per_epoch - 1):  # validation (256 rows) at the epoch's end
        trainer.step()  # replaces the 32-row buffers
    assert {id(b) for b in graph.work_buffers()} != held
    assert {id(b) for b in graph.kept} == held


def test_after_a_fast_run_the_model_is_eager_and_keeps_its_optimizer_state():
    """Training on after a fast run continues Adam's moments and step count, eagerly."""
    model = _model(Adam(1e-2))
    trainer = Trainer(model, X, Y, epochs=1, batch_size=32, seed=1, fast_path=FUSED)
    assert trainer.fast_path is True
    list(trainer)
    assert isinstance(model.optimizer, Adam) and model.optimizer.iterations == 8
    assert not any(isinstance(layer.activation, FusedActivation) for layer in model.layers)
    continued = Trainer(model, X, Y, epochs=1, batch_size=32, seed=2)
    list(continued)
    reference = _model(Adam(1e-2))
    list(Trainer(reference, X, Y, epochs=1, batch_size=32, seed=1))
    list(Trainer(reference, X, Y, epochs=1, batch_size=32, seed=2))
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_a_fused_optimizer_starts_from_the_eager_moments():
    eager = _model(Adam(1e-2))
    list(Trainer(eager, X, Y, epochs=1, batch_size=32, seed=1))
    fused_opt = FusedOptimizer(eager.optimizer, np, NumpyOps())
    assert fused_opt.iterations == 8
    state = eager.optimizer.get_state()
    np.testing.assert_array_equal(fused_opt.moments[0], state["m"])
    np.testing.assert_array_equal(fused_opt.moments[1], state["v"])


def test_relu_keeps_nan_as_the_eager_code_does():
    z = np.array([[np.nan, -1.0, 2.0]], dtype=np.float32)
    for name in ("relu", "elu", "leaky_relu"):
        kind = kernels.ACTIVATION_CODES[name]
        assert np.isnan(kernels.act_forward_reference(kind, z)[0, 0]), name
