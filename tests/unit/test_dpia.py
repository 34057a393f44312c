"""The DPIA: ICO scoring, evidence against targets, residual risk, branches, sign-off."""

from __future__ import annotations

import datetime as dt

import pytest

from optin_analysis.config import ConfigError, DpiaSignOff, GoLiveStatus, Model, Signer, Supplier
from optin_analysis.outgoing.dpia import (
    STEP2_PARTS,
    Mitigation,
    Register,
    Risk,
    Target,
    branch_key,
    dpia,
    evaluate,
    fill,
    levels_when_effective,
    load_narrative,
    load_register,
    months_of,
    overall,
    reference_date,
)
from tests.builders import make_profile

MARK = "[c]"
EMIS_LIVE = make_profile()
TPP_LIVE = make_profile(supplier=Supplier.TPP)
EMIS_MANUAL = make_profile(go_live_status=GoLiveStatus.NOT_PLANNED, go_live_date=None)
#: Published figures of a practice that meets every shipped target.
GOOD = {
    "counselled_before_provision_share": 1.0,
    "revocation_backlog": 0,
    "dormant_exposure": 0,
    "protection_coverage_share": 0.97,
    "pending_16_at_risk": 0,
    "turned_16_automatic": 0,
    "active_104_bulk": 0,
    "open_requests_over_28_days": 0,
    "request_to_provision_p90_days": 20,
    "opt_in_share_of_account_holders": 0.12,
}


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
def test_rule_dpia_score(likelihood, severity, expected):
    assert overall(likelihood, severity) == expected


def test_rule_dpia_met_at_its_boundary_and_with_suppressed_figures():
    assert Target(at_most=0).met(0) is True
    assert Target(at_most=0).met(1) is False
    assert Target(at_least=0.95).met(0.95) is True
    assert Target(at_least=0.95).met(0.9499) is False
    assert Target(at_most=28).met(None) is None
    # [c] is 1 to 7: never 0, so "at most 0" is not met; always <= 10, so "at most 10" is
    assert Target(at_most=0).met(MARK) is False
    assert Target(at_most=10).met(MARK) is True
    # 1 meets "at most 5" but 7 does not: it cannot be shown either way
    assert Target(at_most=5).met(MARK) is None


def _risk(rows: list[dict], rid: str) -> dict:
    return next(r for r in rows if r["id"] == rid)


def test_rule_dpia_residual_follows_the_evidence():
    register = load_register()
    good = evaluate(register, EMIS_LIVE, GOOD, {})
    # R2 (probable x severe: high) earns the register's "medium" when every target is met
    assert _risk(good, "R2")["residual"] == "medium"
    assert _risk(good, "R2")["mitigations"][0]["status"] == "effective this month"
    # a backlog of 100 against "at most 0": not effective, the risk stays high, flagged
    bad = evaluate(register, EMIS_LIVE, {**GOOD, "revocation_backlog": 100}, {})
    r2 = _risk(bad, "R2")
    assert r2["residual"] == "high"
    assert r2["mitigations"][0]["status"] == "not effective this month"
    # a suppressed backlog ([c], 1 to 7) is not 0 either
    assert (
        _risk(evaluate(register, EMIS_LIVE, {**GOOD, "revocation_backlog": MARK}, {}), "R2")[
            "residual"
        ]
        == "high"
    )
    # a suppressed share with no published counts to bound it: R1 cannot tell, and keeps
    # the register's low (not its inherent medium), saying why
    unknown = evaluate(register, EMIS_LIVE, {**GOOD, "counselled_before_provision_share": MARK}, {})
    assert _risk(unknown, "R1")["residual"] == "low"
    r1 = _risk(unknown, "R1")["mitigations"][0]
    assert r1["status"] == "cannot tell this month" and "[c]" in r1["why"]


def test_rule_dpia_applies_by_branch_of_the_guidance():
    register = load_register()
    assert branch_key(EMIS_LIVE) == "emis-live" and branch_key(TPP_LIVE) == "tpp-live"
    assert branch_key(EMIS_MANUAL) == "emis-not-going-live"
    tpp = evaluate(register, TPP_LIVE, GOOD, {})
    # TPP: no automatic access at 16 and no bulk 104s: R4 and R5 do not apply
    assert not _risk(tpp, "R4")["applies"] and not _risk(tpp, "R5")["applies"]
    assert "TPP gives no access automatically at 16" in _risk(tpp, "R4")["why"]
    # not going live: no access was given automatically, so no backlog risk (R2)
    manual = evaluate(register, EMIS_MANUAL, GOOD, {})
    assert not _risk(manual, "R2")["applies"] and "not gone live" in _risk(manual, "R2")["why"]
    assert _risk(manual, "R3")["applies"]


