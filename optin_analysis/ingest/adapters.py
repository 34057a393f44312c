"""Supplier adapters: EMIS and TPP exports to the canonical tables, driven by mapping files.

A mapping (``data/mapping-emis.yaml``, ``data/mapping-tpp.yaml``) says, per table, which
column heading holds each canonical column, how dates are written, how many preamble
lines sit above the header, and how coded values (account status, access level) read.
Practices whose searches use other headings copy the file and point ``mapping:`` at it.

Reading keeps every value as text so that validation (:mod:`optin_analysis.ingest.validate`)
can say exactly which cell is wrong; conversion to typed canonical tables happens there.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import functools
import io
import os
import stat
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from optin_analysis.config import Limits, Supplier
from optin_analysis.ingest.schema import EVENT_COLUMNS, PATIENT_COLUMNS, AccessLevel
from optin_analysis.problems import InputError, Problem, Severity

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
ARROW_BLOCK = 1 << 18  # bytes: Arrow parses blocks in parallel, so mid-size files use all cores
TRANSCODE_PIECE = 1 << 20  # bytes: non-UTF-8 text is converted in pieces about this long
MB = 1 << 20  # bytes: the unit of ``limits.file_size_mb``
STR = pd.StringDtype(na_value=np.nan)  # pandas' default ``str`` dtype
TEXT = pa.large_string()  # Arrow type of all text read (what pandas' ``str`` holds)
#: What a mapping's ``values`` may turn each coded column's text into.
CODED_VALUES: dict[str, tuple[bool | str, ...]] = {
    "online_account": (True, False),
    "access_level": tuple(level.value for level in AccessLevel),
}
CODED = " and ".join(CODED_VALUES)


class TableMapping(BaseModel):
    """How one supplier export maps to one canonical table.

    Headings and coded values are read with surrounding whitespace removed, so the
    mapping's are too; two values the same once trimmed are an error, as is a value
    mapped to something the column cannot hold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    skip_rows: int = 0
    date_format: str
    columns: dict[str, str]
    values: dict[str, dict[str, bool | str]] = {}

    @field_validator("columns")
    @classmethod
    def _trimmed_headings(cls, columns: dict[str, str]) -> dict[str, str]:
        return {name: heading.strip() for name, heading in columns.items()}

    @field_validator("values")
    @classmethod
    def _trimmed_values(
        cls, values: dict[str, dict[str, bool | str]]
    ) -> dict[str, dict[str, bool | str]]:
        trimmed = {}
        for column, lookup in values.items():
            seen: dict[str, str] = {}
            for text in lookup:
                key = str(text).strip()
                if key in seen:
                    raise ValueError(
                        f"{column}: '{seen[key]}' and '{text}' are the same value once "
                        "surrounding spaces are removed"
                    )
                seen[key] = str(text)
            trimmed[column] = {str(k).strip(): v for k, v in lookup.items()}
        return trimmed

    @field_validator("date_format")
    @classmethod
    def _usable(cls, fmt: str) -> str:
        """A format pandas cannot read dates with would stop every run part-way through."""
        try:
            example = dt.date(2024, 6, 12).strftime(fmt)
            pd.to_datetime(pd.Series([example]), format=fmt, errors="coerce")
        except ValueError as exc:
            raise ValueError(f"not a usable date format ({exc})") from None
        return fmt


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
        stat = path.stat()
    except OSError:
        raise InputError([Problem(path, "mapping file not found")]) from None
    return _load_mapping(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _load_mapping(path: Path, mtime_ns: int, size: int) -> Mapping:
    """Parse a mapping file once per version (size, time) of it; mappings are frozen."""
    try:
        text = path.read_text(encoding="utf-8")
        mapping = Mapping.model_validate(yaml.safe_load(text))
    except OSError as exc:
        raise InputError([Problem(path, f"cannot read the mapping file: {exc.strerror}")]) from None
    except ValidationError as exc:
        problems = [
            Problem(path, f"invalid mapping file: {_where(text, e['loc'])}{_reason(e)}")
            for e in exc.errors()
        ]
        raise InputError(problems) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, f"invalid mapping file: {exc}")]) from None
    if unknown := _unknown(mapping):
        raise InputError(
            [
                Problem(path, f"invalid mapping file: {_where(text, loc)}{why}")
                for loc, why in unknown
            ]
        )
    return mapping


