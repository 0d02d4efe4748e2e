"""``gpu-trainer explain MODEL DATA.csv``: permutation importance of each input column.

DATA needs the model's target column: the importance of a column is how much the score
(ROC AUC, accuracy or R²) drops when its values are shuffled among the rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.output import strict_json
from engine.errors import DataError
from engine.run.settings import EXPLAIN_REPEATS, EXPLAIN_ROWS, LIMITS

BAR_WIDTH = 30  # characters of the longest bar


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file written by 'gpu-trainer train'")
    parser.add_argument(
        "data", type=Path, help="a CSV with the model's input columns and its target column"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--repeats",
        type=int,
        default=EXPLAIN_REPEATS,
        help=f"shuffles of each column (default {EXPLAIN_REPEATS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of shuffles and sample (0)")
    parser.add_argument(
        "--rows",
        type=int,
        default=EXPLAIN_ROWS,
        help=f"score a seeded sample of this many rows at most (default {EXPLAIN_ROWS:,}; 0: all)",
    )


def run(args) -> int:
    from engine.data.reader import read_csv
    from engine.io.predictor import load_model
    from engine.run.explain import explain

    if args.repeats < 1:
        raise DataError(f"--repeats {args.repeats}: give 1 or more shuffles per column")
    low, high = LIMITS["seed"]
    if not low <= args.seed <= high:
        raise DataError(f"--seed {args.seed}: give a whole number from {low} to {high:,}")
    if args.rows < 0:
        raise DataError(f"--rows {args.rows}: give a number of rows, or 0 for all of them")
    predictor = load_model(args.model)
    table = read_csv(args.data)
    progress = _Progress() if not args.json and sys.stderr.isatty() else None
    result = explain(
        predictor,
        table.frame,
        n_repeats=args.repeats,
        seed=args.seed,
        max_rows=args.rows or None,
        source=table.name,
        progress=progress,
    )
    if progress is not None:
        progress.close()
    result["model"], result["data"] = args.model.name, table.name
    print(strict_json(result) if args.json else report(result))
    return 0


def report(result: dict) -> str:
    """The text the command prints: what was scored, then one aligned row per column with
    a bar as long as its mean importance (none for zero or below)."""
    rows, total = result["rows"], result["rows_total"]
    baseline = result["baseline"]
    scored = f"{rows:,} rows" if rows == total else f"a sample of {rows:,} of {total:,} rows"
    lines = [
        f"Permutation importance for {result['target']!r} on {scored} of {result['data']}, "
        f"{result['repeats']} repeats, seed {result['seed']}",
        f"score when a column is shuffled, as a drop in {result['metric_label']} "
        f"(baseline {_number(baseline)})",
    ]
    if rows != total:
        lines.append("(--rows sets the sample size, 0 scores every row)")
    columns = result["columns"]
    width = max([len("column")] + [len(c["column"]) for c in columns])
    top = max([c["importance_mean"] or 0.0 for c in columns] + [0.0])
    lines.append(f"{'column':<{width}}  {'mean':>9}  {'std':>8}")
    for c in columns:
        mean = c["importance_mean"]
        share = 0.0 if mean is None or top <= 0 else max(mean, 0.0) / top
        bar = "█" * round(share * BAR_WIDTH)
        mean_text, std_text = _number(mean), _number(c["importance_std"])
        lines.append(f"{c['column']:<{width}}  {mean_text:>9}  {std_text:>8}  {bar}".rstrip())
    return "\n".join(lines)


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


class _Progress:
    """``scoring 12/36`` on one line of a terminal's standard error."""

    def __call__(self, done: int, total: int) -> None:
        print(f"\rscoring {done}/{total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
