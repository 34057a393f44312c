"""Files that could exhaust the machine: too large, a line or a cell too long, an identifier
too long. Each is refused as the file is read, before memory grows, with one error naming
the file, the row and the column, and the limit (each configurable under ``limits:``).

A sparse file (``os.truncate``, as ``truncate -s 2G`` makes one) costs no disk space.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from optin_analysis.run.cli import app
from tests.fault.helpers import PERIOD, make_sample, measured, practice_folder

runner = CliRunner()
MB = 1 << 20
PEAK_MB = 1024  #: the largest process of a refused file stays under this
HEADER_ROW = 3  #: EMIS puts the search name and run date above the header


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")  # the sample writes CRLF line ends


def _replace_line(path: Path, row: int, change) -> None:
    """Rewrite line ``row`` (as a spreadsheet numbers it) of ``path`` with ``change``."""
    lines = _lines(path)
    lines[row - 1] = change(lines[row - 1])
    path.write_bytes(b"\r\n".join(lines))


def _with_cell(row: int, column: int, value: bytes):
    def change(line: bytes) -> bytes:
        cells = line.split(b",")
        cells[column] = value
        return b",".join(cells)

    return change


def test_a_2_gb_file_is_refused_at_once_naming_the_file_and_the_limit(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    os.truncate(practice_folder(config) / "patients.csv", 2048 * MB)  # rows, then NUL bytes

    run = ["run", "-c", str(config), "-p", PERIOD, "--jobs", "1", "--no-pdf"]
    for command in (["validate", str(config)], run):
        done, peak = measured(*command)
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert (
            "ERROR: patients.csv: the file is 2,048 MB; the limit is 256 MB "
            "(limits: file_size_mb in the run configuration)" in output
        )
        assert "Traceback" not in output and "unexpected" not in output
        assert peak < PEAK_MB, f"{command[0]}: {peak:,.0f} MB"
    assert not (config.parent / "worklists" / PERIOD / "Y90001").exists()


def test_a_long_line_is_refused_naming_its_row(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    _replace_line(practice_folder(config) / "patients.csv", 10, lambda _: b"x" * MB)

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        "ERROR: patients.csv, row 10: the line is 1,048,576 bytes long; the limit is 65,536 "
        "(limits: line_length in the run configuration)" in result.output
    )


def test_a_200_mb_line_is_refused_with_little_memory(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    patients = practice_folder(config) / "patients.csv"
    rows = len(_lines(patients))  # the last line is empty: the extra line is on this row
    os.truncate(patients, patients.stat().st_size + 200 * MB)

    done, peak = measured("validate", str(config))

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"ERROR: patients.csv, row {rows}: the line is 209,715,200 bytes long" in output
    assert peak < PEAK_MB, f"{peak:,.0f} MB"


def test_a_long_cell_is_refused_naming_row_and_column(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    patients = practice_folder(config) / "patients.csv"
    _replace_line(patients, 7, _with_cell(7, 3, b"x" * 5000))  # column D: Gender

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        "ERROR: patients.csv, row 7, column 'Gender': the cell is 5,000 bytes long; the limit "
        "is 4,096 (limits: field_length in the run configuration)" in result.output
    )


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (65, "row 8, column 'Patient ID': longer than 64 characters: not an identifier"),
        (MB, "row 8: the line is 1,048,6"),  # the whole line: the id and the other cells
    ],
    ids=["65 characters", "1 MB"],
)
def test_a_long_patient_id_is_an_error_and_reaches_no_worklist(tmp_path, length, expected):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    _replace_line(practice_folder(config) / "patients.csv", 8, _with_cell(8, 0, b"P" * length))

    result = runner.invoke(app, ["worklists", "-c", str(config), "-p", PERIOD])

    assert result.exit_code == 1, result.output
    assert f"ERROR: patients.csv, {expected}" in result.output
    written = config.parent / "worklists" / PERIOD / "Y90001"
    assert not written.exists() or not any(written.iterdir())


def test_a_long_code_is_an_error_naming_row_and_column(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    events = practice_folder(config) / "events.csv"
    _replace_line(events, HEADER_ROW + 2, _with_cell(HEADER_ROW + 2, 1, b"1" * 100))

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 1, result.output
    assert (
        f"ERROR: events.csv, row {HEADER_ROW + 2}, column 'SNOMED CT Concept ID': longer "
        "than 64 characters: not an identifier" in result.output
    )
    assert "1" * 100 not in result.output  # not echoed as an unknown code either


def test_the_limits_are_set_in_the_run_configuration(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200,
                         limits={"identifier_length": 12})  # fmt: skip
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 1, result.output
    assert f"row {HEADER_ROW + 1}, column 'Patient ID': longer than 12 characters" in result.output
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["practices"][0]["limits"] = {}  # a practice's own block replaces the run's
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert runner.invoke(app, ["validate", str(config)]).exit_code == 0

    raised = {"line_length": 2 * MB, "field_length": 32_767, "identifier_length": 1024}
    config = make_sample(tmp_path / "raised", practices=1, patients=200, limits=raised)
    _replace_line(practice_folder(config) / "patients.csv", 8, _with_cell(8, 3, b"x" * MB))
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 1, result.output
    assert "row 8, column 'Gender': the cell is 1,048,576 bytes long; the limit is 32,767" in (
        result.output
    )

    for i, (limits, named) in enumerate(
        (
            (
                {"file_size_mb": 0},
                "limits.file_size_mb: Input should be greater than or equal to 1",
            ),
            ({"field_length": 40_000}, "limits.field_length: Input should be less than or equal"),
            ({"lines": 5}, "limits.lines: unknown setting (misspelt?)"),
        )
    ):
        config = make_sample(tmp_path / f"bad{i}", practices=1, patients=200, limits=limits)
        result = runner.invoke(app, ["validate", str(config)])
        assert result.exit_code == 2, result.output
        assert named in result.output
