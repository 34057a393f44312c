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
    """Read and check a codelist CSV; raise :class:`InputError` naming every bad row."""
    path = Path(path or DEFAULT_CODELIST)
    try:
        table = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError([Problem(path, f"cannot read the codelist: {exc}")]) from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError([Problem(path, f"missing column(s): {', '.join(missing)}", row=1)])
    problems = []
    checks = {
        "code": (table["code"].str.strip() != "", "empty code"),
        "event_type": (
            table["event_type"].isin([e.value for e in EventType]),
            f"unknown event type (one of: {', '.join(e.value for e in EventType)})",
        ),
        "status": (table["status"].isin(STATUSES), "status must be 'confirmed' or 'placeholder'"),
        "source": (table["source"].str.strip() != "", "every code needs a source (or say local)"),
    }
    for column, (ok, message) in checks.items():
        problems += [Problem(path, message, row=i + 2, column=column) for i in table.index[~ok]]
    dupes = table["code"].duplicated(keep="first")
    problems += [
        Problem(path, "code listed twice", row=i + 2, column="code") for i in table.index[dupes]
    ]
    if problems:
        raise InputError(problems)
    return table.assign(code=table["code"].str.strip())
