"""The data and network arguments ``train`` and ``advise`` share, so the same options build the
same preparation and the same model in both."""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError
from engine.run.settings import (
    CLASS_WEIGHTS,
    HIDDEN_ACTIVATIONS,
    LARGE_TABLE_ACTIVATION,
    LR_SCHEDULES,
    NUMERIC_EMBEDDINGS,
    OPTIMIZERS,
    SMALL_TABLE_ACTIVATION,
    SMALL_TABLE_ROWS,
    LayerSpec,
    TrainSettings,
)

DEFAULTS = TrainSettings()


def add_data_arguments(parser) -> None:
    """DATA, the target, the task, ignored columns and how to read the CSV."""
    parser.add_argument("data", type=Path, help="the CSV to train on")
    parser.add_argument("--target", help="column to predict (default: the last column)")
    parser.add_argument("--task", choices=("classification", "regression"), help="override")
    parser.add_argument("--ignore", action="append", default=[], metavar="COL", help="skip COL")
    parser.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    parser.add_argument("--decimal", help="decimal mark (default: detected)")
    parser.add_argument("--encoding", help="file encoding (default: detected)")


def add_network_arguments(parser) -> None:
    """The network, its optimizer and the splits (which decide the training rows)."""
    d = DEFAULTS
    layers = ",".join(str(layer.units) for layer in d.layers)
    parser.add_argument("--layers", default=layers, help=f"hidden units (default: {layers})")
    parser.add_argument("--activation", default=d.layers[0].activation,
                        help=f"{', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s: "
                             f"{SMALL_TABLE_ACTIVATION} on a table under {SMALL_TABLE_ROWS:,} "
                             f"rows, else {LARGE_TABLE_ACTIVATION})")  # fmt: skip
    parser.add_argument("--dropout", type=float, default=d.layers[0].dropout)
    parser.add_argument("--optimizer", default=d.optimizer,
                        help=f"{', '.join(OPTIMIZERS)} (default: %(default)s)")  # fmt: skip
    parser.add_argument("--lr", type=float, default=d.learning_rate, help="learning rate")
    parser.add_argument("--l2", type=float, default=d.l2)
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule,
                        help="warm-up + cosine, or constant (default: %(default)s)")  # fmt: skip
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay,
                        help="adamw's decoupled weight decay (default: %(default)s)")  # fmt: skip
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                        help="smooth class targets by this (default: %(default)s)")  # fmt: skip
    parser.add_argument("--class-weight", choices=CLASS_WEIGHTS, default=d.class_weight,
                        help="weigh rows by their class (default: %(default)s)")  # fmt: skip
    parser.add_argument("--numeric-embedding", choices=NUMERIC_EMBEDDINGS,
                        default=d.numeric_embedding,
                        help="embed numeric columns (default: %(default)s)")  # fmt: skip
    parser.add_argument("--val-split", type=float, default=d.val_split)
    parser.add_argument("--test-split", type=float, default=d.test_split)
    parser.add_argument("--seed", type=int, default=d.seed)


def add_threshold_argument(parser) -> None:
    """The decision threshold of a two-class target (train only)."""
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="two classes: predict the second (positive) class where its probability is "
        "above P, between 0 and 1 (default: 0.5); stored in the model file",
    )


def settings_from(args) -> TrainSettings:
    """The settings the arguments give; options a command does not have keep their defaults."""
    try:
        units = [int(u) for u in str(args.layers).split(",") if u.strip()]
    except ValueError:
        raise UserError(f"--layers {args.layers!r}: give unit counts like 64,32") from None
    layers = [LayerSpec(u, args.activation, args.dropout) for u in units]
    settings = TrainSettings(
        layers=layers,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        batch_size=getattr(args, "batch_size", DEFAULTS.batch_size),
        epochs=getattr(args, "epochs", None) or DEFAULTS.epochs,
        l2=args.l2,
        early_stopping=getattr(args, "early_stopping", DEFAULTS.early_stopping),
        seed=args.seed,
        device=getattr(args, "device", DEFAULTS.device),
        val_split=args.val_split,
        test_split=args.test_split,
        threshold=getattr(args, "threshold", None),
        lr_schedule=getattr(args, "lr_schedule", DEFAULTS.lr_schedule),
        weight_decay=getattr(args, "weight_decay", DEFAULTS.weight_decay),
        label_smoothing=getattr(args, "label_smoothing", DEFAULTS.label_smoothing),
        class_weight=getattr(args, "class_weight", DEFAULTS.class_weight),
        numeric_embedding=getattr(args, "numeric_embedding", DEFAULTS.numeric_embedding),
    )
    settings.check()
    return settings


def read_table(args):
    """The CSV named by the arguments (``DataError`` when it cannot be read)."""
    from engine.data import read_csv

    return read_csv(args.data, args.delimiter, args.decimal, args.encoding)


def schema_from(args, table):
    """The inferred schema with the arguments' target, ignored columns and task."""
    from engine.data import infer_schema

    schema = infer_schema(table.frame, target=args.target, source=table.name)
    for name in args.ignore:
        schema = schema.with_role(name, "ignored")
    if args.task:
        schema = schema.with_task(args.task)
    return schema
