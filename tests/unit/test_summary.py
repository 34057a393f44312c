"""Practice-month framing and the outgoing headline: reference dates, trends, SDC."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import Disclosure
from optin_analysis.outgoing.summary import (
    PeriodError,
    control_headline,
    reference_date,
    trend_start,
)
from tests.builders import make_profile


def test_reference_date_is_month_end_or_the_earlier_extract_date():
    profile = make_profile(extract_date=dt.date(2026, 10, 20))
    assert reference_date(profile, "2026-09") == (
        pd.Timestamp("2026-09-01"),
        pd.Timestamp("2026-09-30"),
    )
    assert reference_date(profile, "2026-10")[1] == pd.Timestamp("2026-10-20")
    with pytest.raises(PeriodError, match="after the extract date"):
        reference_date(profile, "2026-11")


def test_trend_starts_at_go_live_capped_at_36_months_and_never_after_the_period():
    ref = pd.Timestamp("2026-10-31")
    live = make_profile(go_live_date=dt.date(2023, 10, 31))
    assert trend_start(live, ref) == pd.Timestamp("2023-11-01")  # 36 months back wins
    recent = make_profile(go_live_date=dt.date(2025, 6, 15))
    assert trend_start(recent, ref) == pd.Timestamp("2025-06-01")
    due = make_profile(go_live_status="due", go_live_date=dt.date(2027, 1, 15))
    assert trend_start(due, ref) == pd.Timestamp("2026-10-01")


def test_control_headline_recomputes_shares_and_hides_figures_of_suppressed_counts():
    exact = {
        "eligible": 1003, "opt_in_holders": 98, "account_holders_16plus": 501,
        "opt_in_holders_with_account": 6, "protection_coverage_numerator": 0,
        "protection_coverage_denominator": 0, "request_to_provision_n": 3,
        "request_to_provision_median_days": 12.0, "request_to_provision_p90_days": 20.0,
        "revocation_rate_per_month": 4.0,
    }  # fmt: skip
    out = control_headline(exact, Disclosure())
    assert out["eligible"] == 1005 and out["opt_in_holders"] == 100
    assert out["opt_in_share_of_eligible"] == pytest.approx(100 / 1005)
    assert out["opt_in_holders_with_account"] is None  # 6 is suppressed ...
    assert out["opt_in_share_of_account_holders"] is None  # ... and so is its share
    assert out["protection_coverage_share"] is None  # 0 / 0
    assert out["request_to_provision_median_days"] is None  # based on 3 requests
    # 4 a month = 12 revocations in 3 months, rounded to 10, so 10 / 3 a month
    assert out["revocation_rate_per_month"] == pytest.approx(10 / 3)


def _clearing(backlog: int, rate: float) -> dict:
    return {
        "ref_date": "2026-10-31", "revocation_backlog": backlog,
        "revocation_rate_per_month": rate, "projected_clear_status": "clearing",
        "projected_clear_date": "2099-01-31",  # exact-based: must never pass through
    }  # fmt: skip


def test_projected_clear_date_never_reveals_a_suppressed_or_unrounded_backlog():
    # Backlog 5 is suppressed: a date 5 months on at 1 a month would reveal it.
    assert control_headline(_clearing(5, 1.0), Disclosure())["projected_clear_date"] is None
    # 3 revocations in 3 months are suppressed: no rate, so no date.
    assert control_headline(_clearing(23, 1.0), Disclosure())["projected_clear_date"] is None
    # Backlog 98 -> 100; 10 a month = 30 in 3 months -> 30; 100 / 10 = 10 months after
    # October 2026: end of August 2027.
    out = control_headline(_clearing(98, 10.0), Disclosure())
    assert out["projected_clear_date"] == "2027-08-31"
