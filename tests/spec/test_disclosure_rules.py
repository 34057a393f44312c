"""Hand-worked cases for the rules of ``optin_analysis/outgoing/disclosure.py`` (and
their use in ``published.py`` and ``rollup.py``).

Default rule: counts 1 to 7 shown as "[c]", others rounded to the nearest 5, 0 stays 0.
Each expected value is worked out in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optin_analysis.config import (
    ConfigError,
    Disclosure,
    Model,
    Supplier,
    load_config,
    rule_problem,
    zero_problem,
)
from optin_analysis.measures.month import MonthMeasures
from optin_analysis.outgoing import rollup
from optin_analysis.outgoing.disclosure import (
    Level,
    at_least,
    coarsen,
    control_count,
    exact_total_is_safe,
    share,
    show,
    total,
)
from optin_analysis.outgoing.published import publish
from optin_analysis.outgoing.releases import Released, ledger_cells, series_rows, state_rows

C = "[c]"
RULE = Disclosure()


# --------------------------------------------------------------------------- sdc-count


@pytest.mark.parametrize(
    ("count", "published"),
    [
        (0, 0),  # zero stays zero
        (1, C), (7, C),  # 1..7 suppressed
        (8, 10), (9, 10), (10, 10), (12, 10),  # nearest 5: 8 -> 10, 12 -> 10
        (13, 15), (17, 15), (18, 20),
        (1234, 1235),  # 246.8 fives -> 247 fives
        (None, None),
    ],
)  # fmt: skip
def test_sdc_count_default_rule(count: int | None, published: object) -> None:
    assert control_count(count, RULE) == published


@pytest.mark.parametrize(
    ("count", "published"),
    [(10, C), (11, 10), (15, 20), (25, 30), (0, 0)],  # k = 10; halves round up
)
def test_sdc_count_configured_rule(count: int, published: object) -> None:
    assert control_count(count, Disclosure(redact_at_or_below=10, round_to=10)) == published


def test_sdc_count_off() -> None:
    assert control_count(3, Disclosure(enabled=False)) == 3


def test_sdc_zero_a_published_0_means_none() -> None:
    # every rule accepted publishes no count from 1 to 300 as 0; every rule refused would
    rules = [(k, r) for k in range(13) for r in range(1, 40)]
    for k, r in rules:
        accepted = zero_problem(k, r) is None
        zeros = [n for n in range(1, 301) if control_count(n, Disclosure.model_construct(
            redact_at_or_below=k, round_to=r)) == 0]  # fmt: skip
        assert accepted == (not zeros), (k, r, zeros[:3])
    assert zero_problem(7, 16) is None and zero_problem(7, 17)  # 8 rounds to 16, or to 0


def test_sdc_zero_a_rule_that_rounds_a_count_to_0_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="would publish a count of 8 as 0"):
        Disclosure(round_to=20)
    assert not Disclosure(enabled=False, round_to=20).enabled  # off: no rule is applied
    config = tmp_path / "config.yaml"
    config.write_text("disclosure:\n  round_to: 20\npractices: []\n", encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match="line 1: disclosure: rounding to 20 with counts 1 "
        "to 7 hidden would publish a count of 8 as 0: round to at most 16",
    ):
        load_config(config)


def test_sdc_step_every_rounded_value_stands_for_two_counts_or_more() -> None:
    # Published under each rule, counts 1 to 400 (the values up to 350 checked: a value
    # near 400 lacks its higher counts here): a rule is accepted exactly when no count
    # reads 0 and no value above 0 stands for one count only; or it does not round at all
    for k, r in [(k, r) for k in range(13) for r in range(1, 40)]:
        counts: dict[object, list[int]] = {}
        rule = Disclosure.model_construct(redact_at_or_below=k, round_to=r, enabled=True)
        for n in range(1, 401):
            counts.setdefault(control_count(n, rule), []).append(n)
        pinned = [v for v, ns in counts.items() if v not in (C, 0) and v < 350 and len(ns) == 1]
        sound = 0 not in counts and (r == 1 or not pinned)
        assert (rule_problem(k, r) is None) == sound, (k, r, pinned[:3])
    # by hand: hidden to 7, rounded to 6: 8 -> 6 (8 / 6 = 1.33), 9 -> 12 (1.5 rounds up):
    # a published 6 is 8; rounded to 2: 8 -> 8, 9 -> 10 (4.5 rounds up): an 8 is 8;
    # hidden to 11, rounded to 5: 12 -> 10, 13 -> 15 (2.6 rounds up): a 10 is 12
    assert rule_problem(7, 6) and rule_problem(7, 2) and rule_problem(11, 5)
    # the default rule: 8 to 12 all read 10; hidden to 10, rounded to 10: 11 to 14 read 10
    assert rule_problem(7, 5) is None and rule_problem(10, 10) is None


def test_sdc_step_a_rule_whose_lowest_value_is_exact_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="would publish only a count of 8 as 6, so a "
                       "published 6 would be exact: hide 1 to 8, or round to 5 or 7"):  # fmt: skip
        Disclosure(round_to=6)
    # each way out it names is a rule accepted; a huge rule is answered at once
    assert Disclosure(redact_at_or_below=8, round_to=6) and Disclosure(round_to=7)
    with pytest.raises(ValidationError, match="hide 1 to 1000000000002, or round to 3"):
        Disclosure(redact_at_or_below=10**12 + 1, round_to=2)
    config = tmp_path / "config.yaml"
    config.write_text("disclosure:\n  redact_at_or_below: 11\npractices: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1: disclosure: rounding to 5 with counts 1 to "
                       "11 hidden would publish only a count of 12 as 10"):  # fmt: skip
        load_config(config)


# --------------------------------------------------------------------------- publication


def _measures(**headline: object) -> MonthMeasures:
    """Exact measures of one practice-month (D = 2024-03-31), made up by hand."""
    months = ["2024-01", "2024-02", "2024-03"]
    bands = ["0-7", "8-14", "15-28", "29-56", "57-90", "91-180", "181+"]
    counselling = [10, 3, 0, 0, 0, 0, 0]  # 13 open requests, none counselled
    return MonthMeasures(
        headline={
            "ref_date": "2024-03-31", "period_start": "2024-03-01",
            "pending_16_horizon_months": 6, "eligible": 40, "opt_in_holders": 12,
            "account_holders_16plus": 40, "opt_in_holders_with_account": 12,
            "protection_coverage_denominator": 40, "unprotected": 12, **headline,
        },
        previous=None,
        uptake_by_month=pd.DataFrame({
            "month": months, "requests": [20, 12, 9], "requests_cumulative": [20, 32, 41],
            "counselled": [20, 20, 20], "counselled_cumulative": [20, 40, 60],
            "provisioned": [20, 20, 20], "provisioned_cumulative": [20, 40, 60],
        }),
        backlog_by_month=pd.DataFrame({
            "month": months, "automatic_with_account": [30, 20, 12], "dormant": [30, 20, 12],
            "backlog": [60, 40, 24], "revocations": [10, 10, 10],
        }),
        pending_16=pd.DataFrame({
            "month": ["2024-04", "2024-05"], "cohort": [24, 0], "protected": [12, 0],
            "at_risk": [12, 0],
        }),
        open_requests=pd.DataFrame({
            "stage": ["awaiting counselling"] * 7 + ["awaiting provisioning"] * 7,
            "band": bands * 2, "requests": counselling + [0] * 7,
        }),
        state_source=pd.DataFrame,
    )  # fmt: skip


def test_sdc_base_cells_flows_without_running_totals_and_published_once() -> None:
    # Requests 20, 12, 9 by month: none suppressed, so months are published: 20, 10, 10.
    # The period's requests (March) are that same cell, 10; no running total is published.
    pub = publish(_measures(), RULE, Supplier.EMIS)
    uptake = pub.tables["uptake"]
    assert uptake.level == "month"
    assert [r["requests"] for r in uptake.rows] == [20, 10, 10]
    assert pub.headline["requests_period"] == 10
    assert not any("cumulative" in key for key in pub.headline)
    assert not any("cumulative" in key for row in uptake.rows for key in row)


def test_sdc_base_cells_only_the_parts_of_a_total() -> None:
    # Turning 16 in April: protected 12 -> 10, at risk 12 -> 10. The cohort (24 exact,
    # which alone would publish as 25) is the sum of the published parts: 20.
    pub = publish(_measures(), RULE, Supplier.EMIS)
    april = pub.tables["pending_16"].rows[0]
    assert (april["protected"], april["at_risk"], april["cohort"]) == (10, 10, 20)
    assert pub.headline["pending_16_cohort"] == 20


@pytest.mark.parametrize(
    ("supplier", "backlog", "with_access"), [(Supplier.EMIS, 10, 30), (Supplier.TPP, 25, 35)]
)
def test_sdc_derived_from_published_cells(
    supplier: Supplier, backlog: int, with_access: int
) -> None:
    # March: automatic with an account 12 -> 10, dormant 12 -> 10. Backlog: EMIS the
    # account holders' cell (10); TPP (opt-in) a base cell of its own, 24 -> 25, with the
    # account holders not published (they are its difference with the dormant part).
    # With access: opt-in 12 -> 10, plus EMIS 10 + 10 = 30, TPP 10 + 25 = 35.
    # Coverage: 1 - unprotected 10 / denominator 40 = 0.75 (the exact 1 - 12/40 = 0.7 is
    # not shown). Opt-in share of eligible: 10 / 40 = 0.25.
    head = publish(_measures(), RULE, supplier).headline
    assert head["revocation_backlog"] == backlog
    assert head["with_access"] == with_access
    assert (head["automatic_with_account"] is None) == (supplier is Supplier.TPP)
    assert head["protection_coverage_share"] == pytest.approx(0.75)
    assert head["opt_in_share_of_eligible"] == pytest.approx(0.25)


def test_sdc_tpp_backlog_is_not_c_when_only_the_dormant_part_is_small() -> None:
    # TPP, March: 300 hold automatic access with an account, 3 without (dormant, [c]).
    # The backlog is everybody holding automatic access, 303 -> 305: a figure, not "[c]"
    # (the sum of the parts 300 + [c] would read "[c]", a small backlog); dormant [c].
    measures = _measures()
    frame = measures.backlog_by_month.assign(
        automatic_with_account=[300, 300, 300], dormant=[3, 3, 3], backlog=[303, 303, 303]
    )
    m = MonthMeasures(**{**measures.__dict__, "backlog_by_month": frame})
    head = publish(m, RULE, Supplier.TPP).headline
    assert (head["revocation_backlog"], head["dormant_exposure"]) == (305, C)
    # Revocations 10 a month over Jan-Mar (30 in 3 months): 305 / 10 = 30.5 -> 31 months
    # after March 2024: cleared by the end of October 2026.
    assert head["projected_clear_date"] == "2026-10-31"


def test_sdc_a_month_inside_a_zero_period_is_zero() -> None:
    # Revocations Jan-Jun 2024: 3, 2, 4, 0, 0, 0. By month three of the three non-zero
    # months would be [c], so the series is published by quarter: Q1 9 -> 10, Q2 0.
    # June (the report's month) and May (last month) lie inside Q2, whose 0 means 0 in
    # each of its months: both read 0, not [c].
    measures = _measures(ref_date="2024-06-30", period_start="2024-06-01")
    months = [f"2024-0{m}" for m in range(1, 7)]
    frame = pd.DataFrame({
        "month": months, "automatic_with_account": [30] * 6, "dormant": [0] * 6,
        "backlog": [30] * 6, "revocations": [3, 2, 4, 0, 0, 0],
    })  # fmt: skip
    previous = {**measures.headline, "ref_date": "2024-05-31", "period_start": "2024-05-01",
                "open_requests": 13, "open_requests_over_28_days": 0,
                "pending_16_protected": 0, "pending_16_at_risk": 0}  # fmt: skip
    m = MonthMeasures(**{**measures.__dict__, "backlog_by_month": frame, "previous": previous})
    pub = publish(m, RULE, Supplier.EMIS)
    rows = pub.tables["revocations"].rows
    assert pub.tables["revocations"].level == "quarter"
    assert [r["revocations"] for r in rows] == [10, 0]
    assert pub.headline["revocations_period"] == 0
    assert pub.previous["revocations_period"] == 0


def test_sdc_last_months_rate_only_from_what_was_published_by_then() -> None:
    # Revocations Jan-Mar 2024: 3, 2, 4, each [c] by month, so published by quarter: Q1
    # 9 -> 10, 3.3 a month over 3 months at D = 31 March. Last month (D = 29 February) no
    # period had ended: no rate and no window, not "0.0 a month over 0 months".
    measures = _measures()
    frame = measures.backlog_by_month.assign(revocations=[3, 2, 4])
    previous = {**measures.headline, "ref_date": "2024-02-29", "period_start": "2024-02-01",
                "open_requests": 13, "open_requests_over_28_days": 0,
                "pending_16_protected": 0, "pending_16_at_risk": 0}  # fmt: skip
    m = MonthMeasures(**{**measures.__dict__, "backlog_by_month": frame, "previous": previous})
    pub = publish(m, RULE, Supplier.EMIS)
    assert [r["revocations"] for r in pub.tables["revocations"].rows] == [10]
    assert (pub.headline["revocation_rate_per_month"], pub.headline["revocation_window_months"]
            ) == (3.3, 3)  # fmt: skip
    assert pub.previous["revocation_rate_per_month"] is None
    assert pub.previous["revocation_window_months"] is None


def test_sdc_derived_totals_and_shares() -> None:
    assert total([10, 15]) == 25
    assert total([10, C]) == C  # a suppressed part hides the total
    assert share(10, 40) == 0.25
    assert share(C, 40) == C and share(10, C) == C
    assert share(0, 0) is None


# --------------------------------------------------------------------------- coarsening


def test_sdc_coarsen_parts_until_none_is_suppressed() -> None:
    # Fine cells 10, 3, 10: the 3 would be [c], so b and c merge: 10, 13 -> 15.
    levels = [
        Level("fine", np.array([0, 1, 2]), ("a", "b", "c")),
        Level("merged", np.array([0, 1, 1]), ("a", "b+c")),
    ]
    level, published = coarsen(np.array([10.0, 3.0, 10.0]), levels, RULE, "parts")
    assert (level.name, published) == ("merged", [10, 15])
    # 3 and 2: both suppressed, and so is their total 5: the coarsest level is taken as
    # it is, one cell, "[c]"
    pair = [
        Level("fine", np.array([0, 1]), ("a", "b")),
        Level("total", np.array([0, 0]), ("a+b",)),
    ]
    level, published = coarsen(np.array([3.0, 2.0]), pair, RULE, "parts")
    assert (level.name, published) == ("total", [C])


def test_sdc_wait_tail_and_stages_each_published_on_its_own() -> None:
    # Open requests: 10 waiting 0-7 days and 3 waiting 8-14 (none counselled). Nested
    # counts, each on its own: open requests 13 -> 15, awaiting counselling 13 -> 15 (those
    # awaiting provisioning, a difference, are not published); the tail: more than 7 days
    # 3 -> [c]; more than 14, 28, 56, 90 and 180 days 0. The longest wait is in the band
    # above the longest threshold some request waited beyond: more than 7 -> "8-14" (never
    # shortened by merging).
    pub = publish(_measures(), RULE, Supplier.EMIS)
    assert "open_requests" not in pub.tables  # no table of stages: their sum is no cell
    tail = [(r["over_days"], r["requests"]) for r in pub.tables["waits"].rows]
    assert tail == [(7, C), (14, 0), (28, 0), (56, 0), (90, 0), (180, 0)]
    h = pub.headline
    assert (h["open_requests"], h["open_requests_awaiting_counselling"]) == (15, 15)
    assert h["open_requests_over_28_days"] == 0
    assert (h["open_requests_over_90_days"], h["open_requests_over_180_days"]) == (0, 0)
    assert h["longest_wait_band"] == "8-14"


def test_sdc_open_requests_a_count_of_their_own_never_fewer_than_the_tail() -> None:
    # 9 open requests, all waiting 29-56 days: 4 awaiting counselling, 5 awaiting
    # provisioning. Open requests are a count of their own, 9 -> 10, as is the tail over
    # 28 days, 9 -> 10; awaiting counselling 4 -> [c]. (The sum of the stages, [c] + [c],
    # read "[c] open" beside "10 waiting over 28 days": once, 23 of 150 generated
    # practices did.)
    m = _measures()
    frame = m.open_requests.assign(requests=[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0])
    pub = publish(MonthMeasures(**{**m.__dict__, "open_requests": frame}), RULE, Supplier.EMIS)
    h = pub.headline
    assert (h["open_requests"], h["open_requests_awaiting_counselling"]) == (10, C)
    assert (h["open_requests"], h["open_requests_over_28_days"]) == (10, 10)
    assert (h["open_requests_over_90_days"], h["longest_wait_band"]) == (0, "29-56")


def test_sdc_wait_tail_decides_last_months_longest_wait_only_in_the_icbs_copy() -> None:
    # Last month 9 requests waited 29-56 days: its tail over 28 days 9 -> 10, over 90 and
    # 180 days 0. Its bands are not published, so the ICB's copy cannot tell 29-56 from
    # 57-90: [c]. The practice's own copy (no control) shows the exact band.
    m = _measures(ref_date="2024-04-30", period_start="2024-04-01")
    tail = {"open_requests_over_28_days": 9, "open_requests_over_90_days": 0,
            "open_requests_over_180_days": 0}  # fmt: skip
    previous = {**m.headline, "ref_date": "2024-03-31", "period_start": "2024-03-01",
                "open_requests": 9, **tail, "longest_wait_band": "29-56",
                "pending_16_protected": 0, "pending_16_at_risk": 0}  # fmt: skip
    m = MonthMeasures(**{**m.__dict__, "previous": previous})
    icb = publish(m, RULE, Supplier.EMIS).previous
    own = publish(m, Disclosure(enabled=False), Supplier.EMIS).previous
    assert (icb["open_requests_over_28_days"], icb["longest_wait_band"]) == (10, C)
    assert (own["open_requests_over_28_days"], own["longest_wait_band"]) == (9, "29-56")
    previous.update(open_requests_over_90_days=9, open_requests_over_180_days=0,
                    longest_wait_band="91-180")  # fmt: skip
    assert publish(m, RULE, Supplier.EMIS).previous["longest_wait_band"] == "91-180"


@pytest.mark.parametrize(
    ("provisioned", "median", "p90"),
    [
        ([20, 20, 20], 12, 30),  # March 20 -> 20 (at least 10): published, whole days
        ([20, 20, 9], 12, 30),  # 9 -> 10: published (the published count decides)
        ([20, 20, 5], C, C),  # 5 -> [c]: not published, [c] (a planted bug once showed it)
        ([20, 20, 0], None, None),  # no provision in March: none to show
    ],
)
def test_sdc_percentiles_only_over_ten_published_provisions(provisioned, median, p90) -> None:
    measures = _measures(request_to_provision_median_days=12.0, request_to_provision_p90_days=30.0)
    frame = measures.uptake_by_month.assign(provisioned=provisioned)
    m = MonthMeasures(**{**measures.__dict__, "uptake_by_month": frame})
    head = publish(m, RULE, Supplier.EMIS).headline
    got = (head["request_to_provision_median_days"], head["request_to_provision_p90_days"])
    assert got == (median, p90)
    assert all(isinstance(v, int) for v in got if v not in (None, C))


@pytest.mark.parametrize(
    ("monthly", "level", "published"),
    [
        # 1 of 12 non-zero months suppressed (8%, at most 25%): months
        ([20, 3] + [20] * 10, "month", [20, C] + [20] * 10),
        # 4 of 12 (33%): quarters, 20+3+3 = 26 -> 25, 20+3+20 = 43 -> 45, 43 -> 45, 60
        ([20, 3, 3, 20, 3, 20, 20, 3, 20, 20, 20, 20], "quarter", [25, 45, 45, 60]),
        # 2 every month: months all [c], quarters (6) all [c], the year 24 -> 25
        ([2] * 12, "year", [25]),
    ],
)
def test_sdc_coarsen_series_a_complete_year(monthly, level, published) -> None:
    # a year no release has published yet, complete: the finest level that passes
    frame = pd.DataFrame({"month": [f"2024-{k:02d}" for k in range(1, 13)], "requests": monthly})
    rows = series_rows(frame, ["requests"], RULE, released=[], last_complete="2024-12")
    assert {r["level"] for r in rows} == {level}
    assert [r["requests"] for r in rows] == published


# --------------------------------------------------------------------------- releases


def _uptake(requests: list[int], provisioned: list[int], end: str) -> MonthMeasures:
    """``_measures`` with its uptake months (from January 2024) and D at ``end``."""
    measures = _measures(ref_date=end, period_start=end[:8] + "01")
    months = [f"2024-{k:02d}" for k in range(1, len(requests) + 1)]
    frame = pd.DataFrame({"month": months, "requests": requests, "counselled": requests,
                          "provisioned": provisioned})  # fmt: skip
    return MonthMeasures(**{**measures.__dict__, "uptake_by_month": frame})


def _cell(label: str, first: str, last: str, level: str, **values: object) -> dict:
    return {"period": label, "from": first, "to": last, "level": level, "complete": True,
            **values}  # fmt: skip


def test_sdc_releases_a_recorded_cell_is_republished_as_first_published() -> None:
    # January 2024 was published as 15 requests (since corrected: the exact count is now
    # 20). It is published again as 15, not 20; February 12 -> 10 and March 9 -> 10 are
    # new, at January's level (months).
    earlier = Released(
        {
            "uptake": [
                _cell(
                    "2024-01",
                    "2024-01",
                    "2024-01",
                    "month",
                    requests=15,
                    counselled=15,
                    provisioned=15,
                )
            ]
        }
    )
    pub = publish(_uptake([20, 12, 9], [20, 20, 20], "2024-03-31"), RULE, Supplier.EMIS,
                  released=earlier)  # fmt: skip
    rows = [(r["period"], r["requests"]) for r in pub.tables["uptake"].rows]
    assert rows == [("2024-01", 15), ("2024-02", 10), ("2024-03", 10)]


def test_sdc_releases_a_year_keeps_the_level_it_was_first_published_at() -> None:
    # 2024 Q1 was published by quarter. April-June would pass by month (20 each), but 2024
    # keeps quarters: Q2 = 60, published once complete (D = 30 June).
    earlier = Released(
        {
            "uptake": [
                _cell(
                    "2024 Q1",
                    "2024-01",
                    "2024-03",
                    "quarter",
                    requests=60,
                    counselled=60,
                    provisioned=60,
                )
            ]
        }
    )
    pub = publish(_uptake([20] * 6, [20] * 6, "2024-06-30"), RULE, Supplier.EMIS,
                  released=earlier)  # fmt: skip
    rows = [(r["period"], r["requests"]) for r in pub.tables["uptake"].rows]
    assert rows == [("2024 Q1", 60), ("2024 Q2", 60)]
    assert pub.headline["requests_period"] == C  # June is shown only within Q2


def test_sdc_releases_a_quarter_is_published_once_complete() -> None:
    # Requests January-May 2024: 3, 2, 4, 3, 2 (every month [c]): the current year is
    # published by quarter. Q1 = 9 -> 10; Q2 (April-May so far) waits for June: May's
    # requests read [c], not a partial quarter that a later release would contradict.
    pub = publish(_uptake([3, 2, 4, 3, 2], [3, 2, 4, 3, 2], "2024-05-31"), RULE, Supplier.EMIS)
    rows = [(r["period"], r["requests"]) for r in pub.tables["uptake"].rows]
    assert rows == [("2024 Q1", 10)]
    assert pub.headline["requests_period"] == C


def test_sdc_releases_one_level_for_every_column_the_coarsest_any_needs() -> None:
    # Requests 20, 20, 20 pass by month; provisions 3, 3, 20 would be [c], [c], 20 (two
    # of three hidden): the year takes quarters for both columns. Q1: requests 60,
    # provisions 26 -> 25 (by month, the provisions would break the series policy).
    pub = publish(_uptake([20, 20, 20], [3, 3, 20], "2024-03-31"), RULE, Supplier.EMIS)
    rows = pub.tables["uptake"].rows
    assert [(r["period"], r["requests"], r["provisioned"]) for r in rows] == [("2024 Q1", 60, 25)]


def _series(first: str, values: list[int]) -> pd.DataFrame:
    months = [str(p) for p in pd.period_range(first, periods=len(values), freq="M")]
    return pd.DataFrame({"month": months, "requests": values})


def _published(rows: list[dict]) -> list[tuple]:
    return [(r["period"], r["requests"]) for r in rows]


def test_sdc_releases_a_complete_year_is_grouped_by_its_own_months() -> None:
    # 2023: 2 a month (every month [c], every quarter 6 [c]: the year, 24 -> 25); 2024:
    # 20 a month, which passes by month on its own, whatever 2023 needed
    frame = _series("2023-01", [2] * 12 + [20] * 12)
    rows = series_rows(frame, ["requests"], RULE, released=[], last_complete="2024-12")
    assert _published(rows) == [("2023", 25)] + [(f"2024-{m:02d}", 20) for m in range(1, 13)]


def test_sdc_releases_the_current_year_by_month_when_the_last_twelve_months_pass() -> None:
    # June 2023 to May 2024, 20 a month but January-March 2024 (3 each, [c]): 3 of the
    # last twelve months hidden, at most 25% (3 <= 0.25 * 12): 2024 is published by
    # month. (Over eleven months, 3 of 11 would not pass.)
    frame = _series("2023-06", [20] * 7 + [3, 3, 3, 20, 20])
    rows = series_rows(frame, ["requests"], RULE, released=[], last_complete="2024-05")
    assert _published(rows)[-5:] == [("2024-01", C), ("2024-02", C), ("2024-03", C),
                                      ("2024-04", 20), ("2024-05", 20)]  # fmt: skip


def test_sdc_releases_a_later_release_s_cells_are_not_republished_in_an_earlier_one() -> None:
    # March 2024 run again after April's release: April's recorded cell is not March's
    frame = _series("2024-01", [20, 20, 20])
    released = [_cell("2024-04", "2024-04", "2024-04", "month", requests=20)]
    rows = series_rows(frame, ["requests"], RULE, released, last_complete="2024-03")
    assert [r["period"] for r in rows] == ["2024-01", "2024-02", "2024-03"]


def test_sdc_releases_a_window_starting_inside_a_published_quarter() -> None:
    # 2024 Q1 was published (60). This report's window starts in February: February and
    # March are not published again as a part of Q1 (Q1 minus it would give January),
    # and 2024 keeps quarters: April-June is Q2, 20 + 20 + 20 = 60
    frame = _series("2024-02", [20] * 5)
    released = [_cell("2024 Q1", "2024-01", "2024-03", "quarter", requests=60)]
    rows = series_rows(frame, ["requests"], RULE, released, last_complete="2024-06")
    assert _published(rows) == [("2024 Q2", 60)]


def test_sdc_releases_month_end_states_republished_as_first_published() -> None:
    # the backlog at the end of August was published as 15 (since corrected: now 22);
    # it is published again as 15; September 12 -> 10 is new. October is not complete
    # (the extract is mid-October), September is: the last complete month is complete.
    frame = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"], "backlog": [22, 12, 9]})
    released = [_cell("2026-08", "2026-08", "2026-08", "month", backlog=15)]
    rows = state_rows(frame, ["backlog"], RULE, released, last_complete="2026-09")
    assert [(r["period"], r["backlog"], r["complete"]) for r in rows] == [
        ("2026-08", 15, True), ("2026-09", 10, True), ("2026-10", 10, False),
    ]  # fmt: skip


def test_sdc_releases_only_complete_rows_are_recorded() -> None:
    # a month still in progress is published for now, not fixed for every later release
    rows = [
        _cell("2026-09", "2026-09", "2026-09", "month", requests=20),
        {**_cell("2026-10", "2026-10", "2026-10", "month", requests=5), "complete": False},
    ]
    assert ledger_cells({"uptake": {"rows": rows}}) == {"uptake": rows[:1]}


# --------------------------------------------------------------------------- roll-up


def test_sdc_rollup_total_at_least() -> None:
    # 10 + 15 + a suppressed practice (at least 1) = at least 26, 1 practice suppressed.
    assert at_least([10, C, 15]) == (26, 1)
    rows = [{"ods_code": "A", "eligible": 10}, {"ods_code": "B", "eligible": C}]
    assert rollup._total(rows, "eligible", None, RULE) == {
        "value": 11, "suppressed": 1, "exact": False,
    }  # fmt: skip


def test_sdc_rollup_exact_total_only_where_safe() -> None:
    # Parts 10 (true 8..12) and [c] (1..7); exact total 11 + 3 = 14 -> 15 (13..17).
    # Given 15, the [c] part can still be 1..7 (17 - 8 = 9 >= 7, 13 - 12 = 1 <= 1), and
    # 10 still 8..12: safe, so the controlled exact total 15 is shown.
    rows = [{"ods_code": "A", "eligible": 10}, {"ods_code": "B", "eligible": C}]
    exact = {"A": {"eligible": 11}, "B": {"eligible": 3}}
    assert rollup._total(rows, "eligible", exact, RULE) == {
        "value": 15, "suppressed": 0, "exact": True,
    }  # fmt: skip
    assert exact_total_is_safe(15, [10, C], RULE)
    # A lone [c] part (1..7) beside a total of 10 (8..12) would be pinned above 7: unsafe.
    assert not exact_total_is_safe(10, [C], RULE)


def test_sdc_rollup_exact_total_under_a_rule_that_does_not_round() -> None:
    # Hidden 1..7, not rounded: parts 60 (exactly 60) and [c] (true 3); an exact total of
    # 63 would leave the [c] part 63 - 60 = 3: unsafe, so "at least 61 (1 suppressed)"
    only_hidden = Disclosure(redact_at_or_below=7, round_to=1)
    assert not exact_total_is_safe(63, [60, C], only_hidden)
    rows = [{"ods_code": "A", "eligible": 60}, {"ods_code": "B", "eligible": C}]
    exact = {"A": {"eligible": 60}, "B": {"eligible": 3}}
    assert rollup._total(rows, "eligible", exact, only_hidden) == {
        "value": 61, "suppressed": 1, "exact": False,
    }  # fmt: skip
    # two exact parts: the exact total tells nothing new
    assert exact_total_is_safe(70, [60, 10], only_hidden)


# --------------------------------------------------------------------------- show


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (C, "count", C), (C, "share", C),  # never a dash, blank or 0
        (None, "count", "n/a"), (math.nan, "share", "n/a"),
        (0, "count", "0"), (1234, "count", "1,234"),
        (0.125, "share", "12.5%"), (0.5, "share", "50%"),
        (3.0, "days", "3 days"), (2.5, "days", "2.5 days"),
    ],
)  # fmt: skip
def test_sdc_show(value: object, kind: str, text: str) -> None:
    assert show(value, kind) == text


def test_sdc_default_access_counts_of_their_own() -> None:
    # A default-model practice at D = 2024-03-31: 12 opt-in holders (all with an account),
    # 12 automatic holders with an account and 3 without a usable one. None of these
    # parts is published on the default model; those with access are a count of their
    # own, 27 -> 25, and the account holders among them 24 -> 25, so NHS England's shares
    # read 25 / 40 = 62.5% each. (As a sum of parts, [c] for the 3 hid both shares.) Last
    # month reads the same way, not as a sum of its parts (it read [c] beside this month's
    # 25 when its computed figures were summed).
    parts = {"automatic_with_account": 12, "dormant_exposure": 3, "with_access": 27,
             "account_holders_with_access": 24}  # fmt: skip
    m = _measures(**parts)
    previous = {**m.headline, "ref_date": "2024-02-29", "period_start": "2024-02-01",
                "pending_16_protected": 0, "pending_16_at_risk": 0}  # fmt: skip
    m = MonthMeasures(**{**m.__dict__, "previous": previous})
    pub = publish(m, RULE, Supplier.EMIS, Model.DEFAULT)
    for h in (pub.headline, pub.previous):
        assert (h["with_access"], h["account_holders_with_access"]) == (25, 25)
        shares = (h["access_share_of_eligible"], h["access_share_of_account_holders"])
        assert shares == (0.625, 0.625)
        assert "opt_in_holders" not in h and "dormant_exposure" not in h
