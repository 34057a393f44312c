"""A file's head: the preamble above the header row, the headings, a sample of rows,
and the date style its values are written in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from optin_analysis.problems import InputError, Problem

HEAD_BYTES = 1 << 20  #: bytes read from each file: enough for a few thousand rows
SAMPLE_ROWS = 5000  #: rows kept for looking at values
PREAMBLE_LINES = 10  #: at most this many lines above the header

#: Date styles tried, most specific first. EMIS writes 12-Jun-2024; TPP 12/06/2024.
DATE_FORMATS = (
    "%d-%b-%Y",
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d.%m.%Y",
)

_PREAMBLE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9 /()'-]{0,40}:(\s|$)")
_RUN_DATE = re.compile(r"^\s*(run|report|extract|search)\s*date\s*:\s*(?P<date>.+)$", re.I)
_SEARCH = re.compile(r"^\s*search\s*(name)?\s*:", re.I)


@dataclass(frozen=True)
class Sniff:
    """A file's preamble, header and first rows, as text.

    ``preamble`` holds the lines above the header (their count is the mapping's
    ``skip_rows``); ``rows`` the first data rows (blank rows left out).
    """

    path: Path
    preamble: tuple[str, ...]
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def skip_rows(self) -> int:
        return len(self.preamble)

    @property
    def header_row(self) -> int:
        """The header's row number as a spreadsheet shows it."""
        return len(self.preamble) + 1

    def values(self, heading: str) -> list[str]:
        """The sample's values under ``heading``, stripped (empty where a row is short)."""
        i = self.headings.index(heading)
        return [row[i].strip() if i < len(row) else "" for row in self.rows]

    def run_date(self) -> dt.date | None:
        """The date on a "Run date:" line of the preamble (EMIS), if any."""
        for line in self.preamble:
            found = _RUN_DATE.match(line.strip().strip('"'))
            if found:
                day = parse_date(found.group("date").strip().strip('",'))
                if day is not None:
                    return day
        return None

    def has_emis_preamble(self) -> bool:
        """Whether the preamble has EMIS's "Search:" and "Run date:" lines."""
        search = any(_SEARCH.match(line.strip('"')) for line in self.preamble)
        return search and self.run_date() is not None


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff(path: Path, limit: int = HEAD_BYTES) -> Sniff:
    """Read the head of an export; raise :class:`InputError` if it has no header row."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError([Problem(path, f"cannot open the file: {exc.strerror}")]) from None
    if len(data) > limit:  # cut at the last whole line
        data = data[: data.rfind(b"\n", 0, limit) + 1]
    text = _decode(data)
    if not text.strip():
        raise InputError([Problem(path, "the file is empty")])
    lines = text.splitlines()
    header = _header_index(lines)
    if header is None:
        raise InputError([Problem(path, "no header row found in the first lines", row=1)])
    headings = tuple(h.strip() for h in next(csv.reader([lines[header]])))
    reader = csv.reader(io.StringIO("\n".join(lines[header + 1 :])))
    rows = []
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append(tuple(row))
        if len(rows) >= SAMPLE_ROWS:
            break
    return Sniff(path, tuple(lines[:header]), headings, tuple(rows))


def _header_index(lines: list[str]) -> int | None:
    """The first line with two or more filled cells that is not a "Label: value" line."""
    for i, line in enumerate(lines[: PREAMBLE_LINES + 1]):
        cells = [c.strip() for c in next(csv.reader([line]), [])]
        filled = [c for c in cells if c]
        if not filled:
            continue
        if _PREAMBLE.match(cells[0]) and len(filled) <= 2:
            continue
        if len(filled) >= 2:
            return i
    return None


# --- dates -------------------------------------------------------------------------------


def parse_date(text: str, formats: Sequence[str] = DATE_FORMATS) -> dt.date | None:
    """A date written in one of ``formats`` (a time after it is ignored), or None."""
    text = text.strip()
    words = text.split()
    candidates = dict.fromkeys([text, " ".join(words[:3]), words[0] if words else ""])
    for fmt in formats:
        for candidate in candidates:
            try:
                return dt.datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def date_format(values: Iterable[str], formats: Sequence[str] = DATE_FORMATS) -> str | None:
    """The first of ``formats`` that reads every non-empty value; None if none does (or no
    value is filled in)."""
    distinct = list(dict.fromkeys(v.strip() for v in values if v.strip()))[:500]
    if not distinct:
        return None
    for fmt in formats:
        try:
            for value in distinct:
                dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def date_example(fmt: str) -> str:
    """12 June 2024 written in ``fmt``, to show a date style."""
    return dt.date(2024, 6, 12).strftime(fmt)


def table_date_format(sniff: Sniff, headings: Iterable[str]) -> str | None:
    """The date style of a file: the one format reading every date column in ``headings``."""
    values = [v for h in headings for v in sniff.values(h)]
    return date_format(values)
