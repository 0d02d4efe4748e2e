"""Keras-style ``Sequential``: a stack of layers with one flat parameter buffer.

Weights are created on first use (``build``): drawn on the host from a seeded NumPy
generator, then copied once to the device into one flat buffer ``(P,)`` that every layer
views, next to one flat gradient buffer of the same size. ``fit`` is a thin caller of
:class:`engine.nn.trainer.Trainer`.
"""

from __future__ import annotations

import functools

import numpy as np

from engine.backend import Backend, get_backend
from engine.encoded_rows import EncodedRows, dense_rows, on_backend
from engine.nn import embeddings, losses, optimizers, seeding
from engine.nn import layers as layers_module
from engine.nn import metrics as metrics_module

PREDICT_BATCH = 4096  # rows per forward pass in predict / evaluate: big enough to be cheap
# every layer class a model file's architecture may name
LAYER_CLASSES = {**layers_module.LAYERS, **embeddings.LAYERS}


def _on_device(method):
    """Run ``method`` with the model's device current (see :meth:`Backend.activate`)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.backend.activate():
            return method(self, *args, **kwargs)

    return wrapper


class Sequential:
    """Layers applied in order; ``x`` ``(n, input_dim)`` -> outputs ``(n, units of last)``.

    ``seed`` fixes the initial weights and dropout masks; without one, a
    :class:`~engine.nn.trainer.Trainer` that builds the model seeds them with its own seed.
    ``dtype`` is float32 for training; float64 serves gradient checks.
    """

    def __init__(
        self,
        layers=None,
        device: str | None = None,
        seed: int | None = None,
        dtype="float32",
        name: str = "sequential",
    ):
        self.backend: Backend = get_backend(device)
        self.xp = self.backend.xp
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.name = name
        self.layers: list = []
        self.loss = self.optimizer = None
        self.metrics: list = []
        self.stop_training = False
        self.history = None
        self._params = self._grads = None
        for layer in layers or []:
            self.add(layer)

    # -- structure -------------------------------------------------------------------------

    def add(self, layer) -> None:
        if self.built:
            raise ValueError("layers cannot be added once the model has weights")
        if layer.name is None:
            count = sum(1 for other in self.layers if other.kind == layer.kind)
            layer.name = layer.kind if count == 0 else f"{layer.kind}_{count}"
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        return self._params is not None

    @property
    def input_dim(self) -> int | None:
        """Input width: the first Dense layer's (or a layer before it) once known."""
        for layer in self.layers:
            width = layer.input_dim or getattr(layer, "declared_input_dim", None)
            if width is not None or isinstance(layer, layers_module.Dense):
                return width
        return None

    @_on_device
    def build(self, input_dim: int | None = None, seed: int | None = None) -> None:
        """Create the weights (no-op when they exist). ``seed`` applies when ``self.seed``
        is None."""
        if self.built:
            width = self.layers[0].input_dim
            if input_dim is not None and input_dim != width:
                raise ValueError(f"the model takes {width} inputs; the data has {input_dim}")
            return
        if not any(isinstance(layer, layers_module.Dense) for layer in self.layers):
            raise ValueError("the model needs at least one Dense layer")
        width = self.input_dim if self.input_dim is not None else input_dim
        if width is None:
            raise ValueError("give the first layer an input_dim, or fit the model on data")
        for layer in self.layers:
            width = layer.build(width)
        seed = seeding.resolve(self.seed if self.seed is not None else seed)
        host_rng = np.random.default_rng(seeding.stream_seed(seed, "weights"))
        initial = [
            w for layer in self.layers if layer.n_params for w in layer.initial_weights(host_rng)
        ]
        flat = np.concatenate([w.reshape(-1) for w in initial])
        xp = self.xp
        self._params = self.backend.asarray(flat, dtype=self.dtype)
        self._grads = xp.zeros_like(self._params)
        device_rng = self._dropout_rng = xp.random.default_rng(seeding.stream_seed(seed, "dropout"))
        offset = 0
        for layer in self.layers:
            end = offset + layer.n_params
            layer.bind(xp, self._params[offset:end], self._grads[offset:end], device_rng)
            offset = end

    def get_rng_state(self) -> dict | None:
        """The dropout generator's state (NumPy's; None on CuPy, whose generators keep theirs
        on the device)."""
        self.build()
        state = getattr(self._dropout_rng, "bit_generator", None)
        return None if state is None or self.backend.is_gpu else state.state

    def set_rng_state(self, state: dict | None) -> None:
        if state is not None and not self.backend.is_gpu:
            self.build()
            self._dropout_rng.bit_generator.state = state

    def count_params(self) -> int:
        """Weights and biases: the layers' own counts (no weights are made to count them)."""
        if self.built:
            return int(self._params.size)
        width = self.input_dim
        if width is None:
            raise ValueError("give the first layer an input_dim, or fit the model on data")
        total = 0
        for layer in self.layers:
            width = layer.build(width)
            total += layer.n_params
        return total

    # -- compile / train -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Strings (Keras's names) or objects from :mod:`engine.nn.optimizers`,
        :mod:`engine.nn.losses` and :mod:`engine.nn.metrics`."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mse'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        units = self.layers[-1].output_dim or getattr(self.layers[-1], "units", 1)
        self.metrics = [metrics_module.get(m, self.loss.name, units) for m in metrics or []]

    @property
    def compiled(self) -> bool:
        return self.loss is not None

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self.metrics)]

    def fit(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose="auto",
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
    ):
        """Train; returns a :class:`~engine.nn.callbacks.History` (``.history``: per-epoch lists).

        ``validation_split`` holds out the last fraction of the rows, before shuffling, as Keras.
        """
        from engine.nn.callbacks import EpochLogger
        from engine.nn.trainer import Trainer

        x, y = np.asarray(x), np.asarray(y)
        if validation_data is None and validation_split > 0:
            cut = int(len(x) * (1.0 - validation_split))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        callbacks = list(callbacks or [])
        if verbose:
            callbacks.append(EpochLogger(epochs))
        trainer = Trainer(
            self, x, y, epochs=epochs, batch_size=batch_size or 32,
            validation_data=validation_data, shuffle=shuffle, seed=self.seed,
            callbacks=callbacks,
        )  # fmt: skip
        for _ in trainer:
            pass
        self.history = trainer.history_callback
        return self.history

    def evaluate(self, x, y, batch_size: int | None = None, verbose="auto"):
        """``[loss, *metrics]`` on ``(x, y)``, or the loss alone without metrics."""
        self._check_compiled()
        self.build(x.shape[-1] if isinstance(x, EncodedRows) else np.shape(x)[-1])
        x_dev = on_backend(x, self.backend, self.dtype)
        logs = self.evaluate_device(x_dev, self.targets(y, len(x_dev)), batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        values = list(logs.values())
        return values if len(values) > 1 else values[0]

    @_on_device
    def predict(self, x, batch_size: int | None = None, verbose=0) -> np.ndarray:
        """Host float array ``(n, units of last)``: probabilities for sigmoid/softmax heads."""
        if not isinstance(x, EncodedRows):
            x = np.asarray(x)
        self.build(x.shape[-1])
        chunk = batch_size or PREDICT_BATCH
        out = np.empty((len(x), self.layers[-1].output_dim), dtype=self.dtype)
        for start in range(0, len(x), chunk):
            x_dev = self.backend.asarray(dense_rows(x, start, start + chunk), dtype=self.dtype)
            out[start : start + chunk] = self.backend.asnumpy(self.forward(x_dev))
        return out

    def __call__(self, x) -> np.ndarray:
        return self.predict(x)

    # -- the computation the trainer drives --------------------------------------------------

    def forward(self, x, training: bool = False):
        """Device ``x`` ``(n, in)`` -> the last layer's output ``(n, out)`` (a work buffer);
        ``x`` of another dtype is converted to the model's (the layers' products write into
        buffers of the model's dtype)."""
        if x.dtype != self.dtype:
            x = self.xp.asarray(x, dtype=self.dtype)
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    @property
    def parameters(self):
        """The flat device parameter buffer ``(P,)`` every layer's weights are views of."""
        self.build()
        return self._params

    @property
    def gradients(self):
        """The flat device gradient buffer ``(P,)``, filled by :meth:`compute_gradients`."""
        self.build()
        return self._grads

    def compute_gradients(self, x, y):
        """Forward and backward on device ``x`` ``(n, in)``, ``y`` (see :meth:`targets`).

        Fills :attr:`gradients`; returns ``(loss, outputs)``: the mean loss as a device scalar
        (regularisation included) and the outputs ``(n, out)`` (a work buffer).
        """
        a = self.forward(x, training=True)
        grad = self._loss_grad_buffer(a.shape)
        last = self.layers[-1]
        fused = self._fused
        if fused:
            loss = self.loss.logits_value_and_grad(y, last.z, last.a, grad)
        else:
            loss = self.loss.value_and_grad(y, a, grad)
        penalty = self.penalty()
        if penalty is not None:
            loss = loss + penalty
        for i in range(len(self.layers) - 1, -1, -1):
            through = not (fused and i == len(self.layers) - 1)
            grad = self.layers[i].backward(grad, input_grad=i > 0, through_activation=through)
        return loss, a

    def train_step(self, x, y):
        """:meth:`compute_gradients`, then one optimizer update; returns ``(loss, outputs)``
        with the outputs from before the update."""
        loss, a = self.compute_gradients(x, y)
        self.optimizer.step(self._params, self._grads)
        return loss, a

    @_on_device
    def evaluate_device(self, x, y, batch_size: int | None = None) -> dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` on device arrays, with one read-back at the end."""
        xp, chunk = self.xp, batch_size or PREDICT_BATCH
        n = x.shape[0]
        if n == 0:
            raise ValueError("cannot evaluate on 0 rows")
        loss_sum = xp.zeros((), dtype=xp.float64)
        stats = [None] * len(self.metrics)
        last = self.layers[-1]
        for start in range(0, n, chunk):
            xb, yb = dense_rows(x, start, start + chunk), y[start : start + chunk]
            a = self.forward(xb)
            z = last.z if self._fused else None
            loss_sum += self.loss.value(yb, a, z) * xb.shape[0]
            for i, metric in enumerate(self.metrics):
                s = metric.stats(yb, a).astype(xp.float64)
                stats[i] = s if stats[i] is None else stats[i] + s
        penalty = self.penalty()
        if penalty is not None:
            loss_sum += penalty * n
        logs = {"loss": float(loss_sum) / n}
        for metric, total in zip(self.metrics, stats):
            logs[metric.name] = metric.result(np.atleast_1d(self.backend.asnumpy(total)), n)
        return logs

    def penalty(self):
        """Device scalar: the sum of the layers' regularisation losses, or None."""
        total = None
        for layer in self.layers:
            p = layer.penalty()
            if p is not None:
                total = p if total is None else total + p
        return total

    def targets(self, y, n: int):
        """Device targets: ``(n,)`` class indices for the sparse loss, else ``(n, out)``.

        Checked here, once, when targets are given (``fit``, ``evaluate``, a Trainer): a
        class index outside the outputs would otherwise train as an all-zero one-hot row.
        """
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"x has {n} rows but y has {len(y)}")
        if self.loss.name == "sparse_categorical_crossentropy":
            y = y.reshape(n)
            losses.check_class_indices(y, self.layers[-1].output_dim)
        else:
            units = self.layers[-1].output_dim
            y = y.reshape(n, -1)
            if y.shape[1] != units:
                raise ValueError(
                    f"y has {y.shape[1]} column(s) but the last layer has {units} output(s)"
                )
        return self.backend.asarray(y, dtype=self.dtype)

    @property
    def _fused(self) -> bool:
        last = self.layers[-1]
        return (
            isinstance(last, layers_module.Dense)
            and last.activation.name == self.loss.fused_activation
        )

    def work_buffers(self) -> list:
        """Every work buffer a training step writes: the layers' and the loss gradient's."""
        found = [buf for layer in self.layers for buf in layer.work_buffers()]
        grad = getattr(self, "_grad_out", None)
        return found if grad is None else [grad, *found]

    def _loss_grad_buffer(self, shape):
        buf = getattr(self, "_grad_out", None)
        if buf is None or buf.shape[0] < shape[0]:
            buf = self._grad_out = self.xp.empty(shape, dtype=self.dtype)
        return buf[: shape[0]]

    def _check_compiled(self) -> None:
        if not self.compiled:
            raise ValueError("compile the model first: model.compile(loss=..., optimizer=...)")

    # -- weights and config ----------------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Host copies, layer by layer (Dense: kernel ``(in, out)``, then bias ``(out,)``)."""
        self.build()
        return [np.array(self.backend.asnumpy(w)) for layer in self.layers for w in layer.weights()]

    @_on_device
    def set_weights(self, weights) -> None:
        """The inverse of :meth:`get_weights`: same count, order and shapes."""
        self.build()
        views = [w for layer in self.layers for w in layer.weights()]
        if len(weights) != len(views):
            raise ValueError(f"expected {len(views)} weight arrays, got {len(weights)}")
        for i, (view, value) in enumerate(zip(views, weights)):
            if tuple(np.shape(value)) != view.shape:
                raise ValueError(
                    f"weight {i} has shape {tuple(np.shape(value))}, expected {view.shape}"
                )
            view[...] = self.backend.asarray(value, dtype=self.dtype)

    def get_config(self) -> dict:
        """JSON-safe architecture: ``{"name", "dtype", "layers": [{"class_name", "config"}]}``."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: dict, device: str | None = None) -> Sequential:
        model = cls(
            device=device,
            dtype=config.get("dtype", "float32"),
            name=config.get("name", "sequential"),
        )
        for spec in config["layers"]:
            layer_cls = LAYER_CLASSES.get(spec["class_name"])
            if layer_cls is None:
                raise ValueError(f"unknown layer type {spec['class_name']!r}")
            model.add(layer_cls(**spec["config"]))
        return model

    def summary(self, print_fn=print) -> None:
        self.build()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            rows.append(
                (f"{layer.name} ({type(layer).__name__})", f"(None, {layer.output_dim})",
                 f"{layer.n_params:,}")
            )  # fmt: skip
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(rule)
        for i, row in enumerate(rows):
            print_fn("".join(cell.ljust(w) for cell, w in zip(row, widths)))
            if i == 0:
                print_fn(rule)
        print_fn(rule)
        print_fn(f"Total params: {self.count_params():,}")

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, device={self.backend.device!r})"