def _unknown(mapping: Mapping) -> list[tuple[tuple, str]]:
    """Columns that are not canonical, and coded values mapped to what a column cannot hold,
    each with where it is in the file."""
    found = []
    for table, names in (("patients", PATIENT_COLUMNS), ("events", EVENT_COLUMNS)):
        part: TableMapping = getattr(mapping, table)
        known = [n for n in names if n != "practice_code"]
        for section, columns in (("columns", part.columns), ("values", part.values)):
            found += [
                ((table, section, name), f"not a column: one of {', '.join(known)}")
                for name in columns
                if name not in known
            ]
        for name, lookup in part.values.items():
            if name in known and name not in CODED_VALUES:
                found.append(((table, "values", name), f"values are read only for {CODED}"))
                continue
            allowed = ", ".join(map(repr, CODED_VALUES.get(name, ())))
            found += [
                ((table, "values", name, text), f"{value!r} is not one of {allowed}")
                for text, value in lookup.items()
                if value not in CODED_VALUES.get(name, (value,))
            ]
    return found


def _where(text: str, loc: tuple) -> str:
    """ "line 12, patients.values.access_level: " for the key at ``loc``."""
    if not loc:
        return ""
    line = _line(text, loc)
    return (f"line {line}, " if line else "") + ".".join(map(str, loc)) + ": "


def _reason(error: dict) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _line(text: str, loc: tuple) -> int | None:
    """The line of the YAML key at ``loc`` (the nearest enclosing one that exists)."""
    node, line = yaml.compose(text), None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if str(k.value) == str(key)), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line


@dataclass(frozen=True)
class RawTable:
    """An export read as text: canonical column names, one row per data line.

    ``table`` holds the text (Arrow strings); ``labels`` gives each row's position among
    the file's data lines (blank lines are dropped but keep their numbers), so row ``i``
    is spreadsheet row ``first_row + labels[i]``. ``frame`` is the same as pandas ``str``.
    """

    path: Path
    table: pa.Table
    labels: np.ndarray
    first_row: int
    headings: dict[str, str]
    problems: list[Problem]

    def row(self, index: int) -> int:
        """The spreadsheet row number of the row labelled ``index`` (see ``labels``)."""
        return self.first_row + int(index)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The table as pandas ``str`` columns, indexed by ``labels``."""
        return self.rows(np.arange(self.table.num_rows))

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows at ``positions`` as a pandas frame indexed by their labels."""
        frame = self.table.take(positions).to_pandas(types_mapper={TEXT: STR}.get)
        labels = self.labels[positions]
        if len(labels) and labels[-1] - labels[0] == len(labels) - 1:
            frame.index = pd.RangeIndex(int(labels[0]), int(labels[-1]) + 1)
        else:
            frame.index = pd.Index(labels)
        return frame


#: Byte-order marks of the wide encodings, UTF-32 first (its little-endian mark begins
#: with UTF-16's).
WIDE_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Where each wide encoding puts the zero bytes of plain (ASCII) text, in each 4 bytes.
WIDE_ZEROS = {
    "utf-32-le": (False, True, True, True),
    "utf-32-be": (True, True, True, False),
    "utf-16-le": (False, True, False, True),
    "utf-16-be": (True, False, True, False),
}
WIDE_SNIFF = 4096  #: bytes looked at for the pattern of zero bytes


