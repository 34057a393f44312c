"""Practice-month framing and the published figures: reference dates, trends, what leaves."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import Disclosure
from optin_analysis.ingest.load import PracticeData
from optin_analysis.outgoing import published
from optin_analysis.outgoing.commentary import not_clearing_words
from optin_analysis.outgoing.disclosure import MARK
from optin_analysis.outgoing.published import Table, projection
from optin_analysis.outgoing.summary import (
    PRACTICE,
    PeriodError,
    compute,
    figure_text,
    outgoing,
    reference_date,
    trend_start,
)
from tests.builders import make_events, make_patients, make_profile

RULE = Disclosure()


def test_reference_date_is_month_end_or_the_earlier_extract_date():
    profile = make_profile(extract_date=dt.date(2026, 10, 20))
    assert reference_date(profile, "2026-09") == (
        pd.Timestamp("2026-09-01"),
        pd.Timestamp("2026-09-30"),
    )
    assert reference_date(profile, "2026-10")[1] == pd.Timestamp("2026-10-20")
    with pytest.raises(PeriodError, match="after the extract date"):
        reference_date(profile, "2026-11")


def test_trend_starts_when_the_practice_started_capped_at_36_months():
    ref = pd.Timestamp("2026-10-31")
    live = make_profile(go_live_date=dt.date(2023, 10, 31))
    assert trend_start(live, ref) == pd.Timestamp("2023-11-01")  # 36 months back wins
    recent = make_profile(go_live_date=dt.date(2025, 6, 15))
    assert trend_start(recent, ref) == pd.Timestamp("2025-06-01")
    # due to go live in January 2027, supplier setting made in August 2026: from August
    due = make_profile(
        go_live_status="due",
        go_live_date=dt.date(2027, 1, 15),
        supplier_setting_date=dt.date(2026, 8, 20),
    )
    assert trend_start(due, ref) == pd.Timestamp("2026-08-01")
    # not going live, setting made in 2025: from then
    manual = make_profile(
        go_live_status="not_planned", go_live_date=None, supplier_setting_date=dt.date(2025, 2, 3)
    )
    assert trend_start(manual, ref) == pd.Timestamp("2025-02-01")


def _revocations(level: str, rows: list[tuple[str, object]]) -> Table:
    return Table(level, [{"period": p, "from": p, "to": p, "revocations": v} for p, v in rows])


def test_projection_from_published_figures():
    months = [("2026-08", 10), ("2026-09", 20), ("2026-10", 30)]
    # D = 31 Oct: the last 3 complete months hold 60, 20 a month; backlog 100: 5 months
    # after October -> end of March 2027
    got = projection(100, _revocations("month", months), "2026-10-31", RULE)
    assert got["projected_clear_date"] == "2027-03-31" and got["projected_clear_latest"] is None
    assert got["revocation_rate_per_month"] == 20
    # a suppressed month (1..7): 41..47 in 3 months; 100 / (47 / 3) = 6.4 -> 7 months
    # (May 2027) at the soonest, 100 / (41 / 3) = 7.3 -> 8 months (June 2027) at the latest
    hidden = [("2026-08", MARK), ("2026-09", 10), ("2026-10", 30)]
    got = projection(100, _revocations("month", hidden), "2026-10-31", RULE)
    assert (got["projected_clear_date"], got["projected_clear_latest"]) == (
        "2027-05-31",
        "2027-06-30",
    )
    assert got["revocation_rate_per_month"] == MARK
    # nothing revoked in 3 months: not clearing; backlog 0: cleared
    none = [("2026-08", 0), ("2026-09", 0), ("2026-10", 0)]
    assert (
        projection(100, _revocations("month", none), "2026-10-31", RULE)["projected_clear_status"]
        == "not clearing"
    )
    assert (
        projection(0, _revocations("month", none), "2026-10-31", RULE)["projected_clear_status"]
        == "cleared"
    )


def test_projection_rate_over_the_last_three_months_not_more():
    # D = 30 Sep, backlog 100: Jul-Sep hold 30, 10 a month (June's 40 is left out); 100 /
    # 10 = 10 months after September -> end of July 2027
    months = [("2026-06", 40), ("2026-07", 10), ("2026-08", 10), ("2026-09", 10)]
    got = projection(100, _revocations("month", months), "2026-09-30", RULE)
    assert (got["revocation_window_months"], got["revocation_rate_per_month"]) == (3, 10.0)
    assert got["projected_clear_date"] == "2027-07-31"
    # by quarter, D = 30 Jun: the last quarter alone spans 3 months, 60: 20 a month
    quarters = Table("quarter", [
        {"period": "2026-Q1", "from": "2026-01", "to": "2026-03", "revocations": 30},
        {"period": "2026-Q2", "from": "2026-04", "to": "2026-06", "revocations": 60},
    ])  # fmt: skip
    got = projection(100, quarters, "2026-06-30", RULE)
    assert (got["revocation_window_months"], got["revocation_rate_per_month"]) == (3, 20.0)


def test_projection_mid_month_leaves_the_incomplete_month_out():
    months = [("2026-07", 10), ("2026-08", 10), ("2026-09", 10), ("2026-10", 90)]
    # D = 20 Oct: Jul-Sep complete, 30 in 3 months; backlog 50 -> 5 months -> March 2027
    got = projection(50, _revocations("month", months), "2026-10-20", RULE)
    assert got["projected_clear_date"] == "2027-03-31"


def _practice() -> PracticeData:
    full = {
        "online_account": True,
        "online_account_date": "2022-05-01",
        "access_level": "full_prospective",
        "access_start_date": "2023-11-01",
    }
    rows = [{"patient_id": f"a{i}", **full} for i in range(12)]  # 12 automatic holders
    rows += [{"patient_id": f"w{i}"} for i in range(3)]  # 3 without access
    rows += [{"patient_id": "r", "online_account": True}]
    events = [("r", "opt_in_requested", "2025-03-10")]  # one request, 21 days at D
    profile = make_profile()
    return PracticeData(profile, make_patients(rows), make_events(events))


def test_outgoing_publishes_controlled_figures_and_the_practice_copy_exact_ones():
    month = compute(_practice(), "2025-03")
    icb = outgoing(month, RULE)
    # 16 patients aged 16+ -> 15; backlog 12 automatic account holders -> 10; 4 without
    # access and not opted out -> [c]; 1 open request -> [c]
    h = icb["headline"]
    assert (h["eligible"], h["revocation_backlog"]) == (15, 10)
    assert h["withheld_pending_opt_in"] == MARK and h["open_requests"] == MARK
    assert icb["audience"] == "icb" and "nearest 5" in icb["disclosure"]["footnote"]
    own = outgoing(month, RULE, audience=PRACTICE)
    h = own["headline"]
    assert (h["eligible"], h["revocation_backlog"], h["withheld_pending_opt_in"]) == (16, 12, 4)
    assert own["audience"] == PRACTICE and "exact" in own["disclosure"]["footnote"]
    # last month's longest wait is not published, but on 2025-02-28 nobody had asked yet:
    # with 0 open requests shown, "none" tells nothing more (it read [c] beside the 0)
    assert icb["previous"]["open_requests"] == 0
    assert figure_text("longest_wait_band", icb["previous"]) == "none"
    assert figure_text("longest_wait_band", own["previous"]) == "none"


def test_inside_the_practice_every_exact_figure_shows_and_n_a_says_why():
    from optin_analysis.practice.dashboard import tables

    month = compute(_practice(), "2025-03")
    # r's request of 2025-03-10 waits 21 days at 2025-03-31: band 15-28; no provision
    # this month, so no share of provisions counselled first
    h = month.measures.headline
    assert h["longest_wait_band"] == "15-28" and h["counselled_before_provision_share"] is None
    table = tables(month)["headline"].set_index("Measure")
    assert table.loc["Longest wait"].tolist() == ["15 to 28 days", "none"]
    assert table.loc["Provisions counselled first (this month)"].tolist() == [
        "n/a (no provisions this month)", "n/a (no provisions this month)",
    ]  # fmt: skip
    own = outgoing(month, RULE, audience=PRACTICE)
    assert figure_text("longest_wait_band", own["headline"]) == "15 to 28 days"
    # outgoing reports keep a bare n/a
    assert figure_text("counselled_before_provision_share", own["headline"]) == "n/a"
    assert figure_text("counselled_before_provision_share", own["headline"], True) == (
        "n/a (no provisions this month)"
    )


def test_the_exact_share_of_provisions_counselled_first():
    # two requests on 2025-03-01, both provisioned on 2025-03-20, one counselled between
    rows = [{"patient_id": p, "online_account": True} for p in ("c", "u")]
    events = [("c", "opt_in_requested", "2025-03-01"), ("u", "opt_in_requested", "2025-03-01"),
              ("c", "counselled", "2025-03-05"), ("c", "access_granted", "2025-03-20"),
              ("u", "access_granted", "2025-03-20")]  # fmt: skip
    data = PracticeData(make_profile(), make_patients(rows), make_events(events))
    h = compute(data, "2025-03").measures.headline
    assert (h["provisioned_counselled_period"], h["provisioned_period"]) == (1, 2)
    assert h["counselled_before_provision_share"] == 0.5
    assert figure_text("counselled_before_provision_share", h) == "50%"


def test_action_plan_is_decided_on_what_is_published():
    # Step 2: one request waiting 21 days is not late, so 0 over 28 days: on track. Step 1
    # (EMIS live, no setting date, no revocation): not started.
    plan = outgoing(compute(_practice(), "2025-03"), RULE)["action_plan"]
    assert [s["status"] for s in plan[:2]] == ["not started", "on track"]
    assert "[c] opt-in requests open" in plan[1]["evidence"]


def test_a_projection_exactly_five_years_off_is_still_a_date():
    # 10 revocations a month (30 in the last 3 complete months). Backlog 600: 600 / 10 =
    # 60 months after October 2026, the end of October 2031, not more than 60: a date.
    # Backlog 601: 60.1, rounded up to 61 months: beyond 5 years, "not clearing".
    months = _revocations("month", [("2026-08", 10), ("2026-09", 10), ("2026-10", 10)])
    edge = projection(600, months, "2026-10-31", RULE)
    assert (edge["projected_clear_status"], edge["projected_clear_date"]) == (
        "clearing",
        "2031-10-31",
    )
    beyond = projection(601, months, "2026-10-31", RULE)
    assert beyond["projected_clear_status"] == "not clearing"


def test_not_clearing_says_why_and_every_projection_has_the_same_keys():
    # backlog 1,000 at 10 revocations a month: 100 months off, beyond 60: "not clearing",
    # but revocations were made, and the words must not say there were none
    months = [("2026-08", 10), ("2026-09", 10), ("2026-10", 10)]
    slow = projection(1000, _revocations("month", months), "2026-10-31", RULE)
    assert (slow["projected_clear_status"], slow["revocation_rate_per_month"]) == (
        "not clearing",
        10.0,
    )
    assert not_clearing_words(slow) == (
        "It is not clearing at the recent rate (10 a month): at that rate it would take "
        "more than 5 years."
    )
    none = [("2026-08", 0), ("2026-09", 0), ("2026-10", 0)]
    stopped = projection(1000, _revocations("month", none), "2026-10-31", RULE)
    assert not_clearing_words(stopped) == (
        "It is not clearing: no revocations of automatic access in the last 3 months."
    )
    cleared = projection(0, _revocations("month", none), "2026-10-31", RULE)
    empty = projection(5, _revocations("month", []), "2026-10-31", RULE)
    keys = {frozenset(p) for p in (slow, stopped, cleared, empty)}
    assert len(keys) == 1


def test_last_months_longest_wait_follows_its_published_tail(sample_run):
    """Found reading Y90001's report: last month's longest wait read [c] beside 10
    requests waiting over 180 days last month."""
    import json

    def previous(ods: str) -> dict:
        path = sample_run.folder(ods) / "summary.json"
        return json.loads(path.read_text(encoding="utf-8"))["previous"]

    y1, y4 = previous("Y90001"), previous("Y90004")  # 30 open at the end of 2026-09; none
    assert y1["open_requests"] == 30 and y1["open_requests_over_180_days"] == 10
    assert y1["longest_wait_band"] == "181+"
    assert y4["open_requests"] == 0 and y4["longest_wait_band"] == "none"


@pytest.mark.parametrize(
    ("opened", "tail", "band"),
    [
        (30, (15, 10, 10), "181+"),  # over 180 days: the last band
        (30, (15, MARK, MARK), "181+"),  # [c] is 1 to 7: some waited over 180
        (30, (15, 10, 0), "91-180"),  # over 90, none over 180: one band
        (30, (15, MARK, 0), "91-180"),
        (30, (15, 0, 0), MARK),  # over 28, none over 90: 29-56 or 57-90
        (30, (MARK, 0, 0), MARK),
        (30, (0, 0, 0), MARK),  # none over 28: 0-7, 8-14 or 15-28
        (30, (MARK, MARK, 0), "91-180"),
        (MARK, (MARK, MARK, MARK), "181+"),
        (MARK, (0, 0, 0), MARK),
        (0, (0, 0, 0), "none"),
    ],
)
def test_last_months_longest_wait_is_a_band_only_where_the_tail_decides_it(opened, tail, band):
    assert published.longest_band(opened, dict(zip((28, 90, 180), tail, strict=True))) == band
