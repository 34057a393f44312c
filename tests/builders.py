"""Small hand-made canonical tables and practice profiles for tests.

``make_patients`` and ``make_events`` take a list of dicts (one per row); missing columns
get defaults so a test states only what matters to it. Dates are ISO strings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.ingest.schema import empty_events, empty_patients

PRACTICE = "A81001"

PATIENT_DEFAULTS: dict[str, Any] = {
    "practice_code": PRACTICE,
    "nhs_number": None,
    "date_of_birth": "1980-06-15",
    "sex": None,
    "registration_date": "2010-01-01",
    "online_account": False,
    "online_account_date": None,
    "access_level": "none",
    "access_start_date": None,
}

DATES_P = ("date_of_birth", "registration_date", "online_account_date", "access_start_date")


#: Profile settings of each supplier and go-live branch (for make_profile).
EMIS_LIVE = {"supplier": Supplier.EMIS, "go_live_status": GoLiveStatus.LIVE}
EMIS_DUE = {"supplier": Supplier.EMIS, "go_live_status": GoLiveStatus.DUE}
EMIS_NOT = {"supplier": Supplier.EMIS, "go_live_status": GoLiveStatus.NOT_PLANNED}
TPP_LIVE = {"supplier": Supplier.TPP, "go_live_status": GoLiveStatus.LIVE}
TPP_DUE = {"supplier": Supplier.TPP, "go_live_status": GoLiveStatus.DUE}
TPP_NOT = {"supplier": Supplier.TPP, "go_live_status": GoLiveStatus.NOT_PLANNED}


def _typed(rows: list[dict[str, Any]], empty: pd.DataFrame, dates: tuple[str, ...]) -> pd.DataFrame:
    if not rows:
        return empty
    frame = pd.DataFrame(rows, columns=list(empty.columns))
    for col in empty.columns:
        if col in dates:
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
        elif col == "online_account":
            frame[col] = frame[col].astype(bool)
        else:
            frame[col] = frame[col].astype("str")
    return frame


def make_patients(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Canonical patients; each row needs ``patient_id``, other columns default."""
    full = [{**PATIENT_DEFAULTS, **row} for row in rows]
    return _typed(full, empty_patients(), DATES_P)


def make_events(rows: list[dict[str, Any] | tuple[str, str, str]]) -> pd.DataFrame:
    """Canonical events from dicts or ``(patient_id, event_type, event_date)`` tuples."""
    full = []
    for row in rows:
        if isinstance(row, tuple):
            row = dict(zip(("patient_id", "event_type", "event_date"), row, strict=True))
        full.append({"practice_code": PRACTICE, "code": "LOCAL", **row})
    return _typed(full, empty_events(), ("event_date",))


def make_profile(**overrides: Any) -> Practice:
    """An EMIS opt-in practice that went live on 2023-11-01, with every step still to do."""
    values: dict[str, Any] = {
        "ods_code": PRACTICE,
        "name": "Test Surgery",
        "supplier": Supplier.EMIS,
        "model": Model.OPT_IN,
        "go_live_status": GoLiveStatus.LIVE,
        "go_live_date": dt.date(2023, 11, 1),
        "extract_date": dt.date(2025, 3, 31),
        "patients": Path("p.csv"),
        "events": Path("e.csv"),
    }
    values.update(overrides)
    return Practice(**values)


def day(text: str) -> pd.Timestamp:
    """A date as a Timestamp (for comparisons with frame values)."""
    return pd.Timestamp(text)
