"""engine.data.reader on hand-made messy CSVs: each quirk of real files, and each bad input."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest

from engine.data import read_csv
from engine.errors import DataError


def _write(tmp_path, data: bytes | str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_detects_each_delimiter(tmp_path, delimiter, name):
    rows = ["a,b,c", "1,x,2.5", "2,y,3.5", "3,z,4.5"]
    path = _write(tmp_path, "\n".join(r.replace(",", delimiter) for r in rows) + "\n")
    table = read_csv(path)
    assert table.delimiter == delimiter
    assert list(table.frame.columns) == ["a", "b", "c"]
    assert table.frame["c"].tolist() == [2.5, 3.5, 4.5]
    assert name in table.describe()


def test_utf8_with_bom_and_crlf_and_quoted_fields(tmp_path):
    text = 'name,note,value\r\n"Smith, J","said ""hi""\r\nthen left",1.5\r\nZoë,plain,2\r\n'
    table = read_csv(_write(tmp_path, codecs.BOM_UTF8 + text.encode("utf-8")))
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["name", "note", "value"]  # no BOM in the first name
    assert table.frame["name"].tolist() == ["Smith, J", "Zoë"]
    assert table.frame["note"].iloc[0] == 'said "hi"\r\nthen left'
    assert table.frame["value"].tolist() == [1.5, 2.0]


def test_utf8_without_bom(tmp_path):
    table = read_csv(_write(tmp_path, "city,t\nKöln,1\nMálaga,2\n"))
    assert table.encoding == "utf-8"
    assert table.warnings == []
    assert table.frame["city"].tolist() == ["Köln", "Málaga"]


def test_falls_back_to_cp1252_and_reports_it(tmp_path):
    path = _write(tmp_path, "city;price\nCafé;5\n€uro;6\n".encode("cp1252"))
    table = read_csv(path)
    assert table.encoding == "cp1252"
    assert table.frame["city"].tolist() == ["Café", "€uro"]
    assert any("cp1252" in w and "data.csv" in w for w in table.warnings)


def test_invalid_utf8_after_the_sample_is_still_caught(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.data.reader.SAMPLE_BYTES", 16)
    path = _write(tmp_path, "city,price\nParis,5\nRome,6\nCafé,7\n".encode("cp1252"))
    table = read_csv(path)
    assert table.encoding == "cp1252"
    assert table.frame["city"].tolist() == ["Paris", "Rome", "Café"]


def test_falls_back_to_latin1_when_cp1252_cannot_decode(tmp_path):
    table = read_csv(_write(tmp_path, b"a,b\n1,x\x81y\n2,z\n"))
    assert table.encoding == "latin-1"
    assert table.frame["b"].tolist() == ["x\x81y", "z"]


def test_detects_decimal_comma_in_semicolon_file(tmp_path):
    table = read_csv(_write(tmp_path, "x;y;label\n3,14;1,5;a\n-2,5;7;b\n0,25;8,75;a\n"))
    assert (table.delimiter, table.decimal) == (";", ",")
    assert table.frame["x"].tolist() == [3.14, -2.5, 0.25]
    assert table.frame["y"].dtype.kind == "f"
    assert any("decimal comma" in w for w in table.warnings)


def test_decimal_comma_as_an_option(tmp_path):
    path = _write(tmp_path, "x\ty\n1,5\t2\n2,5\t3\n")
    assert read_csv(path, decimal=",").frame["x"].tolist() == [1.5, 2.5]
    assert read_csv(path, delimiter="\t", decimal=".").frame["x"].dtype.kind != "f"


def test_semicolon_file_with_dot_decimals_keeps_dots(tmp_path):
    table = read_csv(_write(tmp_path, "x;y\n3.5;1\n2.25;2\n"))
    assert table.decimal == "."
    assert table.frame["x"].tolist() == [3.5, 2.25]


@pytest.mark.parametrize("marker", ["", "NA", "N/A", "NaN", "null", "?", "-"])
def test_missing_value_markers(tmp_path, marker):
    table = read_csv(_write(tmp_path, f"num,cat\n1.5,a\n{marker},{marker}\n3,b\n"))
    assert table.frame["num"].dtype.kind == "f"
    assert np.isnan(table.frame["num"].iloc[1])
    assert table.frame["cat"].isna().tolist() == [False, True, False]


def test_header_names_are_stripped(tmp_path):
    table = read_csv(_write(tmp_path, " a , b\n1,2\n"))
    assert list(table.frame.columns) == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"a,b,c\n", "no data rows"),
        (b"a,b,c\r\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"a,b,c\n1,2,3\n4,5,6\n7,8\n", "line 4 has 2 fields but the header has 3"),
        (b"a;b\n1;2\n3;4;5\n", "line 3 has 3 fields"),
    ],
)
def test_bad_input_is_one_clear_sentence(tmp_path, content, message):
    path = _write(tmp_path, content, "broken.csv")
    with pytest.raises(DataError) as info:
        read_csv(path)
    text = str(info.value)
    assert message in text
    assert "broken.csv" in text
    assert "\n" not in text


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="folder"):
        read_csv(tmp_path)


def test_header_names_that_differ_only_by_spaces_are_an_error(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a, a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="'a' more than once"):
        read_csv(path)


def test_repeated_and_empty_header_names(tmp_path):
    with pytest.raises(DataError, match="'a' more than once"):
        read_csv(_write(tmp_path, "a,a,b\n1,2,3\n", "same.csv"))
    table = read_csv(_write(tmp_path, "a,,b\n1,2,3\n", "blank.csv"))
    assert list(table.frame.columns) == ["a", "Unnamed: 1", "b"]


def test_frame_equals_what_pandas_reads_with_the_same_options(tmp_path):
    """The reader parses with pyarrow itself; the frame must be what pandas would give,
    with text of few distinct values as ``category`` and of many as ``str``."""
    from engine.data.values import MISSING_MARKERS

    text = (
        "num;int;gappy_int;flag;text;empty;mixed\n"
        '1,5;3;1;true;"red";;x\n'
        "NA;4;;false;blue;;2\n"
        "2,25;-7;3;true;N/A;;?\n"
        "-0,5;0;4;false;green, light;;null\n"
    )
    path = _write(tmp_path, text, "mixed.csv")
    table = read_csv(path)
    expected = pd.read_csv(
        path, engine="pyarrow", sep=";", decimal=",",
        na_values=list(MISSING_MARKERS), keep_default_na=False,
    )  # fmt: skip
    assert isinstance(table.frame["text"].dtype, pd.CategoricalDtype)
    expected["text"] = expected["text"].astype("category")
    expected["mixed"] = expected["mixed"].astype("category")
    pd.testing.assert_frame_equal(table.frame, expected, check_categorical=False)
    assert table.frame["num"].tolist()[:1] == [1.5] and table.frame["empty"].isna().all()


def test_text_with_many_distinct_values_stays_text(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.data.reader.MAX_DICTIONARY", 5)
    rows = "\n".join(f"{i},name{i},{'ab'[i % 2]}" for i in range(50))
    table = read_csv(_write(tmp_path, "n,name,ab\n" + rows + "\n"))
    assert table.frame["name"].dtype == "str" and table.frame["name"].iloc[7] == "name7"
    assert isinstance(table.frame["ab"].dtype, pd.CategoricalDtype)


def test_a_field_past_the_csv_modules_limit_leaves_detection_to_the_rows_before_it(tmp_path):
    huge = "x" * 200_000  # Python's csv module reads fields of up to 131,072 characters
    rows = [f"{i};{i},5;{huge if i == 7 else 'a'}" for i in range(8)]
    table = read_csv(_write(tmp_path, "\n".join(["n;v;t", *rows]) + "\n"))
    assert (table.delimiter, table.decimal) == (";", ",")
    assert table.frame["v"].tolist() == [i + 0.5 for i in range(8)]
    with pytest.raises(DataError, match=r"^broken.csv: cannot be parsed as CSV"):
        read_csv(_write(tmp_path, f"a,b\n{huge},1\n1,2,3\n", "broken.csv"))


def test_a_quote_left_open_is_named_by_the_line_that_opens_it(tmp_path):
    rows = [f"{i},{'red' if i != 2 else chr(34) + 'red'},{i % 2}" for i in range(30)]
    with pytest.raises(DataError) as info:
        read_csv(_write(tmp_path, "\n".join(["a,b,y", *rows]) + "\n"))
    assert str(info.value) == (
        "data.csv: line 4 opens a quote that is not closed (the field runs on to line 31); "
        "close that quote or remove it"
    )
