"""``gpu-trainer export-onnx MODEL OUT.onnx``: the model with its preprocessing, as ONNX."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import UserError


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file written by 'gpu-trainer train'")
    parser.add_argument("out", type=Path, help="the .onnx file to write")


def run(args) -> int:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UserError(
            "the onnx package is missing from this installation; install it with: pip install onnx"
        ) from None
    from engine.io.onnx_export import export_onnx

    graph = export_onnx(args.model, args.out).graph
    inputs = ", ".join(i.name for i in graph.input)
    outputs = ", ".join(o.name for o in graph.output)
    print(f"wrote {args.out}: inputs {inputs}; outputs {outputs}", file=sys.stderr)
    return 0
