"""DPIA risk register: ICO scoring, validation on load, evidence against targets."""

from __future__ import annotations

import pandas as pd
import pytest

from optin_analysis.config import ConfigError
from optin_analysis.outgoing.dpia import Target, evidence, load_register, overall


@pytest.mark.parametrize(
    "likelihood,severity,expected",
    [
        ("remote", "minimal", "low"),  # 1 x 1 = 1
        ("remote", "significant", "low"),  # 1 x 2 = 2
        ("probable", "minimal", "medium"),  # 3 x 1 = 3
        ("possible", "significant", "medium"),  # 2 x 2 = 4
        ("possible", "severe", "high"),  # 2 x 3 = 6
        ("probable", "severe", "high"),  # 3 x 3 = 9
    ],
)
def test_ico_overall_risk(likelihood, severity, expected):
    assert overall(likelihood, severity) == expected


def test_target_met_at_its_boundary_and_unknown_without_figure():
    assert Target(at_most=0).met(0) is True
    assert Target(at_most=0).met(1) is False
    assert Target(at_least=0.95).met(0.95) is True
    assert Target(at_least=0.95).met(0.9499) is False
    assert Target(at_most=28).met(None) is None


def test_shipped_register_loads_and_ties_mitigations_to_measures():
    register = load_register()
    assert len(register.risks) >= 5
    assert all(m.measure for r in register.risks for m in r.mitigations)


def test_evidence_decides_on_exact_figures_and_shows_controlled_ones():
    register = load_register()
    exact = {"revocation_backlog": 3, "protection_coverage_share": 0.97}
    shown = {"revocation_backlog": None, "protection_coverage_share": 0.97}
    table = evidence(register, exact, shown).set_index("risk")
    assert bool(table.loc["R2", "met"]) is False  # 3 patients in the backlog > 0
    assert pd.isna(table.loc["R2", "figure"])  # suppressed in the report
    assert bool(table.loc["R3", "met"]) is True  # 97% >= 95%
    assert table.loc["R1", "met"] is None  # no figure given


def test_invalid_register_lists_every_problem(tmp_path):
    bad = tmp_path / "register.yaml"
    bad.write_text(
        "risks:\n"
        "  - id: R1\n    title: x\n    likelihood: likely\n    severity: severe\n"
        "    mitigations:\n      - action: a\n        measure: vibes\n"
        "        effect: reduced\n        residual_risk: low\n        approved: true\n"
    )
    with pytest.raises(ConfigError) as info:
        load_register(bad)
    text = str(info.value)
    assert "risks.0.likelihood" in text and "unknown measure 'vibes'" in text
