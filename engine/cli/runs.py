"""``gpu-trainer runs``: the runs the store remembers, listed, shown, compared, deleted.

``runs`` lists them newest first, ``runs show RUN`` gives one in full (``--manifest FILE``
writes what reproduces it), ``runs compare RUN RUN`` the settings, seed, data and environment
values that differ, and ``runs delete RUN`` removes a run with its checkpoint files. RUN is a
run id or any unique prefix of one. Text output counts epochs from 1, as training prints them;
``--json`` gives the store's own values (``best_epoch`` 0-based), NaN and ±inf as null.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path

from engine.cli.output import strict_json
from engine.errors import UserError
from engine.hardware.text import summary_line

_MISSING = "-"


def add_arguments(parser) -> None:
    parser.description = (
        "Without an action, a table of the runs the store remembers, newest first. RUN is a "
        "run id or any unique prefix of one."
    )
    parser.usage = "%(prog)s [-h] [--json] [--limit N] [{show,compare,delete} ...]"
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--limit", type=_count, metavar="N", help="the newest N runs only")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    # a subcommand's --json is SUPPRESSed by default so that 'runs --json show X' keeps it
    json_help = "print one JSON object"
    show = actions.add_parser("show", help="one run in full", description="One run in full.")
    show.add_argument("run", metavar="RUN", help="a run id or a unique prefix of one")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    show.add_argument(
        "--manifest", type=Path, metavar="FILE", help="write the run's manifest to FILE"
    )
    compare = actions.add_parser(
        "compare",
        help="what differs between two runs",
        description="The settings, seed, data and environment values that differ between two "
        "runs, and both runs' results.",
    )
    compare.add_argument("runs", nargs=2, metavar="RUN", help="a run id or a unique prefix")
    compare.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    delete = actions.add_parser(
        "delete",
        help="delete a run and its checkpoint files",
        description="Delete a run and its checkpoint files (a run training now is refused).",
    )
    delete.add_argument("run", metavar="RUN", help="a run id or a unique prefix of one")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of runs, 1 or more")
    return value


def run(args) -> int:
    from engine.runs.store import RunStore

    store = RunStore()
    action = getattr(args, "action", None)
    if action == "show":
        return _show(store, args)
    if action == "compare":
        return _compare(store, args)
    if action == "delete":
        return _delete(store, args)
    return _list(store, args)


# -- runs --------------------------------------------------------------------------------------
def _list(store, args) -> int:
    # listing an empty home creates nothing there (no folder, no store file)
    rows = store.runs() if _exists(store.path) else []
    if args.limit:
        rows = rows[: args.limit]
    if args.json:
        print(strict_json(rows))
        return 0
    if not rows:
        print(f"no runs recorded yet in {store.path}; 'gpu-trainer train' and the app add them")
        return 0
    header = ("ID", "NAME", "STATUS", "DATA", "MONITOR", "BEST", "AT", "TEST", "EPOCHS", "TIME",
              "DEVICE", "STARTED")  # fmt: skip
    table = [
        (
            run["id"][:8],
            _clip(run["name"] or "", 28),
            run["status"],
            _clip(Path(run["data_path"]).name if run["data_path"] else _MISSING, 24),
            run["monitor"] or _MISSING,
            _number(run["best_val"]),
            _epoch(run["best_epoch"]),
            _number(run["test_metric"]),
            str(run["epochs"] or 0),
            _duration(run["seconds"]),
            run["device"] or _MISSING,
            _when(run["started"], seconds=False),
        )
        for run in rows
    ]
    print(_table(header, table, right={5, 6, 7, 8, 9}))
    return 0


# -- runs show ---------------------------------------------------------------------------------
def _show(store, args) -> int:
    run = store.get(args.run)
    if args.manifest is not None:
        from engine.runs.manifest import manifest_for, write_manifest

        path = write_manifest(args.manifest, manifest_for(run))
        print(f"manifest of run {run['id']} written to {path}", file=sys.stderr)
    if getattr(args, "json", False):
        print(strict_json(run))
    else:
        print(_show_text(run))
    return 0


def _show_text(run: dict) -> str:
    sections = [f"run {run['id']}  {run['name']}  ({run['status']})"]
    ended = _when(run["ended"]) if run["ended"] else _MISSING
    task = f"{run['task']} of {run['target']!r}" if run["target"] else run["task"]
    energy = f"{run['energy_j']:.4g} J" if _finite_number(run["energy_j"]) else _MISSING
    sections.append(_pairs([
        ("source", run["source"]),
        ("started", _when(run["started"])),
        ("ended", ended),
        ("training", f"{_duration(run['seconds'])} ({run['epochs'] or 0} epochs, "
                     f"{run['steps'] or 0:,} steps)"),
        ("device", run["device"]),
        ("task", task),
        ("parameters", f"{run['parameters']:,}" if run["parameters"] is not None else None),
        ("energy", energy),
        ("hardware", summary_line(run["hardware"]) if run.get("hardware") else None),
        ("model", run["model_path"]),
        ("tags", ", ".join(run["tags"])),
        ("notes", run["notes"]),
    ]))  # fmt: skip
    shape = (
        f"{run['data_rows']:,} rows × {run['data_columns']:,} columns"
        if run["data_rows"] is not None and run["data_columns"] is not None
        else None
    )
    size = f"{run['data_size']:,} bytes" if run["data_size"] is not None else None
    sections.append(_section("data", [
        ("path", run["data_path"]),
        ("size", size),
        ("sha256", run["data_sha256"]),
        ("shape", shape),
    ]))  # fmt: skip
    settings = {k: v for k, v in (run["settings"] or {}).items() if k != "seed"}
    sections.append(_section("settings", [
        *((key, _value(value)) for key, value in settings.items()),
        ("seed", run["seed"]),
    ]))  # fmt: skip
    if run["environment"]:
        sections.append(_section("environment", _flat(run["environment"]).items()))
    sections.append(_history_text(run))
    sections.append(_test_text(run))
    if run["checkpoints"]:
        rows = [(f"epoch {c['epoch'] + 1}", c["path"]) for c in run["checkpoints"]]
        sections.append(_section("checkpoints", rows))
    return "\n".join(s for s in sections if s)


def _history_text(run: dict) -> str:
    history = run["history"]
    if not history:
        return "history\n  no epoch finished"
    best = run["best_epoch"]
    title = f"history ({len(history)} epochs"
    if run["best_val"] is not None and best is not None:
        title += f"; best {run['monitor']} {_number(run['best_val'])} at epoch {best + 1}"
    title += "; all of them with --json)"
    picked = {history[0]["epoch"], history[-1]["epoch"]}
    if best is not None:
        picked.add(best)
    rows = [h for h in history if h["epoch"] in picked]
    keys = [k for k in history[-1] if k not in ("epoch", "step", "seconds")]
    header = ("epoch", *keys, "seconds")
    table = []
    for h in rows:
        mark = " best" if h["epoch"] == best else ""
        cells = (_number(h.get(k)) for k in keys)
        table.append((f"{h['epoch'] + 1}{mark}", *cells, _number(h.get("seconds"))))
    return title + "\n" + _table(header, table, right=set(range(1, len(header))), indent=2)


def _test_text(run: dict) -> str:
    metrics = run["test_metrics"] or {}
    scalars = [(k, v) for k, v in metrics.items() if not isinstance(v, dict | list)]
    nested = [k for k, v in metrics.items() if isinstance(v, dict | list)]
    if not scalars and run["test_metric"] is None:
        return "test\n  not evaluated"
    if not scalars:
        scalars = [("metric", run["test_metric"])]
    text = _section("test", ((k, _value(v)) for k, v in scalars))
    if nested:
        text += f"\n  ({', '.join(nested)}: with --json)"
    return text


# -- runs compare ------------------------------------------------------------------------------
def _compare(store, args) -> int:
    first, second = (store.get(key) for key in args.runs)
    a, b = _comparable(first), _comparable(second)
    differences = {
        key: [a.get(key), b.get(key)]
        for key in dict.fromkeys([*a, *b])
        if not _same(a.get(key), b.get(key))
    }
    if getattr(args, "json", False):
        result = {
            "runs": [_results(first), _results(second)],
            "differences": differences,
        }
        print(strict_json(result))
        return 0
    header = ("", first["id"][:8], second["id"][:8])
    rows = [("name", first["name"], second["name"])]
    rows += [(key, _value(x), _value(y)) for key, (x, y) in differences.items()]
    if not differences:
        rows.append(("(settings, seed, data and environment are the same)", "", ""))
    rows.append(("best", _best(first), _best(second)))
    tests = [first["test_metrics"] or {}, second["test_metrics"] or {}]
    names = [k for k in dict.fromkeys([*tests[0], *tests[1]])
             if not any(isinstance(t.get(k), dict | list) for t in tests)]  # fmt: skip
    rows += [(f"test {k}", _value(tests[0].get(k)), _value(tests[1].get(k))) for k in names]
    if not names:
        rows.append(("test", _number(first["test_metric"]), _number(second["test_metric"])))
    print(_table(header, rows))
    return 0


def _comparable(run: dict) -> dict:
    """The run's settings, seed, data and environment as flat ``key -> value``."""
    values = {f"settings.{k}": v for k, v in (run["settings"] or {}).items() if k != "seed"}
    values["seed"] = run["seed"]
    values.update({
        "data.path": run["data_path"], "data.size": run["data_size"],
        "data.sha256": run["data_sha256"], "data.rows": run["data_rows"],
        "data.columns": run["data_columns"], "task": run["task"], "target": run["target"],
    })  # fmt: skip
    for column in (run["schema"] or {}).get("columns", []):
        values[f"data.column.{column.get('name')}"] = f"{column.get('kind')}, {column.get('role')}"
    values["device"] = run["device"]
    values.update({f"environment.{k}": v for k, v in _flat(run["environment"] or {}).items()})
    return values