def test_rule_dpia_article_36_names_the_risks_left_high():
    bundle = {
        "headline": {
            **GOOD,
            "revocation_backlog": 100,
            "eligible": 10,
            "account_holders_16plus": 10,
            "opt_in_holders": 10,
        },
        "status": {"go_live": "live since 2023-11-01"},
        "period": "2025-03",
    }
    assert dpia(EMIS_LIVE, bundle)["article_36"] == ["R2"]
    bundle["headline"]["revocation_backlog"] = 0
    assert dpia(EMIS_LIVE, bundle)["article_36"] == []


def test_sign_off_and_approval_date_come_from_the_configuration():
    sign_off = DpiaSignOff(
        measures_approved_by=Signer(
            name="A. Partner", role="Senior partner", date=dt.date(2025, 1, 10)
        ),
        dpo_advice="Proceed with monthly evidence.",
        dpo_advice_accepted=False,
        dpo_advice_overruled_reason="Capacity this winter.",
        next_review=dt.date(2026, 1, 10),
    )
    profile = make_profile(dpia_approved=dt.date(2025, 1, 12), dpia_sign_off=sign_off)
    bundle = {
        "headline": {**GOOD, "eligible": 10, "account_holders_16plus": 10, "opt_in_holders": 10},
        "status": {"go_live": "live"},
        "period": "2025-03",
    }
    part = dpia(profile, bundle)
    assert part["approved"] == "2025-01-12"
    assert part["sign_off"]["measures_approved_by"]["name"] == "A. Partner"
    assert part["sign_off"]["dpo_advice_accepted"] is False
    assert part["sign_off"]["dpo_advice_overruled_reason"] == "Capacity this winter."
    # the narrative is filled with the practice's own figures and names
    scope = next(s for s in part["narrative"] if s["key"] == "processing")["parts"]
    assert any("Test Surgery" in s["text"] for s in part["narrative"])
    assert "10 registered patients aged 16 or over" in next(
        p["text"] for p in scope if p["heading"] == "Scope"
    )


def test_the_narrative_file_is_the_practice_s_own(tmp_path):
    own = tmp_path / "our-dpia.yaml"
    own.write_text(
        "sources:\n  ico: ICO, sample DPIA template\n"
        "sections:\n"
        "  need: {title: 'Step 1', text: 'Our own reasons for {practice}.', sources: [ico]}\n"
        "  processing: {title: 'Step 2', text: 'x'}\n"
        "  consultation: {title: 'Step 3', text: 'We asked our PPG.'}\n"
        "  necessity: {title: 'Step 4', text: 'y'}\n",
        encoding="utf-8",
    )
    profile = make_profile(dpia_narrative=own)
    bundle = {
        "headline": {**GOOD, "eligible": 10, "account_holders_16plus": 10, "opt_in_holders": 10},
        "status": {"go_live": "live"},
        "period": "2025-03",
    }
    sections = dpia(profile, bundle)["narrative"]
    assert sections[0]["text"] == "Our own reasons for Test Surgery."
    assert sections[0]["sources"] == ["ICO, sample DPIA template"]
    assert sections[2]["text"] == "We asked our PPG."
    # step 2 lacks every part the ICO template asks for: each shown as TO COMPLETE
    parts = {p["heading"]: p["text"] for p in sections[1]["parts"]}
    assert list(parts) == list(STEP2_PARTS)
    assert all(text.startswith("TO COMPLETE: ") for text in parts.values())


def test_invalid_narrative_and_register_list_every_problem(tmp_path):
    narrative = tmp_path / "n.yaml"
    narrative.write_text("sources: {}\nsections:\n  need: {title: x, sources: [nowhere]}\n")
    with pytest.raises(ConfigError, match="missing section"):
        load_narrative(narrative)
    bad = tmp_path / "register.yaml"
    bad.write_text(
        "risks:\n"
        "  - id: R1\n    title: x\n    likelihood: likely\n    severity: severe\n"
        "    applies_to: [emis-everywhere]\n"
        "    mitigations:\n      - action: a\n        evidence: [{measure: vibes, target: {}}]\n"
        "        effect: reduced\n        residual_risk: low\n        approved: true\n"
    )
    with pytest.raises(ConfigError) as info:
        load_register(bad)
    text = str(info.value)
    assert "risks.0.likelihood" in text and "unknown measure 'vibes'" in text
    assert "unknown branch" in text


