"""``gpu-trainer advise DATA --target T``: time the network ``train`` would build from the same
arguments on every device and batch size, and recommend the fastest.

A tqdm bar on stderr on a terminal (one line per measurement elsewhere); Ctrl+C ends the
measurement with what was measured so far (a second Ctrl+C ends the command).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from engine.advisor.measure import DEFAULT_BUDGET_S
from engine.cli.arguments import (
    add_data_arguments,
    add_network_arguments,
    read_table,
    schema_from,
    settings_from,
)
from engine.cli.output import strict_json
from engine.errors import UserError

COLUMNS = ("device", "batch", "samples/s", "time/epoch", "peak memory", "GPU util")


def add_arguments(parser) -> None:
    add_data_arguments(parser)
    add_network_arguments(parser)
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                        help="time to spend measuring (default: %(default)g)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress")


def run(args) -> int:
    from engine.advisor import advise, available_devices
    from engine.backend import probe_gpu
    from engine.run.prepare import prepare

    if not args.budget > 0:
        raise UserError(f"--budget {args.budget:g}: give a positive number of seconds")
    table = read_table(args)
    settings = settings_from(args)
    data = prepare(table, schema_from(args, table), settings)
    notes = [*data.notes, *data.pipeline.schema.problems]
    devices = available_devices()
    if not any(device.is_gpu for device in devices):
        notes.append(f"only the CPU is measured: {probe_gpu().reason or 'no usable GPU'}")
    if not args.json:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        names = ", ".join(device.label for device in devices)
        what = f"{data.task} of {data.pipeline.target_name!r} ({len(data.x_train):,} training rows)"
        print(f"measuring {what} on {names} for about {args.budget:g} s", file=sys.stderr)
    bar = _Bar(sys.stderr, args.budget, enabled=not args.json)
    try:
        with _interrupt_stops() as stop:
            advice = advise(data, settings, devices, args.budget, progress=bar.update,
                            should_stop=stop.is_set)  # fmt: skip
    finally:
        bar.close()
        for device in devices:
            device.close()
    if args.json:
        print(strict_json({**advice.to_dict(), "budget_s": args.budget, "notes": notes}))
    else:
        print(_table(advice))
        print(advice.message)
    return 0


@contextlib.contextmanager
def _interrupt_stops():
    """An event Ctrl+C sets (measuring then ends with what it has); a second one interrupts."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _row(cell) -> list[str]:
    from engine.advisor import duration_text, memory_text, rate_text, util_text

    if not cell.measured:
        return [cell.label, str(cell.batch_size), cell.error or "N/A", "", "", ""]
    return [
        cell.label,
        str(cell.batch_size),
        rate_text(cell.samples_per_s),
        duration_text(cell.epoch_s),
        memory_text(cell),
        util_text(cell) if cell.is_gpu else "N/A",
    ]


def _table(advice) -> str:
    rows = [list(COLUMNS)] + [_row(cell) for cell in advice.results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    chosen = advice.recommended
    lines = []
    for k, row in enumerate(rows):
        mark = "*" if k and advice.results[k - 1] is chosen else " "
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        lines.append(f"{mark} " + "  ".join(cells).rstrip())
    return "\n".join(lines)


class _Bar:
    """Progress on ``stream``: a tqdm bar over the budget on a terminal, else a line per cell."""

    def __init__(self, stream, budget_s: float, enabled: bool) -> None:
        from tqdm import tqdm

        self.stream, self.enabled, self.shown = stream, enabled, 0
        self.tty = enabled and bool(getattr(stream, "isatty", lambda: False)())
        self.bar = tqdm(
            total=1000, file=stream, disable=not self.tty, dynamic_ncols=True, leave=False,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}", mininterval=0.1,
        )  # fmt: skip

    def update(self, progress) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.bar.set_description_str(progress.text, refresh=False)
            self.bar.set_postfix_str(f"{progress.eta_s:.0f} s left", refresh=False)
            self.bar.update(round(progress.fraction * 1000) - self.bar.n)
            return
        for cell in progress.results[self.shown :]:
            print("measured " + "  ".join(v for v in _row(cell) if v), file=self.stream,
                  flush=True)  # fmt: skip
        self.shown = len(progress.results)

    def close(self) -> None:
        self.bar.close()
