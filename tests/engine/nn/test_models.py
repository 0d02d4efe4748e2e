"""Sequential: weights in Keras's order, config round trip, and SGD steps checked by hand and
against PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import Sequential
from engine.nn import losses
from engine.nn.layers import Dense, Dropout
from engine.nn.losses import SparseCategoricalCrossentropy
from engine.nn.optimizers import SGD
from engine.nn.regularizers import l2
from engine.nn.trainer import Trainer

RNG = np.random.default_rng(7)
X = RNG.standard_normal((8, 3)).astype(np.float32)
Y = RNG.integers(0, 2, (8, 1)).astype(np.float32)
W = [
    RNG.standard_normal((3, 4)) * 0.5,
    RNG.standard_normal(4) * 0.1,
    RNG.standard_normal((4, 1)) * 0.5,
    RNG.standard_normal(1) * 0.1,
]
LR, BATCH = 0.5, 4  # two SGD steps over the 8 rows


def _model(**compile_args):
    model = Sequential(device="cpu")
    model.add(Dense(4, activation="tanh", input_dim=3))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(**{"loss": "binary_crossentropy", "optimizer": SGD(LR), **compile_args})
    return model


def _trained_by_engine():
    model = _model()
    model.set_weights([w.astype(np.float32) for w in W])
    model.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def test_sgd_steps_match_a_hand_computation():
    k1, b1, k2, b2 = (w.astype(np.float64) for w in W)
    x, y = X.astype(np.float64), Y.astype(np.float64)
    for step in range(2):
        xb, yb = x[step * BATCH : (step + 1) * BATCH], y[step * BATCH : (step + 1) * BATCH]
        h = np.tanh(xb @ k1 + b1)
        p = 1 / (1 + np.exp(-(h @ k2 + b2)))
        dz2 = (p - yb) / len(xb)
        dh = dz2 @ k2.T * (1 - h**2)
        k2, b2 = k2 - LR * h.T @ dz2, b2 - LR * dz2.sum(0)
        k1, b1 = k1 - LR * xb.T @ dh, b1 - LR * dh.sum(0)
    for got, want in zip(_trained_by_engine(), [k1, b1, k2, b2]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_sgd_steps_match_pytorch():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for layer, kernel, bias in ((net[0], W[0], W[1]), (net[2], W[2], W[3])):
            layer.weight.copy_(torch.tensor(kernel.T))
            layer.bias.copy_(torch.tensor(bias))
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    for step in range(2):
        rows = slice(step * BATCH, (step + 1) * BATCH)
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            net(torch.tensor(X[rows])), torch.tensor(Y[rows])
        )
        loss.backward()
        optimizer.step()
    expected = [
        net[0].weight.detach().numpy().T, net[0].bias.detach().numpy(),
        net[2].weight.detach().numpy().T, net[2].bias.detach().numpy(),
    ]  # fmt: skip
    for got, want in zip(_trained_by_engine(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_weights_come_in_keras_order_and_shapes():
    model = _model()
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 1), (1,)]
    assert model.count_params() == 3 * 4 + 4 + 4 + 1
    with pytest.raises(ValueError, match="expected 4 weight arrays"):
        model.set_weights(W[:2])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([W[0].T, *W[1:]])


def test_get_weights_returns_copies():
    model = _model()
    weights = model.get_weights()
    weights[0][...] = 99
    assert not (model.get_weights()[0] == 99).any()


def test_config_round_trips_through_json():
    model = Sequential(device="cpu")
    model.add(Dense(6, activation="gelu", input_dim=3, kernel_regularizer=l2(0.01)))
    model.add(Dropout(0.25))
    model.add(Dense(3, activation="softmax", use_bias=False, kernel_initializer="glorot_normal"))
    config = json.loads(json.dumps(model.get_config()))
    clone = Sequential.from_config(config, device="cpu")
    assert clone.get_config() == model.get_config()
    assert clone.layers[-1].activation.name == "softmax"
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))


def test_predict_gives_host_probabilities():
    model = _model()
    out = model.predict(X)
    assert isinstance(out, np.ndarray) and out.shape == (8, 1) and out.dtype == np.float32
    assert ((out > 0) & (out < 1)).all()
    np.testing.assert_allclose(model.predict(X, batch_size=3), out, rtol=1e-6)


def test_evaluate_returns_loss_and_metrics():
    model = _model(metrics=["accuracy"])
    loss, accuracy = model.evaluate(X, Y, verbose=0)
    p = model.predict(X)
    expected = -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == (Y > 0.5)))
    assert isinstance(_model().evaluate(X, Y, verbose=0), float)


def test_regression_metrics():
    model = Sequential(device="cpu", seed=0)
    model.add(Dense(1, input_dim=3))
    model.compile(loss="mse", optimizer="adam", metrics=["mae", "mse", "rmse", "r2"])
    y = X @ np.array([[1.0], [2.0], [-1.0]]) + 0.5
    loss, mae, mse, rmse, r2 = model.evaluate(X, y, batch_size=3, verbose=0)
    error = model.predict(X) - y
    assert mae == pytest.approx(np.abs(error).mean(), rel=1e-5)
    assert mse == pytest.approx(loss, rel=1e-6) and rmse == pytest.approx(np.sqrt(mse))
    assert r2 == pytest.approx(1 - (error**2).sum() / ((y - y.mean()) ** 2).sum(), rel=1e-5)


def test_seeded_models_start_equal_and_initialisers_suit_the_activation():
    a, b = Sequential(seed=3, device="cpu"), Sequential(seed=3, device="cpu")
    for model in (a, b):
        model.add(Dense(5, activation="relu", input_dim=4))
        model.add(Dense(2, activation="tanh"))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert [layer.kernel_initializer for layer in a.layers] == ["he_uniform", "glorot_uniform"]


def test_summary_and_errors(capsys):
    model = _model()
    model.summary()
    out = capsys.readouterr().out
    assert "dense_1 (Dense)" in out and "Total params: 21" in out
    with pytest.raises(ValueError, match="unknown activation"):
        Dense(3, activation="swish")
    with pytest.raises(ValueError, match="unknown loss"):
        _model(loss="hinge")
    with pytest.raises(ValueError, match="column"):
        _model().fit(X, np.zeros((8, 2)), verbose=0)
    with pytest.raises(ValueError, match="compile"):
        Sequential([Dense(1, input_dim=2)], device="cpu").evaluate(X[:, :2], Y)


def _sparse_model():
    model = Sequential([Dense(3, activation="softmax", input_dim=3)], device="cpu", seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


@pytest.mark.parametrize("label, shown", [(3, "3"), (-1, "-1"), (1.5, "1.5"), (np.nan, "nan")])
def test_a_sparse_label_outside_the_outputs_is_named_when_given(label, shown):
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype=np.float64)
    y[5] = label
    message = rf"class index {shown} at row 5; .* whole numbers from 0 to 2 .* 3 units"
    with pytest.raises(ValueError, match=message):
        _sparse_model().fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        _sparse_model().evaluate(X, y, verbose=0)
    with pytest.raises(ValueError, match=message):
        Trainer(_sparse_model(), X, y)
    with pytest.raises(ValueError, match=message):
        _sparse_model().fit(X, np.zeros(8), validation_data=(X, y), verbose=0)
    with pytest.raises(ValueError, match=message):
        SparseCategoricalCrossentropy()(y, np.full((8, 3), 1 / 3))


def test_sparse_labels_are_checked_once_not_every_step(monkeypatch):
    calls = []
    check = losses.check_class_indices
    monkeypatch.setattr(losses, "check_class_indices", lambda *a: calls.append(check(*a)))
    y = np.arange(8) % 3
    _sparse_model().fit(X, y, batch_size=2, epochs=3, validation_data=(X, y), verbose=0)
    assert len(calls) == 2  # the training and the validation targets, 12 steps


def test_inputs_of_another_dtype_are_taken_as_the_models():
    """The Dense products write into buffers of the model's dtype: float64 rows given to a
    float32 model must work, and give what the same rows in float32 give."""
    model = Sequential([Dense(4, "relu", input_dim=3), Dense(1, "sigmoid")], device="cpu", seed=1)
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.build(3)
    y = model.targets(Y[:, 0], len(Y))
    x64 = X.astype(np.float64)
    np.testing.assert_array_equal(model.forward(x64), model.forward(X).copy())
    loss64, _ = model.compute_gradients(x64, y)
    grads64 = model.gradients.copy()
    loss32, _ = model.compute_gradients(X, y)
    assert float(loss64) == float(loss32)
    np.testing.assert_array_equal(grads64, model.gradients)
    assert model.evaluate_device(x64, y) == model.evaluate_device(X, y)
