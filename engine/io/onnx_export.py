"""Export a model file to ONNX, with the preprocessing inside the graph.

The graph takes the raw feature columns as named inputs of shape ``(N, 1)``, as a CSV holds
them: numeric columns as float64 (NaN, ±inf = missing), categorical columns as the cell's
text, untouched. Inside:

- numeric: the engine's standardisation (:func:`engine.data.scaling.standardise`) in
  float64, op for op, missing values as the median's standardised value, then float32, so
  a column such as timestamps near 1.7e9 keeps its seconds;
- categorical: each cell read as the engine reads it (:mod:`engine.data.values`) by
  ``RegexFullMatch``, one pattern per one-hot column: a missing marker or blank is the
  most frequent category; otherwise, spaces around it ignored, a category's name, a
  boolean spelling of it ('True', 'TRUE', '1' for 'true'), or a decimal number whose
  category is known ('3.0' for '3'); anything else is a category unseen in training (all
  zeros, as in the engine);
- target-encoded categorical columns (many values): the cell read as for one-hot, over all
  of its training categories, then ``MatMul`` by their encodings; an unseen value gets the
  prior (the training target mean), as in the engine;
- date columns: not exported (a graph cannot read date text); the export is refused;
- the network: ``MatMul`` + ``Add`` and the activation of each Dense layer (Dropout is the
  identity at inference);
- the head: ``label`` ``(N,)`` with the original class names (two classes: the second
  where its probability is above the model file's threshold) and ``probabilities``
  ``(N, n_classes)`` for classification; ``value`` ``(N,)`` float64 in the target's units
  for regression.

The batch dimension is dynamic. Built with the ``onnx`` helpers, checked by ``onnx.checker``.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import UserError
from engine.io.atomic import write_bytes

# ai.onnx 20, for RegexFullMatch (the only way to ignore the spaces around a cell's text in
# a graph): onnxruntime 1.17 and later
OPSET = 20
OUTPUT_NAMES = ("label", "probabilities", "value")
# the whitespace C's strtod skips: a number's leading spaces, so that Cast can parse it
_C_SPACE = " \t\n\v\f\r"


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

        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
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
    encoded = getattr(predictor.pipeline.preprocessor, "encoded", [])
    _refuse_dates(predictor.pipeline.preprocessor)
    for stats in numeric:
        inputs.append(helper.make_tensor_value_info(stats.name, TensorProto.DOUBLE, ["N", 1]))
    for stats in [*encoded, *categorical]:
        inputs.append(helper.make_tensor_value_info(stats.name, TensorProto.STRING, ["N", 1]))
    if numeric:
        features.append(_numeric_block(g, numeric))
    features += [_target_encoded_block(g, stats) for stats in encoded]
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
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="gpu-trainer",
        ir_version=9,
    )
    model.doc_string = f"GPU Trainer model predicting {predictor.pipeline.target_name!r}"
    checker.check_model(model, full_check=True)
    return model


def _numeric_block(g: _Graph, numeric) -> str:
    """Raw float64 columns -> standardised float32 ``(N, k)``, computed as the engine does:
    ``standardise`` op for op in float64 (halve, subtract the halved mean, divide, double,
    clip), for "robust" columns :func:`~engine.data.scaling.soft_clip` op for op, NaN and
    ±inf replaced by the median's scaled value, then float32."""
    from onnx import TensorProto

    from engine.data.scaling import LIMIT, SOFT_CLIP, soft_clip, standardise

    x = g.op("Concat", [s.name for s in numeric], "numeric", axis=1) if len(numeric) > 1 else None
    x = x or numeric[0].name
    missing = g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])], "missing")
    means = np.array([s.mean for s in numeric], dtype=np.float64)
    stds = np.array([s.std for s in numeric], dtype=np.float64)
    fills = standardise(np.array([s.median for s in numeric], dtype=np.float64), means, stds)
    robust = np.array([s.scaling == "robust" for s in numeric], dtype=bool)
    fills[robust] = soft_clip(fills[robust])
    z = g.op("Mul", [x, g.const("half", 0.5, np.float64)])
    z = g.op("Sub", [z, g.const("half_mean", np.multiply(means, 0.5), np.float64)])
    z = g.op("Div", [z, g.const("std", stds, np.float64)])
    z = g.op("Mul", [z, g.const("two", 2.0, np.float64)])
    z = g.op("Clip", [z, g.const("low", -LIMIT, np.float64), g.const("high", LIMIT, np.float64)])
    if robust.any():  # z / sqrt(1 + (z / SOFT_CLIP)^2), in soft_clip's order
        t = g.op("Div", [z, g.const("soft_clip", SOFT_CLIP, np.float64)])
        t = g.op("Mul", [t, t])
        t = g.op("Add", [t, g.const("one", 1.0, np.float64)])
        clipped = g.op("Div", [z, g.op("Sqrt", [t])], "soft_clipped")
        if not robust.all():  # only the robust columns
            clipped = g.op("Where", [g.const("robust", robust, bool), clipped, z])
        z = clipped
    z = g.op("Where", [missing, g.const("fill", fills, np.float64), z], "imputed")
    return g.op("Cast", [z], "scaled", to=TensorProto.FLOAT)