def test_shipped_narrative_cites_known_sources_and_marks_what_the_practice_must_write():
    narrative = load_narrative()
    assert set(narrative.sections) >= {"need", "processing", "consultation", "necessity"}
    texts = [
        s.text + " ".join(p.text for p in s.parts.values()) for s in narrative.sections.values()
    ]
    assert sum("TO COMPLETE:" in t for t in texts) >= 2
    necessity = narrative.sections["necessity"].parts
    assert "Article 6(1)(e)" in necessity["Lawful bases"].text
    assert "Article 9(2)(h)" in necessity["Lawful bases"].text


#: Published figures of a practice on the default model: only what that model publishes.
DEFAULT_FIGURES = {
    "eligible": 3870,
    "account_holders_16plus": 2680,
    "withheld_pending_opt_in": 1155,
    "access_share_of_eligible": 0.67,
    "access_share_of_account_holders": 0.968,
    "active_104_share": 0.0,
    "active_104_16plus": 0,
    "active_104_bulk": 0,
    "active_104_individual": 0,
}


def test_default_model_dpia_from_default_model_figures_only():
    profile = make_profile(model=Model.DEFAULT)
    bundle = {"headline": DEFAULT_FIGURES, "status": {"go_live": "live"}, "period": "2025-03"}
    part = dpia(profile, bundle)
    assert part["model"] == "default" and part["article_36"] == []
    # R3 (bulk 104s at most 0) and R4 (90% of account holders, at most half with a 104) met
    assert part["residual"]["R3"] == "low" and part["residual"]["R4"] == "low"
    text = " ".join(
        s["text"] + " ".join(p["text"] for p in s["parts"]) for s in part["narrative"]
    ).lower()
    assert "{" not in text  # every placeholder filled from default-model figures
    for word in ("opt-in", "opt in", "revoke", "backlog", "counsel"):
        assert word not in text, word
    assert "96.8% of the account holders have full prospective access" in " ".join(text.split())


def test_step2_has_every_part_the_ico_template_asks_for():
    for model in ("opt_in", "default"):
        narrative = load_narrative(model=model)
        headings = list(narrative.sections["processing"].parts)
        assert headings == list(STEP2_PARTS), model
        assert len(narrative.data_flows) >= 4, model
        for heading in list(STEP2_PARTS)[4:]:  # data flows to transfers: each with a source
            assert narrative.sections["processing"].parts[heading].sources, (model, heading)


def test_sign_off_todo_written_by_init_reads_as_not_recorded():
    raw = {
        "measures_approved_by": {"name": "TODO", "role": "Practice manager", "date": "TODO"},
        "approved_residual_risks": {"R1": "TODO", "R2": "high"},
        "dpo_advice": "TODO",
        "dpo_advice_accepted": "TODO",
        "next_review": "TODO",
    }
    s = DpiaSignOff.model_validate(raw)
    assert s.measures_approved_by == Signer(role="Practice manager")
    assert s.approved_residual_risks == {"R2": "high"}
    assert (s.dpo_advice, s.dpo_advice_accepted, s.next_review) == ("", None, None)
    with pytest.raises(ValueError, match="approved_residual_risks"):
        DpiaSignOff.model_validate({"approved_residual_risks": {"R1": "severe"}})


def test_reapproval_worked_out_from_the_history_in_the_bundle():
    # Approved at the shipped register's levels when every measure works. September (in
    # the history) and October: a backlog of 100, so R2 is at its inherent high in both,
    # above its approved medium; no month before September: "by 2026-09". The review was
    # due 2026-10-01, before the reference date 2026-10-31: passed too.
    levels = {"R1": "low", "R2": "medium", "R3": "medium", "R4": "low", "R5": "low",
              "R6": "low", "R7": "medium"}  # fmt: skip
    sign_off = DpiaSignOff(approved_residual_risks=levels, next_review=dt.date(2026, 10, 1))
    profile = make_profile(dpia_sign_off=sign_off, dpia_approved=dt.date(2026, 5, 1),
                           extract_date=dt.date(2026, 10, 31))  # fmt: skip
    figures = {**GOOD, "revocation_backlog": 100, "eligible": 10, "account_holders_16plus": 10,
               "opt_in_holders": 10}  # fmt: skip
    history = [{"period": "2026-09", "measure": k, "value": v} for k, v in figures.items()]
    bundle = {"headline": figures, "status": {"go_live": "live"}, "period": "2026-10",
              "ref_date": "2026-10-31", "history": history}  # fmt: skip
    part = dpia(profile, bundle)
    assert part["reapproval"]["needed"] is True
    assert part["reapproval"]["reasons"] == [
        "R2 rose from medium to high by 2026-09",
        "the review due on 2026-10-01 has passed",
    ]
    assert [(c["id"], c["approved"], c["now"]) for c in part["changes"]] == [
        ("R2", "medium", "high")
    ]
    # no release before the approval in the history: this month's evidence off target
    (measure,) = part["changes"][0]["measures"]
    assert [(e["label"], e["now"], e["now_met"]) for e in measure["evidence"]] == [
        ("Revocation backlog (patients)", 100, False)
    ]


