"""Read a messy CSV into a pandas DataFrame, detecting what people get wrong.

Detected from a sample at the start of the file, unless given: the encoding (UTF-8 with or
without a BOM, else cp1252, else latin-1), the delimiter (comma, semicolon, tab or pipe) and
a decimal comma. The file is then parsed by pyarrow's CSV reader (multi-threaded) into a
pandas DataFrame with the dtypes ``pandas.read_csv(engine="pyarrow")`` gives, except that
text with few distinct values arrives as ``category`` (dictionary-encoded while parsing);
Python's csv module only reads the file again to name the line of a ragged row.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from engine.data.display import name_text
from engine.data.values import MISSING_MARKERS
from engine.errors import DataError

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20
MAX_DICTIONARY = 1000  # text columns with at most this many distinct values: Categorical
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_COMMA_NUMBER = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DOT_NUMBER = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")
# text columns become pandas' default string dtype (Arrow-backed), as pandas.read_csv gives
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
_STRINGS = {pa.string(): _TEXT, pa.large_string(): _TEXT}


@dataclass
class CsvTable:
    """A parsed CSV: the raw frame plus how it was read (for messages and for saving)."""

    frame: pd.DataFrame
    path: Path
    encoding: str
    delimiter: str
    decimal: str
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> str:
        """'data.csv: 1,000 rows × 9 columns, semicolon-separated, cp1252, decimal comma'."""
        rows, cols = self.frame.shape
        text = (
            f"{self.name}: {rows:,} rows × {cols} columns, "
            f"{_DELIMITER_NAMES.get(self.delimiter, name_text(self.delimiter))}-separated, "
            f"{self.encoding}"
        )
        return text + (", decimal comma" if self.decimal == "," else "")


def read_csv(
    path, delimiter: str | None = None, decimal: str | None = None, encoding: str | None = None
) -> CsvTable:
    """Read ``path`` into a :class:`CsvTable`; raise :class:`DataError` on unusable input.

    ``delimiter``, ``decimal`` and ``encoding`` override the detection.
    """
    path = Path(path)
    sample, at_eof = _read_sample(path)
    notes: list[str] = []
    if encoding is None:
        encoding = _detect_encoding(sample, at_eof)
        if encoding not in ("utf-8", "utf-8-sig"):
            notes.append(f"{path.name}: not valid UTF-8; read as {encoding}")
    text = _decode_sample(sample, encoding, path)
    lines = _sample_lines(text, at_eof)
    if delimiter is None:
        delimiter = _detect_delimiter(lines)
    if decimal is None:
        decimal = _detect_decimal(lines, delimiter)
        if decimal == ",":
            notes.append(f"{path.name}: numbers use a decimal comma")
    frame = _parse(path, encoding, delimiter, decimal)
    names = [str(c).strip() for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path.name}: the header names column {name_text(repeated[0])} more than once; "
            "give each column its own name"
        )
    frame.columns = names
    binary = [str(c) for c in frame.columns if _holds_bytes(frame[c])]
    if binary and encoding.startswith("utf-8"):
        # pyarrow keeps undecodable text as bytes instead of failing: reread as cp1252
        encoding = _fallback_encoding(path)
        notes.append(f"{path.name}: not valid UTF-8; read as {encoding}")
        frame = _parse(path, encoding, delimiter, decimal)
        frame.columns = names
    if frame.shape[0] == 0:
        raise DataError(f"{path.name}: has a header row but no data rows; add rows of data")
    # the parser's scratch memory goes back to the system now, not after a delay: the arrays
    # built next then reuse pages the machine has already backed, which is much faster here
    pa.default_memory_pool().release_unused()
    return CsvTable(frame, path, encoding, delimiter, decimal, notes)


def _read_sample(path: Path) -> tuple[bytes, bool]:
    try:
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
            at_eof = not fh.read(1)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; check the path") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file; pass a .csv file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    if not sample.strip():
        raise DataError(f"{path.name}: the file is empty; pass a CSV with a header and rows")
    if b"\x00" in sample[:65536]:
        raise DataError(f"{path.name}: looks like a binary file, not CSV text; export it as CSV")
    return sample, at_eof


def _detect_encoding(sample: bytes, at_eof: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=at_eof)
    except UnicodeDecodeError:
        return _fallback_for(sample)
    return "utf-8"


def _fallback_for(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"  # bytes cp1252 leaves undefined; latin-1 decodes anything
    return "cp1252"


def _fallback_encoding(path: Path) -> str:
    return _fallback_for(path.read_bytes())


def _decode_sample(sample: bytes, encoding: str, path: Path) -> str:
    try:
        return sample.decode(encoding, errors="replace")
    except LookupError:
        raise DataError(
            f"{path.name}: unknown encoding {name_text(encoding)}; try utf-8 or cp1252"
        ) from None


def _sample_lines(text: str, at_eof: bool) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not at_eof and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    return lines[:200]


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    """Fields per line, up to one the csv module cannot read (a field past its size limit)."""
    counts = []
    with contextlib.suppress(csv.Error):
        counts.extend(
            len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        )
    return counts


def _detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits the header into most columns that the rows agree with."""
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        counts = _field_counts(lines, candidate)
        if not counts or counts[0] < 2:
            continue
        agreement = sum(c == counts[0] for c in counts) / len(counts)
        score = (agreement, counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _detect_decimal(lines: list[str], delimiter: str) -> str:
    """',' when the delimiter is not a comma and numbers look like 3,14 but never like 3.14."""
    if delimiter == ",":
        return "."
    cells = Counter()
    # a field past the csv module's size limit ends the count: the rows before it decide
    with contextlib.suppress(csv.Error):
        for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=delimiter):
            for cell in row:
                if _COMMA_NUMBER.match(cell):
                    cells["comma"] += 1
                elif _DOT_NUMBER.match(cell):
                    cells["dot"] += 1
    return "," if cells["comma"] and not cells["dot"] else "."


