"""Recognising a folder of real exports: supplier, table, date style and column headings.

Everything here is a pure function of a file's first lines (read once by :func:`sniff`)
so that ``optin-analysis init`` can be tested without a terminal:

* :func:`sniff` finds the header row below any preamble (EMIS writes "Search: ..." and
  "Run date: ..." above it) and keeps a sample of rows;
* :func:`date_format` finds the one date style a column's values are written in;
* :func:`match_headings` places each heading of a file on a canonical column, by the
  shipped mapping, by known synonyms (:data:`SYNONYMS`), by closeness of wording, or by
  the values the column holds, and says how each was placed; headings it cannot place
  are reported, never guessed silently;
* :func:`classify` tells a patients export from an events export by those matches;
* :func:`detect_supplier` weighs the evidence for EMIS Web against SystmOne (TPP);
* :func:`ods_in_name` and :func:`practice_name` read a practice from a folder or file name.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import REQUIRED, Mapping, load_mapping
from optin_analysis.problems import InputError, Problem

HEAD_BYTES = 1 << 20  #: bytes read from each file: enough for a few thousand rows
SAMPLE_ROWS = 5000  #: rows kept for looking at values
PREAMBLE_LINES = 10  #: at most this many lines above the header
CLOSE = 0.8  #: lowest closeness (0-1) at which a heading is placed by its wording
MANY_VALUES = 12  #: a coded column (account status, access level) has at most this many

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
SUPPLIER_DATE_STYLE = {"%d-%b-%Y": Supplier.EMIS, "%d/%m/%Y": Supplier.TPP}
DATE_COLUMNS = {
    "date_of_birth",
    "registration_date",
    "online_account_date",
    "access_start_date",
    "event_date",
}

_PATIENT_ID = (
    "patient id", "patient identifier", "patient number", "patient no", "id",
    "patient ref", "patient reference", "emis number", "emis no", "emis id",
    "emis patient number", "systmone id", "systmone number", "internal id",
    "local patient id", "patient guid",
)  # fmt: skip

#: Other headings real searches use for each canonical column, per table. Written in
#: normal form (see :func:`normal`); the shipped EMIS and TPP headings count as well.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "patients": {
        "patient_id": _PATIENT_ID,
        "nhs_number": ("nhs number", "nhs no", "nhs num", "nhs", "nhs id", "nhsnumber"),
        "date_of_birth": ("date of birth", "dob", "d o b", "birth date", "birthdate", "born"),
        "sex": ("sex", "gender"),
        "registration_date": (
            "registration date", "date registered", "registered on", "registered",
            "registered date", "reg date", "date of registration", "gms registration date",
            "registration start date", "date joined", "date of current registration",
        ),
        "online_account": (
            "online services status", "online user", "online access status", "online status",
            "online account", "online account status", "online services",
            "online services account", "nhs app user", "nhs app account", "patient online",
            "patient online status",
        ),
        "online_account_date": (
            "online services registration date", "online user since", "online account date",
            "online registration date", "online account created", "online services since",
            "online services registered on", "online services date", "nhs app registration date",
            "online access registration date", "online account since",
        ),
        "access_level": (
            "record access", "record access level", "access level", "online record access",
            "record access type", "online record access level", "patient record access",
            "online access level", "prospective access", "record access setting",
        ),
        "access_start_date": (
            "record access date", "record access from", "record access start date",
            "access start date", "access from", "access date", "record access since",
            "prospective access from", "prospective access date", "online access from",
        ),
    },
    "events": {
        "patient_id": _PATIENT_ID,
        "code": (
            "snomed ct concept id", "snomed code", "snomed ct code", "snomed", "snomed ct",
            "snomed concept id", "concept id", "conceptid", "code", "read code",
            "clinical code", "code id", "code value", "ctv3 code", "emis code",
        ),
        "event_date": (
            "date", "event date", "date added", "effective date", "entry date",
            "consultation date", "date recorded", "recorded date", "recorded on",
            "code date", "date of entry", "date entered", "added on", "date coded",
        ),
    },
}  # fmt: skip

#: Headings of a code's wording: not read by the run, shown by init beside local codes.
TERM_HEADINGS = (
    "term", "description", "rubric", "code term", "preferred term", "code description",
    "snomed term", "snomed description", "display", "code text",
)  # fmt: skip

#: Values of the coded columns other than the shipped ones, in normal form.
VALUE_SYNONYMS: dict[str, dict[str, bool | str]] = {
    "online_account": {
        "live": True, "active": True, "y": True, "yes": True, "true": True, "1": True,
        "registered": True, "enabled": True, "inactive": False, "archived": False,
        "n": False, "no": False, "false": False, "0": False, "not registered": False,
        "disabled": False, "none": False, "": False,
    },
    "access_level": {
        "": "none", "none": "none", "no access": "none", "no": "none", "n": "none",
        "summary": "summary", "summary information only": "summary",
        "summary information": "summary", "summary record": "summary",
        "detailed coded record": "detailed_coded", "detailed coded": "detailed_coded",
        "dcr": "detailed_coded", "detailed": "detailed_coded",
        "full record prospective": "full_prospective", "full record": "full_prospective",
        "full clinical record prospective": "full_prospective",
        "full clinical record": "full_prospective", "full prospective": "full_prospective",
        "full": "full_prospective", "prospective": "full_prospective",
        "full prospective access": "full_prospective",
    },
}  # fmt: skip

_PREAMBLE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9 /()'-]{0,40}:(\s|$)")
_RUN_DATE = re.compile(r"^\s*(run|report|extract|search)\s*date\s*:\s*(?P<date>.+)$", re.I)
_SEARCH = re.compile(r"^\s*search\s*(name)?\s*:", re.I)
_ODS = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]\d{5})(?![A-Za-z0-9])")
_NHS = re.compile(r"^\d{3}\s?\d{3}\s?\d{4}$")
_GENERIC_NAMES = {"exports", "export", "extracts", "extract", "data", "csv", "files", "searches"}


def normal(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: "NHS No." -> "nhs no"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _compact(text: str) -> str:
    return normal(text).replace(" ", "")


# --- reading a file's head ---------------------------------------------------------------


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


# --- heading matching --------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """How one heading was placed on a canonical column.

    ``how`` is ``shipped`` (the heading of the supplier's shipped mapping), ``synonym``
    (a heading real searches use, see :data:`SYNONYMS`), ``close`` (similar wording,
    ``score`` 0-1), ``values`` (placed by what the column holds) or ``chosen`` (by the user).
    """

    canonical: str
    heading: str
    how: str
    score: float
    note: str = ""

    def describe(self) -> str:
        """The placement in words, for the user to confirm."""
        words = {
            "shipped": "as in the shipped mapping",
            "synonym": "known heading",
            "close": f"similar wording ({self.score:.0%}): please check",
            "values": "placed by its values: please check",
            "chosen": "your choice",
        }[self.how]
        return f"{words}{'; ' + self.note if self.note else ''}"


@dataclass(frozen=True)
class Unplaced:
    """A heading no canonical column was found for; ``nearest`` is the best guess, if any."""

    heading: str
    reason: str
    nearest: str | None = None


@dataclass(frozen=True)
class TableMatch:
    """Every heading of one file placed (or not) on the canonical columns of ``table``."""

    table: str
    placed: dict[str, Placement]
    unplaced: list[Unplaced]
    term_heading: str | None = None

    @property
    def missing_required(self) -> list[str]:
        return [c for c in REQUIRED[self.table] if c not in self.placed]

    @property
    def columns(self) -> dict[str, str]:
        """canonical -> heading, for a mapping."""
        return {c: p.heading for c, p in self.placed.items()}

    @property
    def date_headings(self) -> list[str]:
        """The headings placed on date columns."""
        return [p.heading for c, p in self.placed.items() if c in DATE_COLUMNS]

    def share_required(self) -> float:
        need = REQUIRED[self.table]
        return sum(c in self.placed for c in need) / len(need)


def canonical_columns(table: str) -> tuple[str, ...]:
    """The canonical columns a mapping of ``table`` names, in the shipped order."""
    return tuple(SYNONYMS[table])


@dataclass(frozen=True)
class _Column:
    """What a column's sample values look like."""

    filled: int
    distinct: frozenset[str]
    date_style: str | None
    nhs_like: bool

    @property
    def empty(self) -> bool:
        return self.filled == 0


def _profile(values: list[str]) -> _Column:
    filled = [v for v in values if v]
    distinct = frozenset(filled)
    nhs = bool(filled) and sum(bool(_NHS.match(v)) for v in filled) >= 0.9 * len(filled)
    return _Column(len(filled), distinct, date_format(filled), nhs)


def _fits(canonical: str, column: _Column) -> str | None:
    """Why ``column``'s values cannot be ``canonical``; None when they can."""
    if column.empty:
        return None
    if canonical in DATE_COLUMNS:
        return None if column.date_style else "its values are not dates"
    if column.date_style:
        return "its values are dates"
    if canonical == "nhs_number" and not column.nhs_like:
        return "its values are not 10-digit NHS numbers"
    if canonical in ("online_account", "access_level", "sex") and (
        len(column.distinct) > MANY_VALUES
    ):
        return f"it has more than {MANY_VALUES} different values"
    return None


def _shipped() -> list[Mapping]:
    """The shipped mapping of every supplier."""
    return [load_mapping(s) for s in Supplier]


def _known_values(canonical: str, mappings: Iterable[Mapping]) -> set[str]:
    known = set(VALUE_SYNONYMS.get(canonical, {}))
    for m in mappings:
        known |= {normal(str(k)) for k in m.patients.values.get(canonical, {})}
    return known


def _names(table: str, canonical: str, mappings: Iterable[Mapping]) -> set[str]:
    """Every known heading of ``canonical`` in normal form: synonyms and shipped headings."""
    names = set(SYNONYMS[table][canonical])
    for m in mappings:
        heading = getattr(m, table).columns.get(canonical)
        if heading:
            names.add(normal(heading))
    return names


def _closeness(heading: str, names: Iterable[str]) -> tuple[float, str]:
    """The best similarity (0-1) of ``heading`` to any of ``names``, and that name.

    Similarity is difflib's ratio on the normal forms, or, when the heading contains a
    known name of two or more words, 0.75 plus a share for how much of it that name is.
    """
    h = normal(heading)
    best, best_name = 0.0, ""
    for name in names:
        score = difflib.SequenceMatcher(None, h, name).ratio()
        if " " in name and f" {name} " in f" {h} ":
            score = max(score, 0.75 + 0.2 * len(name) / len(h))
        if score > best:
            best, best_name = score, name
    return best, best_name


def _candidates(
    table: str, headings: Sequence[str], profiles: dict[str, _Column], supplier: Supplier | None
) -> tuple[list[tuple[float, int, str, Placement]], dict[str, str]]:
    """Every (score, order, heading, placement) worth considering; why some were refused."""
    shipped = _shipped()
    mine = getattr(load_mapping(supplier), table).columns if supplier else {}
    out, refused = [], {}
    for order, canonical in enumerate(canonical_columns(table)):
        names = _names(table, canonical, shipped)
        compact_names = {n.replace(" ", "") for n in names}
        for heading in headings:
            if not heading:
                continue
            if mine.get(canonical) == heading:
                placement = Placement(canonical, heading, "shipped", 1.0)
            elif _compact(heading) in compact_names:
                placement = Placement(canonical, heading, "synonym", 0.95)
            else:
                score, name = _closeness(heading, names)
                if score < CLOSE:
                    continue
                placement = Placement(canonical, heading, "close", score, f"like '{name}'")
            why = _fits(canonical, profiles[heading])
            if why:
                refused.setdefault(heading, f"looks like {canonical} but {why}")
                continue
            out.append((placement.score, -order, heading, placement))
    out.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return out, refused


def _by_values(
    table: str, free: list[str], profiles: dict[str, _Column], placed: dict[str, Placement]
) -> None:
    """Place coded columns no heading named by their values (account status, access level):
    only when exactly one free column's values are all known values of that column."""
    if table != "patients":
        return
    shipped = _shipped()
    for canonical in ("online_account", "access_level"):
        if canonical in placed:
            continue
        known = _known_values(canonical, shipped)
        fits = [
            h
            for h in free
            if not profiles[h].empty
            and len(profiles[h].distinct) <= MANY_VALUES
            and {normal(v) for v in profiles[h].distinct} <= known
        ]
        if len(fits) == 1:
            shown = ", ".join(sorted(profiles[fits[0]].distinct)[:4])
            placed[canonical] = Placement(canonical, fits[0], "values", 0.0, f"values {shown}")
            free.remove(fits[0])


def match_headings(sniff: Sniff, table: str, supplier: Supplier | None = None) -> TableMatch:
    """Place the file's headings on ``table``'s canonical columns (see :class:`Placement`).

    Each canonical column takes at most one heading and each heading one column, best
    score first: the supplier's shipped heading, then a known synonym, then the closest
    wording (at least :data:`CLOSE`). A heading whose values contradict the column (text
    where dates are needed, dates where they are not, not NHS numbers, too many different
    values for a coded column) is not placed there. Account status and access level may
    then be placed by their values alone. Everything else is :class:`Unplaced`.
    """
    headings = [h for h in sniff.headings if h]
    profiles = {h: _profile(sniff.values(h)) for h in dict.fromkeys(headings)}
    candidates, refused = _candidates(table, headings, profiles, supplier)
    placed: dict[str, Placement] = {}
    taken: set[str] = set()
    for _score, _order, heading, placement in candidates:
        if placement.canonical in placed or heading in taken:
            continue
        placed[placement.canonical] = placement
        taken.add(heading)
    free = [h for h in dict.fromkeys(headings) if h not in taken]
    _by_values(table, free, profiles, placed)
    term = next((h for h in free if normal(h) in TERM_HEADINGS), None)
    if table == "events" and term:
        free.remove(term)
    order = canonical_columns(table)
    placed = {c: placed[c] for c in order if c in placed}
    return TableMatch(table, placed, [_unplaced(h, table, refused) for h in free], term)


def _unplaced(heading: str, table: str, refused: dict[str, str]) -> Unplaced:
    if heading in refused:
        return Unplaced(heading, refused[heading])
    shipped = _shipped()
    best, nearest = 0.0, None
    for canonical in canonical_columns(table):
        score, _name = _closeness(heading, _names(table, canonical, shipped))
        if score > best:
            best, nearest = score, canonical
    if nearest is not None and best >= 0.6:
        return Unplaced(heading, f"not a heading I know (nearest: {nearest}, {best:.0%})", nearest)
    return Unplaced(heading, "not a heading I know; not read by the run")


def missing_problems(sniff: Sniff, match: TableMatch) -> list[Problem]:
    """An error for each required canonical column no heading was placed on."""
    found = ", ".join(f"'{h}'" for h in sniff.headings if h) or "none"
    return [
        Problem(
            sniff.path,
            f"no column for {canonical} (required in a {match.table} export); "
            f"headings found: {found}",
            row=sniff.header_row,
        )
        for canonical in match.missing_required
    ]


# --- which table, which supplier -----------------------------------------------------------


def classify(sniff: Sniff, supplier: Supplier | None = None) -> tuple[str | None, TableMatch]:
    """Whether a file is a ``patients`` or ``events`` export (None: neither), and its match.

    The table whose required columns are better covered wins; a tie is settled by the
    file name ("patient", "event", "code"). Under half its required columns is neither.
    """
    matches = {t: match_headings(sniff, t, supplier) for t in ("patients", "events")}
    share = {t: m.share_required() for t, m in matches.items()}
    if share["patients"] != share["events"]:
        kind = max(share, key=share.get)
    else:
        name = sniff.path.stem.lower()
        kind = (
            "patients" if "patient" in name else "events" if re.search("event|code", name) else None
        )
    if kind is None or share[kind] < 0.5:
        return None, matches["patients"]
    return kind, matches[kind]


@dataclass(frozen=True)
class SupplierGuess:
    """The supplier the files point to (None when the evidence does not decide) and why."""

    supplier: Supplier | None
    reasons: list[str] = field(default_factory=list)


def detect_supplier(files: Iterable[tuple[Sniff, TableMatch]]) -> SupplierGuess:
    """Weigh each file's evidence for EMIS against TPP.

    EMIS's "Search:"/"Run date:" preamble scores 3; headings spelt exactly as a shipped
    mapping score 1 per heading more than the other supplier's (when at least 2 more);
    the date style 2 (12-Jun-2024 is EMIS, 12/06/2024 TPP); account status values 2
    (Live/Active/Inactive/Archived are EMIS, Y/N TPP). A tie leaves the supplier open.
    """
    score: Counter = Counter()
    reasons: dict[Supplier, list[str]] = {s: [] for s in Supplier}
    for sniff, match in files:
        for supplier, points, reason in _evidence(sniff, match):
            score[supplier] += points
            reasons[supplier].append(reason)
    if score[Supplier.EMIS] == score[Supplier.TPP]:
        both = reasons[Supplier.EMIS] + reasons[Supplier.TPP]
        return SupplierGuess(None, both or ["nothing in the files says"])
    winner = max(Supplier, key=lambda s: score[s])
    return SupplierGuess(winner, reasons[winner])


def _evidence(sniff: Sniff, match: TableMatch) -> Iterator[tuple[Supplier, int, str]]:
    """One file's votes for a supplier: (supplier, points, reason)."""
    name = sniff.path.name
    if sniff.has_emis_preamble():
        yield Supplier.EMIS, 3, f"{name}: 'Search:' and 'Run date:' above the header"
    votes = _heading_votes(sniff, match.table)
    lead = max(Supplier, key=lambda s: votes[s])
    other = next(s for s in Supplier if s is not lead)
    margin = votes[lead] - votes[other]
    if margin >= 2:  # one shared word ("Date") says little
        n = len([h for h in sniff.headings if h])
        yield lead, margin, f"{name}: {votes[lead]} of {n} headings as {lead.name} writes them"
    fmt = table_date_format(sniff, match.date_headings)
    if fmt in SUPPLIER_DATE_STYLE:
        yield SUPPLIER_DATE_STYLE[fmt], 2, f"{name}: dates written like {date_example(fmt)}"
    account = _account_style(sniff, match)
    if account:
        yield account, 2, f"{name}: online account values as {account.name} writes them"


def _heading_votes(sniff: Sniff, table: str) -> Counter:
    votes: Counter = Counter()
    for supplier in Supplier:
        shipped = set(getattr(load_mapping(supplier), table).columns.values())
        votes[supplier] = sum(h in shipped for h in sniff.headings)
    return votes


def _account_style(sniff: Sniff, match: TableMatch) -> Supplier | None:
    placed = match.placed.get("online_account") if match.table == "patients" else None
    if placed is None:
        return None
    values = {v for v in sniff.values(placed.heading) if v}
    for supplier in Supplier:
        keys = {k for k in load_mapping(supplier).patients.values["online_account"] if k}
        if values and values <= keys:
            return supplier
    return None


# --- practices from names ----------------------------------------------------------------


def ods_in_name(*names: str) -> str | None:
    """The first ODS practice code (a letter and five digits) in ``names``, upper case."""
    for name in names:
        found = _ODS.search(name)
        if found:
            return found.group(1).upper()
    return None


def practice_name(folder: str) -> str | None:
    """A practice name from a folder name: what is left beside the ODS code, if anything
    ("Y90001 - Riverside Surgery" -> "Riverside Surgery"; "exports" -> None)."""
    rest = _ODS.sub(" ", folder)
    rest = " ".join(re.sub(r"[_\s]+", " ", rest).split()).strip(" -_.,")
    if not rest or rest.lower() in _GENERIC_NAMES or not re.search("[A-Za-z]", rest):
        return None
    return rest


def value_map(
    canonical: str, seen: Iterable[str], base: dict[str, bool | str]
) -> tuple[dict[str, bool | str], list[str]]:
    """``base`` (a mapping's values for ``canonical``) plus seen values it lacks that
    :data:`VALUE_SYNONYMS` knows; and the seen values neither knows (the user must say)."""
    out = dict(base)
    unknown = []
    for value in sorted({v.strip() for v in seen}):
        if value in out:
            continue
        known = VALUE_SYNONYMS.get(canonical, {}).get(normal(value))
        if known is None:
            unknown.append(value)
        else:
            out[value] = known
    return out, unknown
