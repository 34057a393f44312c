"""The DPIA: the practice's narrative, its risk register, and this month's evidence.

Follows the ICO's sample DPIA template, steps 1 to 7. Steps 1-4 are the practice's own
words (``data/dpia-narrative.yaml``, copied and edited; ``dpia_narrative:`` points at
the copy), filled with the practice's published figures
(:mod:`optin_analysis.outgoing.dpia_words`). Steps 5-6 are the risk register
(``data/risk-register.yaml``; ``risk_register:``), scored the ICO's way and evaluated
against the month's published figures. Step 7 is the sign-off from the run
configuration (``dpia_sign_off:``); whether that approval still covers the evidence, and
what changed since, is :mod:`optin_analysis.outgoing.dpia_approval`.

A practice on the default model (automatic access for everyone 16+ unless they opt out)
gets the default model's DPIA: its own shipped narrative and register
(``dpia-narrative-default.yaml``, ``risk-register-default.yaml``), citing only figures
published on that model.

Rules (each has a hand-worked test):

* [rule dpia-score] Likelihood (remote 1, possible 2, probable 3) times severity (minimal
  1, significant 2, severe 3) gives the overall (inherent) risk: 1-2 low, 3-4 medium, 6-9
  high (our reading of the ICO's 3 x 3 matrix).
* [rule dpia-met] A target is met when the published figure meets it. A suppressed
  figure ("[c]") is judged from the values it can stand for: a count is 1 to the run's
  suppression threshold k (7 by default; every count the DPIA cites is published as one
  cell); a share is worked out from its published counts, a suppressed base count as 1
  to k, a rounded one as any count it rounds from, and 0 of anything as 0. Met when
  every such value meets the target, not met when none does, otherwise "cannot tell";
  so is a share whose suppressed part is a total or a month's flow (it could be more
  than k), a figure that does not apply (n/a) and a suppressed number of days (too few
  provisions to publish it).
* [rule dpia-residual] A mitigation whose evidence meets every target this month is
  effective and earns the register's residual risk; one that misses a target leaves the
  risk at its inherent level, flagged. One that cannot tell (no target missed, some that
  cannot be judged) keeps the register's residual risk with the reason shown, as does one
  the register ties to no monthly figure ("not measured monthly"). A risk's residual is
  the highest of its mitigations'; a risk of the branch none of whose mitigations applies
  to it stays at its inherent level, and says so.
* [rule dpia-applies] A risk or mitigation listed for other branches of the guidance is
  "not applicable", with the register's reason.
* [rule dpia-article-36] A risk whose residual is high this month is named: accepting it
  requires prior consultation with the ICO (UK GDPR Article 36).
* [rule dpia-model] A register and a narrative say which model they are for (``model:``,
  ``opt_in`` when absent). A practice's must be for its model (a practice with none gets
  the shipped one of its model), a register may cite only figures published on its
  model, and the sign-off's approved risks must be risks of the practice's register.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from optin_analysis.config import ConfigError, Disclosure, GoLiveStatus, Model, Practice, Supplier
from optin_analysis.outgoing import dpia_approval, dpia_words
from optin_analysis.outgoing.disclosure import MARK, interval, show
from optin_analysis.outgoing.published import BASE_COUNTS, SHARES

Hidden = tuple[int, int]  #: the counts a suppressed "[c]" can stand for
DATA = Path(str(files("optin_analysis") / "data"))
MODEL_WORDS = {"opt_in": "opt-in", "default": "default"}
DEFAULT_REGISTER = {
    "opt_in": DATA / "risk-register.yaml",
    "default": DATA / "risk-register-default.yaml",
}
DEFAULT_NARRATIVE = {
    "opt_in": DATA / "dpia-narrative.yaml",
    "default": DATA / "dpia-narrative-default.yaml",
}
LIKELIHOOD = {"remote": 1, "possible": 2, "probable": 3}
SEVERITY = {"minimal": 1, "significant": 2, "severe": 3}
LEVELS = ("low", "medium", "high")
BRANCHES = ("emis-live", "emis-due", "emis-not-going-live", "tpp-live", "tpp-not-live")
DEFAULT_BRANCH = "default"
#: The branch of the guidance (or the default model) in words: what it is, not what was
#: done (the narrative says that from the figures).
BRANCH_WORDS = {
    "emis-live": "EMIS, gone live",
    "emis-due": "EMIS, due to go live",
    "emis-not-going-live": "EMIS, not going live: access is given per patient",
    "tpp-live": "TPP, gone live",
    "tpp-not-live": "TPP, yet to go live",
    DEFAULT_BRANCH: "Default model: automatic access for everyone aged 16+ unless they opt out",
}

#: Figures evidence can cite: key in the published headline -> (label, kind).
MEASURES: dict[str, tuple[str, str]] = {
    "revocation_backlog": ("Revocation backlog (patients)", "count"),
    "dormant_exposure": ("Automatic access without a usable online account", "count"),
    "protection_coverage_share": ("Protection coverage", "share"),
    "pending_16_at_risk": ("Turning 16 within 6 months and not protected", "count"),
    "turned_16_automatic": ("Turned 16 this month with automatic access", "count"),
    "open_requests_over_28_days": ("Opt-in requests waiting over 28 days", "count"),
    "open_requests_over_90_days": ("Opt-in requests waiting over 90 days", "count"),
    "open_requests_over_180_days": ("Opt-in requests waiting over 180 days", "count"),
    "request_to_provision_p90_days": ("Request to provision, 90th percentile (days)", "days"),
    "counselled_before_provision_share": ("Provisions counselled first (this month)", "share"),
    "opt_in_share_of_account_holders": ("Opt-in access among 16+ account holders", "share"),
    "withheld_pending_opt_in": ("16+ without access and not opted out", "count"),
    "active_104_bulk": ("Active 104 codes added in bulk", "count"),
    "active_104_individual": ("Active 104 codes added individually", "count"),
    "active_104_share": ("16+ with an active 104 code", "share"),
    "access_share_of_account_holders": (
        "16+ account holders with full prospective access",
        "share",
    ),
    "access_share_of_eligible": ("16+ with full prospective access", "share"),
}
#: The figures a register may cite on each model: the default model publishes only the
#: figures NHS England monitors, never an opt-in figure.
MODEL_MEASURES = {
    "opt_in": tuple(MEASURES),
    "default": (
        "access_share_of_account_holders",
        "access_share_of_eligible",
        "active_104_share",
        "active_104_bulk",
        "active_104_individual",
        "withheld_pending_opt_in",
    ),
}
#: protection coverage is 1 - unprotected / its denominator (published.py, _derived)
_COVERAGE_PARTS = ("unprotected", "protection_coverage_denominator")
#: Figures the history store keeps for the DPIA: every figure evidence can cite, and the
#: counts its shares are worked out from (to judge a suppressed share of an earlier month).
HISTORY_FIGURES = list(
    dict.fromkeys(
        [*MEASURES]
        + [part for m in MEASURES if m in SHARES for part in SHARES[m]]
        + list(_COVERAGE_PARTS)
    )
)

EFFECTIVE = "effective this month"
NOT_EFFECTIVE = "not effective this month"
CANNOT_TELL = "cannot tell this month"
NOT_MEASURED = "not measured monthly"
NOT_APPLICABLE = "not applicable"


def overall(likelihood: str, severity: str) -> str:
    """[rule dpia-score] The overall risk from likelihood and severity."""
    score = LIKELIHOOD[likelihood] * SEVERITY[severity]
    return "low" if score <= 2 else "medium" if score <= 4 else "high"


def branch_of(supplier: Supplier, status: GoLiveStatus, model: Model = Model.OPT_IN) -> str:
    """The branch of the guidance, as the register names it ("default" on the default
    model)."""
    if model is Model.DEFAULT:
        return DEFAULT_BRANCH
    if supplier is Supplier.TPP:
        return "tpp-live" if status is GoLiveStatus.LIVE else "tpp-not-live"
    return {GoLiveStatus.LIVE: "emis-live", GoLiveStatus.DUE: "emis-due"}.get(
        status, "emis-not-going-live"
    )


def branch_key(profile: Practice) -> str:
    """The practice's branch of the guidance (see :func:`branch_of`)."""
    return branch_of(profile.supplier, profile.go_live_status, profile.model)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(Frozen):
    """A target a measure's figure must meet: at most or at least a value."""

    at_most: float | None = None
    at_least: float | None = None

    def met(self, value: object, kind: str = "count", hidden_range: Hidden = (1, 7)) -> bool | None:
        """[rule dpia-met] Whether ``value`` meets the target; None when it cannot tell.

        A suppressed count is any of ``hidden_range``; a suppressed share or number of
        days given alone could be anything (:func:`judge` bounds a share from its counts).
        """
        if value == MARK:
            return self.met_between(*hidden_range) if kind == "count" else None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return self.met_between(value, value)

    def met_between(self, low: float, high: float) -> bool | None:
        """[rule dpia-met] True when every value from ``low`` to ``high`` meets the target,
        False when none does, None (cannot tell) otherwise."""
        if (self.at_most is None or high <= self.at_most) and (
            self.at_least is None or low >= self.at_least
        ):
            return True
        if (self.at_most is not None and low > self.at_most) or (
            self.at_least is not None and high < self.at_least
        ):
            return False
        return None

    def describe(self, kind: str = "count") -> str:
        """The target in words ("at least 95%", "at most 28 days")."""

        def fmt(value: float) -> str:
            if kind == "share":
                return f"{value:.0%}"
            return f"{value:g} days" if kind == "days" else f"{value:g}"

        parts = [
            f"at most {fmt(self.at_most)}" if self.at_most is not None else "",
            f"at least {fmt(self.at_least)}" if self.at_least is not None else "",
        ]
        return " and ".join(p for p in parts if p)


