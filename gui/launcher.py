"""The ``gpu-trainer`` entry point: no command opens the app, a command runs headless."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and not args[0].endswith(".csv"):
        from engine.cli import main as cli_main

        return cli_main(args)
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