def _results(run: dict) -> dict:
    keys = ("id", "name", "status", "monitor", "best_val", "best_epoch", "test_metric",
            "test_metrics")  # fmt: skip
    return {key: run[key] for key in keys}


def _best(run: dict) -> str:
    if run["best_val"] is None:
        return _MISSING
    return f"{run['monitor']} {_number(run['best_val'])} (epoch {_epoch(run['best_epoch'])})"


def _same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


# -- runs delete -------------------------------------------------------------------------------
def _delete(store, args) -> int:
    run_id = store.resolve(args.run)
    paths = [Path(p) for p in store.delete(run_id)]
    failed = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            failed.append(f"{path} ({exc.strerror or exc})")
    for folder in dict.fromkeys(path.parent for path in paths):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    if failed:
        raise UserError(
            f"run {run_id} is deleted, but its checkpoint {'; '.join(failed)} could not be "
            "removed; remove it by hand"
        )
    files = f"{len(paths)} checkpoint file{'s' if len(paths) != 1 else ''}"
    print(f"deleted run {run_id} and its {files}")
    return 0


def _exists(path: Path) -> bool:
    """False only when ``path`` is surely missing; an unreadable folder is left to the store,
    which names it."""
    try:
        return path.exists()
    except OSError:
        return True


# -- formatting --------------------------------------------------------------------------------


