"""``gpu-trainer predict MODEL DATA.csv``: append predictions (and class probabilities)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import DataError


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file written by 'gpu-trainer train'")
    parser.add_argument("data", type=Path, help="a CSV with the columns the model was trained on")
    parser.add_argument("--out", type=Path, help="CSV to write (default: standard output)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, gpu or gpu:N")
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="two classes: predict the second class above probability P instead of the "
        "model file's threshold (0 < P < 1)",
    )


def run(args) -> int:
    from engine.io.predictions import write_predictions
    from engine.io.predictor import load_model

    predictor = load_model(args.model, device=args.device, threshold=args.threshold)
    if args.out is not None and not args.out.parent.resolve().is_dir():
        raise DataError(f"--out {args.out}: folder {args.out.parent} does not exist")
    rows, out = write_predictions(predictor, args.data, args.out)
    if out is not None:
        print(f"wrote {rows:,} rows with predictions to {out}", file=sys.stderr)
    return 0
