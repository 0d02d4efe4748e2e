"""Output shared by the subcommands: strict JSON (NaN and ±inf as null, which strict JSON
readers in other languages accept)."""

from __future__ import annotations

import json
import math


def strict_json(value) -> str:
    return json.dumps(_finite(value), allow_nan=False)


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
