"""Per-patient state: hand-made cases, answers worked out in comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus, Supplier
from optin_analysis.ingest.schema import empty_events, empty_patients
from optin_analysis.measures.state import patient_state
from tests.builders import day, make_events, make_patients, make_profile

PROFILE = make_profile()  # EMIS, live since 2023-11-01
ADULT_WITH_ACCOUNT = {
    "date_of_birth": "1980-06-15",
    "online_account": True,
    "online_account_date": "2022-05-01",
}


def one(patient: dict, events: list, ref: str, profile=PROFILE) -> pd.Series:
    """State of a single patient 'p' at ``ref``."""
    state = patient_state(
        make_patients([{"patient_id": "p", **patient}]), make_events(events), profile, ref
    )
    return state.iloc[0]


@pytest.mark.parametrize(
    ("ref", "age", "eligible"),
    [
        # born 29 Feb 2008: 16 on 29 Feb 2024 (2024 is a leap year)
        ("2024-02-28", 15, False),
        ("2024-02-29", 16, True),
        # 2025 is a common year: the 17th birthday is 1 March 2025, so 16 on 28 Feb
        ("2025-02-28", 16, True),
        ("2025-03-01", 17, True),
    ],
)
def test_leap_day_birth_ages(ref: str, age: int, eligible: bool) -> None:
    row = one({"date_of_birth": "2008-02-29"}, [], ref)
    assert row["age"] == age
    assert bool(row["eligible"]) is eligible
    assert row["sixteenth_birthday"] == day("2024-02-29")


def test_leap_day_sixteenth_birthday_in_common_year() -> None:
    # 29 Feb + 16 years is a leap year unless a century is crossed: 2084 + 16 = 2100, which is
    # not a leap year (divisible by 100, not by 400), so the birthday moves to 1 March 2100.
    row = one({"date_of_birth": "2084-02-29", "registration_date": "2084-03-01"}, [], "2100-02-28")
    assert row["sixteenth_birthday"] == day("2100-03-01")
    assert row["age"] == 15 and not row["eligible"]


def test_registered_after_reference_date_is_kept_but_not_registered() -> None:
    patients = make_patients(
        [{"patient_id": "old"}, {"patient_id": "new", "registration_date": "2025-04-01"}]
    )
    patients.index = [10, 20]
    state = patient_state(patients, make_events([]), PROFILE, "2025-03-31")
    # same index as patients; 'new' registers the day after D
    assert list(state.index) == [10, 20]
    assert state["registered"].tolist() == [True, False]
    assert state["eligible"].tolist() == [True, False]


def test_account_date_after_reference_date() -> None:
    acct = {**ADULT_WITH_ACCOUNT, "online_account_date": "2025-01-10"}
    assert not one(acct, [], "2025-01-09")["account"]
    assert one(acct, [], "2025-01-10")["account"]
    # unknown account date: the account counts
    assert one({**acct, "online_account_date": None}, [], "2000-01-01")["account"]


def test_opted_out_then_opted_in() -> None:
    events = [("p", "opt_out", "2024-01-10"), ("p", "opt_in_requested", "2024-03-01")]
    before = one({}, events, "2024-02-01")
    assert before["opted_out"] and not before["open_request"]
    after = one({}, events, "2024-03-01")
    # the latest of {opt_out, opt_in_requested} is the request: not opted out, request open
    assert not after["opted_out"]
    assert after["request_date"] == day("2024-03-01")
    assert after["open_request"] and after["stage"] == "awaiting counselling"
    assert after["wait_days"] == 0


def test_opt_out_after_request_closes_it() -> None:
    events = [("p", "opt_in_requested", "2024-01-01"), ("p", "opt_out", "2024-02-01")]
    row = one({}, events, "2024-03-01")
    assert row["opted_out"] and not row["open_request"]
    assert pd.isna(row["stage"]) and pd.isna(row["wait_days"])


def test_same_day_opt_out_and_request_reads_as_opted_out() -> None:
    # documented tie rule: the protective reading wins
    events = [("p", "opt_in_requested", "2024-01-01"), ("p", "opt_out", "2024-01-01")]
    assert one({}, events, "2024-03-01")["opted_out"]


def test_request_stages_and_wait() -> None:
    events = [
        ("p", "counselled", "2024-01-01"),  # before the request: does not count
        ("p", "opt_in_requested", "2024-02-01"),
    ]
    row = one({}, events, "2024-02-15")
    assert pd.isna(row["counselled_date"])
    assert row["stage"] == "awaiting counselling"
    assert row["wait_days"] == 14  # 1 Feb -> 15 Feb
    events.append(("p", "counselled", "2024-02-10"))
    row = one({}, events, "2024-02-15")
    assert row["counselled_date"] == day("2024-02-10")
    assert row["stage"] == "awaiting provisioning"


def test_declined_request_is_closed() -> None:
    events = [("p", "opt_in_requested", "2024-02-01"), ("p", "opt_in_declined", "2024-02-20")]
    row = one({}, events, "2024-03-01")
    assert row["declined_date"] == day("2024-02-20")
    assert not row["open_request"] and not row["has_access"]


def test_access_from_access_level_without_events() -> None:
    full = {**ADULT_WITH_ACCOUNT, "access_level": "full_prospective"}
    start = {**full, "access_start_date": "2023-11-01"}
    assert not one(start, [], "2023-10-31")["has_access"]  # starts after D
    row = one(start, [], "2023-11-01")
    assert row["has_access"] and row["automatic"] and not row["via_opt_in"]
    # no start date and no grant code: full access applies from auto_start = go-live
    assert not one(full, [], "2023-10-31")["has_access"]
    assert one(full, [], "2023-11-01")["has_access"]
    assert not one({**full, "access_level": "detailed_coded"}, [], "2025-01-01")["has_access"]


def test_revoked_then_regranted_after_opt_in() -> None:
    patient = {**ADULT_WITH_ACCOUNT, "access_level": "full_prospective"}
    events = [
        ("p", "access_revoked", "2024-01-15"),
        ("p", "opt_in_requested", "2024-06-01"),
        ("p", "counselled", "2024-06-10"),
        ("p", "access_granted", "2024-06-20"),
    ]
    # Before go-live (2023-11-01) automatic access had not started: auto_start =
    # max(go-live 2023-11-01, account 2022-05-01, 16th birthday 1996-06-15) = 2023-11-01.
    assert not one(patient, events, "2023-10-01")["has_access"]
    # Only events after D, first is a revocation: automatic access was held before it.
    row = one(patient, events, "2024-01-01")
    assert row["has_access"] and row["automatic"]
    assert row["auto_start"] == day("2023-11-01")
    # Revoked: no access (the extract's 'full_prospective' level is overridden)
    assert not one(patient, events, "2024-03-01")["has_access"]
    # Counselled, waiting to be provisioned: 1 Jun -> 15 Jun = 14 days
    row = one(patient, events, "2024-06-15")
    assert row["stage"] == "awaiting provisioning" and row["wait_days"] == 14
    # Re-granted after the opt-in request: through opt-in, not automatic
    row = one(patient, events, "2024-06-20")
    assert row["has_access"] and row["via_opt_in"] and not row["automatic"]
    assert row["granted_date"] == day("2024-06-20") and not row["open_request"]


def test_granted_after_d_means_no_access_before() -> None:
    events = [("p", "opt_in_requested", "2024-06-01"), ("p", "access_granted", "2024-06-20")]
    row = one({**ADULT_WITH_ACCOUNT, "access_level": "full_prospective"}, events, "2024-06-10")
    # first grant/revoke after D is a grant: no access yet, even though the extract says full
    assert not row["has_access"] and row["open_request"]


def test_grant_without_request_is_automatic() -> None:
    row = one(ADULT_WITH_ACCOUNT, [("p", "access_granted", "2024-05-01")], "2024-06-01")
    assert row["has_access"] and row["automatic"] and not row["via_opt_in"]


def test_access_granted_on_sixteenth_birthday() -> None:
    # born 10 Sep 2008: 16 on 10 Sep 2024
    teen = {"date_of_birth": "2008-09-10", "online_account": True}
    patients = make_patients(
        [
            {"patient_id": "optin", **teen},
            {"patient_id": "sameday", **teen},
            {
                "patient_id": "auto",
                **teen,
                "access_level": "full_prospective",
                "access_start_date": "2024-09-10",
            },
        ]
    )
    events = make_events(
        [
            ("optin", "opt_in_requested", "2024-09-01"),
            ("optin", "access_granted", "2024-09-10"),
            ("sameday", "opt_in_requested", "2024-09-10"),
            ("sameday", "access_granted", "2024-09-10"),
        ]
    )
    state = patient_state(patients, events, PROFILE, "2024-09-10").set_index("patient_id")
    # request on or before the grant: via opt-in; the access level on the birthday: automatic
    assert state["via_opt_in"].to_dict() == {"optin": True, "sameday": True, "auto": False}
    assert state["automatic"].to_dict() == {"optin": False, "sameday": False, "auto": True}
    assert state["eligible"].all()


def test_enhanced_review_added_then_removed() -> None:
    events = [
        ("p", "enhanced_review_added", "2024-01-01"),
        ("p", "enhanced_review_removed", "2024-06-01"),
    ]
    row = one({}, events, "2024-03-01")
    assert row["protected_104"] and row["protected"]
    assert row["enhanced_review_date"] == day("2024-01-01")
    row = one({}, events, "2024-07-01")
    assert not row["protected_104"] and not row["protected"]
    assert pd.isna(row["enhanced_review_date"])


def test_tpp_preference_protects_everyone_from_its_date() -> None:
    tpp = make_profile(supplier=Supplier.TPP, supplier_setting_date=dt.date(2024, 2, 1))
    assert not one({}, [], "2024-01-31", tpp)["protected"]
    row = one({}, [], "2024-02-01", tpp)
    assert row["protected"] and not row["protected_104"]
    # the same date on an EMIS profile protects nobody
    emis = make_profile(supplier_setting_date=dt.date(2024, 2, 1))
    assert not one({}, [], "2024-02-01", emis)["protected"]


def test_events_after_reference_date_are_ignored() -> None:
    events = [
        ("p", "opt_out", "2025-04-02"),
        ("p", "opt_in_requested", "2025-04-10"),
        ("p", "enhanced_review_added", "2025-04-10"),
    ]
    row = one({}, events, "2025-03-31")
    assert not row["opted_out"] and not row["protected"]
    assert pd.isna(row["request_date"]) and not row["open_request"]


def test_events_of_patients_not_in_the_extract_are_ignored() -> None:
    patients = make_patients([{"patient_id": "p"}])
    events = make_events(
        [
            ("left", "opt_out", "2024-01-01"),  # transferred out: no patient row
            {
                "practice_code": "B81002",
                "patient_id": "p",
                "event_type": "opt_out",
                "event_date": "2024-01-01",
            },  # same id at another practice
            ("p", "made_up_type", "2024-01-01"),  # unknown event type
        ]
    )
    state = patient_state(patients, events, PROFILE, "2025-03-31")
    assert len(state) == 1 and not state["opted_out"].iloc[0]


def test_no_go_live_date_means_no_automatic_start() -> None:
    profile = make_profile(go_live_status=GoLiveStatus.NOT_PLANNED, go_live_date=None)
    row = one(ADULT_WITH_ACCOUNT, [("p", "access_revoked", "2024-05-01")], "2024-01-01", profile)
    assert pd.isna(row["auto_start"]) and not row["has_access"]


def test_duplicate_patient_ids_are_refused() -> None:
    patients = make_patients([{"patient_id": "p"}, {"patient_id": "p"}])
    with pytest.raises(ValueError, match="more than once"):
        patient_state(patients, make_events([]), PROFILE, "2025-03-31")


def test_empty_practice() -> None:
    state = patient_state(empty_patients(), empty_events(), PROFILE, "2025-03-31")
    assert state.empty
    assert {"eligible", "has_access", "via_opt_in", "open_request", "wait_days"} <= set(
        state.columns
    )
