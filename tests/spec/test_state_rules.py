"""Hand-worked cases for the rules of ``optin_analysis/measures/state.py``.

Each expected value is worked out in the comments from the rule's words. Practice: EMIS,
opt-in, live since 2023-11-01, extract dated 2025-03-31; patients are adults (born
1980) unless said (see :mod:`tests.spec.cases`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus, Model, Supplier
from optin_analysis.measures import definitions as m
from optin_analysis.measures.state import patient_state
from tests.builders import make_events, make_patients, make_profile
from tests.spec.cases import (
    ACCOUNT,
    ADDED,
    COUNSELLED,
    FULL,
    GRANT,
    OPT_OUT,
    REMOVED,
    REQUEST,
    ev,
    frames,
    one,
)

# --------------------------------------------------------------------------- linking


def test_linking_on_practice_and_patient_id() -> None:
    # Two patients called "p", one at A81001 and one at B99999. The opt-out coded at
    # B99999 belongs to that patient only; the 104 coded at A81001 to the other. An event
    # of an unknown type and a request by "left" (not in the extract) are ignored: no new
    # requests in January 2024.
    patients = make_patients([{"patient_id": "p"}, {"patient_id": "p", "practice_code": "B99999"}])
    events = make_events(
        [
            {"patient_id": "p", "practice_code": "B99999", "event_type": OPT_OUT,
             "event_date": "2024-01-05"},
            ("p", ADDED, "2024-01-08"),
            ("p", "mystery_type", "2024-01-06"),
            ("left", REQUEST, "2024-01-07"),
        ]
    )  # fmt: skip
    state = patient_state(patients, events, make_profile(), "2024-01-31")
    assert state["opted_out"].tolist() == [False, True]
    assert state["protected_104"].tolist() == [True, False]
    one_practice = patients.iloc[:1]
    uptake = m.uptake_by_month(one_practice, events, make_profile(), "2024-01-01", "2024-01-31")
    assert uptake["requests"].tolist() == [0]


# --------------------------------------------------------------------------- events-until-d


def test_events_after_d_are_ignored() -> None:
    # An opt-out dated 2024-03-02 does not count on 2024-03-01, and counts on 2024-03-02.
    events = [ev(OPT_OUT, "2024-03-02")]
    assert not one(events, "2024-03-01")["opted_out"]
    assert one(events, "2024-03-02")["opted_out"]
    # a request after D is not open at D
    assert not one([ev(REQUEST, "2024-03-02")], "2024-03-01")["open_request"]


def test_events_after_d_except_the_extract_from_its_start() -> None:
    # The extract (dated 2025-03-31) shows full access from 2024-02-01: on 2024-03-01 it
    # is held, though the extract is after D.
    assert one([], "2024-03-01", **FULL, access_start_date="2024-02-01")["has_access"]


# --------------------------------------------------------------------------- registered


@pytest.mark.parametrize(
    ("registration", "ref", "registered"),
    [
        ("2024-03-01", "2024-02-29", False),
        ("2024-03-01", "2024-03-01", True),  # on the registration date itself
        (None, "2024-03-01", False),  # no registration date: not registered
    ],
)
def test_registered_on_or_after_the_registration_date(
    registration: str | None, ref: str, registered: bool
) -> None:
    assert bool(one([], ref, registration_date=registration)["registered"]) is registered


# --------------------------------------------------------------------------- eligible


@pytest.mark.parametrize(
    ("dob", "ref", "age", "eligible"),
    [
        ("2008-03-15", "2024-03-14", 15, False),  # the day before the 16th birthday
        ("2008-03-15", "2024-03-15", 16, True),  # on the birthday
        ("2008-02-29", "2024-02-28", 15, False),  # 2024 is a leap year: 16 on 29 Feb
        ("2008-02-29", "2024-02-29", 16, True),
        ("2008-02-29", "2025-02-28", 16, True),  # 2025 common: 17 only on 1 March
        ("2008-02-29", "2025-03-01", 17, True),
        ("2084-02-29", "2100-02-28", 15, False),  # 2100 is common: 16 on 1 March 2100
        ("2084-02-29", "2100-03-01", 16, True),
    ],
)
def test_eligible_from_the_sixteenth_birthday(dob: str, ref: str, age: int, eligible) -> None:
    row = one([], ref, date_of_birth=dob, registration_date=dob)
    assert row["age"] == age
    assert bool(row["eligible"]) is eligible


def test_eligible_needs_registration_and_a_date_of_birth() -> None:
    assert not one([], "2024-06-30", registration_date="2024-07-01")["eligible"]
    assert not one([], "2024-06-30", date_of_birth=None)["eligible"]
    assert one([], "2024-06-30")["eligible"]


# --------------------------------------------------------------------------- account


@pytest.mark.parametrize(
    ("patient", "ref", "account"),
    [
        ({"online_account": True, "online_account_date": "2024-02-10"}, "2024-02-09", False),
        ({"online_account": True, "online_account_date": "2024-02-10"}, "2024-02-10", True),
        ({"online_account": True}, "2020-01-01", True),  # no date: held at any D
        ({"online_account": False, "online_account_date": "2022-05-01"}, "2024-01-01", False),
    ],
)
def test_account_from_its_date(patient: dict, ref: str, account: bool) -> None:
    assert bool(one([], ref, **patient)["account"]) is account


# --------------------------------------------------------------------------- opted-out


def test_opted_out_then_opted_in_is_not_opted_out() -> None:
    # Opt-out 2024-01-05, request 2024-02-01: opted out on 2024-01-20; on 2024-03-01 the
    # latest of the two is the request: not opted out.
    events = [ev(OPT_OUT, "2024-01-05"), ev(REQUEST, "2024-02-01")]
    assert one(events, "2024-01-20")["opted_out"]
    assert not one(events, "2024-03-01")["opted_out"]


def test_opted_out_after_a_request() -> None:
    events = [ev(REQUEST, "2024-01-05"), ev(OPT_OUT, "2024-02-01")]
    assert not one(events, "2024-01-20")["opted_out"]
    assert one(events, "2024-03-01")["opted_out"]


@pytest.mark.parametrize("first", [REQUEST, OPT_OUT])
def test_opted_out_same_day_request_and_opt_out(first: str) -> None:
    # On one day the opt-out counts as later: opted out, whichever row comes first.
    second = OPT_OUT if first == REQUEST else REQUEST
    assert one([ev(first, "2024-02-01"), ev(second, "2024-02-01")], "2024-03-01")["opted_out"]


# --------------------------------------------------------------------------- protected-104


def test_protected_104_follows_the_latest_104_or_106() -> None:
    # 104 on 2024-01-05, cancelled by a 106 on 2024-02-01, coded again 2024-03-10.
    events = [ev(ADDED, "2024-01-05"), ev(REMOVED, "2024-02-01"), ev(ADDED, "2024-03-10")]
    at_jan = one(events, "2024-01-20")
    assert at_jan["protected_104"]
    assert at_jan["enhanced_review_date"] == pd.Timestamp("2024-01-05")
    at_feb = one(events, "2024-02-15")
    assert not at_feb["protected_104"] and pd.isna(at_feb["enhanced_review_date"])
    at_apr = one(events, "2024-04-01")
    assert at_apr["protected_104"]
    assert at_apr["enhanced_review_date"] == pd.Timestamp("2024-03-10")


@pytest.mark.parametrize("first", [ADDED, REMOVED])
def test_protected_104_same_day_104_and_106_104_wins(first: str) -> None:
    # A 104 and a 106 on 2024-02-01 (either row first), after a 104 on 2024-01-05: on one
    # day the 104 counts as later, so the patient is protected by the 104 of 2024-02-01
    # (NHS England's remedy, bulk 106 then individual 104s, can fall on one day).
    second = REMOVED if first == ADDED else ADDED
    events = [ev(ADDED, "2024-01-05"), ev(first, "2024-02-01"), ev(second, "2024-02-01")]
    row = one(events, "2024-03-01")
    assert row["protected_104"]
    assert row["protected"]
    assert row["enhanced_review_date"] == pd.Timestamp("2024-02-01")


def test_protected_104_not_by_a_106_alone_or_a_104_after_d() -> None:
    assert not one([ev(REMOVED, "2024-01-05")], "2024-03-01")["protected_104"]
    assert not one([ev(ADDED, "2024-03-02")], "2024-03-01")["protected_104"]


# --------------------------------------------------------------------------- protection-setting


@pytest.mark.parametrize(
    ("supplier", "status", "model", "protected"),
    [
        (Supplier.EMIS, GoLiveStatus.LIVE, Model.OPT_IN, False),  # EMIS live: 104s only
        (Supplier.EMIS, GoLiveStatus.DUE, Model.OPT_IN, False),  # EMIS due: 104s only
        (Supplier.EMIS, GoLiveStatus.NOT_PLANNED, Model.OPT_IN, True),  # global setting
        (Supplier.TPP, GoLiveStatus.LIVE, Model.OPT_IN, True),  # preference unticked
        (Supplier.TPP, GoLiveStatus.DUE, Model.OPT_IN, True),
        (Supplier.TPP, GoLiveStatus.NOT_PLANNED, Model.OPT_IN, True),
        (Supplier.TPP, GoLiveStatus.LIVE, Model.DEFAULT, False),  # default model: no
        (Supplier.EMIS, GoLiveStatus.NOT_PLANNED, Model.DEFAULT, False),
    ],
)
def test_protection_setting_by_supplier_and_go_live(supplier, status, model, protected) -> None:
    # A patient with no 104; the supplier setting was made on 2024-01-01.
    profile = make_profile(
        supplier=supplier, go_live_status=status, model=model,
        supplier_setting_date=dt.date(2024, 1, 1),
    )  # fmt: skip
    row = one([], "2024-03-01", profile)
    assert bool(row["protected"]) is protected
    assert not row["protected_104"]


@pytest.mark.parametrize(
    ("setting", "ref", "protected"),
    [
        (dt.date(2024, 3, 1), "2024-02-29", False),  # made after D
        (dt.date(2024, 3, 1), "2024-03-01", True),  # made on D
        (None, "2024-03-01", False),  # never made
    ],
)
def test_protection_setting_from_its_date(setting, ref: str, protected: bool) -> None:
    profile = make_profile(supplier=Supplier.TPP, supplier_setting_date=setting)
    assert bool(one([], ref, profile)["protected"]) is protected


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("patient", "events", "flags"),
    [
        # full from 2024-02-09 after a request on 2024-01-10: opt-in
        ({**FULL, "access_start_date": "2024-02-09"}, [ev(REQUEST, "2024-01-10")],
         (True, True, False)),
        # full from 2024-02-09, never asked: automatic
        ({**FULL, "access_start_date": "2024-02-09"}, [], (True, False, True)),
        ({}, [], (False, False, False)),  # no access
    ],
    ids=["opt-in", "automatic", "none"],
)  # fmt: skip
def test_access_flags(patient: dict, events: list, flags: tuple) -> None:
    row = one(events, "2024-03-01", **ACCOUNT, **patient)
    assert (bool(row["has_access"]), bool(row["via_opt_in"]), bool(row["automatic"])) == flags


# --------------------------------------------------------------------------- open-request


def test_open_request_dates_of_counselling_grant_and_decline() -> None:
    # Counselled 2024-01-05 (before the request: not counted), request 2024-01-10,
    # counselled 2024-01-15 and 2024-01-20: counselled_date is the first on or after the
    # request, 2024-01-15. Granted 2024-02-05: open until then, granted_date after.
    events = [
        ev(COUNSELLED, "2024-01-05"),
        ev(REQUEST, "2024-01-10"),
        ev(COUNSELLED, "2024-01-15"),
        ev(COUNSELLED, "2024-01-20"),
        ev(GRANT, "2024-02-05"),
    ]
    row = one(events, "2024-02-01")
    assert row["open_request"]
    assert row["request_date"] == pd.Timestamp("2024-01-10")
    assert row["counselled_date"] == pd.Timestamp("2024-01-15")
    assert pd.isna(row["granted_date"]) and pd.isna(row["declined_date"])
    later = one(events, "2024-03-01")
    assert not later["open_request"]
    assert later["granted_date"] == pd.Timestamp("2024-02-05")


def test_open_request_counselling_before_the_request_does_not_count() -> None:
    row = one([ev(COUNSELLED, "2024-01-05"), ev(REQUEST, "2024-01-10")], "2024-02-01")
    assert pd.isna(row["counselled_date"])


def test_open_request_never_asked() -> None:
    row = one([], "2024-02-01")
    assert not row["open_request"] and pd.isna(row["request_date"])


# --------------------------------------------------------------------------- stage


def test_stage_and_wait_days() -> None:
    # Request 2024-01-10. On 2024-02-01: awaiting counselling, 22 days (21 to 31 Jan + 1).
    # Counselled on 2024-02-05: on 2024-02-10 awaiting provisioning, 31 days.
    events = [ev(REQUEST, "2024-01-10"), ev(COUNSELLED, "2024-02-05")]
    row = one(events, "2024-02-01")
    assert (row["stage"], row["wait_days"]) == ("awaiting counselling", 22)
    row = one(events, "2024-02-10")
    assert (row["stage"], row["wait_days"]) == ("awaiting provisioning", 31)


def test_stage_counselled_on_the_request_day() -> None:
    # Counselled on the day of the request: counts (on or after request_date).
    row = one([ev(REQUEST, "2024-01-10"), ev(COUNSELLED, "2024-01-10")], "2024-01-10")
    assert (row["stage"], row["wait_days"]) == ("awaiting provisioning", 0)


def test_stage_empty_when_not_open() -> None:
    patients, events = frames([{"patient_id": "p"}], [])
    row = patient_state(patients, events, make_profile(), "2024-02-01").iloc[0]
    assert pd.isna(row["stage"]) and pd.isna(row["wait_days"])