@dataclass(frozen=True)
class Wide:
    """A UTF-16 or UTF-32 file: its codec, the length of its mark, how it was told."""

    codec: str
    mark: int
    how: str

    @property
    def label(self) -> str:
        """E.g. "UTF-16 (little-endian, by its byte-order mark)"."""
        name, order = self.codec[:6].upper(), self.codec[7:]
        return f"{name} ({'little' if order == 'le' else 'big'}-endian, {self.how})"


def wide_encoding(data: bytes) -> Wide | None:
    """UTF-16 or UTF-32 text, told by its byte-order mark or, without one, by where its
    zero bytes fall in the first few KB (every other byte, or three bytes in four)."""
    for mark, codec in WIDE_MARKS:
        if data.startswith(mark):
            return Wide(codec, len(mark), "by its byte-order mark")
    head = data[: WIDE_SNIFF - WIDE_SNIFF % 4]
    head = head[: len(head) - len(head) % 4]
    if not head or b"\x00" not in head:
        return None
    zeros = (np.frombuffer(head, dtype=np.uint8) == 0).reshape(-1, 4).mean(axis=0)
    for codec, pattern in WIDE_ZEROS.items():
        if all(z > 0.5 if zero else z < 0.05 for z, zero in zip(zeros, pattern, strict=True)):
            return Wide(codec, 0, "by its zero bytes")
    return None


def _from_wide(path: Path, data: bytes, wide: Wide) -> tuple[bytes, list[Problem]]:
    """UTF-16 or UTF-32 text as UTF-8, with a warning saying so; refused where it is not."""
    body = data[wide.mark :]
    try:
        text = body.decode(wide.codec)
    except UnicodeDecodeError as exc:
        row = body[: exc.start].decode(wide.codec, "replace").count("\n") + 1
        message = (
            f"cannot read the text as {wide.label}: it is not valid {wide.label[:6]} on this "
            "row; export the file again as CSV (UTF-8)"
        )
        raise InputError([Problem(path, message, row=row)]) from None
    note = Problem(path, f"the text is {wide.label}: read as such", severity=Severity.WARNING)
    return text.encode("utf-8"), [note]


def _no_nul(path: Path, data: bytes, problems: list[Problem]) -> None:
    """Refuse text with NUL bytes (a damaged or binary file), naming the row of the first."""
    first = data.find(b"\x00")
    if first >= 0:
        message = (
            "the file holds NUL bytes (zeros) from this row: it is not CSV text (a damaged "
            "or binary file?); export it again"
        )
        row = data.count(b"\n", 0, first) + 1
        raise InputError([*problems, Problem(path, message, row=row)])


def to_utf8(path: Path, data: bytes, encoding: str) -> tuple[bytes, list[Problem]]:
    """The file's bytes as UTF-8 (BOM removed): UTF-16 and UTF-32 read as such (by their
    mark or their zero bytes), UTF-8 as is, else Windows-1252 when ``auto``.

    UTF-8 is checked in place, without decoding to a Python string; other text is converted
    piece by piece, keeping pieces that are plain ASCII as they are.
    """
    if (wide := wide_encoding(data)) is not None:
        return _from_wide(path, data, wide)
    if data.isascii():
        return data, []
    body = data.removeprefix(codecs.BOM_UTF8)
    if _is_utf8(body):
        return body, []
    fallback = "cp1252" if encoding == "auto" else encoding
    try:
        text = _transcode(body, fallback)  # a UTF-8 mark on other text is still only a mark
    except (UnicodeDecodeError, LookupError):
        raise InputError([_undecodable(path, data, fallback)]) from None
    marked = " despite its UTF-8 mark (BOM)" if len(body) < len(data) else ""
    note = Problem(
        path,
        f"the text is not UTF-8{marked} (first on this row): the file is read as {fallback} "
        "(Windows)",
        row=_first_non_utf8_row(body),
        severity=Severity.WARNING,
    )
    return text, [note]


