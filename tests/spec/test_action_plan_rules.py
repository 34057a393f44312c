"""Hand-worked cases for the rules of ``optin_analysis/measures/action_plan.py``.

D = 2025-03-31 throughout; a date on D counts as made, the day after as planned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from optin_analysis.config import Model
from optin_analysis.measures.action_plan import action_plan
from optin_analysis.measures.month import headline
from tests.builders import EMIS_DUE, EMIS_LIVE, EMIS_NOT, TPP_DUE, TPP_LIVE, TPP_NOT, make_profile
from tests.spec.cases import ev, frames

D = "2025-03-31"
ON_D, AFTER_D = dt.date(2025, 3, 31), dt.date(2025, 4, 1)


def _figures(**overrides: Any) -> dict[str, Any]:
    """Headline figures of a practice with nothing left to do."""
    base = {
        "revocation_backlog": 0, "revocations_cumulative": 0, "pending_16_at_risk": 0,
        "pending_16_horizon_months": 6, "open_requests": 2, "open_requests_over_28_days": 0,
    }  # fmt: skip
    return base | overrides


def _step(branch: dict, setting: dt.date | None, n: int = 1, **figures: Any) -> dict:
    profile = make_profile(**branch, supplier_setting_date=setting)
    return action_plan(profile, _figures(**figures), D).set_index("step").loc[n].to_dict()


@pytest.mark.parametrize(
    ("setting", "figures", "status"),
    [
        (ON_D, {}, "done"),  # 104s bulk-added on D, backlog 0, nobody at risk
        (AFTER_D, {}, "in progress"),  # planned only
        (ON_D, {"revocation_backlog": 1}, "in progress"),
        (ON_D, {"pending_16_at_risk": 1}, "in progress"),
        (ON_D, {"revocation_backlog": "[c]"}, "in progress"),  # [c] is 1..7, not 0
        (None, {"revocations_cumulative": 5, "revocation_backlog": 9}, "in progress"),
        (None, {"revocation_backlog": 9}, "not started"),
    ],
)
def test_step1_emis_live(setting, figures: dict, status: str) -> None:
    row = _step(EMIS_LIVE, setting, **figures)
    assert row["status"] == status
    assert "bulk-add the 104 code" in row["action"] and "revoke" in row["action"]


@pytest.mark.parametrize(
    ("setting", "figures", "status"),
    [
        (ON_D, {"revocation_backlog": 3}, "done"),  # due: the backlog is not its step
        (ON_D, {"pending_16_at_risk": 2}, "in progress"),
        (AFTER_D, {}, "in progress"),
        (None, {"revocations_cumulative": 5}, "not started"),  # revocations do not start it
    ],
)
def test_step1_emis_due(setting, figures: dict, status: str) -> None:
    row = _step(EMIS_DUE, setting, **figures)
    assert row["status"] == status
    assert "before go-live" in row["action"]


@pytest.mark.parametrize(
    ("branch", "words"),
    [(EMIS_NOT, "EMIS global settings"), (TPP_DUE, "Untick"), (TPP_NOT, "Untick")],
)
@pytest.mark.parametrize(
    ("setting", "status"), [(ON_D, "done"), (AFTER_D, "in progress"), (None, "not started")]
)
def test_step1_setting(branch: dict, words: str, setting, status: str) -> None:
    # The setting alone decides, whatever the backlog or the patients at risk.
    row = _step(branch, setting, revocation_backlog=5, pending_16_at_risk=5)
    assert row["status"] == status
    assert words in row["action"]


@pytest.mark.parametrize(
    ("setting", "figures", "status"),
    [
        (ON_D, {}, "done"),
        (ON_D, {"pending_16_at_risk": 3}, "done"),  # TPP does nothing at 16: not its step
        (ON_D, {"revocation_backlog": 1}, "in progress"),
        (AFTER_D, {}, "in progress"),
        (None, {"revocations_cumulative": 5, "revocation_backlog": 9}, "in progress"),
        (None, {"revocation_backlog": 9}, "not started"),
    ],
)
def test_step1_tpp_live(setting, figures: dict, status: str) -> None:
    row = _step(TPP_LIVE, setting, **figures)
    assert row["status"] == status
    assert "Untick" in row["action"] and "revoke" in row["action"]


@pytest.mark.parametrize(
    ("late", "status"),
    [
        (0, "on track"),
        (1, "behind: 1 waiting over 28 days"),
        ("[c]", "behind: [c] waiting over 28 days"),  # 1..7 late: behind
    ],
)
def test_step2_continuing(late: object, status: str) -> None:
    assert _step(EMIS_LIVE, ON_D, 2, open_requests_over_28_days=late)["status"] == status


@pytest.mark.parametrize(
    ("asked", "status"),
    [("2025-03-03", "on track"), ("2025-03-02", "behind: 1 waiting over 28 days")],
)
def test_step2_from_the_measured_wait(asked: str, status: str) -> None:
    # One open request at D = 2025-03-31: asked 2025-03-03 waited 28 days (on track),
    # asked 2025-03-02 waited 29 (behind).
    patients, events = frames([{"patient_id": "p"}], [ev("opt_in_requested", asked)])
    figures = headline(patients, events, make_profile(), D, "2025-03-01")
    plan = action_plan(make_profile(), figures, D)
    assert plan.set_index("step").loc[2, "status"] == status


@pytest.mark.parametrize("field", ["website_updated", "icb_informed"])
@pytest.mark.parametrize(
    ("date", "status", "words"),
    [(ON_D, "done", "on 2025-03-31"), (AFTER_D, "not started", "planned for 2025-04-01"),
     (None, "not started", "no date recorded")],
)  # fmt: skip
def test_step_dated(field: str, date, status: str, words: str) -> None:
    n = 3 if field == "website_updated" else 4
    plan = action_plan(make_profile(**{field: date}), _figures(), D).set_index("step")
    assert plan.loc[n, "status"] == status
    assert words in plan.loc[n, "evidence"]


def test_default_model_every_step_not_applicable() -> None:
    # A default-model practice that has done everything, and one that has done nothing.
    for setting in (ON_D, None):
        profile = make_profile(model=Model.DEFAULT, supplier_setting_date=setting,
                               website_updated=ON_D, icb_informed=ON_D)  # fmt: skip
        plan = action_plan(profile, _figures(open_requests_over_28_days=4), D)
        assert plan["status"].tolist() == ["not applicable"] * 4
