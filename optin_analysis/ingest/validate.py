"""Validation: supplier text to typed canonical tables, every problem reported at once.

Each check is a vectorised rule over a whole column (computed once, with Arrow), giving a
pass/fail mask. The rules become a pandera schema whose checks return those masks; pandera
validates, in lazy mode, the rows where some rule failed (all of them, so one pass lists
every bad cell), and each failure becomes a :class:`~optin_analysis.problems.Problem`
naming the file, the spreadsheet row and the column heading the user knows. Clean tables
pass without the schema being run: there is nothing for it to collect.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from optin_analysis.config import Limits
from optin_analysis.ingest import nhs_number
from optin_analysis.ingest.adapters import STR, TEXT, RawTable, TableMapping
from optin_analysis.ingest.schema import AccessLevel
from optin_analysis.problems import Problem, Severity

DUPLICATE = "the same patient id appears on more than one row"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIELD_WIDTHS = {"d": 2, "m": 2, "Y": 4, "b": 3}
_YEARS = (1678, 2261)  # parsed here only inside the range pandas handles at any resolution


def _calendar() -> dict[str, np.ndarray]:
    """Lookup tables for parsing dates.

    Per (year, month): the first day (days since 1970) and the month's length, padded with
    zero-length months all round so that any parsed number can be clipped into the table;
    month numbers by an abbreviation's last two letters; each month's first letter.
    """
    years = np.arange(_YEARS[0] - 1, _YEARS[1] + 2)[:, None]
    months = (years - 1970) * 12 + np.arange(-1, 13)  # month 0 and 13: padding
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    length = np.diff(np.concatenate([first, first[:, -1:] + 31], axis=1), axis=1)
    length[:, [0, 13]] = 0
    length[[0, -1], :] = 0
    names = np.zeros((256, 256), dtype=np.int32)
    for number, name in enumerate(_MONTHS, start=1):
        names[ord(name[1]), ord(name[2])] = number
    return {
        "first": first.ravel(),
        "length": length.ravel(),
        "names": names.ravel(),
        "initials": np.array([0] + [ord(m[0]) for m in _MONTHS], dtype=np.uint8),
    }


_CALENDAR = _calendar()

# Quieten pandera's advice about its own import style once here, not in every caller.
warnings.filterwarnings("ignore", module="pandera")


@dataclass(frozen=True)
class Rule:
    """One check on one canonical column: ``ok`` is True for each row that passes."""

    column: str
    error: str
    ok: np.ndarray


# --- text and dates --------------------------------------------------------------------


def _arrow(values: pd.Series | pyarrow.ChunkedArray) -> pyarrow.Array:
    """Text as one Arrow array of type ``TEXT``."""
    array = pyarrow.array(values) if isinstance(values, pd.Series) else values
    if isinstance(array, pyarrow.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array if array.type == TEXT else array.cast(TEXT)


def _stripped(raw: RawTable, columns: tuple[str, ...]) -> dict[str, pyarrow.Array]:
    """Each column once, with surrounding whitespace removed (as pandas ``str.strip`` does)."""
    return {c: pc.utf8_trim_whitespace(_arrow(raw.table.column(c))) for c in columns}


def _without(text: pyarrow.Array, drop: str) -> pyarrow.Array:
    """``text`` with every ``drop`` (an ASCII character) removed; as it is when it has none."""
    starts = _offsets(text)
    if (_chars(text)[starts[0] : starts[-1]] == ord(drop)).any():
        return pc.replace_substring(text, drop, "")
    return text


def _numpy(mask: pyarrow.Array | pyarrow.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _offsets(text: pyarrow.Array) -> np.ndarray:
    """Where each string of ``text`` starts in its data buffer, and where the last ends."""
    wide = pyarrow.types.is_large_string(text.type)
    starts = np.frombuffer(text.buffers()[1], dtype=np.int64 if wide else np.int32)
    return starts[text.offset : text.offset + len(text) + 1]


def _chars(text: pyarrow.Array) -> np.ndarray:
    """The data buffer of ``text`` as bytes (``_offsets`` says where each string is)."""
    return np.frombuffer(text.buffers()[2] or b"", dtype=np.uint8)


def _lengths(text: pyarrow.Array) -> np.ndarray:
    """The byte length of each string in ``text`` (-1 where missing)."""
    sizes = np.diff(_offsets(text))
    if text.null_count:
        sizes[~text.is_valid().to_numpy(zero_copy_only=False)] = -1
    return sizes


def _fixed_width(text: pyarrow.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``text`` exactly ``width`` bytes long, and their bytes as (n, width) uint8."""
    sizes = _lengths(text)
    rows = np.flatnonzero(sizes == width)
    if len(rows) == 0:
        return rows, np.zeros((0, width), dtype=np.uint8)
    starts = _offsets(text)
    chars = _chars(text)
    if np.count_nonzero(sizes > 0) == len(rows):  # the rest are empty: the bytes are contiguous
        first = int(starts[rows[0]])
        return rows, chars[first : first + len(rows) * width].reshape(-1, width)
    return rows, chars[starts[rows][:, None] + np.arange(width)]