def _first_non_utf8_row(data: bytes) -> int:
    """The line number (from 1) of the first byte of ``data`` that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1
    return 1


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow over the bytes where they lie."""
    size = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    binary = pa.Array.from_buffers(pa.large_binary(), 1, [None, size, pa.py_buffer(data)])
    try:
        binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _transcode(data: bytes, encoding: str) -> bytes:
    """``data`` from ``encoding`` to UTF-8; ASCII pieces of ASCII-compatible text are kept."""
    if "\r\n".encode(encoding) != b"\r\n":
        return data.decode(encoding).encode("utf-8")
    view, pieces, start = memoryview(data), [], 0
    while start < len(data):
        end = data.find(b"\n", start + TRANSCODE_PIECE) + 1 or len(data)
        piece = view[start:end]
        if np.frombuffer(piece, dtype=np.uint8).max() >= 0x80:
            piece = bytes(piece).decode(encoding).encode("utf-8")
        pieces.append(piece)
        start = end
    return b"".join(pieces)


def _undecodable(path: Path, data: bytes, fallback: str) -> Problem:
    try:
        data.decode("utf-8-sig")
        start = 0
    except UnicodeDecodeError as exc:
        start = exc.start
    return Problem(
        path,
        f"cannot read the text: byte 0x{data[start]:02x} is neither UTF-8 "
        f"nor {fallback}; export the file again as CSV (UTF-8)",
        row=data[:start].count(b"\n") + 1,
    )


def _head(data: bytes, skip: int) -> list[str]:
    """The first ``skip + 1`` lines of UTF-8 ``data``, decoded, with their line ends."""
    end = -1
    for _ in range(skip + 1):
        end = data.find(b"\n", end + 1)
        if end < 0:
            break
    chunk = data if end < 0 else data[: end + 1]
    return chunk.decode("utf-8").splitlines(keepends=True)[: skip + 1]


def _header(path: Path, lines: list[str], skip: int) -> list[str]:
    if len(lines) <= skip or not lines[skip].strip():
        raise InputError([Problem(path, "no header row where one was expected", row=skip + 1)])
    try:
        return next(csv.reader(lines[skip].splitlines()))
    except csv.Error as exc:
        raise InputError(
            [Problem(path, f"cannot read the header row: {exc}", row=skip + 1)]
        ) from None


def column_letters(index: int) -> str:
    """The spreadsheet's name of the column at ``index`` (from 0): A, ..., Z, AA, AB, ..."""
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _duplicate_headings(
    path: Path, header: list[str], mapping: TableMapping, header_row: int
) -> list[Problem]:
    """A heading the mapping reads that is on more than one column, naming the columns."""
    names = [h.strip() for h in header]
    problems = []
    for canonical, heading in mapping.columns.items():
        where = [column_letters(i) for i, name in enumerate(names) if name == heading]
        if len(where) < 2:
            continue
        both, other = ("both", "other") if len(where) == 2 else ("all", "others")
        message = (
            f"columns {', '.join(where[:-1])} and {where[-1]} {both} have this heading: which "
            f"one holds {canonical} cannot be told; rename or remove the {other}"
        )
        problems.append(Problem(path, message, row=header_row, column=heading))
    return problems


def _check_headings(
    path: Path, header: list[str], mapping: TableMapping, table: str, header_row: int
) -> list[Problem]:
    if len(header) == 1 and (separator := next((c for c in "\t;" if c in header[0]), None)):
        named = {"\t": "tabs", ";": "semicolons"}[separator]
        message = f"the headings are separated by {named}, not commas: save the file as CSV"
        return [Problem(path, message, row=header_row)]
    problems = _duplicate_headings(path, header, mapping, header_row)
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


def _truncation(path: Path, data: bytes, header: list[str], last_row: int) -> list[Problem]:
    if data.endswith((b"\n", b"\r")):
        return []
    last = data.rsplit(b"\n", 1)[-1].decode("utf-8")
    try:
        fields = next(csv.reader([last]), [])
    except csv.Error:
        fields = []
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


# --- bounded input: what no honest extract reaches, refused before it takes memory -----


def _limit_words(name: str) -> str:
    return f"(limits: {name} in the run configuration)"


