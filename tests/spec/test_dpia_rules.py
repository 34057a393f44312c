"""Hand-worked cases for the rules of ``optin_analysis/outgoing/dpia.py``,
``dpia_approval.py`` and ``dpia_words.py``.

Scores: likelihood remote 1, possible 2, probable 3; severity minimal 1, significant 2,
severe 3; overall = product: 1-2 low, 3-4 medium, 6-9 high. Levels order low < medium
< high.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
import yaml

from optin_analysis.config import (
    ConfigError,
    Disclosure,
    DpiaSignOff,
    GoLiveStatus,
    Model,
    Supplier,
)
from optin_analysis.outgoing import dpia_approval, dpia_words
from optin_analysis.outgoing.dpia import (
    CANNOT_TELL,
    EFFECTIVE,
    NOT_EFFECTIVE,
    NOT_MEASURED,
    Evidence,
    Mitigation,
    Register,
    Risk,
    Target,
    branch_key,
    dpia,
    evaluate,
    judge,
    levels_when_effective,
    overall,
    practice_files,
)
from tests.builders import make_profile

C = "[c]"
EMIS_LIVE = make_profile()
RULE = Disclosure()  # [c] is 1 to 7; other counts rounded to the nearest 5


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


# --------------------------------------------------------------------------- dpia-met


@pytest.mark.parametrize(
    ("target", "value", "met"),
    [
        (Target(at_most=0), 0, True),
        (Target(at_most=0), 1, False),
        (Target(at_least=0.95), 0.95, True),  # the boundary meets it
        (Target(at_least=0.95), 0.9499, False),
        (Target(at_most=28), None, None),  # no figure: cannot tell
        (Target(at_most=28), math.nan, None),
        (Target(at_most=0), C, False),  # [c] is 1..7: never 0
        (Target(at_most=7), C, True),  # every value 1..7 is at most 7
        (Target(at_most=6), C, None),  # 1 would meet it, 7 would not
        (Target(at_least=8), C, False),  # none of 1..7 is 8 or more
        (Target(at_least=1), C, True),
        (Target(at_most=1), C, None),  # 1 would meet it, 2 to 7 would not
        (Target(at_least=7), C, None),  # 7 would meet it, 1 to 6 would not
    ],
)
def test_dpia_met(target: Target, value: object, met: bool | None) -> None:
    assert target.met(value) is met


def test_dpia_met_with_the_runs_own_threshold() -> None:
    # A run suppressing 1 to 10: "[c]" against "at most 7" could be 8, 9 or 10, so it
    # cannot tell (with the default 1 to 7 it would be met).
    assert Target(at_most=7).met(C, hidden_range=(1, 10)) is None
    assert Target(at_most=10).met(C, hidden_range=(1, 10)) is True


def test_dpia_evidence_reads_the_runs_threshold() -> None:
    # Backlog "[c]" against "at most 7": met when "[c]" is 1 to 7 (the default), cannot
    # tell when the run suppresses 1 to 10 (8, 9 or 10 would miss it).
    revoke = Mitigation(
        action="revoke", effect="reduced", residual_risk="low", approved=True,
        evidence=[Evidence(measure="revocation_backlog", target=Target(at_most=7))],
    )  # fmt: skip
    register = Register(risks=[Risk(id="R1", title="t", likelihood="probable",
                                    severity="severe", mitigations=[revoke])])  # fmt: skip
    figures = {"revocation_backlog": C}
    strict = Disclosure(redact_at_or_below=10)
    ((default,),) = [r["mitigations"] for r in evaluate(register, EMIS_LIVE, figures, {})]
    ((tight,),) = [r["mitigations"] for r in evaluate(register, EMIS_LIVE, figures, {}, strict)]
    assert default["evidence"][0]["met"] is True
    assert tight["evidence"][0]["met"] is None


def test_dpia_met_suppressed_share_cannot_be_shown() -> None:
    # A share given alone, with no counts to bound it, could be anything.
    assert Target(at_least=0.5).met(C, kind="share") is None


OPT_IN = "opt_in_share_of_account_holders"  # opt_in_holders_with_account / account_holders_16plus
COUNSELLED = "counselled_before_provision_share"  # provisioned_counselled / provisioned
COVERAGE = "protection_coverage_share"  # 1 - unprotected / protection_coverage_denominator


@pytest.mark.parametrize(
    ("measure", "target", "figures", "met"),
    [
        # 1 to 7 of 900 (rounded: 898 to 902) is 1/902 = 0.11% to 7/898 = 0.78%: every
        # value is under 5% (not met), every value is at most 1% (met), and 0.5% lies
        # between the two ends (cannot tell).
        (OPT_IN, Target(at_least=0.05),
         {OPT_IN: C, "opt_in_holders_with_account": C, "account_holders_16plus": 900}, False),
        (OPT_IN, Target(at_most=0.01),
         {OPT_IN: C, "opt_in_holders_with_account": C, "account_holders_16plus": 900}, True),
        (OPT_IN, Target(at_least=0.005),
         {OPT_IN: C, "opt_in_holders_with_account": C, "account_holders_16plus": 900}, None),
        # [c] of [c] provisions: the month's provisions are a flow, perhaps shown only
        # within a quarter, so they cannot be bounded: "at least 95%" cannot tell
        (COUNSELLED, Target(at_least=0.95),
         {COUNSELLED: C, "provisioned_counselled_period": C, "provisioned_period": C}, None),
        # account holders with access: a total whose opt-in part is [c] could be far more
        # than 7 (2,595 in the sample): not bounded, so 90% cannot tell (not "missed")
        ("access_share_of_account_holders", Target(at_least=0.9),
         {"access_share_of_account_holders": C, "account_holders_with_access": C,
          "account_holders_16plus": 2680}, None),
        # 0 of [c] is 0% whatever the [c]: "at least 95%" is not met
        (COUNSELLED, Target(at_least=0.95),
         {COUNSELLED: C, "provisioned_counselled_period": 0, "provisioned_period": C}, False),
        # coverage: 1 to 7 unprotected of 1,230 (1,228 to 1,232): the gap is at most
        # 7/1228 = 0.57%, so coverage is at least 99.43%: "at least 95%" is met
        (COVERAGE, Target(at_least=0.95),
         {COVERAGE: C, "unprotected": C, "protection_coverage_denominator": 1230}, True),
        # the same gap against "at least 99.9%": 1 of 1,232 unprotected is 99.92%, 7 of
        # 1,228 is 99.43%: cannot tell
        (COVERAGE, Target(at_least=0.999),
         {COVERAGE: C, "unprotected": C, "protection_coverage_denominator": 1230}, None),
        # [c] of 900 (898 to 902): at least 1/902 = 0.1109%, so "at least 1/900" (0.1111%)
        # cannot tell; the lowest share takes the largest denominator
        (OPT_IN, Target(at_least=1 / 900),
         {OPT_IN: C, "opt_in_holders_with_account": C, "account_holders_16plus": 900}, None),
        # a suppressed number of days (too few provisions to publish it): cannot tell
        ("request_to_provision_p90_days", Target(at_most=28),
         {"request_to_provision_p90_days": C}, None),
    ],
)  # fmt: skip
def test_dpia_met_suppressed_share_from_its_counts(measure, target, figures, met) -> None:
    verdict, note = judge(Evidence(measure=measure, target=target), figures, RULE)
    assert verdict is met
    assert note.startswith("[c]")


def test_dpia_met_note_names_the_bounds() -> None:
    # 1/902 = 0.11% shows as 0.1%, 7/898 = 0.78% as 0.8%
    figures = {OPT_IN: C, "opt_in_holders_with_account": C, "account_holders_16plus": 900}
    _, note = judge(Evidence(measure=OPT_IN, target=Target(at_least=0.05)), figures, RULE)
    assert note == "[c] stands for between 0.1% and 0.8%: the target is missed whatever it is"


# --------------------------------------------------------------------------- dpia-residual


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
        ({"revocation_backlog": 0, "pending_16_at_risk": 0}, [EFFECTIVE, EFFECTIVE], "medium"),
        # backlog 10 misses "at most 0": that mitigation leaves the risk at inherent high
        ({"revocation_backlog": 10, "pending_16_at_risk": 0}, [NOT_EFFECTIVE, EFFECTIVE], "high"),
        # at risk [c] (1 to 7) against "at most 5": cannot tell, so "protect" keeps the
        # register's medium (not the inherent high); the risk: max(low, medium) = medium
        ({"revocation_backlog": 0, "pending_16_at_risk": C}, [EFFECTIVE, CANNOT_TELL], "medium"),
    ],
)  # fmt: skip
def test_dpia_residual(figures: dict, statuses: list[str], residual: str) -> None:
    (risk,) = evaluate(_register(), EMIS_LIVE, figures, {})
    assert risk["inherent"] == "high"
    assert [m["status"] for m in risk["mitigations"]] == statuses
    assert risk["residual"] == residual


def test_dpia_residual_cannot_tell_shows_the_reason() -> None:
    (risk,) = evaluate(_register(), EMIS_LIVE, {"revocation_backlog": 0,
                                                 "pending_16_at_risk": C}, {})  # fmt: skip
    protect = risk["mitigations"][1]
    # [c] is 1 to 7: 1 meets "at most 5", 7 does not
    assert protect["why"] == (
        "Turning 16 within 6 months and not protected: [c] stands for 1 to 7: it could meet "
        "or miss the target"
    )


def test_dpia_residual_not_measured_keeps_the_register_level() -> None:
    # A mitigation tied to no figure: "not measured monthly", at its register level (low),
    # not the inherent high (probable x severe).
    redact = Mitigation(action="redact", effect="reduced", residual_risk="low", approved=True)
    register = Register(risks=[Risk(id="R1", title="t", likelihood="probable",
                                    severity="severe", mitigations=[redact])])  # fmt: skip
    ((row,),) = [r["mitigations"] for r in evaluate(register, EMIS_LIVE, {}, {})]
    assert (row["status"], row["residual"]) == (NOT_MEASURED, "low")


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


def test_dpia_residual_of_a_risk_none_of_whose_mitigations_applies_is_inherent() -> None:
    # probable x severe = high (3 x 3 = 9); its only measure is for TPP, the practice is
    # on EMIS: nothing reduces the risk here, so it stays high and is named for Article 36
    risk = Risk(id="R9", title="t", likelihood="probable", severity="severe",
                mitigations=[Mitigation(action="a", effect="reduced", residual_risk="low",
                                        approved=True, applies_to=["tpp-live"],
                                        not_applicable="TPP only")])  # fmt: skip
    (row,) = evaluate(Register(risks=[risk]), EMIS_LIVE, {}, {})
    assert (row["applies"], row["inherent"], row["residual"]) == (True, "high", "high")
    assert row["why"] == "No measure of it applies to this branch: it stays at its inherent level."
    assert levels_when_effective(Register(risks=[risk]), "emis-live") == {"R9": "high"}
    assert levels_when_effective(Register(risks=[risk]), "tpp-live") == {"R9": "low"}


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


def _bundle(figures: dict, period: str = "2025-03") -> dict:
    head = {"eligible": 100, "account_holders_16plus": 50, "opt_in_holders": 10} | figures
    return {"headline": head, "status": {"go_live": "live"}, "period": period}


@pytest.mark.parametrize(("backlog", "named"), [(10, ["R1"]), (0, [])])
def test_dpia_article_36(tmp_path: Path, backlog: int, named: list[str]) -> None:
    # R1 stays high while the backlog misses its target: named for prior consultation.
    register = _register().model_dump(mode="json", exclude_defaults=True)
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(register), encoding="utf-8")
    bundle = _bundle({"revocation_backlog": backlog, "pending_16_at_risk": 0})
    assert dpia(make_profile(risk_register=path), bundle)["article_36"] == named


# --------------------------------------------------------------------------- dpia-model

DEFAULT = make_profile(model=Model.DEFAULT)


def test_dpia_model_default_practice_gets_the_default_register_and_narrative() -> None:
    register, narrative = practice_files(DEFAULT)
    assert (register.model, narrative.model) == ("default", "default")
    assert branch_key(DEFAULT) == "default"


def test_dpia_model_a_file_of_the_other_model_is_refused(tmp_path: Path) -> None:
    # The opt-in register given to a default-model practice: refused, naming the file
    # and the shipped register of its model.
    own = tmp_path / "register.yaml"
    own.write_text(yaml.safe_dump(_register().model_dump(mode="json")), encoding="utf-8")
    with pytest.raises(ConfigError, match="risk-register-default.yaml") as info:
        practice_files(make_profile(model=Model.DEFAULT, risk_register=own))
    assert str(own) in str(info.value) and "opt-in model" in str(info.value)


def test_dpia_model_a_default_register_cites_only_default_figures() -> None:
    revoke = Mitigation(
        action="revoke", effect="reduced", residual_risk="low", approved=True,
        evidence=[Evidence(measure="revocation_backlog", target=Target(at_most=0))],
    )  # fmt: skip
    risk = Risk(id="R1", title="t", likelihood="possible", severity="severe", mitigations=[revoke])
    with pytest.raises(ValueError, match="does not publish R1: revocation_backlog"):
        Register(model="default", risks=[risk])


def test_dpia_model_approved_risks_must_be_risks_of_the_register() -> None:
    sign_off = DpiaSignOff(approved_residual_risks={"R1": "low", "R99": "high"})
    with pytest.raises(ConfigError, match="names R99, not a risk of its register"):
        practice_files(make_profile(dpia_sign_off=sign_off))


# --------------------------------------------------------------------------- approval

APPROVED = dt.date(2026, 8, 20)


def _months(*periods: str) -> dict[str, dict]:
    # earlier months' levels of R1, as the history would give them
    return {p: {"R1": level} for p, level in (x.split("=") for x in periods)}


def test_dpia_approved_state_recorded_with_the_sign_off() -> None:
    sign_off = DpiaSignOff(approved_residual_risks={"R1": "medium"})
    state = dpia_approval.approved_state(sign_off, APPROVED, _months("2026-07=high"))
    assert state == {"source": "configuration", "levels": {"R1": "medium"}, "release": "2026-07"}


@pytest.mark.parametrize(
    ("approved", "release", "level"),
    [
        # approved 2026-08-20: August has not ended, so the release is July's
        (dt.date(2026, 8, 20), "2026-07", "low"),
        # approved on 2026-08-31, the last day of August: August's release
        (dt.date(2026, 8, 31), "2026-08", "medium"),
    ],
)
def test_dpia_approved_state_from_the_release_at_the_approval(approved, release, level) -> None:
    months = _months("2026-07=low", "2026-08=medium", "2026-09=high")
    state = dpia_approval.approved_state(DpiaSignOff(), approved, months)
    assert state == {"source": "history", "levels": {"R1": level}, "release": release}


def test_dpia_approved_state_none_when_nothing_records_it() -> None:
    # approved before the first month the history holds, and no levels recorded
    state = dpia_approval.approved_state(
        DpiaSignOff(), dt.date(2023, 8, 7), _months("2026-09=high")
    )
    assert state == {"source": None, "levels": {}, "release": None}


def _reasons(approved, levels: dict, now: dict, review_due=None, ref=dt.date(2026, 10, 31)):
    state = {"source": "configuration", "levels": levels, "release": None}
    review = dpia_approval._review(DpiaSignOff(next_review=review_due), ref)
    months = {"2026-09": now, "2026-10": now}
    return dpia_approval.reasons(approved, state, now, "2026-10", months, review)[0]


@pytest.mark.parametrize(
    ("now", "needed"),
    [
        ({"R1": "high"}, True),  # medium -> high: higher
        ({"R1": "medium"}, False),  # the same level
        ({"R1": "low"}, False),  # lower is covered by the approval
    ],
)
def test_dpia_reapproval_when_a_risk_is_higher_than_approved(now: dict, needed: bool) -> None:
    assert bool(_reasons(APPROVED, {"R1": "medium"}, now)) is needed


def test_dpia_reapproval_review_date_before_the_reference_date() -> None:
    # due 2026-10-30, reference date 2026-10-31: passed; due on the reference date: not yet
    passed = _reasons(APPROVED, {"R1": "low"}, {"R1": "low"}, dt.date(2026, 10, 30))
    assert passed == ["the review due on 2026-10-30 has passed"]
    assert _reasons(APPROVED, {"R1": "low"}, {"R1": "low"}, dt.date(2026, 10, 31)) == []


def test_dpia_reapproval_without_an_approval_or_for_a_risk_not_approved() -> None:
    assert _reasons(None, {}, {"R1": "low"}) == ["no approval of this DPIA is recorded"]
    # R2 applies this month (the practice went live) but the approval had R1 only
    why = _reasons(APPROVED, {"R1": "low"}, {"R1": "low", "R2": "high"})
    assert why == ["R2 (high this month) is not among the risks approved"]


@pytest.mark.parametrize(
    ("months", "words"),
    [
        # approved medium; July medium, August to October high: rose in August
        (["2026-07=medium", "2026-08=high", "2026-09=high"],
         "R1 rose from medium to high in 2026-08"),
        # no month before August on record: "by" August
        (["2026-08=high", "2026-09=high"], "R1 rose from medium to high by 2026-08"),
        # a gap (no July) ends the run: "by" August, even with June on record
        (["2026-06=medium", "2026-08=high", "2026-09=high"],
         "R1 rose from medium to high by 2026-08"),
    ],
)  # fmt: skip
def test_dpia_rise_month(months: list[str], words: str) -> None:
    levels = _months(*months) | {"2026-10": {"R1": "high"}}
    assert dpia_approval.rise("R1", "medium", "high", "2026-10", levels)["words"] == words


def test_dpia_rise_month_through_lower_levels() -> None:
    # approved low; August medium, September and October high: above low since August,
    # but it was not high all along
    levels = _months("2026-07=low", "2026-08=medium", "2026-09=high") | {"2026-10": {"R1": "high"}}
    rise = dpia_approval.rise("R1", "low", "high", "2026-10", levels)
    assert rise["words"] == "R1 rose from low to high (above low since 2026-08)"
    assert (rise["since"], rise["known"]) == ("2026-08", True)


def test_dpia_changes_since_the_release_at_the_approval() -> None:
    # The register of _register(), "protect" at TPP only (so R1 is "revoke" alone).
    # At the approval (release 2026-07): backlog 0, effective, R1 low. Now: backlog 10,
    # not effective, R1 at its inherent high. Listed: R1 low -> high, "revoke" effective
    # -> not effective, the backlog 0 -> 10 (met -> not met).
    register = _register(["tpp-live"])
    then = evaluate(register, EMIS_LIVE, {"revocation_backlog": 0}, {})
    now = evaluate(register, EMIS_LIVE, {"revocation_backlog": 10}, {})
    state = {"source": "history", "levels": {"R1": "low"}, "release": "2026-07"}
    (change,) = dpia_approval.changes(state, now, then)
    assert (change["id"], change["approved"], change["now"]) == ("R1", "low", "high")
    (measure,) = change["measures"]
    assert (measure["action"], measure["then"], measure["now"]) == (
        "revoke", EFFECTIVE, NOT_EFFECTIVE)  # fmt: skip
    (evidence,) = measure["evidence"]
    assert (evidence["then"], evidence["now"], evidence["then_met"], evidence["now_met"]) == (
        0, 10, True, False)  # fmt: skip


def test_dpia_changes_none_when_nothing_moved_or_nothing_approved() -> None:
    register = _register(["tpp-live"])
    rows = evaluate(register, EMIS_LIVE, {"revocation_backlog": 0}, {})
    state = {"source": "history", "levels": {"R1": "low"}, "release": "2026-07"}
    assert dpia_approval.changes(state, rows, rows) == []
    assert dpia_approval.changes({"levels": {}, "release": None}, rows, None) == []


# --------------------------------------------------------------------------- dpia-words

REF = dt.date(2026, 10, 31)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"supplier_setting_date": dt.date(2023, 11, 8)},
         "On 2023-11-08 the practice bulk-added 104 codes so that EMIS gives no access "
         "automatically (the guidance's step 1)."),
        ({"supplier_setting_date": None},
         "The practice has not yet bulk-added 104 codes to stop EMIS giving access "
         "automatically: the guidance's step 1 is not done."),
        # a date after the reference date is planned, not done
        ({"supplier_setting_date": dt.date(2026, 11, 2)},
         "The practice has not yet bulk-added 104 codes to stop EMIS giving access "
         "automatically (planned for 2026-11-02): the guidance's step 1 is not done."),
        ({"supplier": Supplier.TPP, "supplier_setting_date": dt.date(2026, 9, 2)},
         'On 2026-09-02 the practice unticked the organisation preference "By default give '
         "prospective access to the full clinical record\" (the guidance's step 1)."),
        ({"go_live_status": GoLiveStatus.NOT_PLANNED, "go_live_date": None,
          "supplier_setting_date": dt.date(2023, 10, 14)},
         "Since 2023-10-14 EMIS's global settings let the practice give full prospective "
         "access patient by patient (the guidance's step 1)."),
    ],
)  # fmt: skip
def test_dpia_words_supplier_step(overrides: dict, words: str) -> None:
    assert dpia_words.supplier_step(make_profile(**overrides), REF) == words


@pytest.mark.parametrize(
    ("overrides", "backlog", "words"),
    [
        ({}, 175, "Access given automatically is being reviewed and revoked until the patient "
                  "opts in: 175 patients with an online account still hold it this month."),
        ({"supplier": Supplier.TPP}, C,
         "Access given automatically is being reviewed and revoked until the patient opts "
         "in: [c] patients still hold it this month."),
        ({}, 0, "Access given automatically since go-live has been reviewed: nobody holds it "
                "this month, so none is left to revoke."),
        ({"go_live_status": GoLiveStatus.DUE, "go_live_date": dt.date(2027, 2, 10)}, 0,
         "The practice has not gone live, so no access has been given automatically."),
    ],
)  # fmt: skip
def test_dpia_words_automatic_access(overrides: dict, backlog: object, words: str) -> None:
    profile = make_profile(**overrides)
    assert dpia_words.automatic_access(profile, {"revocation_backlog": backlog}, REF) == words


def test_dpia_words_withholding_never_individual_while_bulk_104s_remain() -> None:
    setting = {"supplier_setting_date": dt.date(2023, 11, 8)}
    bulk = {"active_104_bulk": 1075, "active_104_individual": 710}
    words = dpia_words.withholding(make_profile(**setting), bulk, REF)
    assert words.startswith(
        "Until a patient asks, access is withheld by a 104 code. 1,075 patients hold a 104 "
        "code added in bulk, and 710 one added individually: a bulk 104 is not an "
        "individual assessment"
    )
    assert "none of the active 104 codes" not in words and "blanket" not in words
    none = dpia_words.withholding(
        make_profile(**setting), {"active_104_bulk": 0, "active_104_individual": 12}, REF
    )
    assert none == ("Until a patient asks, access is withheld by a 104 code; none of the "
                    "active 104 codes was added in bulk (12 added individually).")  # fmt: skip


def test_dpia_words_withholding_by_setting_and_on_the_default_model() -> None:
    tpp = make_profile(supplier=Supplier.TPP, supplier_setting_date=dt.date(2026, 9, 2))
    words = dpia_words.withholding(tpp, {"active_104_bulk": 0}, REF)
    assert words.startswith("Until a patient asks, the unticked organisation preference")
    unset = dpia_words.withholding(make_profile(supplier=Supplier.TPP), {"active_104_bulk": 0}, REF)
    assert unset.startswith("The setting that would withhold access until a patient asks is not")
    default = dpia_words.withholding(DEFAULT, {"active_104_bulk": 0,
                                               "active_104_individual": 40}, REF)  # fmt: skip
    assert default == (
        "Access is withheld from a patient who has not opted out only after an individual "
        "review found it could cause serious harm or disclose information about someone "
        "else (a 104 code: 40 patients)."
    )
