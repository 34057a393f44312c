"""Who needs attention first in the roll-up: ranked by how much, not by how many flags."""

from __future__ import annotations

from optin_analysis.outgoing.rollup import practice_row, ranked

PERIOD = "2026-10"
QUIET = {
    "open_requests_over_28_days": 0, "open_requests_over_90_days": 0,
    "open_requests_over_180_days": 0, "pending_16_at_risk": 0, "turned_16_automatic": 0,
    "revocation_backlog": 0, "projected_clear_status": "cleared",
    "protection_coverage_share": 0.99,
}  # fmt: skip
DONE = [{"step": n, "status": "done"} for n in (1, 3, 4)] + [{"step": 2, "status": "on track"}]


def _summary(code: str, model: str = "opt_in", steps=DONE, **headline) -> dict:
    return {
        "period": PERIOD,
        "practice": {"ods_code": code, "name": code, "supplier": "emis", "model": model},
        "status": {"go_live": "live since 2023-10-31"},
        "headline": {**QUIET, **headline},
        "action_plan": sorted(steps, key=lambda s: s["step"]),
    }


def test_patients_affected_rank_before_the_number_of_flags() -> None:
    # Y90035: one reason, but 50 requests waiting over 28 days (10 over 90). Y90002: three
    # reasons and few patients: [c] turning 16 unprotected (1 at least), coverage below
    # target, the website not updated. Y90003: a backlog of 40 clearing in 2029 (beyond 12
    # months: 40 patients). Y90004: nothing. Y90005: default model below the 90% line.
    # Patients affected: Y90035 50, Y90003 40, Y90002 1; Y90004 0 unflagged; default last.
    late = [{"step": 3, "status": "not started"}, *[s for s in DONE if s["step"] != 3]]
    rows = ranked([
        practice_row(_summary("Y90002", steps=late, pending_16_at_risk="[c]",
                              protection_coverage_share=0.8)),
        practice_row(_summary("Y90004")),
        practice_row(_summary("Y90005", "default", [], access_share_of_account_holders=0.8)),
        practice_row(_summary("Y90035", open_requests_over_28_days=50,
                              open_requests_over_90_days=10)),
        practice_row(_summary("Y90003", revocation_backlog=40, projected_clear_status="clearing",
                              projected_clear_date="2029-03-31")),
    ])  # fmt: skip
    assert [r["ods_code"] for r in rows] == ["Y90035", "Y90003", "Y90002", "Y90004", "Y90005"]
    assert [r["patients_affected"] for r in rows[:3]] == [50, 40, 1]
    assert "more than 12 months away" in rows[1]["flags"][0]
    assert rows[-1]["flags"] and "90%" in rows[-1]["flags"][0]


def test_a_range_or_a_backlog_not_clearing_is_far_off() -> None:
    ranged = practice_row(_summary("Y1", revocation_backlog="[c]",
                                   projected_clear_status="clearing",
                                   projected_clear_date="2027-01-31",
                                   projected_clear_latest="2028-06-30"))  # fmt: skip
    stuck = practice_row(
        _summary("Y2", revocation_backlog=20, projected_clear_status="not clearing")
    )
    soon = practice_row(_summary("Y3", revocation_backlog=20, projected_clear_status="clearing",
                                 projected_clear_date="2027-03-31"))  # fmt: skip
    assert "clears between" in ranged["flags"][0] and ranged["patients_affected"] == 1
    assert "not clearing" in stuck["flags"][0] and stuck["patients_affected"] == 20
    assert soon["flags"] == [] and soon["patients_affected"] == 0


def test_step_1_names_what_keeps_it_open() -> None:
    open_ = [{"step": 1, "status": "in progress"}, *[s for s in DONE if s["step"] != 1]]
    row = practice_row(
        _summary(
            "Y1",
            steps=open_,
            revocation_backlog=175,
            projected_clear_status="clearing",
            projected_clear_date="2027-01-31",
        )
    )
    assert row["steps"][0] == "in progress: 175 to revoke"  # fmt: skip