def read_bounded(path: Path, limits: Limits) -> bytes:
    """The file's bytes; refused (:class:`InputError`) without reading it when it is larger
    than ``limits.file_size_mb``, or while reading when it grows past it (a device, a pipe).
    """
    limit = limits.file_size_mb * MB
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            size = info.st_size if stat.S_ISREG(info.st_mode) else limit
            data = handle.read(size + 1) if size <= limit else b""
    except OSError as exc:
        raise InputError([Problem(path, f"cannot open the file: {exc.strerror}")]) from None
    if size <= limit and len(data) <= limit:
        return data
    shown = f"{-(-size // MB):,} MB" if size > limit else f"over {limits.file_size_mb:,} MB"
    message = f"the file is {shown}; the limit is {limits.file_size_mb:,} MB"
    raise InputError([Problem(path, f"{message} {_limit_words('file_size_mb')}")])


def long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """The row (from 1) and length in bytes of the first line longer than ``limit``, or None.

    A line longer than ``limit`` holds a whole block of ``limit // 2`` bytes without a line
    end, so only each block is searched (one ``find`` per block: a few thousand for the
    largest extract) and only the line around a block without one is measured. Lines end
    at ``\n`` (``\r`` in a file with none); a ``\r`` before the ``\n`` is not counted.
    """
    end = b"\n" if b"\n" in data else b"\r"
    block = max(limit // 2, 1)
    for pos in range(0, len(data) - block + 1, block):
        if data.find(end, pos, pos + block) >= 0:
            continue
        start = data.rfind(end, 0, pos) + 1
        stop = data.find(end, pos + block)
        if stop < 0:
            stop = len(data)
        elif end == b"\n" and data[stop - 1 : stop] == b"\r":
            stop -= 1
        if stop - start > limit:
            return data.count(end, 0, start) + 1, stop - start
    return None


def _check_lines(path: Path, data: bytes, limits: Limits) -> None:
    found = long_line(data, limits.line_length)
    if found is not None:
        row, length = found
        message = (
            f"the line is {length:,} bytes long; the limit is {limits.line_length:,} "
            f"{_limit_words('line_length')}"
        )
        raise InputError([Problem(path, message, row=row)])


def _long_cells(
    path: Path, text: pa.Table, labels: np.ndarray, first_row: int, limit: int
) -> list[Problem]:
    """Every cell longer than ``limit`` bytes, by row and column heading."""
    problems = []
    for heading, column in zip(text.column_names, text.columns, strict=True):
        sizes = pc.binary_length(column)
        if (pc.max(sizes).as_py() or 0) <= limit:
            continue
        sizes = sizes.to_numpy()
        problems += [
            Problem(
                path,
                f"the cell is {int(sizes[i]):,} bytes long; the limit is {limit:,} "
                f"{_limit_words('field_length')}",
                row=first_row + int(labels[i]),
                column=heading,
            )
            for i in np.flatnonzero(sizes > limit)
        ]
    return sorted(problems, key=lambda p: p.row or 0)


def read_raw(
    path: Path,
    mapping: TableMapping,
    table: str,
    encoding: str = "auto",
    limits: Limits | None = None,
) -> RawTable:
    """Read one export as text with canonical column names; raise on unreadable files.

    The file's size and its lines are checked against ``limits`` (default: ``Limits()``)
    before it is decoded or parsed, its cells once parsed, before anything else is done.
    A header with no data rows is an error for ``patients``; for ``events`` it is a
    practice with no coded events yet (a warning).
    """
    path, limits = Path(path), limits or Limits()
    data = read_bounded(path, limits)
    if not data or data.isspace():
        raise InputError([Problem(path, "the file is empty")])
    _check_lines(path, data, limits)
    data, problems = to_utf8(path, data, encoding)
    _no_nul(path, data, problems)
    head = _head(data, mapping.skip_rows)
    header = _header(path, head, mapping.skip_rows)
    header_row = mapping.skip_rows + 1
    problems += _check_headings(path, header, mapping, table, header_row)
    if any(p.severity is Severity.ERROR for p in problems):
        raise InputError(problems)
    text, labels = _arrow_text(data, head[:-1], header) or _pandas_text(
        path, data, mapping.skip_rows, problems
    )
    if text.num_rows == 0 and table != "events":
        raise InputError(problems + [Problem(path, "the file has a header but no data rows")])
    if text.num_rows == 0:
        empty = "no coded events yet: the file has a header but no data rows"
        return RawTable(path, _canonical(text, mapping), labels, header_row + 1,
                        dict(mapping.columns), [*problems, Problem(path, empty,
                        severity=Severity.WARNING)])  # fmt: skip
    if long := _long_cells(path, text, labels, header_row + 1, limits.field_length):
        raise InputError(problems + long)
    truncated = _truncation(path, data, header, header_row + 1 + int(labels[-1]))
    if any(p.severity is Severity.ERROR for p in truncated):
        text, labels = text.slice(0, len(labels) - 1), labels[:-1]  # the cut row: reported once
    problems += truncated
    headings = dict(mapping.columns)
    return RawTable(path, _canonical(text, mapping), labels, header_row + 1, headings, problems)


def _canonical(text: pa.Table, mapping: TableMapping) -> pa.Table:
    """The mapped columns under canonical names; headings not in the file read as empty."""
    rename = {h: c for c, h in mapping.columns.items() if h in text.column_names}
    out = text.select(list(rename)).rename_columns(list(rename.values()))
    for canonical in mapping.columns:
        if canonical not in out.column_names:
            out = out.append_column(canonical, pa.repeat(pa.scalar("", TEXT), len(out)))
    return out


def _arrow_text(
    data: bytes, preamble: list[str], header: list[str]
) -> tuple[pa.Table, np.ndarray] | None:
    """Read with Arrow, all text; None when the file needs the careful (pandas) reader.

    The careful reader is needed for what Arrow treats differently: blank lines (which
    keep their row numbers there), rows with missing or extra fields, odd line breaks in
    the preamble, and headings that repeat.
    """
    names = [h.strip() for h in header]
    if len(set(names)) < len(names) or not all(line.endswith(("\n", "\r")) for line in preamble):
        return None
    start = len("".join(preamble).encode("utf-8"))
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(data)[start:]),
            read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=data.find(b'"', start) >= 0, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, TEXT),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.column_names != header or not all(t == TEXT for t in table.schema.types):
        return None
    return _without_blank_rows(table.rename_columns(names))