class Evidence(Frozen):
    measure: str
    target: Target

    @field_validator("measure")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in MEASURES:
            raise ValueError(f"unknown measure {value!r}; use one of: {', '.join(MEASURES)}")
        return value


def _branches(value: list[str] | None) -> list[str] | None:
    unknown = sorted(set(value or []) - set(BRANCHES))
    if unknown:
        raise ValueError(f"unknown branch(es) {unknown}; use: {', '.join(BRANCHES)}")
    return value


class Mitigation(Frozen):
    action: str
    evidence: list[Evidence] = []
    effect: Literal["eliminated", "reduced", "accepted"]
    residual_risk: Literal["low", "medium", "high"]
    approved: bool
    applies_to: list[str] | None = None
    not_applicable: str = ""

    @field_validator("applies_to")
    @classmethod
    def _known_branches(cls, value: list[str] | None) -> list[str] | None:
        return _branches(value)


class Risk(Frozen):
    id: str
    title: str
    likelihood: Literal["remote", "possible", "probable"]
    severity: Literal["minimal", "significant", "severe"]
    applies_to: list[str] | None = None
    not_applicable: str = ""
    mitigations: Annotated[list[Mitigation], Field(min_length=1)]

    @field_validator("applies_to")
    @classmethod
    def _known_branches(cls, value: list[str] | None) -> list[str] | None:
        return _branches(value)

    @property
    def inherent(self) -> str:
        return overall(self.likelihood, self.severity)


