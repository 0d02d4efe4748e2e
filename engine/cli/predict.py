"""``gpu-trainer predict MODEL DATA.csv``: append predictions (and class probabilities)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import DataError
from engine.io.atomic import atomic_path


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file written by 'gpu-trainer train'")
    parser.add_argument("data", type=Path, help="a CSV with the columns the model was trained on")
    parser.add_argument("--out", type=Path, help="CSV to write (default: standard output)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, gpu or gpu:N")


def run(args) -> int:
    from engine.data import read_csv
    from engine.io.predictor import load_model

    predictor = load_model(args.model, device=args.device)
    if args.out is not None and not args.out.parent.resolve().is_dir():
        raise DataError(f"--out {args.out}: folder {args.out.parent} does not exist")
    table = read_csv(args.data)
    result = predictor.annotate(table)
    options = {"index": False, "sep": table.delimiter, "decimal": table.decimal}
    if args.out is None:
        result.to_csv(sys.stdout, **options)
        return 0
    with atomic_path(args.out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        result.to_csv(fh, **options)
    print(f"wrote {len(result):,} rows with predictions to {args.out}", file=sys.stderr)
    return 0
