"""Small builders shared by the hand-worked rule tests.

Unless a test says otherwise the practice is EMIS, opt-in, live since 2023-11-01, with
an extract dated 2025-03-31 (:func:`tests.builders.make_profile`), and a patient is born
1980-06-15 (an adult throughout), registered 2010-01-01, with no online account and no
access (:data:`tests.builders.PATIENT_DEFAULTS`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from optin_analysis.config import Practice
from optin_analysis.measures.state import patient_state
from tests.builders import make_events, make_patients, make_profile
from tests.oracle import oracle

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
    """The patient state at ``ref``, indexed by patient_id.

    Every case is also worked by the independent oracle (``tests/oracle``): each patient's
    access, and whether it came through opt-in, opted out and open request, must agree.
    """
    state = patient_state(*frames(rows, events), profile, ref).set_index("patient_id")
    assert oracle_disagreements(rows, events, ref, profile, state) == []
    return state


def oracle_disagreements(
    rows: Rows, events: Events, ref: str, profile: Practice, state: pd.DataFrame
) -> list[tuple]:
    """(patient, column, oracle, package) where the oracle's state at ``ref`` differs."""
    patients = make_patients(rows).astype(object).where(lambda f: f.notna(), None)
    dates = ("date_of_birth", "registration_date", "online_account_date", "access_start_date")
    for col in dates:
        patients[col] = [None if v is None else v.date() for v in patients[col]]
    practice = oracle.Practice(
        profile.model_dump(mode="json"),
        patients.to_dict(orient="records"),
        [(pid, kind, dt.date.fromisoformat(day)) for pid, kind, day in events],
    )
    day = dt.date.fromisoformat(ref)
    out = []
    for history in practice.histories():
        pid = history.p["patient_id"]
        held, kind = history.state(day)
        theirs = {
            "has_access": held,
            "via_opt_in": kind == "opt_in",
            "opted_out": history.opted_out(day),
            "open_request": history.open_episode(day) is not None,
        }
        out += [(pid, k, v, bool(state.loc[pid, k])) for k, v in theirs.items()
                if v != bool(state.loc[pid, k])]  # fmt: skip
    return out


def one(events: Events, ref: str, profile: Practice = PROFILE, **patient: Any) -> pd.Series:
    """The state at ``ref`` of one patient "p" (events name "p" too)."""
    return states([{"patient_id": "p", **patient}], events, ref, profile).loc["p"]


def ev(kind: str, date: str, pid: str = "p") -> tuple[str, str, str]:
    """One event of patient ``pid``."""
    return (pid, kind, date)