@dataclass(frozen=True)
class Layout:
    """A date format whose fields have fixed widths: where each field and literal sits."""

    width: int
    starts: dict[str, int]
    digits: np.ndarray
    literal_at: np.ndarray
    literals: np.ndarray


@functools.lru_cache(maxsize=32)
def layout(fmt: str) -> Layout | None:
    """``fmt`` as fixed-width fields, if it is only ``%d``, ``%m`` or ``%b``, ``%Y`` and ASCII
    (and neither starts nor ends with whitespace, so that canonical dates need no stripping).
    """
    if fmt != fmt.strip():
        return None
    starts: dict[str, int] = {}
    literals: dict[int, int] = {}
    pos = 0
    for directive, literal in re.findall(r"%(.)|([^%])", fmt):
        if literal and literal.isascii():
            literals[pos] = ord(literal)
        elif directive in _FIELD_WIDTHS and directive not in starts:
            starts[directive] = pos
        else:
            return None
        pos += 1 if literal else _FIELD_WIDTHS[directive]
    if not {"d", "Y"} <= starts.keys() or len({"m", "b"} & starts.keys()) != 1:
        return None
    digits = [p for d, s in starts.items() if d != "b" for p in range(s, s + _FIELD_WIDTHS[d])]
    return Layout(
        pos,
        starts,
        np.array(digits),
        np.array(list(literals), dtype=np.intp),
        np.array(list(literals.values()), dtype=np.uint8),
    )


def _field(digits: np.ndarray, start: int, width: int) -> np.ndarray:
    value = digits[:, start].astype(np.int32)
    for i in range(start + 1, start + width):
        value = value * 10 + digits[:, i]
    return value


def _month_names(chars: np.ndarray, start: int) -> np.ndarray:
    """Month numbers for English abbreviations as ``strftime`` writes them (0 for others)."""
    pair = chars[:, start + 1].astype(np.intp) << 8 | chars[:, start + 2]
    month = _CALENDAR["names"][pair]
    return np.where(_CALENDAR["initials"][month] == chars[:, start], month, 0)


