"""Headless command line: ``gpu-trainer info | train | predict | bench | export-onnx``.

Never imports Qt, so it runs on servers without display libraries. Bad input (any
:class:`engine.errors.UserError`) prints one line on stderr and exits 2 without a traceback.
Each subcommand lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import UserError

# name -> (module, help); each module has add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("engine.cli_info", "show versions, the array backend and the GPU status"),
    "bench": ("engine.bench", "training throughput on reference workloads, engine vs PyTorch"),
    "train": ("engine.cli_train", "train a network on a CSV and write a model file"),
    "predict": ("engine.cli_predict", "append a model's predictions to the rows of a CSV"),
    "export-onnx": ("engine.cli_export_onnx", "export a model file to ONNX, preprocessing inside"),
}


def build_parser() -> argparse.ArgumentParser:
    from engine import __version__

    parser = argparse.ArgumentParser(
        prog="gpu-trainer",
        description="Train neural networks on tabular data. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"gpu-trainer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