def _without_blank_rows(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Rows with any cell filled in, and each kept row's position in ``table``."""
    if table.num_columns == 0 or not pc.any(pc.equal(table.column(0), "")).as_py():
        return table, np.arange(table.num_rows)
    filled = None
    for column in table.columns:
        nonempty = pc.greater(pc.binary_length(column), 0)
        filled = nonempty if filled is None else pc.or_(filled, nonempty)
    if pc.all(filled).as_py():
        return table, np.arange(table.num_rows)
    keep = filled.to_numpy()
    return table.filter(keep), np.flatnonzero(keep)


def _pandas_text(
    path: Path, data: bytes, skip: int, problems: list[Problem]
) -> tuple[pa.Table, np.ndarray]:
    """Read with pandas' C parser: short rows padded with empty cells, blank rows dropped."""
    try:
        frame = pd.read_csv(
            io.StringIO(data.decode("utf-8")),
            skiprows=skip,
            dtype="str",
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(problems + [_parser_problem(path, exc, skip)]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[(frame != "").any(axis=1), ~frame.columns.duplicated()]
    text = pa.Table.from_pandas(frame, preserve_index=False)
    return text.cast(pa.schema([(c, TEXT) for c in text.column_names])), np.asarray(
        frame.index, dtype=np.int64
    )


def _parser_problem(path: Path, exc: Exception, skip: int) -> Problem:
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