class Register(Frozen):
    model: Literal["opt_in", "default"] = "opt_in"
    risks: Annotated[list[Risk], Field(min_length=1)]

    @model_validator(mode="after")
    def _ids_once_and_figures_of_its_model(self) -> Register:
        """[rule dpia-model] Each risk id once; evidence only from the model's figures."""
        ids = [r.id for r in self.risks]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"risk id(s) {twice} listed more than once")
        allowed = MODEL_MEASURES[self.model]
        cited = [
            f"{r.id}: {e.measure}"
            for r in self.risks
            for m in r.mitigations
            for e in m.evidence
            if e.measure not in allowed
        ]
        if cited:
            raise ValueError(
                f"the {MODEL_WORDS[self.model]} model does not publish {', '.join(cited)}; "
                f"a register for it may cite: {', '.join(allowed)}"
            )
        return self


class Part(Frozen):
    """A part of a step (its heading is the key): the practice's text and its sources."""

    text: str = ""
    sources: list[str] = []


class Flow(Frozen):
    """A row of step 2's data flows: what data, from where, to where, seen by whom."""

    what: str
    source: str
    goes_to: str
    who_sees: str


class Section(Frozen):
    title: str
    text: str = ""
    parts: dict[str, Part] = {}
    sources: list[str] = []

    @field_validator("parts", mode="before")
    @classmethod
    def _text_alone(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"text": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class Narrative(Frozen):
    model: Literal["opt_in", "default"] = "opt_in"
    sources: dict[str, str]
    data_flows: list[Flow] = []
    sections: dict[str, Section]

    @field_validator("sections")
    @classmethod
    def _all_steps(cls, value: dict[str, Section]) -> dict[str, Section]:
        missing = [s for s in ("need", "processing", "consultation", "necessity") if s not in value]
        if missing:
            raise ValueError(f"missing section(s) {missing} (the ICO template's steps 1-4)")
        return value


#: What the ICO's template asks step 2 to describe: a part of the practice's "processing"
#: section each (its heading starting with the word here). A part the practice's narrative
#: lacks is shown as "TO COMPLETE:" with the question.
STEP2_PARTS = {
    "Nature": "how the data are collected, used, stored and deleted, and who sees them.",
    "Scope": "what data, how many people, how much, how often.",
    "Context": "the relationship with the patients, their expectations, any vulnerable groups.",
    "Purposes": "what the processing achieves, for the patients and for the practice.",
    "Data flows": "where the data come from, where they go, and who sees them.",
    "Retention": "how long the extracts, worklists, reports and history are kept.",
    "Processors": "who processes the data for the practice, and in what role.",
    "Security measures": "how the data are kept secure at each step.",
    "International transfers": "whether any data leave the UK, and under what safeguards.",
}
TO_COMPLETE = "TO COMPLETE:"
#: libyaml's safe loader where PyYAML has it (ten times faster on the narrative, read for
#: every practice), else the pure-Python one; both build only plain data.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: Path, model: type[BaseModel], what: str) -> BaseModel:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506
        return model.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(x) for x in e['loc']) or '(file)'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError(f"{path}: invalid {what}:\n" + "\n".join(lines)) from None