def _parse_fixed(chars: np.ndarray, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970 from fixed-width text; ``ok`` only where it is a canonical real date."""
    digits = chars - np.uint8(ord("0"))  # anything but a digit wraps round to 10 or more
    ok = (digits[:, lay.digits] < 10).all(axis=1)
    ok &= (chars[:, lay.literal_at] == lay.literals).all(axis=1)
    day = _field(digits, lay.starts["d"], 2)
    year = _field(digits, lay.starts["Y"], 4) - (_YEARS[0] - 1)
    if "m" in lay.starts:
        month = _field(digits, lay.starts["m"], 2)
    else:
        month = _month_names(chars, lay.starts["b"])
    cell = np.clip(year, 0, _YEARS[1] - _YEARS[0] + 2) * 14 + np.clip(month, 0, 13)
    ok &= (day >= 1) & (day <= _CALENDAR["length"][cell])  # out-of-range months have none
    return _CALENDAR["first"][cell] + day - 1, ok


#: A time after the date, as Excel writes dates when it saves a file again ("03/05/1991 00:00").
TIME_PART = r"^(?P<date>.*\S)\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)$"
MIDNIGHT = ("00:00", "00:00:00")  #: the only times read as a plain date


@dataclass(frozen=True)
class Dates:
    """Parsed dates (NaT where empty or invalid) and where the text is empty once stripped.

    ``midnight`` marks dates followed by a time of exactly 00:00 or 00:00:00 (read as the
    date); ``timed`` marks valid dates followed by any other time (NaT: an error).
    """

    values: np.ndarray
    blank: np.ndarray
    midnight: np.ndarray
    timed: np.ndarray

    def part(self, start: int, stop: int) -> Dates:
        """The dates of rows ``start`` to ``stop`` (views, not copies)."""
        return Dates(*(getattr(self, f.name)[start:stop] for f in fields(self)))


def parse_dates(text: pyarrow.Array, fmt: str) -> Dates:
    """Text to ``datetime64[us]`` as pandas parses it once stripped of surrounding whitespace.

    Canonical fixed-width dates (e.g. ``12-Jun-2024``) are read straight from the bytes;
    anything else is stripped and goes to ``pandas.to_datetime`` once per distinct value,
    without a time of day after it (see :class:`Dates`).
    """
    n = len(text)
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    midnight, timed = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    sizes = _lengths(text)
    rest, blank = sizes > 0, sizes <= 0
    lay = layout(fmt)
    if lay is not None:
        fixed, chars = _fixed_width(text, lay.width)
        days, ok = _parse_fixed(chars, lay)
        if not ok.all():
            fixed, days = fixed[ok], days[ok]
        values[fixed] = (days * 86_400_000_000).view("datetime64[us]")
        rest[fixed] = False
    if rest.any():
        stripped = pc.utf8_trim_whitespace(pc.filter(text, rest))
        parts = pc.extract_regex(stripped, TIME_PART)
        has_time = _numpy(parts.is_valid())
        if has_time.any():
            dates = pc.if_else(parts.is_valid(), pc.struct_field(parts, "date"), stripped)
            parsed = _parse_slow(dates, fmt)
            at_midnight = _numpy(pc.is_in(pc.struct_field(parts, "time"), pyarrow.array(MIDNIGHT)))
            valid_timed = has_time & ~np.isnat(parsed)
            midnight[rest] = valid_timed & at_midnight
            timed[rest] = valid_timed & ~at_midnight
            parsed[valid_timed & ~at_midnight] = np.datetime64("NaT")
        else:
            parsed = _parse_slow(stripped, fmt)
        values[rest] = parsed
        blank[rest] = _numpy(pc.equal(stripped, ""))
    return Dates(values, blank, midnight, timed)


EARLIEST = np.datetime64("1900-01-01", "us")


def date_warnings(raw: RawTable, dates: dict[str, Dates]) -> list[Problem]:
    """Dates read as typed but worth a look: one warning per file for each kind.

    A time of 00:00 after the date (as Excel writes dates when it saves a file again), and
    a year before 1900, which no GP record holds (a typing error such as 1019 for 2019).
    """
    midnight = {c: d.midnight for c, d in dates.items()}
    early = {c: d.values < EARLIEST for c, d in dates.items()}  # NaT compares False
    return _first_warning(
        raw,
        midnight,
        "date(s) have a time of 00:00 after them, as Excel writes dates when it saves a "
        "file again: read as dates (first on this row)",
    ) + _first_warning(
        raw,
        early,
        "date(s) are before 1900, which no GP record holds (a typing error, such as 1019 "
        "for 2019?): read as typed; correct them in the clinical system (first on this row)",
    )


def _first_warning(raw: RawTable, marks: dict[str, np.ndarray], message: str) -> list[Problem]:
    """One warning counting every marked date, naming the first (by row, then column)."""
    found = [(int(np.argmax(m)), c) for c, m in marks.items() if m.any()]
    if not found:
        return []
    position, column = min(found, key=lambda item: item[0])
    count = sum(int(m.sum()) for m in marks.values())
    return [
        Problem(
            raw.path,
            f"{count:,} {message}",
            row=raw.row(raw.labels[position]),
            column=raw.headings[column],
            severity=Severity.WARNING,
        )
    ]


def _dates(raw: RawTable, columns: tuple[str, ...], fmt: str) -> dict[str, Dates]:
    """Date columns in the same format parsed together, as one column (fewer, longer steps)."""
    chunks = [chunk for c in columns for chunk in raw.table.column(c).chunks]
    dates = parse_dates(_arrow(pyarrow.chunked_array(chunks, TEXT)), fmt)
    n = raw.table.num_rows
    return {c: dates.part(i * n, (i + 1) * n) for i, c in enumerate(columns)}


def _parse_slow(text: pyarrow.Array, fmt: str) -> np.ndarray:
    encoded = text.dictionary_encode()
    distinct = pd.Series(encoded.dictionary.to_pylist(), dtype="object")
    parsed = pd.to_datetime(distinct, format=fmt, errors="coerce").astype("datetime64[us]")
    return parsed.to_numpy()[encoded.indices.to_numpy()]


@dataclass(frozen=True)
class DateColumn:
    """A date column's parsed values, with what the date is of."""

    column: str
    dates: Dates
    what: str


def _date_rules(date: DateColumn, fmt: str, required: bool, extract_date: dt.date) -> list[Rule]:
    example = dt.date(2024, 6, 12).strftime(fmt)
    empty, parsed, timed = date.dates.blank, date.dates.values, date.dates.timed
    after = parsed > np.datetime64(extract_date, "us")
    rules = [
        Rule(
            date.column,
            f"not a valid date in the form {example}",
            empty | ~np.isnat(parsed) | timed,
        ),
        Rule(
            date.column,
            f"has a time of day after the date: only a date ({example}) is allowed, "
            "or a time of 00:00",
            ~timed,
        ),
        Rule(date.column, f"{date.what} is after the extract date", ~after),
    ]
    if required:
        rules.insert(0, Rule(date.column, "empty: a date is needed", ~empty))
    return rules


def _valid_nhs(nhs: pyarrow.Array) -> np.ndarray:
    """True where the (space-free) NHS number is empty or valid."""
    ok = _lengths(nhs) == 0
    rows, chars = _fixed_width(nhs, 10)
    ok[rows] = nhs_number.valid_digits(chars)
    return ok


def _short(text: pyarrow.Array, limit: int) -> np.ndarray:
    """True where ``text`` is at most ``limit`` characters (bytes first: they are free)."""
    ok = _lengths(text) <= limit
    if not ok.all():
        rows = np.flatnonzero(~ok)
        ok[rows] = _numpy(pc.less_equal(pc.utf8_length(pc.take(text, rows)), limit))
    return ok


def _identifier_rule(column: str, text: pyarrow.Array, limits: Limits) -> Rule:
    """An identifier (patient id, code) no longer than ``limits.identifier_length``."""
    n = limits.identifier_length
    return Rule(
        column,
        f"longer than {n} characters: not an identifier "
        "(limits: identifier_length in the run configuration)",
        _short(text, n),
    )


def _positions(text: pyarrow.Array, mapping: dict) -> pyarrow.Array:
    """Where each text is among the mapping's keys (null where it is not one)."""
    return pc.index_in(text, value_set=pyarrow.array(list(mapping), TEXT))


def _value_rule(column: str, positions: pyarrow.Array, mapping: dict) -> Rule:
    """Each text one of the mapping's keys, given their ``_positions``."""
    allowed = ", ".join(f"'{k}'" for k in mapping if k)
    return Rule(column, f"not one of {allowed}", _numpy(positions.is_valid()))


def _lookup(positions: pyarrow.Array, mapping: dict, default: object) -> pyarrow.Array:
    """The mapped value of each text, given their ``_positions`` (as text when ``default``
    is), ``default`` when unmapped."""
    index = positions.fill_null(len(mapping))
    convert = str if isinstance(default, str) else bool
    values = [convert(v) for v in mapping.values()] + [default]
    return pc.take(pyarrow.array(values, TEXT if convert is str else pyarrow.bool_()), index)


# --- failures through pandera ----------------------------------------------------------


def _schema(
    rules: list[Rule], rows: np.ndarray, index: pd.Index, unique: str | None
) -> pa.DataFrameSchema:
    """A pandera schema for ``rows`` whose checks return the rules' precomputed masks."""
    checks: dict[str, list[pa.Check]] = {unique: []} if unique else {}
    for rule in rules:
        mask = pd.Series(rule.ok[rows], index=index)
        checks.setdefault(rule.column, []).append(
            pa.Check(lambda s, mask=mask: mask, error=rule.error)
        )
    return pa.DataFrameSchema(
        {c: pa.Column(str, cs, unique=c == unique) for c, cs in checks.items()}, strict=False
    )


def _failures(
    raw: RawTable, rules: list[Rule], unique: tuple[str, np.ndarray] | None = None
) -> list[Problem]:
    """Every failed rule as a problem, collected by pandera from the rows that fail."""
    bad = ~np.logical_and.reduce([r.ok for r in rules])
    if unique is not None:
        bad |= unique[1]
    if not bad.any():
        return []
    rows = np.flatnonzero(bad)
    subset = raw.rows(rows)
    schema = _schema(rules, rows, subset.index, unique[0] if unique else None)
    try:
        schema.validate(subset, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _problems(raw, exc.failure_cases)
    return []


def _problems(raw: RawTable, cases: pd.DataFrame) -> list[Problem]:
    cases = cases[cases["index"].notna()]
    messages = cases["check"].astype("str").replace({"field_uniqueness": DUPLICATE})
    headings = cases["column"].map(raw.headings)
    rows = cases["index"].astype("int64") + raw.first_row
    order = rows.argsort(kind="stable")
    return [
        Problem(raw.path, m, row=int(r), column=h)
        for m, r, h in zip(
            messages.iloc[order], rows.iloc[order], headings.iloc[order], strict=True
        )
    ]


def _duplicated(text: pyarrow.Array) -> np.ndarray:
    """True for every row whose value appears on more than one row."""
    if len(text) < 2 or (not text.null_count and pc.all(pc.less(text[:-1], text[1:])).as_py()):
        return np.zeros(len(text), dtype=bool)  # strictly increasing: all different
    encoded = text.dictionary_encode()
    indices = encoded.indices.to_numpy()
    return np.bincount(indices, minlength=len(encoded.dictionary))[indices] > 1


def _frame(columns: dict[str, pyarrow.Array | np.ndarray | str], n: int) -> pd.DataFrame:
    """Canonical output columns as a frame indexed 0..n-1: text as ``str``, dates in µs."""
    out = {}
    for name, values in columns.items():
        if isinstance(values, str):
            values = pyarrow.repeat(pyarrow.scalar(values, TEXT), n)
        if isinstance(values, pyarrow.Array) and pyarrow.types.is_boolean(values.type):
            values = values.to_numpy(zero_copy_only=False)
        elif isinstance(values, pyarrow.Array):
            values = pd.array(_arrow(values), dtype=STR)
        out[name] = values
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


# --- tables ----------------------------------------------------------------------------

PATIENT_DATES = ("date_of_birth", "registration_date", "online_account_date", "access_start_date")
PATIENT_TEXT = ("patient_id", "sex", "online_account", "access_level")


def patients(
    raw: RawTable,
    mapping: TableMapping,
    practice_code: str,
    extract_date: dt.date,
    limits: Limits | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check and convert a patients export; returns the canonical table and all problems."""
    text = _stripped(raw, PATIENT_TEXT)
    dates = _dates(raw, PATIENT_DATES, mapping.date_format)
    nhs = _without(_arrow(raw.table.column("nhs_number")), " ")
    values = {c: mapping.values.get(c, {}) for c in ("online_account", "access_level")}
    coded = {c: _positions(text[c], lookup) for c, lookup in values.items()}
    rules = _patient_rules(text, dates, nhs, coded, mapping, extract_date)
    rules.insert(1, _identifier_rule("patient_id", text["patient_id"], limits or Limits()))
    ids = ("patient_id", _duplicated(text["patient_id"]))
    problems = _failures(raw, rules, unique=ids) + date_warnings(raw, dates)
    table = _frame(
        {
            "practice_code": practice_code,
            "patient_id": text["patient_id"],
            "nhs_number": pc.if_else(pc.equal(nhs, ""), pyarrow.scalar(None, nhs.type), nhs),
            "sex": text["sex"],
            "online_account": _lookup(coded["online_account"], values["online_account"], False),
            "access_level": _lookup(
                coded["access_level"], values["access_level"], AccessLevel.NONE.value
            ),
            **{c: d.values for c, d in dates.items()},
        },
        raw.table.num_rows,
    )
    return table, problems


def _patient_rules(
    text: dict[str, pyarrow.Array],
    dates: dict[str, Dates],
    nhs: pyarrow.Array,
    coded: dict[str, pyarrow.Array],
    mapping: TableMapping,
    extract_date: dt.date,
) -> list[Rule]:
    """Every patients check, in the order problems are listed within a row (``coded``: the
    coded columns' ``_positions``)."""
    values = mapping.values

    def date_rules(column: str, required: bool, what: str) -> list[Rule]:
        date = DateColumn(column, dates[column], what)
        return _date_rules(date, mapping.date_format, required, extract_date)

    return [
        Rule("patient_id", "empty patient id", ~_numpy(pc.equal(text["patient_id"], ""))),
        Rule(
            "nhs_number",
            "not a valid NHS number (10 digits with a Modulus 11 check digit)",
            _valid_nhs(nhs),
        ),
        *date_rules("date_of_birth", True, "birth"),
        *date_rules("registration_date", True, "registration"),
        Rule(
            "registration_date",
            "registered before birth",
            ~(dates["date_of_birth"].values > dates["registration_date"].values),
        ),
        _value_rule("online_account", coded["online_account"], values.get("online_account", {})),
        *date_rules("online_account_date", False, "account"),
        _value_rule("access_level", coded["access_level"], values.get("access_level", {})),
        *date_rules("access_start_date", False, "access"),
    ]


def events(
    raw: RawTable,
    mapping: TableMapping,
    practice_code: str,
    extract_date: dt.date,
    patient_ids: pd.Series,
    codelist: pd.DataFrame,
    limits: Limits | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check and convert an events export against the practice's patients and the codelist.

    Unknown codes are warnings (listed once per code with a count), not errors; a code
    too long to be one is an error only.
    """
    limits = limits or Limits()
    text = _stripped(raw, ("patient_id", "code"))
    dates = _dates(raw, ("event_date",), mapping.date_format)["event_date"]
    known = pc.is_in(text["patient_id"], value_set=_arrow(patient_ids))
    code_rule = _identifier_rule("code", text["code"], limits)
    rules = [
        _identifier_rule("patient_id", text["patient_id"], limits),
        Rule("patient_id", "no patient with this id in the patients extract", _numpy(known)),
        Rule("code", "empty code", ~_numpy(pc.equal(text["code"], ""))),
        code_rule,
        *_date_rules(
            DateColumn("event_date", dates, "event"),
            mapping.date_format,
            True,
            extract_date,
        ),
    ]
    problems = _failures(raw, rules)
    codes = text["code"]
    event_type = pc.take(
        _arrow(codelist["event_type"]),
        pc.index_in(codes, value_set=_arrow(codelist["code"])),
    )
    unknown = _numpy(pc.and_(pc.is_null(event_type), pc.not_equal(codes, ""))) & code_rule.ok
    problems += _unknown_codes(raw, codes, unknown)
    problems += date_warnings(raw, {"event_date": dates})
    table = _frame(
        {
            "practice_code": practice_code,
            "patient_id": text["patient_id"],
            "code": codes,
            "event_date": dates.values,
            "event_type": event_type,
        },
        raw.table.num_rows,
    )
    return table, problems


def _unknown_codes(raw: RawTable, codes: pyarrow.Array, unknown: np.ndarray) -> list[Problem]:
    if not unknown.any():
        return []
    rows = np.flatnonzero(unknown)
    found = pd.DataFrame({"code": pc.take(codes, rows).to_pylist(), "index": raw.labels[rows]})
    first = found.groupby("code", sort=True)["index"].agg(["min", "size"])
    return [
        Problem(
            raw.path,
            f"code {code} is not in the codelist ({n} row(s)); add it to the codelist "
            "if it matters, otherwise it is ignored",
            row=raw.row(row),
            column=raw.headings["code"],
            severity=Severity.WARNING,
        )
        for code, (row, n) in first.iterrows()
    ]
