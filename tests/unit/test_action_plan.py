"""Action plan: step 1 per supplier and go-live status, steps 2-4, default model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from optin_analysis.config import Model
from optin_analysis.measures.action_plan import action_plan
from optin_analysis.measures.month import headline
from tests.builders import (
    EMIS_DUE,
    EMIS_LIVE,
    EMIS_NOT,
    TPP_DUE,
    TPP_LIVE,
    TPP_NOT,
    make_events,
    make_patients,
    make_profile,
)

D = "2025-03-31"
BEFORE = dt.date(2024, 1, 10)  # on or before D
AFTER = dt.date(2025, 6, 1)  # planned, after D


def figures(**overrides: Any) -> dict[str, Any]:
    """Headline figures of a practice that has finished everything."""
    base = {
        "revocation_backlog": 0,
        "revocations_cumulative": 0,
        "pending_16_at_risk": 0,
        "pending_16_horizon_months": 6,
        "requests_cumulative": 10,
        "provisioned_cumulative": 8,
        "open_requests": 2,
        "open_requests_over_28_days": 0,
    }
    return {**base, **overrides}


def step(profile_kw: dict, n: int = 1, **figs: Any) -> dict[str, Any]:
    plan = action_plan(make_profile(**profile_kw), figures(**figs), D)
    return plan.set_index("step").loc[n].to_dict()


def test_shape_and_steps() -> None:
    plan = action_plan(make_profile(), figures(), D)
    assert list(plan.columns) == ["step", "action", "status", "evidence"]
    assert plan["step"].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("setting", "figs", "status"),
    [
        (BEFORE, {}, "done"),  # coded, backlog 0, no soon-16 at risk
        (BEFORE, {"revocation_backlog": 3}, "in progress"),
        (BEFORE, {"pending_16_at_risk": 1}, "in progress"),
        (AFTER, {}, "in progress"),  # planned only: not done
        (None, {"revocations_cumulative": 5, "revocation_backlog": 2}, "in progress"),
        (None, {"revocation_backlog": 2}, "not started"),
        # a published backlog of [c] (1 to 7) is not 0: not done
        (BEFORE, {"revocation_backlog": "[c]"}, "in progress"),
        (BEFORE, {"pending_16_at_risk": "[c]"}, "in progress"),
        (None, {"revocations_made": True, "revocation_backlog": "[c]"}, "in progress"),
    ],
)
def test_rule_step1_emis_live(setting: dt.date | None, figs: dict, status: str) -> None:
    row = step({**EMIS_LIVE, "supplier_setting_date": setting}, **figs)
    assert row["status"] == status
    assert "104" in row["action"] and "revoke" in row["action"]


def test_emis_live_evidence_has_figures() -> None:
    row = step({**EMIS_LIVE, "supplier_setting_date": BEFORE}, revocation_backlog=3)
    assert "2024-01-10" in row["evidence"] and "backlog 3" in row["evidence"]


@pytest.mark.parametrize(
    ("setting", "figs", "status"),
    [
        (BEFORE, {"revocation_backlog": 7}, "done"),  # the revocation part does not apply
        (BEFORE, {"pending_16_at_risk": 2}, "in progress"),
        (None, {"revocations_cumulative": 5}, "not started"),
    ],
)
def test_rule_step1_emis_due(setting: dt.date | None, figs: dict, status: str) -> None:
    row = step({**EMIS_DUE, "go_live_date": None, "supplier_setting_date": setting}, **figs)
    assert row["status"] == status
    assert "104" in row["action"] and "revoke" not in row["action"]


@pytest.mark.parametrize(
    ("setting", "status"), [(BEFORE, "done"), (AFTER, "in progress"), (None, "not started")]
)
def test_rule_step1_setting_emis_not_going_live(setting: dt.date | None, status: str) -> None:
    row = step({**EMIS_NOT, "go_live_date": None, "supplier_setting_date": setting})
    assert row["status"] == status
    assert "global settings" in row["action"]


@pytest.mark.parametrize(
    ("setting", "figs", "status"),
    [
        (BEFORE, {}, "done"),
        (BEFORE, {"revocation_backlog": 2}, "in progress"),
        (None, {"revocations_cumulative": 4}, "in progress"),  # revoking: work has started
        (None, {}, "not started"),
        (BEFORE, {"revocation_backlog": "[c]"}, "in progress"),
    ],
)
def test_rule_step1_tpp_live(setting: dt.date | None, figs: dict, status: str) -> None:
    row = step({**TPP_LIVE, "supplier_setting_date": setting}, **figs)
    assert row["status"] == status
    assert "Untick" in row["action"] and "revoke" in row["action"]


@pytest.mark.parametrize("kw", [TPP_DUE, TPP_NOT])
def test_rule_step1_setting_tpp_not_live_is_the_preference_only(kw: dict) -> None:
    done = step({**kw, "go_live_date": None, "supplier_setting_date": BEFORE}, revocation_backlog=9)
    assert done["status"] == "done"
    assert "Untick" in done["action"] and "revoke" not in done["action"]
    assert step({**kw, "go_live_date": None})["status"] == "not started"


@pytest.mark.parametrize(
    ("figs", "status"),
    [
        ({}, "on track"),  # nobody waiting over 28 days
        ({"open_requests": 0}, "on track"),  # nobody waiting at all: still on track
        ({"open_requests_over_28_days": 1}, "behind: 1 waiting over 28 days"),
        ({"open_requests_over_28_days": "[c]"}, "behind: [c] waiting over 28 days"),
    ],
)
def test_rule_step2_continuing(figs: dict, status: str) -> None:
    assert step({}, 2, **figs)["status"] == status


@pytest.mark.parametrize(("n", "field"), [(3, "website_updated"), (4, "icb_informed")])
def test_rule_step_dated(n: int, field: str) -> None:
    done = step({field: BEFORE}, n)
    assert done["status"] == "done" and "2024-01-10" in done["evidence"]
    assert step({field: AFTER}, n)["status"] == "not started"
    assert step({}, n)["status"] == "not started"


def test_rule_default_model_is_not_applicable() -> None:
    plan = action_plan(
        make_profile(model=Model.DEFAULT, supplier_setting_date=BEFORE, website_updated=BEFORE),
        figures(),
        D,
    )
    assert plan["status"].tolist() == ["not applicable"] * 4


def test_with_a_computed_headline() -> None:
    patients = make_patients(
        [{"patient_id": "a", "online_account": True, "access_level": "full_prospective"}]
    )
    events = make_events([])
    profile = make_profile(supplier_setting_date=BEFORE, icb_informed=BEFORE)
    plan = action_plan(profile, headline(patients, events, profile, D, "2025-03-01"), D)
    # one account holder with automatic access: backlog 1, so step 1 is in progress; no
    # request waits over 28 days, so step 2 is on track
    assert plan["status"].tolist() == ["in progress", "on track", "not started", "done"]
