"""Hand-worked cases for the rules of ``optin_analysis/measures/definitions.py``.

Each expected value is worked out in the comments from the rule's words; thresholds are
written as numbers here, never read from the package. Practice: EMIS, opt-in, live since
2023-11-01, extract dated 2025-03-31; patients are adults (born 1980) unless said (see
:mod:`tests.spec.cases`).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from optin_analysis.config import Supplier
from optin_analysis.measures import definitions as m
from optin_analysis.measures.month import headline
from tests.builders import make_profile
from tests.spec.cases import (
    ACCOUNT,
    ADDED,
    COUNSELLED,
    DECLINED,
    FULL,
    GRANT,
    OPT_OUT,
    REMOVED,
    REQUEST,
    REVOKE,
    ev,
    frames,
)

EMIS, TPP = make_profile(), make_profile(supplier=Supplier.TPP)


# --------------------------------------------------------------------------- common rules


def test_registered_only_patients_and_their_events_count() -> None:
    # "old" (registered 2010) and "new" (registers 2024-04-01, after D = 2024-03-31) both
    # asked to opt in on 2024-02-01. Only "old" counts: 1 new request in February, 1 open
    # request, 1 eligible patient.
    rows = [{"patient_id": "old"}, {"patient_id": "new", "registration_date": "2024-04-01"}]
    patients, events = frames(
        rows, [ev(REQUEST, "2024-02-01", "old"), ev(REQUEST, "2024-02-01", "new")]
    )
    uptake = m.uptake_by_month(patients, events, EMIS, "2024-02-01", "2024-03-31")
    assert uptake["requests"].tolist() == [1, 0]
    assert m.open_requests(patients, events, EMIS, "2024-03-31")["requests"].sum() == 1
    assert m.uptake_share(patients, events, EMIS, "2024-03-31").eligible == 1


def test_calendar_months_up_to_d() -> None:
    # Requests (one patient each) on 2023-12-20 (before the start month: cumulative only),
    # 2024-01-31, 2024-02-01, 2024-02-29, 2024-03-15 (= D) and 2024-03-16 (after D).
    # Start 2024-01-15 -> months 2024-01..2024-03; requests 1, 2, 1; cumulative 2, 4, 5.
    days = ["2023-12-20", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-15", "2024-03-16"]
    rows = [{"patient_id": f"p{i}"} for i in range(len(days))]
    patients, events = frames(rows, [ev(REQUEST, d, f"p{i}") for i, d in enumerate(days)])
    uptake = m.uptake_by_month(patients, events, EMIS, "2024-01-15", "2024-03-15")
    assert uptake["month"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert uptake["requests"].tolist() == [1, 2, 1]
    assert uptake["requests_cumulative"].tolist() == [2, 4, 5]
    # month ends, and D for D's month
    trend = m.backlog_by_month(patients, events, EMIS, "2024-01-15", "2024-03-15")
    assert trend["as_of"].tolist() == [
        pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-15"),
    ]  # fmt: skip


def test_share_is_nan_without_a_denominator() -> None:
    # Only a 15-year-old: nobody eligible, so both uptake shares and the protection
    # coverage share are NaN (0 / 0), not 0.
    patients, events = frames([{"patient_id": "young", "date_of_birth": "2010-01-01"}], [])
    share = m.uptake_share(patients, events, EMIS, "2024-06-01")
    assert math.isnan(share.share_of_eligible) and math.isnan(share.share_of_account_holders)
    assert math.isnan(m.protection_coverage(patients, events, EMIS, "2024-06-01").share)


# --------------------------------------------------------------------------- uptake


def test_uptake_counts_new_requests_counselling_and_provisions() -> None:
    # p: request 2024-01-10, counselled 2024-01-20, granted 2024-02-05 (a provision).
    # q: request 2024-02-10, chaser 2024-02-20, counselled 2024-02-25 (still open).
    # r: granted 2024-02-15 with no request (a restoration: not a provision).
    # February: requests 1 (q; the chaser is not new), counselled 1, provisioned 1;
    # cumulative: requests 2, counselled 2, provisioned 1.
    rows = [{"patient_id": pid, **FULL} for pid in ("p", "q", "r")]
    events = [
        ev(REQUEST, "2024-01-10", "p"), ev(COUNSELLED, "2024-01-20", "p"),
        ev(GRANT, "2024-02-05", "p"), ev(REQUEST, "2024-02-10", "q"),
        ev(REQUEST, "2024-02-20", "q"), ev(COUNSELLED, "2024-02-25", "q"),
        ev(GRANT, "2024-02-15", "r"),
    ]  # fmt: skip
    got = m.uptake_by_month(*frames(rows, events), EMIS, "2024-02-01", "2024-02-29")
    assert got.drop(columns="month").iloc[0].to_dict() == {
        "requests": 1, "requests_cumulative": 2,
        "counselled": 1, "counselled_cumulative": 2,
        "provisioned": 1, "provisioned_cumulative": 1,
    }  # fmt: skip


@pytest.mark.parametrize("day", ["2024-03-01", "2024-02-29"], ids=["first-day", "day-before"])
def test_uptake_counts_an_event_on_the_period_s_first_day_in_that_period(day: str) -> None:
    # Period 2024-03 (D = 2024-03-31, period start 2024-03-01). On `day`: a asks; b (asked
    # 2024-01-10) is counselled; c (asked 2024-01-10) is provisioned; d (automatic since
    # go-live 2023-11-01, an account holder) is revoked. On the period's first day each
    # counts in March: 1 request, 1 counselled, 1 provision, 1 revocation of automatic
    # access. On the day before (29 February) they count in February, none in March.
    rows = [{"patient_id": pid, **ACCOUNT} for pid in "abd"] + [
        {"patient_id": "c", **ACCOUNT, **FULL, "access_start_date": day}
    ]
    events = [
        ev(REQUEST, day, "a"),
        ev(REQUEST, "2024-01-10", "b"), ev(COUNSELLED, day, "b"),
        ev(REQUEST, "2024-01-10", "c"), ev(GRANT, day, "c"),
        ev(REVOKE, day, "d"),
    ]  # fmt: skip
    got = headline(*frames(rows, events), EMIS, "2024-03-31", "2024-03-01")
    flows = ("requests_period", "counselled_period", "provisioned_period", "revocations_period")
    expected = 1 if day == "2024-03-01" else 0
    assert {k: got[k] for k in flows} == dict.fromkeys(flows, expected)


def test_uptake_share_of_eligible_and_of_account_holders() -> None:
    # Five eligible adults: a (opt-in, account), b (opt-in, no account), c (account, no
    # access), d and e (nothing); f is 15 with opt-in access and an account (not eligible).
    # Opt-in: full access from 2024-02-09 after a request on 2024-01-10.
    # share_of_eligible = 2 / 5 = 0.4; account holders a, c: opt-in a -> 1 / 2 = 0.5.
    optin = {**FULL, "access_start_date": "2024-02-09"}
    rows = [
        {"patient_id": "a", **ACCOUNT, **optin},
        {"patient_id": "b", **optin},
        {"patient_id": "c", **ACCOUNT},
        {"patient_id": "d"},
        {"patient_id": "e"},
        {"patient_id": "f", "date_of_birth": "2010-01-01", **ACCOUNT, **optin},
    ]
    events = [ev(REQUEST, "2024-01-10", pid) for pid in ("a", "b", "f")]
    got = m.uptake_share(*frames(rows, events), EMIS, "2024-06-01")
    assert got == m.UptakeShare(5, 2, 2, 1, 0.4, 0.5)


# --------------------------------------------------------------------------- open requests


@pytest.mark.parametrize(
    ("wait", "band"),
    [
        (0, "0-7"), (7, "0-7"), (8, "8-14"), (14, "8-14"), (15, "15-28"), (28, "15-28"),
        (29, "29-56"), (56, "29-56"), (57, "57-90"), (90, "57-90"), (91, "91-180"),
        (180, "91-180"), (181, "181+"), (400, "181+"),
    ],
)  # fmt: skip
def test_wait_bands_upper_bound_inside(wait: int, band: str) -> None:
    # One open request made `wait` days before D = 2024-12-31, never counselled.
    asked = (dt.date(2024, 12, 31) - dt.timedelta(days=wait)).isoformat()
    got = m.open_requests(*frames([{"patient_id": "p"}], [ev(REQUEST, asked)]), EMIS, "2024-12-31")
    counted = got[got["requests"] > 0]
    assert counted[["stage", "band", "requests"]].values.tolist() == [
        ["awaiting counselling", band, 1]
    ]


def test_wait_bands_late_means_more_than_28_days() -> None:
    # Requests waiting 28 days (2024-12-03) and 29 days (2024-12-02) at D = 2024-12-31:
    # only the second is late. Counselled requests count too: one waiting 60 days.
    rows = [{"patient_id": pid} for pid in ("w28", "w29", "w60")]
    events = [
        ev(REQUEST, "2024-12-03", "w28"), ev(REQUEST, "2024-12-02", "w29"),
        ev(REQUEST, "2024-11-01", "w60"), ev(COUNSELLED, "2024-11-05", "w60"),
    ]  # fmt: skip
    got = headline(*frames(rows, events), EMIS, "2024-12-31", "2024-12-01")
    assert (got["open_requests"], got["open_requests_over_28_days"]) == (3, 2)


# --------------------------------------------------------------------------- provisions


def _three_provisions() -> tuple[pd.DataFrame, pd.DataFrame]:
    # a: request and grant 2024-01-15 (0 days); b: request 2024-01-31, grant 2024-02-10
    # (10 days); c: request 2024-01-21, grant 2024-02-20 (10 + 20 = 30 days).
    rows = [{"patient_id": pid, **FULL} for pid in "abc"]
    return frames(
        rows,
        [
            ev(REQUEST, "2024-01-15", "a"), ev(GRANT, "2024-01-15", "a"),
            ev(REQUEST, "2024-01-31", "b"), ev(GRANT, "2024-02-10", "b"),
            ev(REQUEST, "2024-01-21", "c"), ev(GRANT, "2024-02-20", "c"),
        ],
    )  # fmt: skip


def test_request_to_provision_median_and_p90() -> None:
    # Nearest rank: the wait at rank ceil(p/100 x n) of the sorted waits.
    # All three: waits 0, 10, 30 -> median rank ceil(1.5) = 2: 10; p90 rank ceil(2.7) = 3:
    # 30 (interpolating ranks would give 26, a fraction that depends on n).
    got = m.request_to_provision(*_three_provisions(), EMIS, "2024-02-29")
    assert (got.n, got.median_days, got.p90_days) == (3, 10.0, 30.0)
    # February only: waits 10, 30 -> median rank ceil(1) = 1: 10 (the lower middle, not
    # 20); p90 rank ceil(1.8) = 2: 30.
    got = m.request_to_provision(*_three_provisions(), EMIS, "2024-02-29", "2024-02-01")
    assert (got.n, got.median_days, got.p90_days) == (2, 10.0, 30.0)


def test_wait_tail_counts_requests_waiting_more_than_28_90_and_180_days() -> None:
    # Requests open at D = 2024-12-31 waiting 28, 29, 90, 91, 180 and 181 days (the first
    # request 28 ... 181 days before D). More than 28: 29, 90, 91, 180, 181 -> 5; more than
    # 90: 91, 180, 181 -> 3; more than 180: 181 -> 1.
    d = dt.date(2024, 12, 31)
    waits = (28, 29, 90, 91, 180, 181)
    rows = [{"patient_id": f"w{n}"} for n in waits]
    events = [ev(REQUEST, (d - dt.timedelta(days=n)).isoformat(), f"w{n}") for n in waits]
    got = headline(*frames(rows, events), EMIS, d.isoformat(), "2024-12-01")
    tail = [got[f"open_requests_over_{t}_days"] for t in (28, 90, 180)]
    assert (got["open_requests"], tail) == (6, [5, 3, 1])


def test_request_to_provision_none() -> None:
    got = m.request_to_provision(*frames([{"patient_id": "p"}], []), EMIS, "2024-02-29")
    assert got.n == 0 and math.isnan(got.median_days) and math.isnan(got.p90_days)


def test_counselled_before_provision_within_the_episode() -> None:
    # Provisions in February 2024 (a-d; e is in January, outside the period):
    # a: counselled on the request day -> counts; b: counselled on the grant day -> counts;
    # c: counselled before the request -> not; d: counselled in an earlier, declined
    # episode -> not. (counselled, provisions) = (2, 4).
    rows = [{"patient_id": pid, **FULL} for pid in "abcde"]
    events = [
        ev(REQUEST, "2024-01-10", "a"), ev(COUNSELLED, "2024-01-10", "a"),
        ev(GRANT, "2024-02-05", "a"),
        ev(REQUEST, "2024-01-10", "b"), ev(COUNSELLED, "2024-02-05", "b"),
        ev(GRANT, "2024-02-05", "b"),
        ev(COUNSELLED, "2024-01-05", "c"), ev(REQUEST, "2024-01-10", "c"),
        ev(GRANT, "2024-02-05", "c"),
        ev(REQUEST, "2023-12-01", "d"), ev(COUNSELLED, "2023-12-05", "d"),
        ev(DECLINED, "2023-12-10", "d"), ev(REQUEST, "2024-01-10", "d"),
        ev(GRANT, "2024-02-05", "d"),
        ev(REQUEST, "2024-01-10", "e"), ev(COUNSELLED, "2024-01-12", "e"),
        ev(GRANT, "2024-01-20", "e"),
    ]  # fmt: skip
    got = m.counselled_before_provision(*frames(rows, events), EMIS, "2024-02-01", "2024-02-29")
    assert got == (2, 4)


# --------------------------------------------------------------------------- backlog


def _backlog_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    # At D = 2024-06-01 (full access with no start date applies from go-live 2023-11-01):
    # A: automatic, account; B: automatic, no account; C: opt-in (request before the
    # start), account; E: automatic, account, opted out; F: automatic, account, registers
    # after D; G: automatic from 2024-01-01, account, aged 15; H: automatic from
    # 2024-01-01, account only from 2024-07-01 (after D).
    rows = [
        {"patient_id": "A", **ACCOUNT, **FULL},
        {"patient_id": "B", **FULL},
        {"patient_id": "C", **ACCOUNT, **FULL, "access_start_date": "2024-02-09"},
        {"patient_id": "E", **ACCOUNT, **FULL},
        {"patient_id": "F", **ACCOUNT, **FULL, "registration_date": "2024-07-01"},
        {"patient_id": "G", **ACCOUNT, **FULL, "access_start_date": "2024-01-01",
         "date_of_birth": "2009-01-01"},
        {"patient_id": "H", "online_account": True, "online_account_date": "2024-07-01",
         **FULL, "access_start_date": "2024-01-01"},
    ]  # fmt: skip
    return frames(rows, [ev(REQUEST, "2024-01-10", "C"), ev(OPT_OUT, "2024-01-05", "E")])


def test_backlog_emis_is_account_holders_with_automatic_access() -> None:
    # EMIS: eligible, account at D, automatic: A and E (opted out, still holding it) = 2.
    assert m.revocation_backlog(*_backlog_practice(), EMIS, "2024-06-01") == 2


def test_backlog_tpp_is_everybody_with_automatic_access() -> None:
    # TPP: eligible and automatic, with or without an account: A, B, E, H = 4.
    assert m.revocation_backlog(*_backlog_practice(), TPP, "2024-06-01") == 4


@pytest.mark.parametrize("profile", [EMIS, TPP], ids=["emis", "tpp"])
def test_dormant_exposure_is_automatic_access_without_an_account(profile) -> None:
    # Eligible, automatic, no usable account at D: B and H = 2, whatever the supplier.
    assert m.dormant_exposure(*_backlog_practice(), profile, "2024-06-01") == 2


def _trend_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    # revoked: account, no access in the extract, revoked 2024-02-10: automatic from
    #   go-live 2023-11-01 until then.
    # offline: no account, full access from go-live: automatic throughout, dormant.
    # late_account: full access from 2023-11-01, account only from 2024-01-20.
    # newcomer: registers 2024-02-15 with full access from 2023-11-01 and an account.
    rows = [
        {"patient_id": "revoked", **ACCOUNT},
        {"patient_id": "offline", **FULL},
        {"patient_id": "late_account", **FULL, "access_start_date": "2023-11-01",
         "online_account": True, "online_account_date": "2024-01-20"},
        {"patient_id": "newcomer", **ACCOUNT, **FULL, "access_start_date": "2023-11-01",
         "registration_date": "2024-02-15"},
    ]  # fmt: skip
    return frames(rows, [ev(REVOKE, "2024-02-10", "revoked")])


def test_backlog_trend_at_each_month_end() -> None:
    # as_of: 2023-10-31, 11-30, 12-31, 2024-01-31, 02-29, 03-15 (= D).
    # with an account: revoked (Nov-Jan), late_account (Jan on), newcomer (Feb on):
    #   0, 1, 1, 2, 2, 2.
    # without: offline (Nov on), late_account (Nov, Dec): 0, 2, 2, 1, 1, 1.
    # EMIS backlog = with an account; TPP = both: 0, 3, 3, 3, 3, 3.
    # revocations of automatic access: February 1.
    patients, events = _trend_practice()
    emis = m.backlog_by_month(patients, events, EMIS, "2023-10-01", "2024-03-15")
    assert emis["automatic_with_account"].tolist() == [0, 1, 1, 2, 2, 2]
    assert emis["dormant"].tolist() == [0, 2, 2, 1, 1, 1]
    assert emis["backlog"].tolist() == [0, 1, 1, 2, 2, 2]
    assert emis["revocations"].tolist() == [0, 0, 0, 0, 1, 0]
    tpp = m.backlog_by_month(patients, events, TPP, "2023-10-01", "2024-03-15")
    assert tpp["backlog"].tolist() == [0, 3, 3, 3, 3, 3]


def test_revocations_of_registered_patients_dated_up_to_d() -> None:
    # Automatic access revoked: "here" 2024-02-10 (counted), "gone" 2024-02-12 but
    # registers only after D (not counted), "later" 2024-04-02 (after D, not counted).
    rows = [
        {"patient_id": "here", **ACCOUNT},
        {"patient_id": "gone", **ACCOUNT, "registration_date": "2024-04-01"},
        {"patient_id": "later", **ACCOUNT},
    ]
    events = [
        ev(REVOKE, "2024-02-10", "here"),
        ev(REVOKE, "2024-02-12", "gone"),
        ev(REVOKE, "2024-04-02", "later"),
    ]
    got = m.backlog_by_month(*frames(rows, events), EMIS, "2024-02-01", "2024-03-31")
    assert got["revocations"].tolist() == [1, 0]


def _clearing_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Backlog: b1-b3, account holders with automatic access (3, EMIS). Revocations of
    # automatic access (no access in the extract, automatic until revoked): 2024-02-10,
    # 2024-03-10, 2024-03-20 and 2024-06-05.
    rows = [{"patient_id": f"b{i}", **ACCOUNT, **FULL} for i in (1, 2, 3)]
    days = ["2024-02-10", "2024-03-10", "2024-03-20", "2024-06-05"]
    rows += [{"patient_id": f"r{i}", **ACCOUNT} for i in range(len(days))]
    return frames(rows, [ev(REVOKE, day, f"r{i}") for i, day in enumerate(days)])


def test_clear_date_from_the_last_three_complete_months() -> None:
    # D = 2024-06-15: the last 3 complete months are March-May: 2 revocations, rate 2/3
    # a month. 3 / (2/3) = 4.5 -> 5 months after June: 2024-11-30.
    got = m.projected_clear_date(*_clearing_practice(), EMIS, "2024-06-15")
    assert (got.backlog, got.revocations_last_3_months) == (3, 2)
    assert got.rate_per_month == pytest.approx(2 / 3)
    assert (got.status, got.months_to_clear) == ("clearing", 5)
    assert got.clear_date == pd.Timestamp("2024-11-30")


def test_clear_date_counts_d_month_when_d_is_its_last_day() -> None:
    # D = 2024-06-30 ends June, so April-June count: 1 revocation (06-05), rate 1/3.
    # 3 / (1/3) = 9 months after June: 2025-03-31.
    got = m.projected_clear_date(*_clearing_practice(), EMIS, "2024-06-30")
    assert (got.revocations_last_3_months, got.months_to_clear) == (1, 9)
    assert got.clear_date == pd.Timestamp("2025-03-31")


def test_clear_date_cleared_or_not_clearing() -> None:
    # No backlog: cleared. A backlog of 1 with no revocations: not clearing, no date.
    patients, events = frames([{"patient_id": "p"}], [])
    assert m.projected_clear_date(patients, events, EMIS, "2024-06-15").status == "cleared"
    patients, events = frames([{"patient_id": "p", **ACCOUNT, **FULL}], [])
    got = m.projected_clear_date(patients, events, EMIS, "2024-06-15")
    assert (got.status, got.clear_date, got.rate_per_month) == ("not clearing", None, 0.0)


# --------------------------------------------------------------------------- turning 16


def _sixteens() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Born 16 years before the named day; D = 2024-03-15, horizon 6 months: the window is
    # 2024-03-16 to 2024-09-30.
    rows = [
        {"patient_id": "on_d", "date_of_birth": "2008-03-15"},  # 16 on D: out
        {"patient_id": "next_day", "date_of_birth": "2008-03-16"},  # in, March
        {"patient_id": "last_day", "date_of_birth": "2008-09-30"},  # in, September
        {"patient_id": "after", "date_of_birth": "2008-10-01"},  # out
        {"patient_id": "unregistered", "date_of_birth": "2008-05-01",
         "registration_date": "2024-04-01"},  # not registered at D: out
    ]  # fmt: skip
    return frames(rows, [])


def test_pending_16_window_from_the_day_after_d_to_the_sixth_month_end() -> None:
    got = m.pending_16(*_sixteens(), EMIS, "2024-03-15", 6)
    assert got["month"].tolist() == [f"2024-{k:02d}" for k in range(3, 10)]
    assert got["cohort"].tolist() == [1, 0, 0, 0, 0, 0, 1]


def test_pending_16_default_horizon_is_six_months() -> None:
    got = m.pending_16(*_sixteens(), EMIS, "2024-03-15")
    assert got["month"].iloc[-1] == "2024-09"
    assert got["cohort"].sum() == 2


def test_pending_16_window_when_d_is_a_month_end() -> None:
    # D = 2024-03-31: the day after D is in April, so months April-September (6 rows);
    # next_day (16 on 2024-03-16) is past: only last_day.
    got = m.pending_16(*_sixteens(), EMIS, "2024-03-31", 6)
    assert got["month"].tolist() == [f"2024-{k:02d}" for k in range(4, 10)]
    assert got["cohort"].sum() == 1


@pytest.mark.parametrize(
    ("dob", "ref", "cohort"),
    [
        ("2008-02-29", "2024-02-28", {"2024-02": 1}),  # 16 on 29 Feb 2024: the day after D
        ("2008-02-29", "2024-02-29", {}),  # 16 on D: out
        ("2084-02-29", "2100-02-28", {"2100-03": 1}),  # 2100 common: 16 on 1 March 2100
        ("2084-02-29", "2100-03-01", {}),  # 16 on D: out
    ],
)
def test_pending_16_window_for_29_february_births(dob: str, ref: str, cohort: dict) -> None:
    # One patient born on 29 February; horizon 1 month. Months with a cohort, by count.
    patients, events = frames([{"patient_id": "leap", "date_of_birth": dob,
                                "registration_date": dob}], [])  # fmt: skip
    got = m.pending_16(patients, events, EMIS, ref, 1)
    assert {r.month: r.cohort for r in got.itertuples() if r.cohort} == cohort


def test_pending_16_protected_by_104_or_setting() -> None:
    # Three turning 16 in April 2024 (D = 2024-03-15): "coded" has a 104; "cancelled" a
    # 104 then a 106; "plain" nothing. EMIS live: protected 1, at risk 2. TPP with the
    # preference unticked on 2024-01-01: all 3 protected.
    rows = [{"patient_id": pid, "date_of_birth": "2008-04-10"}
            for pid in ("coded", "cancelled", "plain")]  # fmt: skip
    events = [
        ev(ADDED, "2024-01-05", "coded"),
        ev(ADDED, "2024-01-05", "cancelled"),
        ev(REMOVED, "2024-02-01", "cancelled"),
    ]
    patients, events_ = frames(rows, events)
    got = m.pending_16(patients, events_, EMIS, "2024-03-15", 6)
    assert (got["protected"].sum(), got["at_risk"].sum()) == (1, 2)
    tpp = make_profile(supplier=Supplier.TPP, supplier_setting_date=dt.date(2024, 1, 1))
    got = m.pending_16(patients, events_, tpp, "2024-03-15", 6)
    assert (got["protected"].sum(), got["at_risk"].sum()) == (3, 0)


def test_turned_16_with_automatic_access_in_the_period() -> None:
    # Period 2024-03-01 to D = 2024-03-31; all have an account since 2022.
    # A: 16 on 03-10, full access (from auto_start = birthday): counted.
    # B: 16 on 03-12, automatic from then, revoked 03-20: counted (it happened).
    # C: 16 on 03-14, asked on 03-01, full access from 03-14: opt-in, not counted.
    # D: 16 on 02-28 (before the period): not counted.
    # E: 16 on 03-31 (= D), full access: counted.
    # F: 16 on 03-05, a 104, no access: not counted.
    # G: 16 on 03-16, automatic grant at 15 (2024-01-05), revoked on the birthday: not
    #    held on or after it, not counted.
    # Total: A, B, E = 3.
    rows = [
        {"patient_id": "A", "date_of_birth": "2008-03-10", **ACCOUNT, **FULL},
        {"patient_id": "B", "date_of_birth": "2008-03-12", **ACCOUNT},
        {"patient_id": "C", "date_of_birth": "2008-03-14", **ACCOUNT, **FULL,
         "access_start_date": "2024-03-14"},
        {"patient_id": "D", "date_of_birth": "2008-02-28", **ACCOUNT, **FULL},
        {"patient_id": "E", "date_of_birth": "2008-03-31", **ACCOUNT, **FULL},
        {"patient_id": "F", "date_of_birth": "2008-03-05", **ACCOUNT},
        {"patient_id": "G", "date_of_birth": "2008-03-16", **ACCOUNT},
    ]  # fmt: skip
    events = [
        ev(REVOKE, "2024-03-20", "B"),
        ev(REQUEST, "2024-03-01", "C"),
        ev(ADDED, "2024-01-05", "F"),
        ev(GRANT, "2024-01-05", "G"),
        ev(REVOKE, "2024-03-16", "G"),
    ]
    got = m.turned_16_automatic(*frames(rows, events), EMIS, "2024-03-01", "2024-03-31")
    assert got == 3


# --------------------------------------------------------------------------- protection


def _coverage_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    # At D = 2024-03-01:
    # a: no access, a 104 -> coverage base, protected; b: no access, nothing -> base;
    # c: no access, opted out -> neither; d: no access, open request -> withheld only;
    # e: automatic access -> neither; f: 15 -> neither; g: asked, declined -> withheld
    # only; h: no access, request after D -> base.
    rows = [{"patient_id": pid} for pid in "abcdgh"]
    rows += [{"patient_id": "e", **FULL}, {"patient_id": "f", "date_of_birth": "2010-01-01"}]
    events = [
        ev(ADDED, "2024-01-05", "a"), ev(OPT_OUT, "2024-01-05", "c"),
        ev(REQUEST, "2024-02-01", "d"), ev(REQUEST, "2024-01-05", "g"),
        ev(DECLINED, "2024-01-20", "g"), ev(REQUEST, "2024-03-05", "h"),
    ]  # fmt: skip
    return frames(rows, events)


def test_protection_coverage_of_those_who_never_asked() -> None:
    # denominator a, b, h = 3; numerator a = 1.
    got = m.protection_coverage(*_coverage_practice(), EMIS, "2024-03-01")
    assert (got.numerator, got.denominator) == (1, 3)
    assert got.share == pytest.approx(1 / 3)


def test_withheld_pending_opt_in() -> None:
    # eligible, no access, not opted out: a, b, d, g, h = 5.
    assert m.withheld_pending_opt_in(*_coverage_practice(), EMIS, "2024-03-01") == 5


# --------------------------------------------------------------------------- bulk 104s


def _coded(n: int, day: str = "2024-01-05", prefix: str = "p") -> tuple[list, list]:
    rows = [{"patient_id": f"{prefix}{i:02d}"} for i in range(n)]
    return rows, [ev(ADDED, day, r["patient_id"]) for r in rows]


def test_bulk_104_at_50_patients_on_one_date() -> None:
    # 50 patients coded 104 on 2024-01-05: 50 on one date is bulk -> (50 bulk, 0).
    rows, events = _coded(50)
    assert m.active_104s(*frames(rows, events), EMIS, "2024-03-01") == m.Active104(50, 0)


def test_bulk_104_not_at_49_patients() -> None:
    # 49 patients, and one of them coded twice that day (still 49 distinct): individual.
    rows, events = _coded(49)
    events.append(events[0])
    assert m.active_104s(*frames(rows, events), EMIS, "2024-03-01") == m.Active104(0, 49)


def test_bulk_104_counts_cancelled_codes_of_that_date() -> None:
    # 50 coded on 2024-01-05 (bulk date). p00 cancelled by a 106 on 2024-02-01: not
    # active. p01 coded again on 2024-02-10 alone: its active 104 is individual.
    # Active 49: bulk 48 (p02-p49), individual 1.
    rows, events = _coded(50)
    events += [ev(REMOVED, "2024-02-01", "p00"), ev(ADDED, "2024-02-10", "p01")]
    assert m.active_104s(*frames(rows, events), EMIS, "2024-03-01") == m.Active104(48, 1)


def test_bulk_104_of_registered_patients_of_one_practice() -> None:
    # 49 registered patients coded 2024-01-05, plus one more that day who registers after
    # D (not counted): 49 distinct, individual.
    rows, events = _coded(50)
    rows[-1]["registration_date"] = "2024-06-01"
    assert m.active_104s(*frames(rows, events), EMIS, "2024-03-01") == m.Active104(0, 49)
