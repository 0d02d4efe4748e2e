"""Every training default and every option list, in one place.

The app's initial values and combo boxes, ``gpu-trainer train``'s defaults and the model
factory all read this module, so the same CSV trains the same model from the app and the
command line. Imports NumPy only (``gpu-trainer train --help`` reads it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from engine.errors import UserError
from engine.nn.activations import ACTIVATIONS
from engine.nn.optimizers import OPTIMIZERS as _OPTIMIZER_CLASSES
from engine.nn.schedules import SCHEDULES as _SCHEDULES

# -- option lists ---------------------------------------------------------------------------
OPTIMIZERS: tuple[str, ...] = tuple(_OPTIMIZER_CLASSES)
# a hidden layer's "auto" activation: ELU on a table under SMALL_TABLE_ROWS rows, ReLU on a
# larger one. Measured (scripts/bench_quality.py, --set layers=64:elu,32:elu; rows of the CSV
# trained on): ELU is better on small tables (breast_cancer, diabetes, Hitters, penguins; and
# Default, Caravan, Bikeshare cut to 480 and 800 rows) and worse on larger ones (Bikeshare at
# 1,600, 3,200 and 6,916 rows: 0.04-0.07 R² less)
AUTO_ACTIVATION = "auto"
SMALL_TABLE_ROWS = 1_000
SMALL_TABLE_ACTIVATION = "elu"
LARGE_TABLE_ACTIVATION = "relu"
# softmax only makes sense as the output layer, which the task decides
HIDDEN_ACTIVATIONS: tuple[str, ...] = (AUTO_ACTIVATION,) + tuple(
    name for name in ACTIVATIONS if name != "softmax"
)
# (label, value) for the device choice; "gpu:N" is accepted as well
DEVICES: tuple[tuple[str, str], ...] = (
    ("Automatic", "auto"),
    ("CPU (NumPy)", "cpu"),
    ("GPU (CuPy)", "gpu"),
)
# the output layer and loss each kind of target gets: (activation, loss, metric)
HEADS: dict[str, tuple[str, str, str]] = {
    "regression": ("linear", "mse", "mae"),
    "binary": ("sigmoid", "binary_crossentropy", "accuracy"),
    "multiclass": ("softmax", "categorical_crossentropy", "accuracy"),
}
# what the app's inputs allow: (lowest, highest)
LIMITS: dict[str, tuple[float, float]] = {
    "units": (1, 65_536),
    "dropout": (0.0, 0.95),
    "learning_rate": (1e-6, 10.0),
    "batch_size": (1, 1 << 20),
    "epochs": (1, 1_000_000),
    "l2": (0.0, 10.0),
    "early_stopping": (0, 10_000),
    "seed": (0, 2**31 - 1),
    "split": (0.0, 0.5),
    "weight_decay": (0.0, 1.0),
    "label_smoothing": (0.0, 0.5),
    "cv_folds": (2, 20),  # k-fold cross-validation (engine.run.crossval)
}

# the learning rate over a run: "cosine" (linear warm-up, then cosine decay) or "constant"
LR_SCHEDULES: tuple[str, ...] = _SCHEDULES
WARMUP_FRACTION = 0.05  # of the epochs, for the cosine schedule
# per-row weights of a classification loss: "none" or "balanced" (n / (k * rows of the class))
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")
ADAM_BETAS = (0.9, 0.999)  # beta_1, beta_2 of adam and adamw
# adamw decays the weights a little every step, so a small table (few steps an epoch) would
# get far less decay over a run than a large one: below this many steps an epoch the decay
# grows in proportion (effective_weight_decay), at most to 1.0; 0 turns that off
WEIGHT_DECAY_STEPS = 100
# early stopping needs this many validation rows: with fewer, the epoch of the lowest
# validation loss is mostly chance, and every epoch runs (the decay above regularises)
EARLY_STOPPING_ROWS = 64
# numeric inputs as periodic embeddings (engine.nn.embeddings): "none" or "periodic", with
# k frequencies from N(0, sigma^2) per column, mapped to d dims each
NUMERIC_EMBEDDINGS: tuple[str, ...] = ("none", "periodic")
EMBEDDING_FREQUENCIES = 16  # k
EMBEDDING_DIMS = 8  # d
EMBEDDING_SIGMA = 0.1

# what a stored run without these settings (recorded before they existed) trained with
STORED_BEFORE = {"lr_schedule": "constant", "weight_decay": 0.0, "label_smoothing": 0.0,
                 "class_weight": "none", "numeric_embedding": "none",
                 "weight_decay_steps": 0, "early_stopping_rows": 0}  # fmt: skip

# permutation importance (engine.run.explain, `gpu-trainer explain`, the Evaluation tab):
# shuffles of each input column, and the most rows scored (a seeded sample beyond it)
EXPLAIN_REPEATS = 5
EXPLAIN_ROWS = 5_000


def effective_weight_decay(
    weight_decay: float, rows: int, batch_size: int, steps: int = WEIGHT_DECAY_STEPS
) -> float:
    """The decay adamw applies with ``rows`` training rows in batches of ``batch_size``:
    ``weight_decay`` times ``steps / steps an epoch`` where an epoch has fewer steps (at
    most the highest weight decay allowed), so that a run's total decay does not shrink
    with the table; ``steps`` 0: ``weight_decay`` as it is."""
    per_epoch = max(1, math.ceil(rows / max(1, batch_size)))
    scale = max(1.0, steps / per_epoch)
    return min(weight_decay * scale, max(weight_decay, LIMITS["weight_decay"][1]))


# scaled_learning_rate: the most a batch-size change may multiply or divide the rate by
RATE_SCALE_LIMIT = 8.0


def scaled_learning_rate(learning_rate: float, batch_size: int, new_batch_size: int,
                         optimizer: str = "adamw") -> float:  # fmt: skip
    """The rate for ``new_batch_size`` where ``learning_rate`` suited ``batch_size``: times the
    square root of the batch ratio for Adam-type optimizers (adam, adamw, rmsprop; Malladi
    et al. 2022), the ratio itself for SGD; the factor at most ``RATE_SCALE_LIMIT`` either
    way, the rate within the allowed rates. (The defaults, batch 64 at 2e-3, were measured
    against 32 at 1e-3, scripts/bench_quality.py.)"""
    ratio = new_batch_size / max(1, batch_size)
    factor = ratio if optimizer.lower() == "sgd" else math.sqrt(ratio)
    factor = min(RATE_SCALE_LIMIT, max(1.0 / RATE_SCALE_LIMIT, factor))
    low, high = LIMITS["learning_rate"]
    return float(min(high, max(low, learning_rate * factor)))


def resolve_activation(activation: str, table_rows: int | None) -> str:
    """A hidden layer's activation for a table of ``table_rows`` rows (training, validation
    and test together): "auto" becomes ``SMALL_TABLE_ACTIVATION`` under ``SMALL_TABLE_ROWS``,
    else (or with the rows unknown) ``LARGE_TABLE_ACTIVATION``; any other name stays."""
    if activation != AUTO_ACTIVATION:
        return activation
    small = table_rows is not None and table_rows < SMALL_TABLE_ROWS
    return SMALL_TABLE_ACTIVATION if small else LARGE_TABLE_ACTIVATION


def head_for(task: str, n_outputs: int) -> tuple[str, str, str]:
    """``(activation, loss, metric)`` of the output layer for ``task`` with ``n_outputs``."""
    if task == "regression":
        return HEADS["regression"]
    return HEADS["binary" if n_outputs == 1 else "multiclass"]


# -- the settings of one run ----------------------------------------------------------------
@dataclass
class LayerSpec:
    """One hidden layer: Dense(units, activation), then Dropout(dropout) when above 0."""

    units: int
    activation: str = "relu"
    dropout: float = 0.0


DEFAULT_LAYERS: tuple[tuple[int, str, float], ...] = (
    (64, AUTO_ACTIVATION, 0.0),
    (32, AUTO_ACTIVATION, 0.0),
)


def _default_layers() -> list[LayerSpec]:
    return [LayerSpec(*row) for row in DEFAULT_LAYERS]


@dataclass
class TrainSettings:
    """Everything that shapes a run; the defaults train the bundled samples well in seconds."""

    layers: list[LayerSpec] = field(default_factory=_default_layers)
    optimizer: str = "adamw"
    # batch 64 at twice Adam's usual rate (the rate scaled with the batch): against 32 at 1e-3,
    # measured on ten real tables (scripts/bench_quality.py), as good on average in ~40 % less
    # CPU time
    learning_rate: float = 2e-3
    batch_size: int = 64
    epochs: int = 200
    l2: float = 0.0
    early_stopping: int = 20  # epochs without a better validation loss; 0 = off
    early_stopping_rows: int = EARLY_STOPPING_ROWS  # fewer validation rows: off; 0: always
    seed: int | None = 0
    device: str = "auto"
    val_split: float = 0.15
    test_split: float = 0.2
    fast_path: bool | None = None  # fused GPU kernels; None: GPU_TRAINER_FAST (default off)
    threshold: float | None = None  # binary: P(positive) above which it is predicted; None: 0.5
    lr_schedule: str = "cosine"  # one of LR_SCHEDULES
    weight_decay: float = 0.05  # adamw's decoupled weight decay (other optimizers ignore it)
    weight_decay_steps: int = WEIGHT_DECAY_STEPS  # effective_weight_decay's steps; 0: off
    label_smoothing: float = 0.0  # classification targets y (1 - s) + s / classes
    class_weight: str = "none"  # one of CLASS_WEIGHTS
    numeric_embedding: str = "none"  # one of NUMERIC_EMBEDDINGS

    def check(self) -> None:
        """Raise :class:`UserError` for a setting no run can use."""
        for i, layer in enumerate(self.layers, 1):
            if layer.units < 1:
                raise UserError(f"hidden layer {i} needs at least 1 unit, not {layer.units}")
            if layer.activation not in HIDDEN_ACTIVATIONS and layer.activation not in ACTIVATIONS:
                raise UserError(
                    f"hidden layer {i}: unknown activation {layer.activation!r}; "
                    f"use one of {', '.join(HIDDEN_ACTIVATIONS)}"
                )
            if not 0.0 <= layer.dropout < 1.0:
                raise UserError(f"hidden layer {i}: dropout must be in [0, 1), not {layer.dropout}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise UserError(
                f"the learning rate must be a positive number, not {self.learning_rate}"
            )
        if self.optimizer.lower() not in OPTIMIZERS:
            raise UserError(
                f"unknown optimizer {self.optimizer!r}; use one of {', '.join(OPTIMIZERS)}"
            )
        if self.batch_size < 1 or self.epochs < 1:
            raise UserError("batch size and epochs must be at least 1")
        if min(self.early_stopping, self.l2, self.weight_decay_steps,
               self.early_stopping_rows) < 0:  # fmt: skip
            raise UserError(
                "early stopping patience and rows, L2 and weight-decay steps must not be negative"
            )
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise UserError(
                f"the decision threshold must lie between 0 and 1 (e.g. 0.3), not {self.threshold}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(
                f"unknown learning-rate schedule {self.lr_schedule!r}; "
                f"use one of {', '.join(LR_SCHEDULES)}"
            )
        if self.class_weight not in CLASS_WEIGHTS:
            raise UserError(
                f"unknown class weight {self.class_weight!r}; use one of {', '.join(CLASS_WEIGHTS)}"
            )
        if self.numeric_embedding not in NUMERIC_EMBEDDINGS:
            raise UserError(
                f"unknown numeric embedding {self.numeric_embedding!r}; "
                f"use one of {', '.join(NUMERIC_EMBEDDINGS)}"
            )
        for name in ("weight_decay", "label_smoothing"):
            low, high = LIMITS[name]
            value = getattr(self, name)
            if not low <= value <= high:
                raise UserError(f"{name.replace('_', ' ')} must be in [{low}, {high}], not {value}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainSettings:
        """The inverse of :meth:`to_dict`; unknown keys are ignored. A missing key defaults,
        except for the settings added after runs were first stored: those take the value
        that trained such a run (no schedule, no decay), so that resuming a stored run or
        replaying an old manifest trains as it did."""
        values = {**STORED_BEFORE, **data}
        if "layers" in values:
            values["layers"] = [LayerSpec(**layer) for layer in values["layers"]]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})
