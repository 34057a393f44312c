"""Measures on small hand-made practices; every expected figure is worked out in a comment."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest

from optin_analysis.config import Supplier
from optin_analysis.ingest.schema import empty_events, empty_patients
from optin_analysis.measures import definitions as m
from optin_analysis.measures import month
from tests.builders import day, make_events, make_patients, make_profile

PROFILE = make_profile()  # EMIS, live since 2023-11-01
TPP_UNTICKED = make_profile(supplier=Supplier.TPP, supplier_setting_date=dt.date(2024, 1, 1))
ACCT = {"online_account": True, "online_account_date": "2022-05-01"}
FULL = {**ACCT, "access_level": "full_prospective", "access_start_date": "2023-11-01"}


def pid(name: str, **row: object) -> dict:
    return {"patient_id": name, **row}


# --------------------------------------------------------------------------- uptake


def test_uptake_by_month() -> None:
    patients = make_patients(
        [pid("a"), pid("b"), pid("c"), pid("d"), pid("new", registration_date="2024-05-01")]
    )
    events = make_events(
        [
            ("a", "opt_in_requested", "2024-01-20"),  # before start: cumulative only
            ("a", "counselled", "2024-02-05"),
            ("a", "access_granted", "2024-02-20"),  # provisioned (request 20 Jan before it)
            ("b", "opt_in_requested", "2024-03-03"),
            ("b", "counselled", "2024-03-10"),
            ("c", "access_granted", "2024-03-05"),  # no request on/before: not provisioned
            ("c", "opt_in_requested", "2024-03-20"),
            ("d", "opt_in_requested", "2024-04-10"),
            ("d", "access_granted", "2024-04-16"),  # after D: ignored
            ("new", "opt_in_requested", "2024-02-10"),  # registered after D: ignored
            ("left", "opt_in_requested", "2024-03-01"),  # not in the extract: ignored
        ]
    )
    got = m.uptake_by_month(patients, events, PROFILE, "2024-02-01", "2024-04-15")
    assert got["month"].tolist() == ["2024-02", "2024-03", "2024-04"]
    # requests: Feb none, Mar b and c, Apr d; plus a's January request in the cumulative
    assert got["requests"].tolist() == [0, 2, 1]
    assert got["requests_cumulative"].tolist() == [1, 3, 4]
    assert got["counselled"].tolist() == [1, 1, 0]
    assert got["counselled_cumulative"].tolist() == [1, 2, 2]
    assert got["provisioned"].tolist() == [1, 0, 0]
    assert got["provisioned_cumulative"].tolist() == [1, 1, 1]


def test_uptake_by_month_start_after_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="after"):
        m.uptake_by_month(empty_patients(), empty_events(), PROFILE, "2025-05-01", "2025-03-31")


def test_uptake_share() -> None:
    held = {"access_level": "full_prospective", "access_start_date": "2024-05-10"}
    patients = make_patients(
        [
            pid("h1", **ACCT, **held),
            pid("h2", **held),
            pid("auto", **FULL),
            pid("kid", date_of_birth="2015-01-01"),
            pid("x"),
            pid("new", registration_date="2025-04-01", **ACCT),
        ]
    )
    granted = [("opt_in_requested", "2024-05-01"), ("access_granted", "2024-05-10")]
    events = make_events([(p, t, d) for p in ("h1", "h2", "kid", "new") for t, d in granted])
    got = m.uptake_share(patients, events, PROFILE, "2025-03-31")
    # eligible: h1 h2 auto x (kid is 10, new registers after D) = 4; with account: h1 auto = 2
    # opt-in holders: h1 h2 = 2 (1/2 of eligible); with an account: h1 = 1 (1/2 of accounts)
    assert got == m.UptakeShare(4, 2, 2, 1, 0.5, 0.5)


# --------------------------------------------------------------------------- open requests


def test_open_requests_bands_and_stages() -> None:
    req = "opt_in_requested"
    # D = 31 Mar 2025. wait = D - request date.
    rows = {
        "w7": "2025-03-24",  # 7 days -> 0-7
        "w8": "2025-03-23",  # 8 -> 8-14
        "w28": "2025-03-03",  # 28 -> 15-28
        "w29": "2025-03-02",  # 29 -> 29-56
        "w57": "2025-02-02",  # 26 days to 28 Feb + 2 + 29 in March = 57 -> 57-90
        "w91": "2024-12-30",  # 1 + 31 + 28 + 31 = 91 -> 91-180
        "w181": "2024-10-01",  # 30 + 30 + 31 + 31 + 28 + 31 = 181 -> 181+
        "p0": "2025-03-31",  # 0 days, counselled the same day -> provisioning 0-7
        "p14": "2025-03-17",  # 14 days, counselled 20 Mar -> provisioning 8-14
        "done": "2025-01-01",  # granted: closed
        "out": "2025-01-01",  # opted out after: closed
        "late": "2025-04-01",  # after D: ignored
    }
    events = [(p, req, d) for p, d in rows.items()] + [
        ("p0", "counselled", "2025-03-31"),
        ("p14", "counselled", "2025-03-20"),
        ("done", "access_granted", "2025-01-15"),
        ("out", "opt_out", "2025-01-10"),
    ]
    patients = make_patients([pid(p) for p in rows])
    got = m.open_requests(patients, make_events(events), PROFILE, "2025-03-31")
    table = got.set_index(["stage", "band"])["requests"]
    assert table["awaiting counselling"].tolist() == [1, 1, 1, 1, 1, 1, 1]
    assert table["awaiting provisioning"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    bands = ["0-7", "8-14", "15-28", "29-56", "57-90", "91-180", "181+"]
    assert got["band"].tolist()[:7] == bands


# --------------------------------------------------------------------------- provision time


REQUEST_TO_PROVISION_EVENTS = [
    ("p1", "opt_in_requested", "2024-01-01"),
    ("p1", "access_granted", "2024-01-11"),  # 10 days
    ("p2", "opt_in_requested", "2024-01-01"),
    ("p2", "opt_in_requested", "2024-01-05"),  # chaser: the episode dates from 1 Jan
    ("p2", "access_granted", "2024-01-25"),  # 24 days from 1 Jan
    ("p3", "opt_in_requested", "2024-02-01"),
    ("p3", "access_granted", "2024-02-01"),  # same day: 0 days
    ("p4", "opt_in_requested", "2024-03-01"),
    ("p4", "access_granted", "2024-04-10"),  # after D: ignored
    ("p5", "access_granted", "2024-02-15"),  # no request: not a provisioned request
    ("p6", "opt_in_requested", "2024-01-10"),
    ("p6", "access_granted", "2024-01-20"),  # 10 days
    ("p6", "access_revoked", "2024-02-01"),
    ("p6", "access_granted", "2024-03-01"),  # no open episode: a restoration, not a provision
]


def test_request_to_provision_all_time() -> None:
    patients = make_patients([pid(f"p{i}") for i in range(1, 7)])
    events = make_events(REQUEST_TO_PROVISION_EVENTS)
    got = m.request_to_provision(patients, events, PROFILE, "2024-03-31")
    # waits 10, 24, 0, 10 -> sorted 0 10 10 24: median rank ceil(2) = 2: 10; p90 rank
    # ceil(3.6) = 4: 24 (nearest rank)
    assert got.n == 4
    assert got.median_days == 10
    assert got.p90_days == 24


def test_request_to_provision_in_period() -> None:
    patients = make_patients([pid(f"p{i}") for i in range(1, 7)])
    events = make_events(REQUEST_TO_PROVISION_EVENTS)
    got = m.request_to_provision(patients, events, PROFILE, "2024-03-31", "2024-01-15")
    # provisions from 15 Jan: p2 (24), p6 (10), p3 (0) -> 0 10 24; median rank 2: 10;
    # p90 rank ceil(2.7) = 3: 24
    assert (got.n, got.median_days) == (3, 10)
    assert got.p90_days == 24
    march = m.request_to_provision(patients, events, PROFILE, "2024-03-31", "2024-03-01")
    # only p6's restoration is in March and it is not a provision
    assert march.n == 0 and math.isnan(march.median_days) and math.isnan(march.p90_days)


# --------------------------------------------------------------------------- backlog


def test_revocation_backlog() -> None:
    patients = make_patients(
        [
            pid("in", **FULL),
            pid("noacct", access_level="full_prospective"),
            pid("kid", date_of_birth="2010-01-01", **FULL),
            pid("optin", **{**FULL, "access_start_date": "2024-05-10"}),
            pid("optedout", **FULL),
            pid("revoked", **ACCT),  # extract: no access since the revocation
            pid("not_made", **FULL),  # revocation coded, still full in the account
            pid("new", registration_date="2025-04-01", **FULL),
            pid("futureacct", **{**FULL, "online_account_date": "2025-04-10"}),
        ]
    )
    events = make_events(
        [
            ("optin", "opt_in_requested", "2024-05-01"),
            ("optin", "access_granted", "2024-05-10"),
            ("optedout", "opt_out", "2024-01-01"),
            ("revoked", "access_revoked", "2024-02-01"),
            ("not_made", "access_revoked", "2024-02-01"),
        ]
    )
    # EMIS (account holders): 'in', 'optedout' (still holds automatic access) and
    # 'not_made' (the extract wins over the revocation code): 3
    assert m.revocation_backlog(patients, events, PROFILE, "2025-03-31") == 3
    # TPP (anyone): also 'noacct' and 'futureacct' (no account at D): 5
    tpp = make_profile(supplier=Supplier.TPP)
    assert m.revocation_backlog(patients, events, tpp, "2025-03-31") == 5
    # dormant exposure: automatic access without an account at D: noacct, futureacct
    assert m.dormant_exposure(patients, events, PROFILE, "2025-03-31") == 2


def test_backlog_by_month() -> None:
    # the extract (31 Mar 2025) shows what the events led to: r1 and r3 revoked (no access),
    # r2 and r7 full access from their grants
    patients = make_patients(
        [
            pid("r1", **ACCT),
            pid("r2", **{**FULL, "access_start_date": "2024-04-01"}),
            pid("r3", **ACCT),
            pid("r4", **FULL),
            pid("r5", **{**FULL, "online_account_date": "2024-03-15"}),
            pid("r6", registration_date="2024-03-20", **FULL),
            pid("r7", **{**FULL, "access_start_date": "2024-04-05"}),
        ]
    )
    events = make_events(
        [
            ("r1", "access_revoked", "2024-02-10"),
            ("r2", "access_revoked", "2024-03-05"),
            ("r2", "opt_in_requested", "2024-03-20"),
            ("r2", "access_granted", "2024-04-01"),
            ("r3", "access_revoked", "2024-04-20"),  # after D: held automatic access before
            ("r7", "access_granted", "2024-04-05"),  # no request: automatic
        ]
    )
    got = m.backlog_by_month(patients, events, PROFILE, "2024-01-01", "2024-04-15")
    assert got["month"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert got["as_of"].tolist() == [
        day("2024-01-31"),
        day("2024-02-29"),
        day("2024-03-31"),
        day("2024-04-15"),
    ]
    # 31 Jan: r1 r2 r3 r4 (r5's account opens 15 Mar, r6 registers 20 Mar) = 4
    # 29 Feb: r1 revoked -> r2 r3 r4 = 3
    # 31 Mar: r2 revoked; r5 and r6 join -> r3 r4 r5 r6 = 4
    # 15 Apr: r2 re-granted via opt-in (not backlog); r7 granted without request -> 5
    assert got["backlog"].tolist() == [4, 3, 4, 5]
    assert got["revocations"].tolist() == [0, 1, 1, 0]
    assert got["backlog"].iloc[-1] == m.revocation_backlog(patients, events, PROFILE, "2024-04-15")


def _clearing_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    revoked = {
        "x1": "2024-12-31",
        "x2": "2025-01-05",
        "x3": "2025-01-20",
        "x4": "2025-02-03",
        "x5": "2025-02-28",
        "x6": "2025-03-10",
        "x7": "2025-03-31",
        "x8": "2025-04-01",
    }
    # the extract (31 Mar 2025) shows no access for x1..x7, revoked by then; x8 still full
    patients = make_patients(
        [pid(f"b{i}", **FULL) for i in range(5)]
        + [pid(p, **(FULL if p == "x8" else ACCT)) for p in revoked]
    )
    events = make_events([(p, "access_revoked", d) for p, d in revoked.items()])
    return patients, events


def test_projected_clear_date_month_end() -> None:
    patients, events = _clearing_practice()
    got = m.projected_clear_date(patients, events, PROFILE, "2025-03-31")
    # D is a month end: window Jan-Mar 2025 holds x2..x7 = 6 revocations, 2 a month.
    # backlog: b0..b4 and x8 (revoked only after D) = 6 -> ceil(6 / 2) = 3 months -> 30 Jun
    assert (got.backlog, got.revocations_last_3_months) == (6, 6)
    assert got.rate_per_month == 2
    assert (got.status, got.months_to_clear) == ("clearing", 3)
    assert got.clear_date == day("2025-06-30")


def test_projected_clear_date_mid_month() -> None:
    patients, events = _clearing_practice()
    got = m.projected_clear_date(patients, events, PROFILE, "2025-03-30")
    # March is not complete: window Dec-Feb holds x1..x5 = 5, rate 5/3 a month.
    # backlog: b0..b4, x7, x8 = 7 -> 7 / (5/3) = 4.2 -> 5 months after March -> 31 Aug
    assert (got.backlog, got.revocations_last_3_months) == (7, 5)
    assert got.months_to_clear == 5 and got.clear_date == day("2025-08-31")


def test_projected_clear_date_cleared_and_not_clearing() -> None:
    patients = make_patients([pid("a", **FULL)])
    stuck = m.projected_clear_date(patients, make_events([]), PROFILE, "2025-03-31")
    assert (stuck.backlog, stuck.status, stuck.clear_date) == (1, "not clearing", None)
    revoked = make_events([("a", "access_revoked", "2025-03-01")])
    after = make_patients([pid("a", **ACCT)])  # the extract shows the revocation
    done = m.projected_clear_date(after, revoked, PROFILE, "2025-03-31")
    assert (done.backlog, done.status, done.clear_date) == (0, "cleared", None)


# --------------------------------------------------------------------------- turning 16


def test_pending_16() -> None:
    patients = make_patients(
        [
            pid("apr1", date_of_birth="2009-04-01"),  # 16 on 1 Apr 2025, coded: protected
            pid("sep30", date_of_birth="2009-09-30"),  # 30 Sep 2025 = D + 6 months: at risk
            pid("oct1", date_of_birth="2009-10-01"),  # beyond the horizon
            pid("today", date_of_birth="2009-03-31"),  # 16 on D: already 16
            pid("unreg", date_of_birth="2009-09-15", registration_date="2025-05-01"),
            pid("apr20", date_of_birth="2009-04-20"),  # 104 then 106: at risk
        ]
    )
    events = make_events(
        [
            ("apr1", "enhanced_review_added", "2024-01-10"),
            ("apr20", "enhanced_review_added", "2024-01-10"),
            ("apr20", "enhanced_review_removed", "2024-06-01"),
        ]
    )
    got = m.pending_16(patients, events, PROFILE, "2025-03-31")
    assert got["month"].tolist() == [f"2025-{i:02d}" for i in range(4, 10)]
    assert got["cohort"].tolist() == [2, 0, 0, 0, 0, 1]
    assert got["protected"].tolist() == [1, 0, 0, 0, 0, 0]
    assert got["at_risk"].tolist() == [1, 0, 0, 0, 0, 1]
    tpp = m.pending_16(patients, events, TPP_UNTICKED, "2025-03-31")
    assert tpp["at_risk"].sum() == 0 and tpp["protected"].sum() == 3


def test_pending_16_leap_day_birthday_in_common_year() -> None:
    patients = make_patients(
        [pid("leap", date_of_birth="2084-02-29", registration_date="2084-03-01")]
    )
    got = m.pending_16(patients, make_events([]), PROFILE, "2100-01-31", horizon_months=2)
    # 2100 is not a leap year: 16 on 1 March 2100, so the March row, not February
    assert got.set_index("month")["cohort"].to_dict() == {"2100-02": 0, "2100-03": 1}


def test_pending_16_mid_month_and_month_end_clamp() -> None:
    patients = make_patients(
        [
            pid("mar20", date_of_birth="2009-03-20"),
            pid("apr15", date_of_birth="2009-04-15"),  # in April, the month after D's: in
            pid("apr30", date_of_birth="2009-04-30"),  # last day of that month: in
            pid("may1", date_of_birth="2009-05-01"),  # one day beyond
            pid("mar15", date_of_birth="2009-03-15"),  # 16 on D: not pending
        ]
    )
    got = m.pending_16(patients, make_events([]), PROFILE, "2025-03-15", horizon_months=1)
    assert got.set_index("month")["cohort"].to_dict() == {"2025-03": 1, "2025-04": 2}
    feb = make_patients(
        [pid("f28", date_of_birth="2010-02-28"), pid("m1", date_of_birth="2010-03-01")]
    )
    # 6 months after August 2025 ends on 28 Feb 2026: f28 in, m1 out; rows Sep..Feb
    got = m.pending_16(feb, make_events([]), PROFILE, "2025-08-31")
    assert len(got) == 6 and got["cohort"].tolist() == [0, 0, 0, 0, 0, 1]


def test_turned_16_automatic() -> None:
    born = {"date_of_birth": "2009-03-10", **ACCT}  # 16 on 10 Mar 2025
    patients = make_patients(
        [
            pid("auto", **born, access_level="full_prospective", access_start_date="2025-03-10"),
            pid("optin", **born),
            pid("early", **{**FULL, "date_of_birth": "2009-02-20"}),  # 16 before the period
            pid("grant_no_req", **born, access_level="full_prospective"),
            pid("fixed", **born),  # automatic from the birthday, revoked on 20 March
            pid("none", **born),
            pid("unreg", **born, registration_date="2025-04-01", access_level="full_prospective"),
        ]
    )
    events = make_events(
        [
            ("optin", "opt_in_requested", "2025-03-01"),
            ("optin", "access_granted", "2025-03-10"),  # on the birthday, through opt-in
            ("grant_no_req", "access_granted", "2025-03-10"),  # on the birthday, no request
            ("fixed", "access_revoked", "2025-03-20"),  # held automatic access 10-19 March
        ]
    )
    # failures: 'auto' (access level from the birthday), 'grant_no_req' and 'fixed'
    # (corrected later in the month, still counted) = 3
    got = m.turned_16_automatic(patients, events, PROFILE, "2025-03-01", "2025-03-31")
    assert got == 3


# --------------------------------------------------------------------------- protection


def _coverage_practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    patients = make_patients(
        [
            pid("coded"),
            pid("bare"),
            pid("optedout"),
            pid("requested"),
            pid("access", **FULL),
            pid("kid", date_of_birth="2015-01-01"),
            pid("removed"),
        ]
    )
    events = make_events(
        [
            ("coded", "enhanced_review_added", "2024-01-10"),
            ("optedout", "opt_out", "2024-01-10"),
            ("requested", "opt_in_requested", "2024-01-10"),
            ("kid", "enhanced_review_added", "2024-01-10"),
            ("removed", "enhanced_review_added", "2024-01-10"),
            ("removed", "enhanced_review_removed", "2024-06-01"),
        ]
    )
    return patients, events


def test_protection_coverage() -> None:
    patients, events = _coverage_practice()
    # denominator: coded, bare, removed (opted out, requested, access and kid excluded) = 3
    got = m.protection_coverage(patients, events, PROFILE, "2025-03-31")
    assert got == m.Coverage(1, 3, pytest.approx(1 / 3))
    tpp = m.protection_coverage(patients, events, TPP_UNTICKED, "2025-03-31")
    assert (tpp.numerator, tpp.denominator, tpp.share) == (3, 3, 1.0)


def test_withheld_pending_opt_in() -> None:
    patients, events = _coverage_practice()
    # 16+, no access, not opted out: coded, bare, requested, removed = 4
    assert m.withheld_pending_opt_in(patients, events, PROFILE, "2025-03-31") == 4


def test_active_104s_bulk_and_individual() -> None:
    bulk = [f"bulk{i:02d}" for i in range(50)]  # 50 patients coded on 10 Jan 2024
    near = [f"near{i:02d}" for i in range(49)]  # 49 patients coded on 2 Feb 2024
    patients = make_patients([pid(p) for p in bulk + near])
    rows = [(p, "enhanced_review_added", "2024-01-10") for p in bulk]
    rows += [(p, "enhanced_review_added", "2024-02-02") for p in near]
    rows += [
        ("near00", "enhanced_review_added", "2024-02-02"),  # duplicate: still 49 patients
        ("left", "enhanced_review_added", "2024-02-02"),  # not in the extract: still 49
        ("bulk00", "enhanced_review_removed", "2024-06-01"),  # no longer active
        ("bulk01", "enhanced_review_removed", "2024-06-01"),
        ("bulk01", "enhanced_review_added", "2024-07-01"),  # re-added individually
    ]
    got = m.active_104s(patients, make_events(rows), PROFILE, "2025-03-31")
    # bulk: bulk02..bulk49 = 48; individual: bulk01 and the 49 'near' = 50
    assert got == m.Active104(bulk=48, individual=50)


# --------------------------------------------------------------------------- headline


def test_headline() -> None:
    patients = make_patients(
        [
            pid("h", **{**FULL, "access_start_date": "2025-03-05"}),
            pid("w", **ACCT),
            pid("a", **FULL),
            pid("r", **ACCT),  # revoked on 10 March: no access in the extract
            pid("k", date_of_birth="2009-05-01"),
            pid("c"),
        ]
    )
    events = make_events(
        [
            ("h", "opt_in_requested", "2025-02-10"),
            ("h", "counselled", "2025-02-20"),
            ("h", "access_granted", "2025-03-05"),
            ("w", "opt_in_requested", "2025-02-01"),
            ("r", "access_revoked", "2025-03-10"),
            ("c", "enhanced_review_added", "2024-01-01"),
        ]
    )
    got = month.headline(patients, events, PROFILE, "2025-03-31", "2025-03-01")
    json.dumps(got, allow_nan=False)  # JSON-friendly: no NaN, no Timestamps
    expected = {
        "ref_date": "2025-03-31",
        "period_start": "2025-03-01",
        "eligible": 5,  # all but k (15)
        "account_holders_16plus": 4,  # h w a r
        "opt_in_holders": 1,  # h
        "opt_in_share_of_eligible": 0.2,
        "opt_in_share_of_account_holders": 0.25,
        "requests_period": 0,  # both requests in February
        "requests_cumulative": 2,
        "counselled_cumulative": 1,
        "provisioned_period": 1,  # h on 5 Mar
        "revocations_period": 1,
        "open_requests": 1,  # w, 58 days
        "open_requests_over_28_days": 1,
        "request_to_provision_n": 1,
        "request_to_provision_median_days": 23.0,  # 10 Feb -> 5 Mar
        "revocation_backlog": 1,  # a
        # 1 revocation in Jan-Mar: 1/3 a month -> 3 months -> 30 Jun
        "projected_clear_status": "clearing",
        "projected_clear_date": "2025-06-30",
        "pending_16_cohort": 1,  # k, 16 on 1 May 2025, no 104
        "pending_16_at_risk": 1,
        "turned_16_automatic": 0,
        # no access, not opted out, no request: r (revoked) and c; c is protected
        "protection_coverage_numerator": 1,
        "protection_coverage_denominator": 2,
        "protection_coverage_share": 0.5,
        "withheld_pending_opt_in": 3,  # w r c
        "active_104_bulk": 0,
        "active_104_individual": 1,
    }
    assert {k: got[k] for k in expected} == expected


# --------------------------------------------------------------------------- empty practice


def test_empty_practice_gives_zeros_and_nan() -> None:
    p, e, d = empty_patients(), empty_events(), "2025-03-31"
    assert m.uptake_by_month(p, e, PROFILE, "2025-01-01", d)["requests_cumulative"].tolist() == [
        0,
        0,
        0,
    ]
    share = m.uptake_share(p, e, PROFILE, d)
    assert share.eligible == 0 and math.isnan(share.share_of_eligible)
    assert m.open_requests(p, e, PROFILE, d)["requests"].tolist() == [0] * 14
    assert m.request_to_provision(p, e, PROFILE, d).n == 0
    assert m.revocation_backlog(p, e, PROFILE, d) == 0
    assert m.backlog_by_month(p, e, PROFILE, "2025-02-01", d)["backlog"].tolist() == [0, 0]
    assert m.projected_clear_date(p, e, PROFILE, d).status == "cleared"
    assert m.pending_16(p, e, PROFILE, d)["cohort"].tolist() == [0] * 6
    assert m.turned_16_automatic(p, e, PROFILE, "2025-03-01", d) == 0
    assert math.isnan(m.protection_coverage(p, e, PROFILE, d).share)
    assert m.withheld_pending_opt_in(p, e, PROFILE, d) == 0
    assert m.active_104s(p, e, PROFILE, d) == m.Active104(0, 0)
    head = month.headline(p, e, PROFILE, d, "2025-03-01")
    json.dumps(head, allow_nan=False)
    assert head["eligible"] == 0 and head["opt_in_share_of_eligible"] is None


def test_headline_period_start_after_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="period_start"):
        month.headline(empty_patients(), empty_events(), PROFILE, "2025-03-31", "2025-04-01")