def _refuse_dates(preprocessor) -> None:
    """Date columns have no ONNX export: their text cannot be read inside a graph."""
    dates = getattr(preprocessor, "dates", [])
    if dates:
        raise UserError(
            f"the model reads date column {dates[0].name!r}, and an ONNX graph cannot read "
            "dates; mark it as ignored and train again to export"
        )


def _target_encoded_block(g: _Graph, stats) -> str:
    """A raw text column ``(N, 1)`` -> its target encodings float32 ``(N, width)``: the cell
    read as :func:`_one_hot_block` reads it, over every training category, times the
    encodings; a row matching none (unseen) gets the prior."""
    from engine.data.preprocess import CategoricalStats

    if not stats.categories:
        raise UserError(
            f"column {stats.name!r} was encoded without categories (one class in training); "
            "train again with more rows to export"
        )
    every = CategoricalStats(stats.name, list(stats.categories), [], stats.most_frequent)
    hot = _one_hot_block(g, every)  # (N, K), a row of zeros where unseen
    values = np.asarray(stats.values, dtype=np.float32).reshape(len(stats.categories), -1)
    prior = np.asarray(stats.prior, dtype=np.float32).reshape(1, -1)
    seen = g.op("ReduceSum", [hot, g.const("axis", [1], np.int64)], keepdims=1)
    unseen = g.op("Sub", [g.const("one", [[1.0]]), seen])
    known = g.op("MatMul", [hot, g.const("encodings", values)])
    return g.op("Add", [known, g.op("Mul", [unseen, g.const("prior", prior)])], "encoded")


def _one_hot_block(g: _Graph, stats) -> str:
    """A raw text column ``(N, 1)`` -> its one-hot block float32 ``(N, width)``.

    One ``RegexFullMatch`` per one-hot column finds the cells spelling one of its categories
    (:func:`~engine.data.values.category_spellings`), spaces around them ignored as the
    engine strips them; where none matches, a number whose category is known
    (:func:`~engine.data.values.number_categories`); a missing marker or blank overrides
    both with the most frequent category's column.
    """
    from onnx import TensorProto

    from engine.data.values import MISSING, category_spellings, number_categories

    slot = stats.slots()
    filled = slot.pop(MISSING)
    spellings = [[] for _ in range(stats.width)]
    for text, name in category_spellings(slot).items():
        spellings[slot[name]].append(text)
    matches = [g.op("RegexFullMatch", [stats.name], pattern=_padded(t)) for t in spellings]
    hot = g.op("Concat", matches, f"{stats.name}_text", axis=1)
    hot = g.op("Cast", [hot], to=TensorProto.FLOAT)
    numbers = number_categories(slot)
    if numbers:
        pairs = [(value, slot[name]) for name, value in numbers.items()]
        by_number = _number_hot(g, stats.name, pairs, stats.width)
        spelled = g.op("ReduceMax", [hot, g.const("axis", [1], np.int64)], keepdims=1)
        spelled = g.op("Cast", [spelled], to=TensorProto.BOOL)
        hot = g.op("Where", [spelled, hot, by_number])
    missing = g.op("RegexFullMatch", [stats.name], f"{stats.name}_missing", pattern=_missing())
    most_frequent = np.eye(stats.width, dtype=np.float32)[[filled]]
    return g.op("Where", [missing, g.const("most_frequent", most_frequent), hot])


def _number_hot(g: _Graph, column: str, numbers: list[tuple[float, int]], width: int) -> str:
    """float32 ``(N, width)``: the one-hot column of the number each cell holds, where it
    is one of ``numbers`` ((value, column) pairs); all zeros elsewhere.

    onnxruntime's ``Cast`` parses text to float64 as C's strtod does and fails on what is
    not a number, so it sees only the cells that match a decimal number (others become "0",
    then are masked), with digits bounded so that no value leaves float64's normal range.
    """
    from onnx import TensorProto

    is_number = g.op("RegexFullMatch", [column], f"{column}_is_number", pattern=_number())
    zero = g.const("zero", ["0"], None)
    text = g.op("Where", [is_number, column, zero])
    value = g.op("Cast", [text], f"{column}_number", to=TensorProto.DOUBLE)
    known = g.const("numbers", [[v for v, _ in numbers]], np.float64)
    equal = g.op("And", [g.op("Equal", [value, known]), is_number])
    columns = np.zeros((len(numbers), width), dtype=np.float32)
    columns[np.arange(len(numbers)), [c for _, c in numbers]] = 1.0
    return g.op("MatMul", [g.op("Cast", [equal], to=TensorProto.FLOAT), g.const("slots", columns)])


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern matching it literally: every character but ASCII letters,
    digits and '_' written as its code point."""
    safe = (c if c.isascii() and (c.isalnum() or c == "_") else f"\\x{{{ord(c):x}}}" for c in text)
    return "".join(safe)


def _space() -> str:
    """An RE2 class of the characters the engine strips around a category's text."""
    from engine.data.values import spaces

    return f"[{_literal(spaces())}]"


