"""Placing a file's headings on the canonical columns, and telling a patients export
from an events export by them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import REQUIRED, Mapping, load_mapping
from optin_analysis.ingest.detect.head import Sniff, date_format
from optin_analysis.ingest.detect.synonyms import (
    DATE_COLUMNS,
    SYNONYMS,
    TERM_HEADINGS,
    VALUE_SYNONYMS,
    canonical_columns,
    normal,
)
from optin_analysis.problems import Problem

CLOSE = 0.8  #: lowest closeness (0-1) at which a heading is placed by its wording
MANY_VALUES = 12  #: a coded column (account status, access level) has at most this many
_NHS = re.compile(r"^\d{3}\s?\d{3}\s?\d{4}$")


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
            elif normal(heading).replace(" ", "") in compact_names:
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
