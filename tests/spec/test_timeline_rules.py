"""Hand-worked cases for the rules of ``optin_analysis/measures/timeline.py``.

Each expected value is worked out in the comments from the rule's words. Practice: EMIS,
opt-in, live since 2023-11-01, extract dated 2025-03-31; patients are adults (born
1980) unless said (see :mod:`tests.spec.cases`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus
from optin_analysis.measures import definitions as m
from optin_analysis.measures.month import headline
from tests.builders import make_profile
from tests.spec.cases import (
    ACCOUNT,
    COUNSELLED,
    DECLINED,
    FULL,
    GRANT,
    OPT_OUT,
    REQUEST,
    REVOKE,
    ev,
    frames,
    one,
    states,
)

NO_GO_LIVE = make_profile(go_live_status=GoLiveStatus.NOT_PLANNED, go_live_date=None)
GIVEN_AGAIN = "revocation coded, but full access was given again later without a grant code"
STILL_IN_ACCOUNT = "revocation coded, but full access is still in the account"
NOT_IN_EXTRACT = "access grant coded, but the extract shows no full access"


# --------------------------------------------------------------------------- tie-order


@pytest.mark.parametrize("first", [GRANT, REVOKE])
def test_tie_grant_and_revoke_same_day_revocation_wins_at_a_date(first: str) -> None:
    # Granted and revoked on 2024-03-10 (either row first), no access in the extract.
    # The revocation counts later on the day, so the day ends access: nothing held after
    # it; the day also has a grant, so no automatic access is assumed before it.
    # The latest coded grant/revoke is the revocation and the extract shows no access:
    # codes and extract agree.
    second = REVOKE if first == GRANT else GRANT
    events = [ev(first, "2024-03-10"), ev(second, "2024-03-10")]
    for ref in ("2024-03-09", "2024-03-10", "2024-04-01"):
        assert not one(events, ref, **ACCOUNT)["has_access"], ref
    assert one(events, "2024-04-01", **ACCOUNT)["disagreement"] == ""


def test_tie_grant_and_revoke_same_day_in_the_backlog() -> None:
    # "cancelled": granted and revoked on 2024-03-10, no access in the extract: never held.
    # "kept": the same codes, but the extract shows full access with no start date. The
    # latest coded grant/revoke is the revocation (it counts later on the day), so the
    # access applies from auto_start = go-live 2023-11-01, automatic, and the revocation
    # (after that start) changes nothing; codes and extract disagree.
    # EMIS backlog (account holders with automatic access) at each month end Feb-Apr 2024:
    # only "kept" = 1, 1, 1. Neither revocation ends a spell of automatic access: 0 each.
    rows = [{"patient_id": "cancelled", **ACCOUNT}, {"patient_id": "kept", **ACCOUNT, **FULL}]
    events = [
        ev(GRANT, "2024-03-10", "cancelled"),
        ev(REVOKE, "2024-03-10", "cancelled"),
        ev(REVOKE, "2024-03-10", "kept"),
        ev(GRANT, "2024-03-10", "kept"),
    ]
    patients, events_ = frames(rows, events)
    trend = m.backlog_by_month(patients, events_, make_profile(), "2024-02-01", "2024-04-30")
    assert trend["backlog"].tolist() == [1, 1, 1]
    assert trend["revocations"].tolist() == [0, 0, 0]
    at = states(rows, events, "2024-01-15")
    assert not at.loc["cancelled", "has_access"]
    assert at.loc["kept", "automatic"]
    assert at.loc["kept", "disagreement"] == STILL_IN_ACCOUNT


@pytest.mark.parametrize("first", [REQUEST, GRANT])
def test_tie_request_and_grant_same_day_is_a_provision(first: str) -> None:
    # Request and grant on 2024-02-05 (either row first); extract full, no start date.
    # The request counts first on the day: it opens an episode and the grant closes it,
    # a provision with a wait of 0 days. Full access applies from that grant, opt-in.
    second = GRANT if first == REQUEST else REQUEST
    rows = [{"patient_id": "p", **ACCOUNT, **FULL}]
    events = [ev(first, "2024-02-05"), ev(second, "2024-02-05")]
    row = states(rows, events, "2024-03-01").loc["p"]
    assert row["via_opt_in"] and not row["automatic"]
    assert not row["open_request"]
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-03-01")
    assert (times.n, times.median_days) == (1, 0.0)


def test_tie_request_and_opt_out_same_day_is_opted_out() -> None:
    # Request and opt-out on 2024-02-01: the opt-out counts later, so the patient has
    # opted out and the opt-out closes the request.
    row = one([ev(OPT_OUT, "2024-02-01"), ev(REQUEST, "2024-02-01")], "2024-03-01")
    assert row["opted_out"]
    assert not row["open_request"]


def test_tie_counselled_and_grant_same_day_counts_as_counselled_first() -> None:
    # Request 2024-01-10; counselled and granted on 2024-02-01 (grant row first). The
    # counselling counts before the grant: 1 provision in February, 1 counselled.
    rows = [{"patient_id": "p", **FULL}]
    events = [ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-02-01"), ev(COUNSELLED, "2024-02-01")]
    got = m.counselled_before_provision(
        *frames(rows, events), make_profile(), "2024-02-01", "2024-02-29"
    )
    assert got == (1, 1)


def test_tie_grant_and_declined_same_day_grant_closes_first() -> None:
    # Request 2024-01-10; declined and granted on 2024-02-01 (declined row first). The
    # grant counts first: it closes the episode, a provision; the decline finds no episode.
    rows = [{"patient_id": "p", **FULL}]
    events = [ev(REQUEST, "2024-01-10"), ev(DECLINED, "2024-02-01"), ev(GRANT, "2024-02-01")]
    patients, events_ = frames(rows, events)
    uptake = m.uptake_by_month(patients, events_, make_profile(), "2024-01-01", "2024-02-29")
    assert uptake["provisioned"].tolist() == [0, 1]
    assert one(events, "2024-02-29", **FULL)["via_opt_in"]


# --------------------------------------------------------------------------- episode


def test_episode_chaser_keeps_the_first_request_date() -> None:
    # Request 2024-01-10, chaser 2024-02-01. At 2024-03-01 the episode is open and dates
    # from 2024-01-10: 21 days to 31 Jan + 29 (Feb 2024) + 1 = 51 days waited.
    # New requests: January 1, February 0 (a chaser is not new).
    events = [ev(REQUEST, "2024-01-10"), ev(REQUEST, "2024-02-01")]
    row = one(events, "2024-03-01")
    assert row["open_request"]
    assert row["request_date"] == pd.Timestamp("2024-01-10")
    assert row["wait_days"] == 51
    patients, events_ = frames([{"patient_id": "p"}], events)
    uptake = m.uptake_by_month(patients, events_, make_profile(), "2024-01-01", "2024-03-01")
    assert uptake["requests"].tolist() == [1, 0, 0]


def test_open_request_dates_from_the_latest_episode_not_the_first_request() -> None:
    # Episode 1: request 2024-01-10, chaser 2024-02-01, declined 2024-03-05 (closed).
    # Episode 2: request 2024-04-02, chaser 2024-04-20, still open at 2024-05-01.
    # request_date = first request of the latest episode = 2024-04-02 (not the very first
    # request 2024-01-10, not the chaser 2024-04-20); waited 28 days to 30 April + 1 = 29.
    events = [
        ev(REQUEST, "2024-01-10"),
        ev(REQUEST, "2024-02-01"),
        ev(DECLINED, "2024-03-05"),
        ev(REQUEST, "2024-04-02"),
        ev(REQUEST, "2024-04-20"),
    ]
    row = one(events, "2024-05-01")
    assert row["open_request"]
    assert row["request_date"] == pd.Timestamp("2024-04-02")
    assert row["wait_days"] == 29
    # before episode 2, the closed episode 1 is the latest: its first request, its decline
    closed = one(events, "2024-03-10")
    assert not closed["open_request"]
    assert closed["request_date"] == pd.Timestamp("2024-01-10")
    assert closed["declined_date"] == pd.Timestamp("2024-03-05")


@pytest.mark.parametrize(
    ("closing", "is_open"),
    [(GRANT, False), (DECLINED, False), (OPT_OUT, False), (COUNSELLED, True), (REVOKE, True)],
)
def test_episode_closes_at_grant_decline_or_opt_out(closing: str, is_open: bool) -> None:
    # Request 2024-01-10, then one event on 2024-02-01: a grant, decline or opt-out closes
    # the episode; counselling or a revocation does not.
    row = one([ev(REQUEST, "2024-01-10"), ev(closing, "2024-02-01")], "2024-03-01")
    assert bool(row["open_request"]) is is_open


# --------------------------------------------------------------------------- provision


def test_provision_waits_from_the_first_request_of_its_episode() -> None:
    # Request 2024-01-10, chaser 2024-01-25, grant 2024-03-11: one provision, waited from
    # 10 Jan: 21 + 29 + 11 = 61 days.
    rows = [{"patient_id": "p", **FULL}]
    events = [ev(REQUEST, "2024-01-10"), ev(REQUEST, "2024-01-25"), ev(GRANT, "2024-03-11")]
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-03-31")
    assert (times.n, times.median_days) == (1, 61.0)


def test_provision_implied_by_the_extract_start() -> None:
    # Request 2024-01-10, no grant code; the extract shows full access from 2024-02-09,
    # with the episode open that day: an implied provision on 2024-02-09, waited 30 days
    # (21 to 31 Jan + 9). It closes the episode on that day.
    patient = {**ACCOUNT, **FULL, "access_start_date": "2024-02-09"}
    events = [ev(REQUEST, "2024-01-10")]
    assert one(events, "2024-02-08", **patient)["open_request"]
    assert not one(events, "2024-02-09", **patient)["open_request"]
    rows = [{"patient_id": "p", **patient}]
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-03-31")
    assert (times.n, times.median_days) == (1, 30.0)


def test_provision_coded_after_the_implied_one_is_the_same_provision() -> None:
    # As above, and the grant of that episode is coded later, on 2024-02-20: still one
    # provision, dated 2024-02-09, 30 days (not two; not 41 days).
    rows = [{"patient_id": "p", **ACCOUNT, **FULL, "access_start_date": "2024-02-09"}]
    events = [ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-02-20")]
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-03-31")
    assert (times.n, times.median_days) == (1, 30.0)


def test_request_after_an_implied_provision_opens_a_new_episode() -> None:
    # Request 2024-01-02; the extract shows full access from 2024-01-10 (no grant code),
    # the episode open that day: an implied provision closes it on 2024-01-10. A request
    # on 2024-03-01 comes when no episode is open, so it opens a new one ([rule episode]):
    # at 2024-03-31 a request is open, dated 2024-03-01, waiting 30 days.
    patient = {**ACCOUNT, **FULL, "access_start_date": "2024-01-10"}
    events = [ev(REQUEST, "2024-01-02"), ev(REQUEST, "2024-03-01")]
    row = one(events, "2024-03-31", **patient)
    assert row["open_request"]
    assert row["request_date"] == pd.Timestamp("2024-03-01")
    assert row["wait_days"] == 30


def test_same_request_open_whether_the_provision_was_coded_or_implied() -> None:
    # "coded": request 01-02, grant 01-10, opt-out 02-01, request 03-01.
    # "implied": the same without the grant code; the extract shows full access from
    # 01-10 instead. Either way the first episode closed on 01-10, and the request of
    # 03-01 opened a new episode: open at 2024-03-31 for both.
    rows = [
        {"patient_id": "coded", **ACCOUNT, **FULL},
        {"patient_id": "implied", **ACCOUNT, **FULL, "access_start_date": "2024-01-10"},
    ]
    later = [(OPT_OUT, "2024-02-01"), (REQUEST, "2024-03-01")]
    events = [
        ev(REQUEST, "2024-01-02", "coded"), ev(GRANT, "2024-01-10", "coded"),
        *(ev(kind, day, "coded") for kind, day in later),
        ev(REQUEST, "2024-01-02", "implied"),
        *(ev(kind, day, "implied") for kind, day in later),
    ]  # fmt: skip
    at = states(rows, events, "2024-03-31")
    assert at["open_request"].tolist() == [True, True]


def test_grant_of_a_new_episode_after_an_implied_provision_is_a_provision() -> None:
    # Request 01-02, implied provision 01-10 (8 days); request 03-01 opens a new episode,
    # granted 03-20 (coded): a second provision, 19 days. By 2024-03-31: two provisions,
    # waits 8 and 19: median by nearest rank (rank ceil(1) = 1) = 8 days.
    rows = [{"patient_id": "p", **ACCOUNT, **FULL, "access_start_date": "2024-01-10"}]
    events = [ev(REQUEST, "2024-01-02"), ev(REQUEST, "2024-03-01"), ev(GRANT, "2024-03-20")]
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-03-31")
    assert (times.n, times.median_days) == (2, 8.0)


# --------------------------------------------------------------------------- restoration


def test_restoration_after_a_provision_is_opt_in_and_not_a_provision() -> None:
    # Request 2024-01-10, grant 2024-01-20 (provision, 10 days), revoked 2024-02-01,
    # granted again 2024-03-01 with no open episode: a restoration, opt-in (an earlier
    # provision, no opt-out since), not a second provision. Extract full from 2024-03-01.
    patient = {**ACCOUNT, **FULL, "access_start_date": "2024-03-01"}
    events = [
        ev(REQUEST, "2024-01-10"),
        ev(GRANT, "2024-01-20"),
        ev(REVOKE, "2024-02-01"),
        ev(GRANT, "2024-03-01"),
    ]
    assert not one(events, "2024-02-15", **patient)["has_access"]
    assert one(events, "2024-04-01", **patient)["via_opt_in"]
    patients, events_ = frames([{"patient_id": "p", **patient}], events)
    uptake = m.uptake_by_month(patients, events_, make_profile(), "2024-01-01", "2024-04-01")
    assert uptake["provisioned"].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize(
    "before",
    [
        [],  # no earlier provision
        [ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-01-20"), ev(OPT_OUT, "2024-02-01")],
    ],
    ids=["never-provisioned", "opted-out-since"],
)
def test_restoration_without_a_standing_provision_is_automatic(before: list) -> None:
    # A grant on 2024-03-01 with no open episode, and either no earlier provision or an
    # opt-out since it: automatic access (extract full from 2024-03-01).
    patient = {**ACCOUNT, **FULL, "access_start_date": "2024-03-01"}
    events = [*before, ev(REVOKE, "2024-02-01"), ev(GRANT, "2024-03-01")]
    row = one(events, "2024-04-01", **patient)
    assert row["automatic"] and not row["via_opt_in"]


# --------------------------------------------------------------------------- auto-start


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        (ACCOUNT, "2023-11-01"),  # max(go-live 2023-11-01, account 2022-05-01, 16 in 1996)
        ({"online_account": True, "online_account_date": "2024-02-10"}, "2024-02-10"),
        ({**ACCOUNT, "date_of_birth": "2008-03-15"}, "2024-03-15"),  # 16th birthday last
        ({"date_of_birth": "2008-02-29"}, "2024-02-29"),  # 2024 is a leap year
        ({"online_account": True}, "2023-11-01"),  # no account date: skipped
        ({}, "2023-11-01"),  # no account at all: go-live
    ],
)
def test_auto_start_is_the_latest_of_go_live_account_and_sixteenth_birthday(
    patient: dict, expected: str
) -> None:
    assert one([], "2024-06-01", **patient)["auto_start"] == pd.Timestamp(expected)


def test_auto_start_none_without_a_go_live_date() -> None:
    assert pd.isna(one([], "2024-06-01", NO_GO_LIVE, **ACCOUNT)["auto_start"])


# --------------------------------------------------------------------------- current-start


@pytest.mark.parametrize(
    ("patient", "events", "first_day"),
    [
        ({**FULL, "access_start_date": "2024-02-01"}, [], "2024-02-01"),  # its start date
        (FULL, [ev(GRANT, "2024-02-01")], "2024-02-01"),  # no start: the coded grant
        (FULL, [], "2023-11-01"),  # no start, no grant: auto_start (go-live)
    ],
    ids=["access-start", "coded-grant", "auto-start"],
)
def test_current_start_of_full_access(patient: dict, events: list, first_day: str) -> None:
    # Full access is held from first_day, not the day before.
    before = (dt.date.fromisoformat(first_day) - dt.timedelta(days=1)).isoformat()
    assert not one(events, before, **ACCOUNT, **patient)["has_access"]
    assert one(events, first_day, **ACCOUNT, **patient)["has_access"]


def test_current_start_no_later_than_the_extract_date() -> None:
    # EMIS, due to go live on 2025-06-01 (after the extract, 2025-03-31). Full access in
    # the extract, no start date, no coded grant: auto_start would be the go-live date,
    # after the extract, but the extract shows the access held on its date. So it applies
    # from 2025-03-31 at the latest: held then, automatic (no opt-in request); the day
    # before, nothing says it was.
    due = make_profile(go_live_status=GoLiveStatus.DUE, go_live_date=dt.date(2025, 6, 1))
    row = one([], "2025-03-31", due, **ACCOUNT, **FULL)
    assert row["has_access"] and row["automatic"]
    assert not one([], "2025-03-30", due, **ACCOUNT, **FULL)["has_access"]


@pytest.mark.parametrize(
    "profile",
    [NO_GO_LIVE, make_profile(go_live_status=GoLiveStatus.DUE, go_live_date=dt.date(2025, 6, 1))],
    ids=["never", "due"],
)
def test_current_start_from_the_extract_date_where_the_practice_has_not_gone_live(
    profile,
) -> None:
    # Reading (b), a choice: full access, no start date, no codes, at a practice with no
    # go-live date, or one after the extract (2025-03-31): held from the extract date, not
    # before (not on 2015-01-01, nor on 2025-03-30).
    assert not one([], "2015-01-01", profile, **FULL)["has_access"]
    assert not one([], "2025-03-30", profile, **FULL)["has_access"]
    assert one([], "2025-03-31", profile, **FULL)["has_access"]


def test_current_start_full_access_without_a_date_after_a_coded_revocation() -> None:
    # Reading (a), a choice: full access in the extract with no start date, the latest
    # coded grant/revoke a revocation (2024-03-01). Held from auto_start (go-live
    # 2023-11-01) throughout, automatic: the revocation was never made in the account (a
    # disagreement), and is not a revocation of automatic access. Backlog (account
    # holders with automatic access) at the ends of Feb-Apr 2024: 1, 1, 1; revocations 0.
    rows = [{"patient_id": "p", **ACCOUNT, **FULL}]
    events = [ev(REVOKE, "2024-03-01")]
    trend = m.backlog_by_month(*frames(rows, events), make_profile(), "2024-02-01", "2024-04-30")
    assert trend["backlog"].tolist() == [1, 1, 1]
    assert trend["revocations"].tolist() == [0, 0, 0]
    assert one(events, "2024-03-15", **ACCOUNT, **FULL)["disagreement"] == STILL_IN_ACCOUNT


# --------------------------------------------------------------------------- level-start


def test_level_start_a_revocation_after_the_level_date_still_happened() -> None:
    # Summary since 2022-05-01 (the account's creation) in the extract; a revocation coded
    # 2024-02-10. The level cannot start before that revocation, so the codes decide until
    # then: the first coded day has a revocation only, so automatic access was held from
    # auto_start (go-live 2023-11-01) until 2024-02-10, then none.
    # Backlog at the ends of Jan-Mar 2024: 1, 0, 0; revocations of automatic access 0, 1, 0.
    patient = {**ACCOUNT, "access_level": "summary", "access_start_date": "2022-05-01"}
    events = [ev(REVOKE, "2024-02-10")]
    assert one(events, "2024-02-09", **patient)["automatic"]
    assert not one(events, "2024-02-10", **patient)["has_access"]
    rows = [{"patient_id": "p", **patient}]
    trend = m.backlog_by_month(*frames(rows, events), make_profile(), "2024-01-01", "2024-03-31")
    assert trend["backlog"].tolist() == [1, 0, 0]
    assert trend["revocations"].tolist() == [0, 1, 0]
    assert one(events, "2025-03-31", **patient)["disagreement"] == ""


@pytest.mark.parametrize("level_date", ["2022-05-01", "2024-05-01", None],
                         ids=["dated-before", "dated-after", "undated"])  # fmt: skip
def test_level_start_the_codes_decide_until_the_extract_date(level_date) -> None:
    # Summary in the extract (dated before the grant, after it, or not at all); an
    # (automatic) grant coded 2024-01-10, no request. Whatever the level's date, it says
    # what holds on the extract date (2025-03-31) only: the grant gave access from
    # 2024-01-10 until the extract date, where the extract wins (a disagreement).
    patient = {**ACCOUNT, "access_level": "summary", "access_start_date": level_date}
    events = [ev(GRANT, "2024-01-10")]
    held = {"2024-01-09": False, "2024-01-10": True, "2024-05-01": True, "2025-03-30": True,
            "2025-03-31": False}  # fmt: skip
    assert {ref: bool(one(events, ref, **patient)["has_access"]) for ref in held} == held
    assert one(events, "2025-03-31", **patient)["disagreement"] == NOT_IN_EXTRACT


# --------------------------------------------------------------------------- extract-wins


def test_extract_wins_over_a_later_revocation() -> None:
    # Full access from 2024-02-01 in the extract, revocation coded 2024-06-01: on and
    # after the start the extract decides, so still held on 2024-07-01 (a disagreement).
    row = one([ev(REVOKE, "2024-06-01")], "2024-07-01", **FULL, access_start_date="2024-02-01")
    assert row["has_access"]
    assert row["disagreement"] == STILL_IN_ACCOUNT


def test_extract_wins_over_a_grant_after_the_extract_date() -> None:
    # No access in the extract (applies from 2025-03-31); a grant coded 2025-04-10
    # changes nothing: not held on 2025-05-01, and no disagreement (codes up to the
    # extract date only).
    row = one([ev(GRANT, "2025-04-10")], "2025-05-01", **ACCOUNT)
    assert not row["has_access"]
    assert row["disagreement"] == ""


# --------------------------------------------------------------------------- history


@pytest.mark.parametrize(
    ("patient", "events", "expected"),
    [
        # first coded day has revocations only: automatic from auto_start (2023-11-01)
        (
            ACCOUNT,
            [ev(REVOKE, "2024-03-01")],
            {"2023-10-31": False, "2023-11-01": True, "2024-02-29": True, "2024-03-01": False},
        ),
        # a grant gives access until the next grant/revoke day, a revocation ends it
        (
            ACCOUNT,
            [ev(GRANT, "2024-01-10"), ev(REVOKE, "2024-02-10")],
            {"2024-01-09": False, "2024-01-10": True, "2024-02-09": True, "2024-02-10": False},
        ),
        # revoked, then granted again: automatic before, none between, held after
        (
            ACCOUNT,
            [ev(REVOKE, "2024-01-10"), ev(GRANT, "2024-02-10")],
            {"2023-12-01": True, "2024-01-10": False, "2024-02-09": False, "2024-02-10": True},
        ),
        # revoked before auto_start (account from 2024-05-01): nothing held
        (
            {"online_account": True, "online_account_date": "2024-05-01"},
            [ev(REVOKE, "2024-03-01")],
            {"2024-02-01": False, "2024-06-01": False},
        ),
        # no codes and no access in the extract: never held
        (ACCOUNT, [], {"2023-12-01": False, "2024-06-01": False}),
    ],
    ids=["revoked-only", "granted-revoked", "revoked-granted", "before-auto-start", "none"],
)
def test_history_before_the_extract_start(patient: dict, events: list, expected: dict) -> None:
    # No access in the extract, so the codes decide until the extract date 2025-03-31.
    got = {ref: bool(one(events, ref, **patient)["has_access"]) for ref in expected}
    assert got == expected


# --------------------------------------------------------------------------- extract-kind


@pytest.mark.parametrize(
    ("events", "start", "opt_in"),
    [
        ([ev(REQUEST, "2024-01-10")], "2024-02-09", True),  # episode open on the start day
        ([ev(REQUEST, "2024-02-09")], "2024-02-09", True),  # request on the start day
        ([ev(REQUEST, "2024-02-10")], "2024-02-09", False),  # request after the start
        ([], "2024-02-09", False),  # no codes at all
        # provision earlier, revoked, given again in the account without a code: opt-in
        ([ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-01-20"), ev(REVOKE, "2024-02-01")],
         "2024-03-01", True),
        # the same with an opt-out after the provision: automatic
        ([ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-01-20"), ev(OPT_OUT, "2024-02-01"),
          ev(REVOKE, "2024-02-01")], "2024-03-01", False),
    ],
    ids=["open", "same-day", "after", "none", "provision-earlier", "opted-out-since"],
)  # fmt: skip
def test_extract_kind_of_full_access(events: list, start: str, opt_in: bool) -> None:
    row = one(events, "2024-06-01", **ACCOUNT, **FULL, access_start_date=start)
    assert row["has_access"]
    assert bool(row["via_opt_in"]) is opt_in
    assert bool(row["automatic"]) is not opt_in


def test_extract_kind_latest_coded_opt_in_grant() -> None:
    # Request 2024-01-10, grant 2024-01-20 (a provision), no start date: the latest coded
    # grant/revoke is an opt-in grant, so the extract's full access is opt-in (from the
    # grant's day).
    events = [ev(REQUEST, "2024-01-10"), ev(GRANT, "2024-01-20")]
    assert one(events, "2024-06-01", **FULL)["via_opt_in"]
    assert not one(events, "2024-01-19", **FULL)["has_access"]


def test_extract_kind_opt_in_only_from_the_provision_known_by_d() -> None:
    # Full access from 2023-11-01 (go-live) in the extract, automatic; the patient asks on
    # 2024-01-05 and is provisioned (coded) on 2024-01-12. Only what is known by D decides:
    # automatic until 2024-01-11 (in the backlog at the ends of Nov and Dec 2023), opt-in
    # from 2024-01-12. Backlog Nov 2023-Jan 2024: 1, 1, 0; no revocation (the access
    # became opt-in, it was not taken away); one provision in January, waited 7 days.
    patient = {**ACCOUNT, **FULL, "access_start_date": "2023-11-01"}
    events = [ev(REQUEST, "2024-01-05"), ev(GRANT, "2024-01-12")]
    assert one(events, "2023-12-31", **patient)["automatic"]
    assert one(events, "2024-01-11", **patient)["automatic"]
    assert one(events, "2024-01-12", **patient)["via_opt_in"]
    rows = [{"patient_id": "p", **patient}]
    trend = m.backlog_by_month(*frames(rows, events), make_profile(), "2023-11-01", "2024-01-31")
    assert trend["backlog"].tolist() == [1, 1, 0]
    assert trend["revocations"].tolist() == [0, 0, 0]
    at_december = headline(*frames(rows, events), make_profile(), "2023-12-31", "2023-12-01")
    assert (at_december["opt_in_holders"], at_december["revocation_backlog"]) == (0, 1)
    times = m.request_to_provision(*frames(rows, events), make_profile(), "2024-01-31")
    assert (times.n, times.median_days) == (1, 7.0)


# --------------------------------------------------------------------------- automatic-revocation


def test_automatic_revocations_are_counted_and_opt_in_take_backs_are_not() -> None:
    # "auto": automatic from 2023-11-01 (first coded day a revocation), revoked
    #   2024-03-01: one revocation of automatic access in March.
    # "optin": request 2024-01-10, grant 2024-01-20, revoked 2024-02-05: opt-in taken
    #   back, not counted.
    # "twice": automatic grant 2024-01-05, revoked 2024-02-10 (counted, February) and
    #   again 2024-02-20 (nothing held the day before: not counted).
    # Revocations per month Jan-Mar 2024: 0, 1, 1.
    rows = [{"patient_id": pid, **ACCOUNT} for pid in ("auto", "optin", "twice")]
    events = [
        ev(REVOKE, "2024-03-01", "auto"),
        ev(REQUEST, "2024-01-10", "optin"),
        ev(GRANT, "2024-01-20", "optin"),
        ev(REVOKE, "2024-02-05", "optin"),
        ev(GRANT, "2024-01-05", "twice"),
        ev(REVOKE, "2024-02-10", "twice"),
        ev(REVOKE, "2024-02-20", "twice"),
    ]
    patients, events_ = frames(rows, events)
    trend = m.backlog_by_month(patients, events_, make_profile(), "2024-01-01", "2024-03-31")
    assert trend["revocations"].tolist() == [0, 1, 1]


# --------------------------------------------------------------------------- disagreement


@pytest.mark.parametrize(
    ("patient", "events", "words"),
    [
        ({}, [ev(GRANT, "2024-01-10")], NOT_IN_EXTRACT),
        ({**FULL, "access_start_date": "2024-02-01"}, [ev(REVOKE, "2024-06-01")],
         STILL_IN_ACCOUNT),
        ({**FULL, "access_start_date": "2024-03-01"}, [ev(REVOKE, "2024-01-10")], GIVEN_AGAIN),
        # given again after an opt-in request: an uncoded provision, not a disagreement
        ({**FULL, "access_start_date": "2024-03-01"},
         [ev(REVOKE, "2024-01-10"), ev(REQUEST, "2024-02-01")], ""),
        (FULL, [ev(GRANT, "2024-01-10")], ""),  # grant coded, full access: agree
        ({}, [], ""),
    ],
    ids=["grant-not-in-extract", "revoke-not-in-account", "given-again", "uncoded-provision",
         "agree-grant", "no-codes"],
)  # fmt: skip
def test_disagreement_between_codes_and_extract(patient: dict, events: list, words: str) -> None:
    assert one(events, "2025-03-31", **ACCOUNT, **patient)["disagreement"] == words
    rows = [{"patient_id": "p", **ACCOUNT, **patient}]
    got = m.disagreements(*frames(rows, events), make_profile())
    assert got.tolist() == [words]


def test_disagreement_counted_as_of_the_extract_date() -> None:
    # Two patients with a grant coded but no access in the extract (2025-03-31); "new"
    # registers on 2024-07-01, after D (2024-06-30) but before the extract date. A
    # disagreement is a fact of the extract date, counted over the patients registered
    # then, in every month's report: 2 at D = 2024-06-30 as at the extract date.
    rows = [{"patient_id": "old"}, {"patient_id": "new", "registration_date": "2024-07-01"}]
    events = [ev(GRANT, "2024-01-10", "old"), ev(GRANT, "2024-01-10", "new")]
    for ref, start in (("2024-06-30", "2024-06-01"), ("2025-03-31", "2025-03-01")):
        got = headline(*frames(rows, events), make_profile(), ref, start)
        assert got["record_disagreements"] == 2, ref
