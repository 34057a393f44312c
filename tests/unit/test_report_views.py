"""What the monthly report's sections show when a series is empty, all zero or mostly
suppressed, and how a short series' time axis is labelled (found by reading the reports
of the sample's practices not yet live or not going live)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from optin_analysis.outgoing.disclosure import MARK
from optin_analysis.reports import charts, views


@pytest.fixture
def shown(monkeypatch):
    """What the views display: notes and sections as HTML, charts with their captions."""
    out: dict[str, list] = {"html": [], "charts": []}
    monkeypatch.setattr(views, "_show_html", out["html"].append)
    monkeypatch.setattr(views, "chart_block", lambda chart, table, title, message, alt="":
                        out["charts"].append((chart, message, alt)))  # fmt: skip
    return out


def _bundle(tables: dict, headline: dict | None = None, period: str = "2026-10") -> dict:
    return {"practice": {"model": "opt_in"}, "period": period, "headline": headline or {},
            "tables": tables}  # fmt: skip


def _uptake(rows: list[tuple], level: str = "quarter") -> dict:
    keys = ("period", "from", "to", "requests", "counselled", "provisioned")
    return {"level": level, "rows": [dict(zip(keys, r, strict=True), level=level) for r in rows]}


def _months(values: list, first: str = "2024-01") -> list[str]:
    return [str(p) for p in pd.period_range(first, periods=len(values), freq="M")]


def test_uptake_all_zero_is_a_sentence_and_says_the_months_still_to_come(shown):
    tables = {"uptake": _uptake([("2026 Q3 (Sep only)", "2026-09", "2026-09", 0, 0, 0)])}
    views.uptake_chart(_bundle(tables))
    assert not shown["charts"]
    assert ("No opt-in requests, counselling or provisions in 2026 Q3 (Sep only). 2026-10: "
            "published when the quarter is complete.") in shown["html"][0]  # fmt: skip


def test_uptake_says_which_months_wait_for_their_quarter(shown):
    tables = {"uptake": _uptake([("2026 Q2", "2026-04", "2026-06", 30, 30, 25),
                                 ("2026 Q3", "2026-07", "2026-09", 40, 35, 35)])}  # fmt: skip
    views.uptake_chart(_bundle(tables, period="2026-11"))
    ((_, message, _),) = shown["charts"]
    assert message.startswith(
        "70 new requests and 60 provisions from 2026 Q2 to 2026 Q3. "
        "2026-10 to 2026-11: published when the quarter is complete."
    )
    views.uptake_chart(_bundle(tables, period="2026-09"))
    assert "published when" not in shown["charts"][1][1]


def test_a_quarter_holding_one_month_is_labelled_without_per_quarter():
    frame = pd.DataFrame(
        _uptake(
            [
                ("2026 Q3 (Sep only)", "2026-09", "2026-09", 5, 0, 0),
                ("2026 Q4", "2026-10", "2026-12", 20, 0, 0),
            ]
        )["rows"]
    )
    labels = views._with_labels(frame, ["requests"])["requests_label"].tolist()
    assert labels == ["5", "20/qtr"]


def test_backlog_all_zero_is_a_sentence_not_two_empty_charts(shown):
    months = _months([0] * 3, "2026-08")
    tables = {
        "backlog": {"level": "month", "rows": [{"period": m, "backlog": 0} for m in months]},
        "revocations": {"level": "month", "rows": [{"period": m, "from": m, "to": m,
                        "level": "month", "revocations": 0} for m in months]},
    }  # fmt: skip
    views.backlog_chart(_bundle(tables))
    assert not shown["charts"]
    assert (
        "No patient held automatic full access awaiting review at any month end from "
        "2026-08 to 2026-10, and none was revoked: nothing to clear."
    ) in shown["html"][0]


def test_a_backlog_of_zero_with_revocations_is_still_charted(shown):
    months = _months([0] * 3, "2026-08")
    tables = {
        "backlog": {"level": "month", "rows": [{"period": m, "backlog": 0} for m in months]},
        "revocations": {"level": "month", "rows": [{"period": m, "from": m, "to": m,
                        "level": "month", "revocations": r}
                        for m, r in zip(months, [0, 10, 0], strict=True)]},
    }  # fmt: skip
    headline = {"revocation_backlog": 0, "projected_clear_status": "cleared"}
    views.backlog_chart(_bundle(tables, headline))
    assert len(shown["charts"]) == 1


def _open(waits: list) -> dict:
    headline = {
        "open_requests": 10,
        "open_requests_awaiting_counselling": MARK,
        "open_requests_over_28_days": waits[2],
        "open_requests_over_90_days": waits[4],
        "open_requests_over_180_days": waits[5],
        "longest_wait_band": "over 180",
    }
    rows = [
        {"over_days": d, "requests": w}
        for d, w in zip((7, 14, 28, 56, 90, 180), waits, strict=True)
    ]
    return _bundle({"waits": {"level": "month", "rows": rows}}, headline)  # fmt: skip


def test_waits_all_suppressed_leave_only_the_open_requests_chart(shown):
    views.open_requests_chart(_open([MARK] * 6))
    views.open_requests_chart(_open([10, 10, MARK, MARK, MARK, MARK]))
    views.open_requests_chart(_open([10, 10, 10, MARK, MARK, MARK]))
    counts = [len(chart.vconcat) for chart, _, _ in shown["charts"]]
    assert counts == [1, 1, 2]  # drawn while at most half are [c]
    assert "waiting more than 7" not in shown["charts"][0][2]
    assert "waiting more than 7" in shown["charts"][2][2]


def test_turning_16_shows_no_empty_not_protected_panel(shown):
    frame = [{"period": p, "protected": 10, "at_risk": r, "cohort": 10 + r}
             for p, r in (("2026-11 to 2027-01", 0), ("2027-02 to 2027-04", 0))]  # fmt: skip
    headline = {"pending_16_cohort": 20, "pending_16_protected": 20, "pending_16_at_risk": 0}
    views.pending_16_chart(_bundle({"pending_16": {"level": "quarter", "rows": frame}},
                                   headline))  # fmt: skip
    frame[0]["at_risk"] = 10
    views.pending_16_chart(_bundle({"pending_16": {"level": "quarter", "rows": frame}},
                                   headline))  # fmt: skip
    assert [len(chart.vconcat) for chart, _, _ in shown["charts"]] == [1, 2]
    assert "patients protected. Over" in shown["charts"][0][2]
    assert "not protected from automatic access" in shown["charts"][1][2]


@pytest.mark.parametrize(
    ("months", "width", "step"),
    [(2, 620, 1), (10, 620, 1), (11, 620, 2), (30, 620, 3), (36, 620, 6), (36, 190, 12)],
)
def test_a_month_axis_ticks_whole_months_that_fit(months, width, step):
    dates = pd.Series(pd.period_range("2024-01", periods=months, freq="M").to_timestamp())
    axis = charts._months_axis(dates, width).to_dict()
    assert axis["tickCount"] == {"interval": "month", "step": step}


def test_monthly_bars_beyond_the_labelled_count_still_label_a_zero():
    months = _months([1] * 30)
    values = [0 if i % 10 == 0 else 12 for i in range(30)]
    frame = pd.DataFrame({"from": months, "to": months, "revocations": values})
    chart = charts.period_bars(frame, "revocations", "Revocations a month")
    rows = charts.attach_datasets(chart.to_dict())["datasets"][chart.data.name]
    assert [r["text"] for r in rows] == ["0" if v == 0 else "" for v in values]


def test_the_opt_in_share_is_read_against_the_figure_it_is_a_share_of():
    # 285 hold opt-in access, 220 of them with an online account: 13.1% is 220 / 1,685;
    # shown beside 285 alone it read as a wrong division (285 / 1,685 is 16.9%)
    from optin_analysis.outgoing import commentary
    from optin_analysis.outgoing.summary import LABELS

    h = {"requests_period": 20, "provisioned_period": 15, "opt_in_holders": 285,
         "opt_in_holders_with_account": 220, "opt_in_share_of_account_holders": 0.131}  # fmt: skip
    assert "220 of them with an online account (13.1% of 16+ account holders)" in (
        commentary.uptake(h)
    )
    keys = list(LABELS)
    assert keys.index("opt_in_holders_with_account") == keys.index("opt_in_holders") + 1
    assert keys.index("opt_in_share_of_account_holders") == keys.index("opt_in_holders") + 2


def test_the_104_share_is_shown_with_its_count(shown):
    """Found reading Y90001's report: "16+ with an active 104 code 72.7%" stood under
    1,085 / 705 codes of every age, with no count of the 16+ behind the share."""
    headline = {"protection_coverage_denominator": 1870, "unprotected": 420,
                "protection_coverage_share": 0.775, "withheld_pending_opt_in": 1920,
                "active_104_bulk": 1085, "active_104_individual": 705,
                "active_104_16plus": 1780, "active_104_share": 0.7265}  # fmt: skip
    views.coverage_section(_bundle({}, headline))
    rows = re.findall(r"<td>(.*?)</td>\s*<td>(.*?)</td>", shown["html"][0])
    assert rows[-2:] == [("16+ with an active 104 code", "1,780"),
                         ("... as a share of registered patients aged 16+", "72.7%")]  # fmt: skip
    headline["active_104_16plus"] = MARK
    views.coverage_section(_bundle({}, headline))
    assert ("16+ with an active 104 code", MARK) in re.findall(
        r"<td>(.*?)</td>\s*<td>(.*?)</td>", shown["html"][1]
    )