def _finite_number(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _number(value) -> str:
    """4 significant digits; ``-`` for none, ``nan`` / ``inf`` as such."""
    if value is None:
        return _MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


def _value(value) -> str:
    """A setting, metric or environment value in a few characters."""
    if value is None or value == "":
        return _MISSING
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list) and all(isinstance(v, dict) and "units" in v for v in value):
        return ", ".join(_layer(v) for v in value) or "none"  # hidden layers
    if isinstance(value, dict | list):
        return json.dumps(value, allow_nan=True, separators=(", ", ": "))
    return str(value)


def _layer(spec: dict) -> str:
    text = f"{spec['units']} {spec.get('activation', '')}".strip()
    if spec.get("dropout"):
        text += f" dropout {_number(spec['dropout'])}"
    return text


def _flat(values: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _epoch(epoch) -> str:
    return _MISSING if epoch is None else str(epoch + 1)


def _duration(seconds) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    if not _finite_number(seconds):
        return _MISSING
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _when(timestamp, seconds: bool = True) -> str:
    if not _finite_number(timestamp):
        return _MISSING
    return time.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""), time.localtime(timestamp))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header, rows, right=frozenset(), indent: int = 0) -> str:
    """Columns two spaces apart; the columns in ``right`` aligned right."""
    lines = [tuple(str(c) for c in header), *(tuple(str(c) for c in row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in
                 enumerate(zip(line, widths))]  # fmt: skip
        out.append((" " * indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def _section(title: str, pairs) -> str:
    """A title over its indented ``key  value`` lines; nothing when no pair has a value."""
    body = _pairs(pairs, indent=2)
    return f"{title}\n{body}" if body else ""


def _pairs(pairs, indent: int = 0) -> str:
    """``key  value`` lines with the values in one column; pairs without a value left out."""
    pairs = [(str(k), str(v)) for k, v in pairs if v is not None and v != ""]
    if not pairs:
        return ""
    width = max(len(k) for k, _ in pairs)
    return "\n".join(" " * indent + f"{k.ljust(width)}  {v}" for k, v in pairs)