def _parse(path: Path, encoding: str, delimiter: str, decimal: str) -> pd.DataFrame:
    """Parse with pyarrow's multi-threaded CSV reader, then convert to pandas column by
    column, freeing each Arrow column as it goes (no copy into 2-D blocks).

    The dtypes are those of ``pandas.read_csv(engine="pyarrow")``, except that text with at
    most ``MAX_DICTIONARY`` distinct values is a ``category`` column."""
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                null_values=list(MISSING_MARKERS),
                strings_can_be_null=True,
                decimal_point=decimal,
                # text with few distinct values is encoded while parsing, in parallel,
                # and arrives as a pandas Categorical: what training needs, at no cost
                auto_dict_encode=True,
                auto_dict_max_cardinality=MAX_DICTIONARY,
            ),
        )
    except UnicodeDecodeError:
        if encoding == "latin-1":
            raise
        return _parse(path, "latin-1", delimiter, decimal)
    except (pa.ArrowInvalid, ValueError) as exc:
        if "Empty CSV file" in str(exc):
            raise DataError(
                f"{path.name}: the file is empty; pass a CSV with a header and rows"
            ) from None
        raise _parse_error(path, encoding, delimiter, exc) from None
    # a column with no value at all is float NaN, as pandas reads it
    for i, kind in enumerate(table.schema.types):
        if pa.types.is_null(kind):
            table = table.set_column(i, table.field(i).with_type(pa.float64()),
                                     table.column(i).cast(pa.float64()))  # fmt: skip
    names = [name or f"Unnamed: {i}" for i, name in enumerate(table.column_names)]
    frame = table.rename_columns(names).to_pandas(
        types_mapper=_STRINGS.get, split_blocks=True, self_destruct=True
    )
    del table
    return frame


def _parse_error(path: Path, encoding: str, delimiter: str, exc: Exception) -> DataError:
    """Name the first ragged line (pyarrow's message does not give its number), or the line
    of a quote left open: the row it starts runs on over the lines after it."""
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        expected, last = None, 0
        with contextlib.suppress(csv.Error):  # a field past the csv module's size limit
            for row in reader:
                first, last = last + 1, reader.line_num
                if not row:
                    continue
                if expected is None:
                    expected = len(row)
                elif len(row) != expected and last > first:
                    return DataError(
                        f"{path.name}: line {first} opens a quote that is not closed (the field "
                        f"runs on to line {last}); close that quote or remove it"
                    )
                elif len(row) != expected:
                    return DataError(
                        f"{path.name}: line {last} has {len(row)} fields but the header has "
                        f"{expected}; fix that row or quote fields that contain "
                        f"{_DELIMITER_NAMES.get(delimiter, name_text(delimiter))}s"
                    )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"{path.name}: cannot be parsed as CSV ({first}); check its format")


def _holds_bytes(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = pd.Series(column.cat.categories)
    if column.dtype != object:
        return False
    values = column.dropna()
    return len(values) > 0 and isinstance(values.iloc[0], bytes)
