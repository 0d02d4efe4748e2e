"""Headless command line: ``gpu-trainer COMMAND``, where COMMAND is ``info``, ``train``,
``predict``, ``export-onnx``, ``sweep``, ``bench``, ``runs``, ``advise`` or ``explain``.

Never imports Qt, so it runs on servers without display libraries. Bad input (any
:class:`engine.errors.UserError`) prints one line on stderr and exits 2 without a traceback.
Each subcommand lives in its own module, imported only when that command runs (or asks for
its ``--help``): ``gpu-trainer --help`` imports none of them. ``train`` records each run in
the run store (:mod:`engine.runs`) unless given ``--no-record``, ``sweep`` records each trial
as a run, ``runs`` lists, shows, compares and deletes the recorded runs, and ``advise``
measures which device and batch size train fastest; ``explain`` measures how much each
input column matters to a model (permutation importance).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import UserError

# name -> (module, help); each module has add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("engine.cli.info", "show versions, the array backend and the GPU status"),
    "train": ("engine.cli.train", "train a network on a CSV and write a model file"),
    "predict": ("engine.cli.predict", "append a model's predictions to the rows of a CSV"),
    "export-onnx": ("engine.cli.export_onnx", "export a model file to ONNX, preprocessing inside"),
    "sweep": ("engine.cli.sweep", "search hyperparameters with Optuna, trials in processes"),
    "bench": ("engine.cli.bench", "training throughput on reference workloads, engine vs PyTorch"),
    "runs": ("engine.cli.runs", "list, show, compare or delete the runs the store remembers"),
    "advise": ("engine.cli.advise", "time every device and batch size; recommend the fastest"),
    "explain": ("engine.cli.explain", "permutation importance of each input column on a CSV"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``command`` only (the others list their help)."""
    from engine import __version__

    parser = argparse.ArgumentParser(
        prog="gpu-trainer",
        description="Train neural networks on tabular data. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"gpu-trainer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"gpu-trainer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gpu-trainer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
