"""Supplier adapters: EMIS and TPP exports to the canonical tables, driven by mapping files.

A mapping (``data/mapping-emis.yaml``, ``data/mapping-tpp.yaml``) says, per table, which
column heading holds each canonical column, how dates are written, how many preamble
lines sit above the header, and how coded values (account status, access level) read.
Practices whose searches use other headings copy the file and point ``mapping:`` at it.

Reading keeps every value as text so that validation (:mod:`optin_analysis.validate`)
can say exactly which cell is wrong; conversion to typed canonical tables happens there.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .config import Supplier
from .problems import InputError, Problem, Severity

MAPPING_DIR = Path(str(files("optin_analysis") / "data"))
REQUIRED = {
    "patients": (
        "patient_id",
        "date_of_birth",
        "registration_date",
        "online_account",
        "access_level",
    ),
    "events": ("patient_id", "code", "event_date"),
}


class TableMapping(BaseModel):
    """How one supplier export maps to one canonical table."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    skip_rows: int = 0
    date_format: str
    columns: dict[str, str]
    values: dict[str, dict[str, bool | str]] = {}


class Mapping(BaseModel):
    """A supplier's mapping for both tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    supplier: Supplier
    encoding: str = "auto"
    patients: TableMapping
    events: TableMapping


def load_mapping(supplier: Supplier, path: Path | None = None) -> Mapping:
    """The shipped mapping for ``supplier``, or the practice's own file at ``path``."""
    path = Path(path or MAPPING_DIR / f"mapping-{supplier.value}.yaml")
    try:
        return Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InputError([Problem(path, "mapping file not found")]) from None
    except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, f"invalid mapping file: {exc}")]) from None


@dataclass(frozen=True)
class RawTable:
    """An export read as text: canonical column names, one row per data line.

    ``first_row`` is the spreadsheet row number of the frame's first row, so row ``i``
    of the frame is row ``first_row + i`` in the file.
    """

    path: Path
    frame: pd.DataFrame
    first_row: int
    headings: dict[str, str]
    problems: list[Problem]

    def row(self, index: int) -> int:
        """The spreadsheet row number of frame row ``index``."""
        return self.first_row + int(index)


def decode(path: Path, data: bytes, encoding: str) -> tuple[str, list[Problem]]:
    """Bytes to text: UTF-8 (with or without BOM), else Windows-1252 when ``auto``."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    fallback = "cp1252" if encoding == "auto" else encoding
    try:
        text = data.decode(fallback)
    except (UnicodeDecodeError, LookupError):
        line = data[: utf8_error.start].count(b"\n") + 1
        raise InputError(
            [
                Problem(
                    path,
                    f"cannot read the text: byte 0x{data[utf8_error.start]:02x} is neither UTF-8 "
                    f"nor {fallback}; export the file again as CSV (UTF-8)",
                    row=line,
                )
            ]
        ) from None
    note = Problem(path, f"not UTF-8: read as {fallback} (Windows)", severity=Severity.WARNING)
    return text, [note]


def _header(path: Path, lines: list[str], skip: int) -> list[str]:
    if len(lines) <= skip or not lines[skip].strip():
        raise InputError([Problem(path, "no header row where one was expected", row=skip + 1)])
    return next(csv.reader([lines[skip]]))


def _check_headings(
    path: Path, header: list[str], mapping: TableMapping, table: str, header_row: int
) -> list[Problem]:
    problems = []
    for canonical, heading in mapping.columns.items():
        if heading in header:
            continue
        close = difflib.get_close_matches(heading, header, n=1, cutoff=0.6)
        hint = f" (found '{close[0]}': renamed?)" if close else ""
        severity = Severity.ERROR if canonical in REQUIRED[table] else Severity.WARNING
        message = f"column '{heading}' ({canonical}) not found{hint}"
        if severity is Severity.WARNING:
            message += "; treated as empty"
        problems.append(Problem(path, message, row=header_row, severity=severity))
    return problems


def _truncation(path: Path, text: str, header: list[str], last_row: int) -> list[Problem]:
    if text.endswith(("\n", "\r")):
        return []
    last = text.rsplit("\n", 1)[-1]
    fields = next(csv.reader([last]), [])
    if len(fields) < len(header):
        return [
            Problem(
                path,
                f"last row has {len(fields)} of {len(header)} columns: the file looks "
                "truncated (export it again)",
                row=last_row,
            )
        ]
    return [
        Problem(
            path, "file does not end with a line break", row=last_row, severity=Severity.WARNING
        )
    ]


def read_raw(path: Path, mapping: TableMapping, table: str, encoding: str = "auto") -> RawTable:
    """Read one export as text with canonical column names; raise on unreadable files."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(path, f"cannot open the file: {exc.strerror}")]) from None
    if not data.strip():
        raise InputError([Problem(path, "the file is empty")])
    text, problems = decode(path, data, encoding)
    lines = text.splitlines()[: mapping.skip_rows + 1]
    header = _header(path, lines, mapping.skip_rows)
    header_row = mapping.skip_rows + 1
    problems += _check_headings(path, header, mapping, table, header_row)
    if any(p.severity is Severity.ERROR for p in problems):
        raise InputError(problems)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            skiprows=mapping.skip_rows,
            dtype="str",
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        raise InputError(problems + [_parser_problem(path, exc, mapping.skip_rows)]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[(frame != "").any(axis=1)] if len(frame) else frame
    if frame.empty:
        raise InputError(problems + [Problem(path, "the file has a header but no data rows")])
    truncated = _truncation(path, text, header, header_row + 1 + int(frame.index[-1]))
    if any(p.severity is Severity.ERROR for p in truncated):
        frame = frame.iloc[:-1]  # the cut row is reported once, not cell by cell
    problems += truncated
    rename = {h: c for c, h in mapping.columns.items() if h in frame.columns}
    out = frame[list(rename)].rename(columns=rename)
    for canonical in mapping.columns:
        if canonical not in out.columns:
            out[canonical] = ""
    headings = dict(mapping.columns)
    return RawTable(path, out, header_row + 1, headings, problems)


def _parser_problem(path: Path, exc: pd.errors.ParserError, skip: int) -> Problem:
    text = str(exc)
    row = None
    if " in line " in text:
        try:
            row = int(text.split(" in line ")[1].split(",")[0]) + skip
        except ValueError:
            row = None
    detail = text.split("C error: ")[-1]
    return Problem(path, f"rows do not line up with the header ({detail})", row=row)


def to_supplier_csv(
    frame: pd.DataFrame, mapping: TableMapping, path: Path, preamble: list[str], encoding: str
) -> None:
    """Write a canonical table as the supplier's export looks (the inverse of reading).

    Used by the synthetic data generator; dates follow the mapping's format and coded
    values use the first supplier text that maps to each canonical value.
    """
    out = pd.DataFrame(index=frame.index)
    for canonical, heading in mapping.columns.items():
        column = frame[canonical]
        if canonical in mapping.values:
            inverse: dict = {}
            for text, value in mapping.values[canonical].items():
                inverse.setdefault(value, text)
            column = column.map(inverse)
        elif pd.api.types.is_datetime64_any_dtype(column):
            column = column.dt.strftime(mapping.date_format)
        out[heading] = column.fillna("").astype("str")
    body = out.to_csv(index=False, lineterminator="\r\n")
    head = "".join(line + "\r\n" for line in preamble)
    Path(path).write_bytes((head + body).encode(encoding))