def load_register(path: Path | None = None, model: str = "opt_in") -> Register:
    """Read and validate a risk register (default: the shipped one of ``model``);
    :class:`ConfigError` lists every problem."""
    return _load(Path(path or DEFAULT_REGISTER[model]), Register, "risk register")


def load_narrative(path: Path | None = None, model: str = "opt_in") -> Narrative:
    """Read and validate a DPIA narrative (default: the shipped one of ``model``);
    :class:`ConfigError` lists every problem."""
    path = Path(path or DEFAULT_NARRATIVE[model])
    narrative = _load(path, Narrative, "DPIA narrative")
    cited = {s for sec in narrative.sections.values() for s in sec.sources} | {
        s for sec in narrative.sections.values() for p in sec.parts.values() for s in p.sources
    }
    unknown = cited - set(narrative.sources)
    if unknown:
        raise ConfigError(f"{path}: sections cite unknown sources {sorted(unknown)}")
    return narrative


def practice_files(profile: Practice) -> tuple[Register, Narrative]:
    """[rule dpia-model] The practice's register and narrative, checked against its model
    and its sign-off; :class:`ConfigError` names the file and the setting."""
    model = profile.model.value
    register = load_register(profile.risk_register, model)
    narrative = load_narrative(profile.dpia_narrative, model)
    for what, key, loaded, path, shipped in (
        ("risk register", "risk_register", register, profile.risk_register, DEFAULT_REGISTER),
        ("DPIA narrative", "dpia_narrative", narrative, profile.dpia_narrative, DEFAULT_NARRATIVE),
    ):
        if loaded.model != model:
            raise ConfigError(
                f"{path}: a {what} for the {MODEL_WORDS[loaded.model]} model, but practice "
                f"{profile.ods_code} is on the {MODEL_WORDS[model]} model: point its {key} at "
                f"a copy of {shipped[model].name}"
            )
    ids = [r.id for r in register.risks]
    unknown = sorted(set(profile.dpia_sign_off.approved_residual_risks) - set(ids))
    if unknown:
        raise ConfigError(
            f"practice {profile.ods_code}: dpia_sign_off.approved_residual_risks names "
            f"{', '.join(unknown)}, not a risk of its register (its risks: {', '.join(ids)})"
        )
    return register, narrative


