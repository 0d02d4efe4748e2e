"""Hostile CSVs through the whole engine: each one trains, saves, loads and predicts, or
stops with a :class:`UserError` of one short line. Nothing else: no other exception (a
traceback is a bug), no warning on the terminal, no file left behind but the model.

The cases are generated (hypothesis, derandomised, so CI sees the same ones every run):
tables of odd numbers, words and mixed cells under every delimiter, encoding and line
ending, then damaged byte by byte; the hostile kinds the engine must survive are also
listed once each by hand (:data:`HOSTILE`).
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.data import infer_schema, read_csv
from engine.errors import UserError
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings

SETTINGS = TrainSettings(epochs=1, early_stopping=0, layers=[LayerSpec(4)], batch_size=16)
MODEL = "model.safetensors"
MAX_MESSAGE = 300

ODD_NUMBERS = (
    "1e308", "-1e308", "1.7976931348623157e308", "-0.0", "1e-320", "5e-324", "inf", "-inf",
    "nan", "1e400", "1_000", "1,5", "+3", ".5", "1.", "0x1F", "1e", "١٢",
)  # fmt: skip
WORDS = (
    "yes", "no", "red", "green", "True", "false", "é", "naïve café", " padded ", "NULL", "?",
    "-", "#N/A", "a,b", 'say "hi"', "line\nbreak",
)  # fmt: skip
STYLES = ("normal", "integer", "huge", "tiny", "category", "boolean", "decimal comma", "mixed")
ENCODINGS = ("utf-8", "utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16")
INSERTS = (b"\x00", b'"', b"\xff", b"\xfe\xff", b"\r", b"\n", b"\r\n", codecs.BOM_UTF8, b",",
           b";", b"\xe9", b"\x81", b"\t")  # fmt: skip

odd_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from(WORDS),
    st.text(max_size=6),
)
names = st.one_of(st.sampled_from(("a", "b", "y", "", " ", "id", "a ", "x")), st.text(max_size=5))


def _column(style: str, n_rows: int, rng: np.random.Generator) -> list[str]:
    """One column's cells in a style; ``mixed`` draws from the odd cells' own pool."""
    i = np.arange(n_rows)
    if style == "normal":
        return [repr(float(v)) for v in rng.normal(size=n_rows) * 10.0 ** rng.integers(-3, 4)]
    if style == "integer":
        return [str(v) for v in rng.integers(0, 5, n_rows)]
    if style == "huge":
        values = 1e200 * i if rng.random() < 0.5 else np.where(i % 2, 1e308, -1e308)
        return [repr(float(v)) for v in values]
    if style == "tiny":
        return [repr(float(v)) for v in 1e-320 * i]
    if style == "category":
        return list(rng.choice(["red", "green", "blue"], n_rows))
    if style == "boolean":
        return list(rng.choice(["yes", "no"] if rng.random() < 0.5 else ["True", "false"], n_rows))
    if style == "decimal comma":
        return [f"{v:.3f}".replace(".", ",") for v in rng.normal(size=n_rows)]
    pool = ODD_NUMBERS + WORDS + ("", "1", "2.5")
    return list(rng.choice(pool, n_rows))


@st.composite
def tables(draw) -> tuple[list[str], list[list[str]], bool]:
    """A header, rows, and whether a column has decimal commas: 1 to 5 columns (or 300: a
    table of thousands is in :data:`HOSTILE`, once, as it takes seconds), 1 to 40 rows, each
    column in a style, with odd cells written over some of them."""
    n_cols = draw(st.sampled_from((1, 2, 3, 3, 4, 4, 5, 300)))
    n_rows = draw(
        st.sampled_from((1, 2, 3)) if draw(st.integers(0, 3)) == 0 else st.integers(4, 40)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    styles = rng.choice(STYLES, n_cols)
    columns = [_column(style, n_rows, rng) for style in styles]
    rows = [list(row) for row in zip(*columns)]
    for _ in range(draw(st.sampled_from((0, 0, 1, 3, 6)))):
        row, col = draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_cols - 1))
        rows[row][col] = draw(odd_cells)
    if draw(st.integers(0, 9)) == 0:  # a huge field
        rows[draw(st.integers(0, n_rows - 1))][0] = "x" * 200_000
    header = [f"c{j}" for j in range(n_cols)]
    if draw(st.booleans()):  # odd names: empty, repeated, padded, any text
        header[: min(n_cols, 6)] = [draw(names) for _ in range(min(n_cols, 6))]
    return header, rows, "decimal comma" in styles


def _render(header, rows, delimiter: str, endings: list[str]) -> str:
    """The table as CSV text, each line ended by the next of ``endings`` in turn."""
    lines = []
    for row in [header, *rows]:
        buffer = io.StringIO()
        # quoted as a CSV writer does: a field with a delimiter, quote or line break
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(row)
        lines.append(buffer.getvalue()[:-2])
    return "".join(line + endings[i % len(endings)] for i, line in enumerate(lines))


mutations = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(INSERTS)),
)


def _mutate(raw: bytes, changes) -> bytes:
    """Byte flips, truncation and inserted bytes, each at a fraction of the length."""
    for kind, where, what in changes:
        at = int(where * len(raw))
        if kind == "flip" and raw:
            at = min(at, len(raw) - 1)
            raw = raw[:at] + bytes([raw[at] ^ what]) + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[:at]
        elif kind == "insert":
            raw = raw[:at] + what + raw[at:]
    return raw


class Csv(bytes):
    """A file's bytes, shortened when hypothesis shows a failing case (a field may be 200 kB)."""

    def __repr__(self) -> str:
        text = super().__repr__()
        if len(text) < 3000:
            return text
        return f"{text[:2000]} ... {text[-500:]} ({len(self):,} bytes)"


