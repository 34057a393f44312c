"""The codelist: which clinical codes mean which :class:`~optin_analysis.ingest.schema.EventType`.

A shipped default (``data/codelist.csv``) lists the programme's SNOMED CT codes with a
public source for each, and local placeholders (status ``placeholder``) for events that
have no public code: the practice replaces those with its own local codes.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from optin_analysis.ingest.schema import EventType
from optin_analysis.problems import InputError, Problem

DEFAULT_CODELIST = Path(str(files("optin_analysis") / "data" / "codelist.csv"))
COLUMNS = ("code", "term", "event_type", "status", "source")
STATUSES = ("confirmed", "placeholder")


def load_codelist(path: Path | None = None) -> pd.DataFrame:
    """Read and check a codelist CSV; raise :class:`InputError` naming every bad row.

    Values are normalised before they are checked: surrounding whitespace (non-breaking
    spaces too) is removed everywhere, and event types and statuses are read in lower
    case. A code listed twice once normalised (``LOCAL-OPTIN-REQ`` and
    ``LOCAL-OPTIN-REQ ``) is an error naming both rows, whatever their event types: one
    code can only mean one thing.
    """
    path = Path(path or DEFAULT_CODELIST)
    try:
        table = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError([Problem(path, f"cannot read the codelist: {exc}")]) from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError([Problem(path, f"missing column(s): {', '.join(missing)}", row=1)])
    table = _normalised(table)
    problems = _value_problems(path, table) + _duplicates(path, table["code"])
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.row or 0))
    return table


def _normalised(table: pd.DataFrame) -> pd.DataFrame:
    """Whitespace removed from every value; event types and statuses in lower case."""
    stripped = {c: table[c].str.strip() for c in table.columns}  # str.strip: Unicode spaces
    table = table.assign(**stripped)
    return table.assign(
        event_type=table["event_type"].str.lower(), status=table["status"].str.lower()
    )


def _value_problems(path: Path, table: pd.DataFrame) -> list[Problem]:
    types = [e.value for e in EventType]
    checks = {
        "code": (table["code"] != "", "empty code"),
        "event_type": (
            table["event_type"].isin(types),
            f"unknown event type (one of: {', '.join(types)})",
        ),
        "status": (table["status"].isin(STATUSES), "status must be 'confirmed' or 'placeholder'"),
        "source": (table["source"] != "", "every code needs a source (or say local)"),
    }
    problems = []
    for column, (ok, message) in checks.items():
        for i in table.index[~ok]:
            value = table.at[i, column]
            said = f" {value!r}" if value and column == "event_type" else ""
            problems.append(Problem(path, message + said, row=i + 2, column=column))
    return problems


def _duplicates(path: Path, codes: pd.Series) -> list[Problem]:
    """Each repeat of a (non-empty) code, naming the row where it first appears."""
    first_row = {}
    problems = []
    for i, code in codes.items():
        if not code:
            continue
        if code in first_row:
            problems.append(
                Problem(
                    path,
                    f"code {code!r} listed twice (first on row {first_row[code]}; "
                    "compared without surrounding spaces)",
                    row=i + 2,
                    column="code",
                )
            )
        else:
            first_row[code] = i + 2
    return problems


#: The opt-in model's own events, which no public code records (the practice's local codes).
OPT_IN_EVENT_TYPES = (
    EventType.OPT_IN_REQUESTED,
    EventType.COUNSELLED,
    EventType.ACCESS_GRANTED,
    EventType.ACCESS_REVOKED,
    EventType.OPT_IN_DECLINED,
)


def placeholder_event_types(
    codelist: pd.DataFrame, events: pd.DataFrame | None = None
) -> list[str]:
    """The opt-in event types (:data:`OPT_IN_EVENT_TYPES`) whose figures rest on placeholder
    codes: the codelist has no confirmed code for them (every code of theirs is a
    ``placeholder`` row, or it has none), or, given a practice's ``events``, some of that
    practice's events of the type carry a placeholder code. Decided per practice: one
    practice mapping its own local code does not vouch for another still on ``LOCAL-*``."""
    confirmed = set(codelist.loc[codelist["status"] == "confirmed", "event_type"])
    used: set[str] = set()
    if events is not None and len(events):
        placeholder = codelist.loc[codelist["status"] == "placeholder", "code"]
        used = set(events.loc[events["code"].isin(placeholder), "event_type"])
    return [t.value for t in OPT_IN_EVENT_TYPES if t.value not in confirmed or t.value in used]


def unknown_codes(codes: pd.Series, codelist: pd.DataFrame) -> pd.Series:
    """How many times each code in ``codes`` that ``codelist`` does not know appears,
    most frequent first (ties by code); empty codes are left out."""
    codes = codes.astype("str").str.strip()
    unknown = codes[(codes != "") & ~codes.isin(codelist["code"])]
    counts = unknown.value_counts()
    order = sorted(counts.index, key=lambda code: (-counts[code], code))
    return counts.reindex(order).rename("rows").rename_axis("code")