def _shown(monkeypatch, view, bundle) -> str:
    """The HTML a DPIA view displays."""
    from optin_analysis.reports import dpia_views

    shown: list[str] = []
    monkeypatch.setattr(dpia_views, "_show_html", shown.append)
    view(bundle)
    return "".join(shown)


def test_a_new_practice_s_sign_off_reads_to_complete(monkeypatch):
    from bs4 import BeautifulSoup

    from optin_analysis.reports import dpia_views

    bundle = {"headline": {**GOOD, "eligible": 10, "account_holders_16plus": 10,
                           "opt_in_holders": 10},
              "status": {"go_live": "live"}, "period": "2025-03"}  # fmt: skip
    bundle["dpia"] = dpia(make_profile(), bundle)
    page = BeautifulSoup(_shown(monkeypatch, dpia_views.sign_off, bundle), "html.parser")
    todo = [td.get_text() for td in page.select("td.todo")]
    # the seven rows of the ICO sign-off table are all blank: each reads TO COMPLETE
    assert len(todo) == 7 and all(t.startswith("TO COMPLETE:") for t in todo)
    # no approval recorded: the DPIA says re-approval is needed, at the top and in step 7
    intro = _shown(monkeypatch, dpia_views.introduction, bundle)
    assert "Re-approval needed: no approval of this DPIA is recorded." in intro
    assert "Re-approval needed" in page.get_text()


def test_a_narrative_may_hold_any_brace_the_practice_types():
    # the practice edits these texts: only a {name} with a value is filled; a lone brace,
    # an empty or numbered one, or a dotted name stays as typed (format_map once failed the
    # run with "Single '}' encountered", naming no file)
    text = "Retention {years} years } {} {0} {x.y} {unknown}"
    assert fill(text, {"years": 8}) == "Retention 8 years } {} {0} {x.y} {unknown}"


def test_reference_date_without_one_recorded_is_the_period_s_last_day() -> None:
    # December's last day is in the same year (the following month's first day is 1
    # January of the next); February 2028 is a leap month
    assert reference_date({"period": "2026-12"}) == dt.date(2026, 12, 31)
    assert reference_date({"period": "2028-02"}) == dt.date(2028, 2, 29)
    assert reference_date({"period": "2026-12", "ref_date": "2026-12-14"}) == dt.date(2026, 12, 14)


def test_months_of_keeps_only_the_periods_before_this_one() -> None:
    rows = [{"period": p, "measure": "backlog", "value": v}
            for p, v in (("2026-08", 30), ("2026-09", 20), ("2026-10", 10))]  # fmt: skip
    assert months_of(rows, "2026-10") == {"2026-08": {"backlog": 30}, "2026-09": {"backlog": 20}}


def test_levels_when_effective_only_for_risks_of_the_branch() -> None:
    # the shipped opt-in register on TPP before go-live: R2 is for the live branches and
    # R4, R5 for EMIS, so only R1, R3, R6 and R7 are approved at their effective levels
    levels = levels_when_effective(load_register(), "tpp-not-live")
    assert levels == {"R1": "low", "R3": "medium", "R6": "low", "R7": "medium"}


def test_step_6_of_a_risk_whose_only_measure_is_for_another_branch(monkeypatch):
    from bs4 import BeautifulSoup

    from optin_analysis.reports import dpia_views

    # R9 probable x severe (high) on EMIS; its only measure is for TPP practices
    risk = Risk(id="R9", title="t", likelihood="probable", severity="severe",
                mitigations=[Mitigation(action="a", effect="reduced", residual_risk="low",
                                        approved=True, applies_to=["tpp-live"],
                                        not_applicable="TPP practices only")])  # fmt: skip
    risks = evaluate(Register(risks=[risk]), make_profile(), {}, {})
    bundle = {"dpia": {"risks": risks, "article_36": ["R9"]}}
    page = BeautifulSoup(_shown(monkeypatch, dpia_views.measures, bundle), "html.parser")
    text = page.get_text(" ", strip=True)
    assert "No measure of it applies to this branch: it stays at its inherent level." in text
    cells = [td.get_text(" ", strip=True) for td in page.select("td")]
    assert cells[1] == "TPP practices only" and cells[3] == "not applicable here (register: low)"
    assert "Residual risk this month: high (inherent high)." in text
    assert "R9 (a measure missed its target, or none applies)" in text