def problems(profile: Practice) -> list[str]:
    """What is wrong with the practice's DPIA files and sign-off (empty when nothing)."""
    try:
        practice_files(profile)
    except ConfigError as exc:
        return [str(exc)]
    return []


# --------------------------------------------------------------------------- evaluation


def _highest(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index)


def _unknown(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _count_span(name: str, value: object, rule: Disclosure) -> tuple[int, int] | None:
    """The counts a published part of a share can stand for: a suppressed base count is 1
    to k; a suppressed total (a part of it hidden) or month's flow (shown only within its
    quarter) could be more, so it is not bounded (None), nor is a figure that is n/a."""
    if _unknown(value) or (value == MARK and name not in BASE_COUNTS):
        return None
    return interval(value, rule)


def _share_span(parts: tuple[str, str], figures: dict, rule: Disclosure) -> tuple | None:
    """The shares a numerator over a denominator can be, from their published counts."""
    numerator, denominator = (_count_span(name, figures.get(name), rule) for name in parts)
    if numerator == (0, 0):
        return 0.0, 0.0  # none of however many
    if numerator is None or denominator is None or denominator[1] == 0:
        return None
    return numerator[0] / denominator[1], min(1.0, numerator[1] / max(denominator[0], 1))


def suppressed_span(measure: str, figures: dict, rule: Disclosure) -> tuple | None:
    """[rule dpia-met] The values a suppressed figure can stand for, (lowest, highest), or
    None when the published figures cannot bound it."""
    kind = MEASURES[measure][1]
    if kind == "count":
        return interval(MARK, rule)
    if measure in SHARES:
        return _share_span(SHARES[measure], figures, rule)
    if measure == "protection_coverage_share":
        gap = _share_span(_COVERAGE_PARTS, figures, rule)
        return None if gap is None else (1 - gap[1], 1 - gap[0])
    return None


def _span_words(span: tuple, kind: str) -> str:
    low, high = span
    if kind == "share":
        return f"between {show(low, 'share')} and {show(high, 'share')}"
    return f"{show(low, kind)} to {show(high, kind)}"


def judge(item: Evidence, figures: dict, rule: Disclosure) -> tuple[bool | None, str]:
    """[rule dpia-met] Whether the published figure meets the target (None: cannot tell),
    and, where the figure is not plain, why."""
    kind = MEASURES[item.measure][1]
    value = figures.get(item.measure)
    if value == MARK:
        span = suppressed_span(item.measure, figures, rule)
        if span is None:
            return None, "[c]: too few to publish, so the figure cannot be judged"
        met = item.target.met_between(*span)
        verdict = {True: "the target is met whatever it is",
                   False: "the target is missed whatever it is",
                   None: "it could meet or miss the target"}[met]  # fmt: skip
        return met, f"[c] stands for {_span_words(span, kind)}: {verdict}"
    if _unknown(value):
        return None, "n/a: nothing to measure this month"
    return item.target.met(value, kind), ""


def _evidence(item: Evidence, figures: dict, history: dict, rule: Disclosure) -> dict:
    label, kind = MEASURES[item.measure]
    met, note = judge(item, figures, rule)
    return {
        "measure": item.measure, "label": label, "kind": kind,
        "target": item.target.describe(kind), "figure": figures.get(item.measure),
        "met": met, "note": note, "history": history.get(item.measure, []),
    }  # fmt: skip


def _applies(applies_to: list[str] | None, branch: str) -> bool:
    return applies_to is None or branch in applies_to


def _mitigation(
    m: Mitigation, risk: Risk, branch: str, figures: dict, history: dict, rule: Disclosure
) -> dict:
    """[rule dpia-residual], [rule dpia-applies] for one mitigation."""
    out = {"action": m.action, "effect": m.effect, "approved": m.approved,
           "register_residual": m.residual_risk}  # fmt: skip
    if not _applies(m.applies_to, branch):
        return out | {"status": NOT_APPLICABLE, "why": m.not_applicable, "residual": None,
                      "evidence": []}  # fmt: skip
    evidence = [_evidence(e, figures, history, rule) for e in m.evidence]
    met = [e["met"] for e in evidence]
    why = ""
    if not evidence:
        status, residual = NOT_MEASURED, m.residual_risk
        why = "The register ties it to no monthly figure: the practice's own assurance."
    elif all(v is True for v in met):
        status, residual = EFFECTIVE, m.residual_risk
    elif any(v is False for v in met):
        status, residual = NOT_EFFECTIVE, risk.inherent
    else:
        status, residual = CANNOT_TELL, m.residual_risk
        why = "; ".join(f"{e['label']}: {e['note']}" for e in evidence if e["met"] is None)
    return out | {"status": status, "why": why, "residual": residual, "evidence": evidence}


def evaluate(
    register: Register,
    profile: Practice,
    figures: dict,
    history: dict,
    rule: Disclosure | None = None,
) -> list[dict]:
    """Each risk with its score, its mitigations' evidence and this month's residual risk.

    ``figures`` are the published headline figures; ``history`` the last six months of
    each measure (``[(period, value), ...]``); ``rule``: the run's disclosure rule (what
    a "[c]" can stand for).
    """
    rule = rule or Disclosure()
    branch = branch_key(profile)
    rows = []
    for risk in register.risks:
        base = {"id": risk.id, "title": risk.title, "likelihood": risk.likelihood,
                "severity": risk.severity, "inherent": risk.inherent}  # fmt: skip
        if not _applies(risk.applies_to, branch):
            rows.append(base | {"applies": False, "why": risk.not_applicable,
                                "residual": None, "mitigations": []})  # fmt: skip
            continue
        mitigations = [
            _mitigation(m, risk, branch, figures, history, rule) for m in risk.mitigations
        ]
        levels = [m["residual"] for m in mitigations if m["residual"] is not None]
        rows.append(base | {"applies": True, "why": "" if levels else UNMITIGATED,
                            "residual": _highest(levels) if levels else risk.inherent,
                            "mitigations": mitigations})  # fmt: skip
    return rows


#: [rule dpia-residual] A risk of the branch none of whose measures applies to it: nothing
#: reduces it, so its residual risk is its inherent risk (ICO DPIA template, step 6).
UNMITIGATED = "No measure of it applies to this branch: it stays at its inherent level."


def levels_when_effective(register: Register, branch: str) -> dict[str, str]:
    """Each risk that applies to ``branch`` at the residual level its register gives when
    every measure works (its inherent level when none of its measures applies): the state
    a DPO approves with a new DPIA."""
    out = {}
    for risk in register.risks:
        levels = [m.residual_risk for m in risk.mitigations if _applies(m.applies_to, branch)]
        if _applies(risk.applies_to, branch):
            out[risk.id] = _highest(levels) if levels else risk.inherent
    return out


# --------------------------------------------------------------------------- narrative


#: A placeholder in a narrative's text: a name in braces.
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(text: str, values: dict) -> str:
    """``text`` with {placeholders} replaced by ``values``; any other brace, and a
    placeholder with no value, is left as written (the practice edits these texts)."""
    return PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def _step2_parts(section: Section) -> dict[str, Part]:
    """The processing section's parts, with a TO COMPLETE part for each the ICO template
    asks for that the practice's narrative lacks."""
    parts = dict(section.parts)
    for heading, question in STEP2_PARTS.items():
        if not any(h.lower().startswith(heading.lower()) for h in parts):
            parts[heading] = Part(text=f"{TO_COMPLETE} {question}")
    return parts


def narrative_sections(narrative: Narrative, values: dict) -> list[dict]:
    """Steps 1-4 in order, filled, each with the sources it cites (in words); step 2 with
    every part the ICO template asks for, its data flows as a table."""
    out = []
    for key, section in narrative.sections.items():
        parts = _step2_parts(section) if key == "processing" else section.parts
        cited = list(
            dict.fromkeys(section.sources + [s for p in parts.values() for s in p.sources])
        )
        rows = []
        for heading, part in parts.items():
            row = {"heading": heading, "text": fill(part.text, values)}
            if key == "processing" and heading.lower().startswith("data flows"):
                row["table"] = [
                    {k: fill(v, values) for k, v in flow.model_dump().items()}
                    for flow in narrative.data_flows
                ]
                if not row["table"] and not part.text:
                    row["text"] = f"{TO_COMPLETE} {STEP2_PARTS['Data flows']}"
            rows.append(row)
        out.append({"key": key, "title": section.title, "text": fill(section.text, values),
                    "parts": rows, "sources": [narrative.sources[s] for s in cited]})  # fmt: skip
    return out


# --------------------------------------------------------------------------- the DPIA part


def disclosure_rule(bundle: dict) -> Disclosure:
    """The run's disclosure rule, as the bundle records it."""
    recorded = bundle.get("disclosure", {})
    return Disclosure(**{k: recorded[k] for k in Disclosure.model_fields if k in recorded})


def reference_date(bundle: dict) -> dt.date:
    """The bundle's reference date (its period's last day when not recorded)."""
    if bundle.get("ref_date"):
        return dt.date.fromisoformat(bundle["ref_date"])
    year, month = (int(x) for x in bundle["period"].split("-"))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def months_of(history_rows: list[dict], before: str) -> dict[str, dict]:
    """Earlier periods' published figures from the bundle's history: {period: figures}."""
    months: dict[str, dict] = {}
    for row in history_rows:
        if row["period"] < before:
            months.setdefault(row["period"], {})[row["measure"]] = row["value"]
    return months


def dpia(profile: Practice, bundle: dict, history: dict | None = None) -> dict:
    """The DPIA part of a practice-month bundle: narrative, risks with evidence, sign-off,
    and whether the approval still covers this month's evidence."""
    register, narrative = practice_files(profile)
    rule = disclosure_rule(bundle)
    risks = evaluate(register, profile, bundle["headline"], history or {}, rule)
    approval = dpia_approval.review(
        profile.dpia_sign_off,
        profile.dpia_approved,
        reference_date(bundle),
        bundle["period"],
        risks,
        months_of(bundle.get("history", []), bundle["period"]),
        lambda figures: evaluate(register, profile, figures, {}, rule),
    )
    return {
        "model": profile.model.value,
        "approved": profile.dpia_approved.isoformat() if profile.dpia_approved else None,
        "branch": BRANCH_WORDS[branch_key(profile)],
        "narrative": narrative_sections(narrative, dpia_words.placeholders(profile, bundle)),
        "risks": risks,
        "residual": {r["id"]: r["residual"] for r in risks},
        "article_36": [r["id"] for r in risks if r["residual"] == "high"],
        "sign_off": profile.dpia_sign_off.model_dump(mode="json"),
        **approval,
    }
