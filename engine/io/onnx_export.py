"""Export a model file to ONNX, with the preprocessing inside the graph.

The graph takes the raw feature columns as named inputs of shape ``(N, 1)``: numeric columns
as float32 (NaN or ±inf = missing), categorical columns as strings ("" = missing). Inside:

- numeric: ±inf -> NaN, ``ai.onnx.ml.Imputer`` (the training median), ``ai.onnx.ml.Scaler``
  (the training mean and standard deviation);
- categorical: ``ai.onnx.ml.LabelEncoder`` maps each category to its one-hot slot ("" to the
  most frequent category's, rare categories to the shared "other" slot, unseen ones to -1),
  then ``ai.onnx.ml.OneHotEncoder`` (-1 gives all zeros);
- the network: ``MatMul`` + ``Add`` and the activation of each Dense layer (Dropout is the
  identity at inference);
- the head: ``label`` ``(N,)`` with the original class names and ``probabilities``
  ``(N, n_classes)`` for classification; ``value`` ``(N,)`` in the target's units for
  regression.

The batch dimension is dynamic. Built with the ``onnx`` helpers, checked by ``onnx.checker``.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import UserError
from engine.io.atomic import write_bytes

OPSET = 17  # ai.onnx; broadly supported by onnxruntime (1.13 and later)
ML_OPSET = 3  # ai.onnx.ml
OUTPUT_NAMES = ("label", "probabilities", "value")


class _Graph:
    """Accumulates nodes and constant tensors with unique names."""

    def __init__(self):
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, hint: str) -> str:
        """A fresh internal name; the prefix keeps it apart from any column name."""
        self._count += 1
        return f"gpu_trainer/{hint}_{self._count}"

    def const(self, hint: str, value, dtype=np.float32) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        array = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        from onnx import helper

        domain = attrs.pop("domain", "")
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], domain=domain, **attrs))
        return out


def build_onnx(predictor):
    """An ``onnx.ModelProto`` equivalent to ``predictor.predict`` (an engine Predictor)."""
    from onnx import TensorProto, checker, helper

    clash = sorted(set(predictor.pipeline.input_columns) & set(OUTPUT_NAMES))
    if clash:
        raise UserError(
            f"column {clash[0]!r} has the name of an ONNX output ({', '.join(OUTPUT_NAMES)}); "
            "rename the column and train again to export"
        )
    g = _Graph()
    inputs, features = [], []
    numeric = predictor.pipeline.preprocessor.numeric
    categorical = predictor.pipeline.preprocessor.categorical
    for stats in numeric:
        inputs.append(helper.make_tensor_value_info(stats.name, TensorProto.FLOAT, ["N", 1]))
    for stats in categorical:
        inputs.append(helper.make_tensor_value_info(stats.name, TensorProto.STRING, ["N", 1]))
    if numeric:
        features.append(_numeric_block(g, numeric))
    features += [_one_hot_block(g, stats) for stats in categorical]
    x = features[0] if len(features) == 1 else g.op("Concat", features, "features", axis=1)
    x, last_activation = _network(g, x, predictor.model)
    outputs = _head(g, x, predictor.pipeline.target, last_activation)
    graph = helper.make_graph(
        g.nodes,
        "gpu_trainer",
        inputs,
        [helper.make_tensor_value_info(name, dtype, shape) for name, dtype, shape in outputs],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        producer_name="gpu-trainer",
        ir_version=8,
    )
    model.doc_string = f"GPU Trainer model predicting {predictor.pipeline.target_name!r}"
    checker.check_model(model, full_check=True)
    return model


def _numeric_block(g: _Graph, numeric) -> str:
    """Raw numeric columns -> imputed, standardised float32 ``(N, k)``."""
    x = g.op("Concat", [s.name for s in numeric], "numeric", axis=1) if len(numeric) > 1 else None
    x = x or numeric[0].name
    nan = g.const("nan", np.full((1,), np.nan))
    x = g.op("Where", [g.op("IsInf", [x]), nan, x], "finite")
    x = g.op(
        "Imputer",
        [x],
        "imputed",
        domain="ai.onnx.ml",
        imputed_value_floats=[float(s.median) for s in numeric],
        replaced_value_float=math.nan,
    )
    return g.op(
        "Scaler",
        [x],
        "scaled",
        domain="ai.onnx.ml",
        offset=[float(s.mean) for s in numeric],
        scale=[1.0 / float(s.std) for s in numeric],
    )


def _one_hot_block(g: _Graph, stats) -> str:
    """A raw string column ``(N, 1)`` -> its one-hot block float32 ``(N, width)``."""
    slot = stats.slots()
    keys = list(slot)
    codes = g.op(
        "LabelEncoder",
        [stats.name],
        f"{stats.name}_code",
        domain="ai.onnx.ml",
        keys_strings=keys,
        values_int64s=[slot[k] for k in keys],
        default_int64=-1,
    )
    one_hot = g.op(
        "OneHotEncoder",
        [codes],
        f"{stats.name}_onehot",
        domain="ai.onnx.ml",
        cats_int64s=list(range(stats.width)),
        zeros=1,
    )
    return g.op("Reshape", [one_hot, g.const("shape", [-1, stats.width], np.int64)])


def _network(g: _Graph, x: str, model) -> tuple[str, str]:
    """Dense layers with their activations; returns the output and the last activation."""
    activation = "linear"
    for layer in model.layers:
        config = layer.get_config()
        if "units" not in config:  # Dropout: the identity at inference
            continue
        weights = [np.asarray(w, dtype=np.float32) for w in _host(layer.weights())]
        x = g.op("MatMul", [x, g.const("kernel", weights[0])])
        if len(weights) > 1:
            x = g.op("Add", [x, g.const("bias", weights[1])])
        activation = config["activation"]
        x = _activation(g, x, activation)
    return x, activation


def _host(arrays) -> list[np.ndarray]:
    from engine.backend import to_numpy

    return [to_numpy(a) for a in arrays]


def _activation(g: _Graph, x: str, name: str) -> str:
    if name == "linear":
        return x
    simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "elu": "Elu"}
    if name in simple:
        return g.op(simple[name], [x])
    if name == "leaky_relu":
        from engine.nn.activations import LeakyReLU

        return g.op("LeakyRelu", [x], alpha=LeakyReLU.alpha)
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "gelu":  # the tanh approximation, as the engine computes it
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const("k", 0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.const("c", math.sqrt(2.0 / math.pi))])])
        half_x = g.op("Mul", [x, g.const("half", 0.5)])
        return g.op("Mul", [half_x, g.op("Add", [t, g.const("one", 1.0)])])
    raise UserError(f"activation {name!r} has no ONNX export yet")


def _head(g: _Graph, x: str, target, last_activation: str) -> list[tuple]:
    """The outputs: (name, element type, shape) triples, after adding their nodes."""
    from onnx import TensorProto, helper

    if target.task == "regression":
        value = g.op(
            "Add", [g.op("Mul", [x, g.const("std", target.std)]), g.const("mean", target.mean)]
        )
        flat = g.const("flat", [-1], np.int64)
        g.nodes.append(helper.make_node("Reshape", [value, flat], ["value"]))
        return [("value", TensorProto.FLOAT, ["N"])]
    if last_activation not in ("sigmoid", "softmax"):
        raise UserError(
            f"a classifier must end in sigmoid or softmax to export, not {last_activation!r}"
        )
    if len(target.labels) == 2 and last_activation == "sigmoid":
        p = x
        x = g.op("Concat", [g.op("Sub", [g.const("one", [[1.0]]), p]), p], "two_class", axis=1)
    g.nodes.append(helper.make_node("Identity", [x], ["probabilities"]))
    index = g.op("ArgMax", ["probabilities"], "class_index", axis=1, keepdims=0)
    labels, label_type = _label_tensor(target.labels)
    g.nodes.append(helper.make_node("Gather", [g.const("labels", labels, None), index], ["label"]))
    return [
        ("label", label_type, ["N"]),
        ("probabilities", TensorProto.FLOAT, ["N", len(target.labels)]),
    ]


def _label_tensor(labels: list) -> tuple[np.ndarray, int]:
    """Integer labels stay int64; anything else (text, booleans, mixtures) becomes text."""
    from onnx import TensorProto

    if all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return np.asarray(labels, dtype=np.int64), TensorProto.INT64
    from engine.data.values import category_name

    return np.asarray([category_name(v) for v in labels], dtype=object), TensorProto.STRING


def export_onnx(model_path, out_path):
    """Load the model file at ``model_path`` and write its ONNX graph to ``out_path``
    atomically (a temporary name in the same folder, then a rename); returns the graph."""
    from engine.io.predictor import load_model

    predictor = load_model(model_path)
    model = build_onnx(predictor)
    write_bytes(out_path, model.SerializeToString())
    return model