@st.composite
def hostile_csvs(draw) -> Csv:
    header, rows, decimal_comma = draw(tables())
    delimiter = ";" if decimal_comma else draw(st.sampled_from(",;\t|"))
    endings = draw(st.lists(st.sampled_from(("\n", "\r\n", "\r")), min_size=1, max_size=3))
    encoding = draw(st.sampled_from(ENCODINGS))
    raw = _render(header, rows, delimiter, endings).encode(encoding, errors="replace")
    changes = [draw(mutations) for _ in range(draw(st.sampled_from((0, 0, 0, 1, 2, 3))))]
    return Csv(_mutate(raw, changes))


def check_pipeline(raw: bytes) -> None:
    """read -> schema -> prepare -> one epoch -> save -> load -> predict on ``raw`` as a CSV
    file, with every warning an error; completes, or raises a one-line UserError."""
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp, "in"), Path(tmp, "out")
        source.mkdir()
        out.mkdir()
        path = source / "data.csv"
        path.write_bytes(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                predictions = _train_and_predict(path, out / MODEL)
        except UserError as exc:
            message = str(exc)
            assert "\n" not in message and len(message) < MAX_MESSAGE, message[:2000]
            assert _names_something(message), message
            predictions = None
        assert [p.name for p in source.iterdir()] == [path.name]
        if predictions is None:  # a model saved before predicting failed is a whole file
            assert {p.name for p in out.iterdir()} <= {MODEL}
            return
        assert [p.name for p in out.iterdir()] == [MODEL]
        numbers = predictions.select_dtypes("number").to_numpy(dtype=np.float64)
        assert np.isfinite(numbers).all(), predictions


def _names_something(message: str) -> bool:
    """The file, a quoted column name or the training step the message is about."""
    return message.startswith("data.csv: ") or "'" in message or " step " in message


def _train_and_predict(path: Path, model_path: Path):
    table = read_csv(path)
    schema = infer_schema(table.frame, source=table.name)
    job = TrainingJob(prepare(table, schema, SETTINGS), SETTINGS)
    job.run()
    job.save(model_path)
    return engine.load_model(model_path).predict(path)


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile_csvs())
def test_hostile_csvs_train_or_fail_in_one_line(raw):
    check_pipeline(raw)


def _table(header, rows, delimiter=",", ending="\n") -> bytes:
    return _render(header, rows, delimiter, [ending]).encode()


_ROWS = [[str(i % 3), f"{0.5 * i!r}", ["red", "blue"][i % 2], str(i % 2)] for i in range(30)]
_HEADER = ["a", "b", "c", "y"]
HOSTILE = {
    "byte flip": _mutate(_table(_HEADER, _ROWS), [("flip", 0.4, 0x55)]),
    "truncated": _table(_HEADER, _ROWS)[:-7],
    "unbalanced quote": _table(_HEADER, _ROWS).replace(b"red", b'"red', 1),
    "NUL byte": _table(_HEADER, _ROWS).replace(b"blue", b"bl\x00ue", 1),
    "BOM and mixed line endings": codecs.BOM_UTF8
    + _table(_HEADER, _ROWS).replace(b"\n", b"\r\n", 9).replace(b"\n", b"\r", 5),
    "huge field": _table(_HEADER, [["x" * 500_000, *r[1:]] for r in _ROWS]),
    "extreme numbers": _table(
        _HEADER,
        [
            [("1e308", "-0.0", "1e-320", "inf", "nan", "1_000")[i % 6], *r[1:]]
            for i, r in enumerate(_ROWS)
        ],
    ),
    "±1e308 column": _table(
        _HEADER, [[f"{(-1) ** i * 1e308!r}", *r[1:]] for i, r in enumerate(_ROWS)]
    ),
    "1e200·i column": _table(_HEADER, [[f"{1e200 * i!r}", *r[1:]] for i, r in enumerate(_ROWS)]),
    "1e200·i target": _table(_HEADER, [[*r[:3], f"{1e200 * i!r}"] for i, r in enumerate(_ROWS)]),
    "±1e308 target": _table(
        _HEADER, [[*r[:3], f"{(-1) ** i * 1e308!r}"] for i, r in enumerate(_ROWS)]
    ),
    "duplicate header": _table(["a", "a", "c", "y"], _ROWS),
    "empty header": _table(["", "b", "", "y"], _ROWS),
    "mixed-type target": _table(
        _HEADER, [[*r[:3], ["1", "yes", "2.5", ""][i % 4]] for i, r in enumerate(_ROWS)]
    ),
    "non-UTF-8 text": _table(_HEADER, _ROWS).replace(b"red", "rød".encode("cp1252")),
    "thousands of columns": _table(
        [f"c{j}" for j in range(2000)] + ["y"],
        [[str((i * j) % 7) for j in range(2000)] + [str(i % 2)] for i in range(6)],
    ),
    "one row": _table(_HEADER, _ROWS[:1]),
    "two rows": _table(_HEADER, _ROWS[:2]),
    "three rows": _table(_HEADER, _ROWS[:3]),
    "decimal commas": _table(
        _HEADER, [[r[0], r[1].replace(".", ","), *r[2:]] for r in _ROWS], delimiter=";"
    ),
}


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_kind(raw):
    check_pipeline(raw)
