"""Headings and encodings that would be misread: two columns with one heading, UTF-16 and
UTF-32 text (with or without a byte-order mark), NUL bytes, tab-separated text. Each is
read correctly or refused with one error naming the file, the row and the column (or the
encoding), never silently read as something else."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optin_analysis.run.cli import app
from tests.fault.helpers import PERIOD, make_sample, practice_folder

runner = CliRunner()
HEADER_ROW = 3  #: EMIS puts the search name and run date above the header


def _rename_heading(path: Path, old: bytes, new: bytes) -> None:
    lines = path.read_bytes().split(b"\r\n")
    headings = lines[HEADER_ROW - 1].split(b",")
    headings[headings.index(old)] = new
    lines[HEADER_ROW - 1] = b",".join(headings)
    path.write_bytes(b"\r\n".join(lines))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"Online Services Registration Date", b"Record Access Date",
         "column 'Record Access Date': columns G and I both have this heading: which one "
         "holds access_start_date cannot be told; rename or remove the other"),
        (b"Gender", b"NHS Number",
         "column 'NHS Number': columns B and D both have this heading: which one holds "
         "nhs_number cannot be told; rename or remove the other"),
    ],
    ids=["access date", "NHS number"],
)  # fmt: skip
def test_two_columns_with_one_heading_are_an_error_naming_both(tmp_path, old, new, message):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    _rename_heading(practice_folder(config) / "patients.csv", old, new)

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert f"ERROR: patients.csv, row {HEADER_ROW}, {message}" in result.output


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")  # the sample's EMIS files are Windows text


@pytest.mark.parametrize(
    ("codec", "named"),
    [
        ("utf-16", "UTF-16 (little-endian, by its byte-order mark)"),
        ("utf-16-le", "UTF-16 (little-endian, by its zero bytes)"),
        ("utf-16-be", "UTF-16 (big-endian, by its zero bytes)"),
        ("utf-32", "UTF-32 (little-endian, by its byte-order mark)"),
    ],
)
def test_utf_16_and_utf_32_files_are_read_saying_so(tmp_path, codec, named):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    measures = ["measures", "-c", str(config), "-p", PERIOD, "--json"]
    before = runner.invoke(app, measures)
    assert before.exit_code == 0, before.output
    for name in ("patients.csv", "events.csv"):
        path = practice_folder(config) / name
        path.write_bytes(_text(path).encode(codec))

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 0, result.output
    assert f"WARNING: patients.csv: the text is {named}: read as such" in result.output
    assert runner.invoke(app, measures).stdout == before.stdout  # the same figures


def test_utf_16_text_that_does_not_decode_is_refused_naming_the_encoding(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    path = practice_folder(config) / "patients.csv"
    lines = _text(path).split("\r\n")
    broken = "\r\n".join(lines[:5]).encode("utf-16") + "\ud800".encode("utf-16-le", "surrogatepass")
    path.write_bytes(broken + "\r\n".join(["", *lines[5:]]).encode("utf-16-le"))

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        "ERROR: patients.csv, row 5: cannot read the text as UTF-16 (little-endian, by its "
        "byte-order mark): it is not valid UTF-16 on this row; export the file again as CSV "
        "(UTF-8)" in result.output
    )


def test_nul_bytes_are_refused_naming_the_row(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    path = practice_folder(config) / "patients.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[6] = lines[6][:5] + b"\x00" * 40 + lines[6][5:]
    path.write_bytes(b"\r\n".join(lines))

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        "ERROR: patients.csv, row 7: the file holds NUL bytes (zeros) from this row: it is "
        "not CSV text (a damaged or binary file?); export it again" in result.output
    )


def test_tab_separated_text_is_named_once(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    path = practice_folder(config) / "patients.csv"
    path.write_bytes(_text(path).replace(",", "\t").encode("utf-16"))  # Excel "Unicode Text"

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        f"ERROR: patients.csv, row {HEADER_ROW}: the headings are separated by tabs, not "
        "commas: save the file as CSV" in result.output
    )
    assert "not found" not in result.output