def _padded(texts: list[str]) -> str:
    """Any of ``texts``, with any spaces around it."""
    return f"{_space()}*(?:{'|'.join(_literal(t) for t in texts)}){_space()}*"


def _missing() -> str:
    """A missing marker exactly (the reader matches them exactly), or blank."""
    from engine.data.values import MISSING_MARKERS

    markers = "|".join(_literal(m) for m in MISSING_MARKERS if m)
    return f"(?:{markers}|{_space()}*)"


def _number() -> str:
    """A decimal number such as '3', '-0.5', '+3.', '.5', '1.7E9', with spaces around it:
    strtod's spaces before it, so that ``Cast`` reads it whole; at most 100 digits on each
    side of the point and 2 in the exponent, so that it stays a normal float64."""
    digits = "[0-9]"
    mantissa = f"(?:{digits}{{1,100}}(?:\\.{digits}{{0,100}})?|\\.{digits}{{1,100}})"
    exponent = f"(?:[eE][+-]?{digits}{{1,2}})?"
    return f"[{_literal(_C_SPACE)}]*[+-]?{mantissa}{exponent}{_space()}*"


def _network(g: _Graph, x: str, model) -> tuple[str, str]:
    """Dense layers with their activations; returns the output and the last activation."""
    activation = "linear"
    for layer in model.layers:
        config = layer.get_config()
        if layer.kind == "periodic_embedding":
            x = _periodic_embedding(g, x, layer)
            continue
        if "units" not in config:  # Dropout: the identity at inference
            continue
        weights = [np.asarray(w, dtype=np.float32) for w in _host(layer.weights())]
        x = g.op("MatMul", [x, g.const("kernel", weights[0])])
        if len(weights) > 1:
            x = g.op("Add", [x, g.const("bias", weights[1])])
        activation = config["activation"]
        x = _activation(g, x, activation)
    return x, activation


def _periodic_embedding(g: _Graph, x: str, layer) -> str:
    """``engine.nn.embeddings.PeriodicEmbedding``: the first ``f`` inputs ``(N, f)`` ->
    ``relu([cos 2 pi c x, sin 2 pi c x] @ W + b)`` ``(N, f * d)``, the rest after them."""
    c, w, b = (np.asarray(a, dtype=np.float32) for a in _host(layer.weights()))
    f, d, width = layer.features, layer.dims, layer.input_dim
    axis1 = g.const("axis", [1], np.int64)
    head = g.op("Slice", [x, g.const("start", [0], np.int64), g.const("end", [f], np.int64),
                          axis1])  # fmt: skip
    head = g.op("Mul", [head, g.const("two_pi", 2 * math.pi)])  # as the engine: (2 pi x) c
    z = g.op("Unsqueeze", [head, g.const("axes", [2], np.int64)])  # (N, f, 1)
    z = g.op("Mul", [z, g.const("frequency", c[None])])  # (N, f, k)
    v = g.op("Concat", [g.op("Cos", [z]), g.op("Sin", [z])], axis=2)  # (N, f, 2k)
    h = g.op("Einsum", [v, g.const("kernel", w)], equation="nfk,fkd->nfd")
    h = g.op("Relu", [g.op("Add", [h, g.const("bias", b)])])
    h = g.op("Reshape", [h, g.const("shape", [0, f * d], np.int64)])
    if width == f:
        return h
    rest = g.op("Slice", [x, g.const("start", [f], np.int64),
                          g.const("end", [width], np.int64), axis1])  # fmt: skip
    return g.op("Concat", [h, rest], axis=1)


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

    if target.task == "regression":  # in float64 as the engine decodes, within its range
        value = g.op("Cast", [x], to=TensorProto.DOUBLE)
        value = g.op("Mul", [value, g.const("std", target.std, np.float64)])
        value = g.op("Add", [value, g.const("mean", target.mean, np.float64)])
        largest = float(np.finfo(np.float64).max)
        low, high = g.const("lowest", -largest, np.float64), g.const("highest", largest, np.float64)
        value = g.op("Clip", [value, low, high])
        flat = g.const("flat", [-1], np.int64)
        g.nodes.append(helper.make_node("Reshape", [value, flat], ["value"]))
        return [("value", TensorProto.DOUBLE, ["N"])]
    if last_activation not in ("sigmoid", "softmax"):
        raise UserError(
            f"a classifier must end in sigmoid or softmax to export, not {last_activation!r}"
        )
    binary = len(target.labels) == 2 and last_activation == "sigmoid"
    if binary:
        p = x
        x = g.op("Concat", [g.op("Sub", [g.const("one", [[1.0]]), p]), p], "two_class", axis=1)
    g.nodes.append(helper.make_node("Identity", [x], ["probabilities"]))
    if binary:  # p > threshold in float64, as the engine decides (float32(0.3) is not 0.3)
        above = g.op("Cast", [p], to=TensorProto.DOUBLE)
        above = g.op("Greater", [above, g.const("threshold", target.threshold, np.float64)])
        flat = g.const("flat", [-1], np.int64)
        index = g.op("Reshape", [g.op("Cast", [above], to=TensorProto.INT64), flat], "class_index")
    else:
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
