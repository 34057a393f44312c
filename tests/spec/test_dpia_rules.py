"""Hand-worked cases for the rules of ``optin_analysis/outgoing/dpia.py``.

Scores: likelihood remote 1, possible 2, probable 3; severity minimal 1, significant 2,
severe 3; overall = product: 1-2 low, 3-4 medium, 6-9 high.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from optin_analysis.config import GoLiveStatus, Supplier
from optin_analysis.outgoing.dpia import (
    Evidence,
    Mitigation,
    Register,
    Risk,
    Target,
    branch_key,
    dpia,
    evaluate,
    overall,
)
from tests.builders import make_profile

C = "[c]"
EMIS_LIVE = make_profile()


@pytest.mark.parametrize(
    ("likelihood", "severity", "level"),
    [
        ("remote", "minimal", "low"),  # 1
        ("remote", "significant", "low"),  # 2
        ("possible", "minimal", "low"),  # 2
        ("remote", "severe", "medium"),  # 3
        ("probable", "minimal", "medium"),  # 3
        ("possible", "significant", "medium"),  # 4
        ("possible", "severe", "high"),  # 6
        ("probable", "significant", "high"),  # 6
        ("probable", "severe", "high"),  # 9
    ],
)
def test_dpia_score(likelihood: str, severity: str, level: str) -> None:
    assert overall(likelihood, severity) == level


@pytest.mark.parametrize(
    ("target", "value", "met"),
    [
        (Target(at_most=0), 0, True),
        (Target(at_most=0), 1, False),
        (Target(at_least=0.95), 0.95, True),  # the boundary meets it
        (Target(at_least=0.95), 0.9499, False),
        (Target(at_most=28), None, None),  # no figure: cannot be shown
        (Target(at_most=28), math.nan, None),
        (Target(at_most=0), C, False),  # [c] is 1..7: never 0
        (Target(at_most=7), C, True),  # every value 1..7 is at most 7
        (Target(at_most=6), C, None),  # 1 would meet it, 7 would not
        (Target(at_least=8), C, False),  # none of 1..7 is 8 or more
        (Target(at_least=1), C, True),
    ],
)
def test_dpia_met(target: Target, value: object, met: bool | None) -> None:
    assert target.met(value) is met


def test_dpia_met_with_the_runs_own_threshold() -> None:
    # A run suppressing 1 to 10: "[c]" against "at most 7" could be 8, 9 or 10, so it
    # cannot be shown met (with the default 1 to 7 it would be met).
    assert Target(at_most=7).met(C, hidden_range=(1, 10)) is None
    assert Target(at_most=10).met(C, hidden_range=(1, 10)) is True


def test_dpia_evidence_reads_the_runs_threshold() -> None:
    # Backlog "[c]" against "at most 7": met when "[c]" is 1 to 7 (the default), not
    # shown when the run suppresses 1 to 10 (8, 9 or 10 would miss it).
    revoke = Mitigation(
        action="revoke", effect="reduced", residual_risk="low", approved=True,
        evidence=[Evidence(measure="revocation_backlog", target=Target(at_most=7))],
    )  # fmt: skip
    register = Register(risks=[Risk(id="R1", title="t", likelihood="probable",
                                    severity="severe", mitigations=[revoke])])  # fmt: skip
    figures = {"revocation_backlog": C}
    ((default,),) = [r["mitigations"] for r in evaluate(register, EMIS_LIVE, figures, {})]
    ((strict,),) = [r["mitigations"] for r in evaluate(register, EMIS_LIVE, figures, {}, (1, 10))]
    assert default["evidence"][0]["met"] is True
    assert strict["evidence"][0]["met"] is None


def test_dpia_met_suppressed_share_cannot_be_shown() -> None:
    assert Target(at_least=0.5).met(C, kind="share") is None


def _register(applies_to: list[str] | None = None) -> Register:
    # R1: probable x severe = 9, inherent high. Two mitigations: "revoke" earns low when
    # the backlog is at most 0; "protect" earns medium when at most 5 turning 16 are at risk.
    revoke = Mitigation(
        action="revoke", effect="reduced", residual_risk="low", approved=True,
        evidence=[Evidence(measure="revocation_backlog", target=Target(at_most=0))],
    )  # fmt: skip
    protect = Mitigation(
        action="protect", effect="reduced", residual_risk="medium", approved=True,
        evidence=[Evidence(measure="pending_16_at_risk", target=Target(at_most=5))],
        applies_to=applies_to, not_applicable="only at TPP",
    )  # fmt: skip
    risk = Risk(id="R1", title="t", likelihood="probable", severity="severe",
                mitigations=[revoke, protect])  # fmt: skip
    return Register(risks=[risk])


@pytest.mark.parametrize(
    ("figures", "statuses", "residual"),
    [
        # both met: low and medium; the risk takes the highest, medium
        ({"revocation_backlog": 0, "pending_16_at_risk": 0},
         ["effective this month", "effective this month"], "medium"),
        # backlog 10 misses "at most 0": that mitigation leaves the risk high
        ({"revocation_backlog": 10, "pending_16_at_risk": 0},
         ["mitigation not effective this month", "effective this month"], "high"),
        # at risk [c] against "at most 5": cannot be shown, so high too
        ({"revocation_backlog": 0, "pending_16_at_risk": C},
         ["effective this month", "cannot be shown effective this month"], "high"),
    ],
)  # fmt: skip
def test_dpia_residual(figures: dict, statuses: list[str], residual: str) -> None:
    (risk,) = evaluate(_register(), EMIS_LIVE, figures, {})
    assert risk["inherent"] == "high"
    assert [m["status"] for m in risk["mitigations"]] == statuses
    assert risk["residual"] == residual


def test_dpia_applies_to_branches() -> None:
    # "protect" applies to tpp-live only: at an EMIS live practice it is not applicable,
    # with the register's reason, and the risk's residual is "revoke"'s alone (low).
    figures = {"revocation_backlog": 0, "pending_16_at_risk": 9}
    (risk,) = evaluate(_register(["tpp-live"]), EMIS_LIVE, figures, {})
    protect = risk["mitigations"][1]
    assert (protect["status"], protect["why"], protect["residual"]) == (
        "not applicable", "only at TPP", None,
    )  # fmt: skip
    assert risk["residual"] == "low"


def test_dpia_applies_risk_of_another_branch() -> None:
    risk = Risk(id="R9", title="t", likelihood="possible", severity="severe",
                applies_to=["tpp-live"], not_applicable="TPP only",
                mitigations=[Mitigation(action="a", effect="reduced", residual_risk="low",
                                        approved=True)])  # fmt: skip
    (row,) = evaluate(Register(risks=[risk]), EMIS_LIVE, {}, {})
    assert (row["applies"], row["why"], row["residual"]) == (False, "TPP only", None)


@pytest.mark.parametrize(
    ("supplier", "status", "branch"),
    [
        (Supplier.EMIS, GoLiveStatus.LIVE, "emis-live"),
        (Supplier.EMIS, GoLiveStatus.DUE, "emis-due"),
        (Supplier.EMIS, GoLiveStatus.NOT_PLANNED, "emis-not-going-live"),
        (Supplier.TPP, GoLiveStatus.LIVE, "tpp-live"),
        (Supplier.TPP, GoLiveStatus.DUE, "tpp-not-live"),
        (Supplier.TPP, GoLiveStatus.NOT_PLANNED, "tpp-not-live"),
    ],
)
def test_dpia_applies_branch_of_the_guidance(supplier, status, branch: str) -> None:
    assert branch_key(make_profile(supplier=supplier, go_live_status=status)) == branch


@pytest.mark.parametrize(("backlog", "named"), [(10, ["R1"]), (0, [])])
def test_dpia_article_36(tmp_path: Path, backlog: int, named: list[str]) -> None:
    # R1 stays high while the backlog misses its target: named for prior consultation.
    register = _register().model_dump(mode="json", exclude_defaults=True)
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(register), encoding="utf-8")
    figures = {"revocation_backlog": backlog, "pending_16_at_risk": 0, "eligible": 100,
               "account_holders_16plus": 50, "opt_in_holders": 10}  # fmt: skip
    bundle = {"headline": figures, "status": {"go_live": "live"}, "period": "2025-03"}
    assert dpia(make_profile(risk_register=path), bundle)["article_36"] == named
