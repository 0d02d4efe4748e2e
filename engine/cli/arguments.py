"""The data and network arguments ``train`` and ``advise`` share, so the same options build the
same preparation and the same model in both."""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError
from engine.run.settings import HIDDEN_ACTIVATIONS, OPTIMIZERS, LayerSpec, TrainSettings

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
                        help=f"{', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s)")  # fmt: skip
    parser.add_argument("--dropout", type=float, default=d.layers[0].dropout)
    parser.add_argument("--optimizer", default=d.optimizer,
                        help=f"{', '.join(OPTIMIZERS)} (default: %(default)s)")  # fmt: skip
    parser.add_argument("--lr", type=float, default=d.learning_rate, help="learning rate")
    parser.add_argument("--l2", type=float, default=d.l2)
    parser.add_argument("--val-split", type=float, default=d.val_split)
    parser.add_argument("--test-split", type=float, default=d.test_split)
    parser.add_argument("--seed", type=int, default=d.seed)


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
