"""Small builders shared by the hand-worked rule tests.

Unless a test says otherwise the practice is EMIS, opt-in, live since 2023-11-01, with
an extract dated 2025-03-31 (:func:`tests.builders.make_profile`), and a patient is born
1980-06-15 (an adult throughout), registered 2010-01-01, with no online account and no
access (:data:`tests.builders.PATIENT_DEFAULTS`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from optin_analysis.config import Practice
from optin_analysis.measures.state import patient_state
from tests.builders import make_events, make_patients, make_profile

PROFILE = make_profile()
#: An online account since 2022-05-01 (before go-live).
ACCOUNT = {"online_account": True, "online_account_date": "2022-05-01"}
#: Full prospective access in the extract, with no start date.
FULL = {"access_level": "full_prospective"}
#: Event types as the codelist names them.
ADDED, REMOVED = "enhanced_review_added", "enhanced_review_removed"
REQUEST, COUNSELLED, GRANT = "opt_in_requested", "counselled", "access_granted"
DECLINED, OPT_OUT, REVOKE = "opt_in_declined", "opt_out", "access_revoked"

Rows = list[dict[str, Any]]
Events = list[tuple[str, str, str]]


def frames(rows: Rows, events: Events) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical patients and events (rows need ``patient_id``)."""
    return make_patients(rows), make_events(events)


def states(rows: Rows, events: Events, ref: str, profile: Practice = PROFILE) -> pd.DataFrame:
    """The patient state at ``ref``, indexed by patient_id."""
    return patient_state(*frames(rows, events), profile, ref).set_index("patient_id")


def one(events: Events, ref: str, profile: Practice = PROFILE, **patient: Any) -> pd.Series:
    """The state at ``ref`` of one patient "p" (events name "p" too)."""
    return states([{"patient_id": "p", **patient}], events, ref, profile).loc["p"]


def ev(kind: str, date: str, pid: str = "p") -> tuple[str, str, str]:
    """One event of patient ``pid``."""
    return (pid, kind, date)
