"""The DPIA: the practice's narrative, its risk register, and this month's evidence.

Follows the ICO's sample DPIA template, steps 1 to 7. Steps 1-4 are the practice's own
words (``data/dpia-narrative.yaml``, copied and edited; ``dpia_narrative:`` points at
the copy), filled with the practice's published figures. Steps 5-6 are the risk register
(``data/risk-register.yaml``; ``risk_register:``), scored the ICO's way and evaluated
against the month's published figures. Step 7 is the sign-off from the run
configuration (``dpia_sign_off:``).

Rules (each has a hand-worked test):

* [rule dpia-score] Likelihood (remote 1, possible 2, probable 3) times severity (minimal
  1, significant 2, severe 3) gives the overall (inherent) risk: 1-2 low, 3-4 medium, 6-9
  high (our reading of the ICO's 3 x 3 matrix).
* [rule dpia-met] A target is met when the published figure meets it; a suppressed count
  ("[c]": 1 to the run's suppression threshold, 7 by default) meets it only if every such
  value would, and misses it if none would ("[c]" against "at most 0" is not met);
  otherwise it cannot be shown.
* [rule dpia-residual] A mitigation whose evidence meets every target this month earns
  the register's residual risk; one that misses a target, or cannot show it met, leaves
  the risk at its inherent level, flagged. A risk's residual is the highest of its
  mitigations'.
* [rule dpia-applies] A risk or mitigation listed for other branches of the guidance is
  "not applicable", with the register's reason.
* [rule dpia-article-36] A risk whose residual is high this month is named: accepting it
  requires prior consultation with the ICO (UK GDPR Article 36).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from optin_analysis.config import ConfigError, GoLiveStatus, Practice, Supplier

MARK = "[c]"
Hidden = tuple[int, int]  #: the counts a suppressed "[c]" can stand for
DATA = Path(str(files("optin_analysis") / "data"))
DEFAULT_REGISTER = DATA / "risk-register.yaml"
DEFAULT_NARRATIVE = DATA / "dpia-narrative.yaml"
LIKELIHOOD = {"remote": 1, "possible": 2, "probable": 3}
SEVERITY = {"minimal": 1, "significant": 2, "severe": 3}
LEVELS = ("low", "medium", "high")
BRANCHES = ("emis-live", "emis-due", "emis-not-going-live", "tpp-live", "tpp-not-live")
BRANCH_WORDS = {
    "emis-live": "EMIS, gone live: 104 codes bulk-added, automatic access reviewed and revoked",
    "emis-due": "EMIS, due to go live: 104 codes bulk-added before go-live",
    "emis-not-going-live": "EMIS, not going live: global setting allows access per patient",
    "tpp-live": "TPP, gone live: default prospective access unticked, access reviewed",
    "tpp-not-live": "TPP, yet to go live: default prospective access unticked",
}

#: Measures evidence can cite: key in the published headline -> (label, kind).
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
}


def overall(likelihood: str, severity: str) -> str:
    """[rule dpia-score] The overall risk from likelihood and severity."""
    score = LIKELIHOOD[likelihood] * SEVERITY[severity]
    return "low" if score <= 2 else "medium" if score <= 4 else "high"


def branch_key(profile: Practice) -> str:
    """The practice's branch of the guidance, as the register names it."""
    if profile.supplier is Supplier.TPP:
        return "tpp-live" if profile.go_live_status is GoLiveStatus.LIVE else "tpp-not-live"
    return {GoLiveStatus.LIVE: "emis-live", GoLiveStatus.DUE: "emis-due"}.get(
        profile.go_live_status, "emis-not-going-live"
    )


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(Frozen):
    """A target a measure's figure must meet: at most or at least a value."""

    at_most: float | None = None
    at_least: float | None = None

    def met(
        self, value: object, kind: str = "count", hidden_range: tuple[int, int] = (1, 7)
    ) -> bool | None:
        """[rule dpia-met] Whether ``value`` meets the target; None when it cannot be shown.

        A suppressed count is any of ``hidden_range``; a suppressed share or number of days
        could be anything.
        """
        if value == MARK:
            if kind != "count":
                return None
            low, high = (self.met(v) for v in hidden_range)
            return low if low == high else None
        if value is None or value != value:
            return None
        ok_max = self.at_most is None or value <= self.at_most
        ok_min = self.at_least is None or value >= self.at_least
        return bool(ok_max and ok_min)

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
    risks: Annotated[list[Risk], Field(min_length=1)]


class Section(Frozen):
    title: str
    text: str = ""
    parts: dict[str, str] = {}
    sources: list[str] = []


class Narrative(Frozen):
    sources: dict[str, str]
    sections: dict[str, Section]

    @field_validator("sections")
    @classmethod
    def _all_steps(cls, value: dict[str, Section]) -> dict[str, Section]:
        missing = [s for s in ("need", "processing", "consultation", "necessity") if s not in value]
        if missing:
            raise ValueError(f"missing section(s) {missing} (the ICO template's steps 1-4)")
        return value


def _load(path: Path, model: type[BaseModel], what: str) -> BaseModel:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return model.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(x) for x in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError(f"{path}: invalid {what}:\n" + "\n".join(lines)) from None


def load_register(path: Path | None = None) -> Register:
    """Read and validate a risk register; :class:`ConfigError` lists every problem."""
    return _load(Path(path or DEFAULT_REGISTER), Register, "risk register")


def load_narrative(path: Path | None = None) -> Narrative:
    """Read and validate a DPIA narrative; :class:`ConfigError` lists every problem."""
    narrative = _load(Path(path or DEFAULT_NARRATIVE), Narrative, "DPIA narrative")
    unknown = {s for sec in narrative.sections.values() for s in sec.sources} - set(
        narrative.sources
    )
    if unknown:
        raise ConfigError(f"{path or DEFAULT_NARRATIVE}: sections cite unknown sources {unknown}")
    return narrative


# --------------------------------------------------------------------------- evaluation


def _highest(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index)


def _evidence(item: Evidence, figures: dict, history: dict[str, list], hidden: Hidden) -> dict:
    label, kind = MEASURES[item.measure]
    value = figures.get(item.measure)
    return {
        "measure": item.measure, "label": label, "kind": kind,
        "target": item.target.describe(kind), "figure": value,
        "met": item.target.met(value, kind, hidden), "history": history.get(item.measure, []),
    }  # fmt: skip


def _applies(applies_to: list[str] | None, branch: str) -> bool:
    return applies_to is None or branch in applies_to


def _mitigation(
    m: Mitigation, risk: Risk, branch: str, figures: dict, history: dict, hidden: Hidden
) -> dict:
    """[rule dpia-residual], [rule dpia-applies] for one mitigation."""
    out = {"action": m.action, "effect": m.effect, "approved": m.approved,
           "register_residual": m.residual_risk}  # fmt: skip
    if not _applies(m.applies_to, branch):
        return out | {"status": "not applicable", "why": m.not_applicable, "residual": None,
                      "evidence": []}  # fmt: skip
    evidence = [_evidence(e, figures, history, hidden) for e in m.evidence]
    met = [e["met"] for e in evidence]
    if all(v is True for v in met):
        status, residual = "effective this month", m.residual_risk
    elif any(v is False for v in met):
        status, residual = "mitigation not effective this month", risk.inherent
    else:
        status, residual = "cannot be shown effective this month", risk.inherent
    return out | {"status": status, "why": "", "residual": residual, "evidence": evidence}


def evaluate(
    register: Register, profile: Practice, figures: dict, history: dict, hidden: Hidden = (1, 7)
) -> list[dict]:
    """Each risk with its score, its mitigations' evidence and this month's residual risk.

    ``figures`` are the published headline figures; ``history`` the last six months of
    each measure (``[(period, value), ...]``); ``hidden``: the counts a "[c]" can stand
    for under the run's disclosure rule.
    """
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
            _mitigation(m, risk, branch, figures, history, hidden) for m in risk.mitigations
        ]
        levels = [m["residual"] for m in mitigations if m["residual"] is not None]
        rows.append(base | {"applies": bool(levels), "why": "" if levels else
                            "None of its mitigations applies to this branch.",
                            "residual": _highest(levels) if levels else None,
                            "mitigations": mitigations})  # fmt: skip
    return rows


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, values: dict) -> str:
    """``text`` with {placeholders} replaced (unknown ones left as they are)."""
    return text.format_map(_Fill(values))


def narrative_sections(narrative: Narrative, values: dict) -> list[dict]:
    """Steps 1-4 in order, filled, each with the sources it cites (in words)."""
    return [
        {
            "key": key,
            "title": section.title,
            "text": fill(section.text, values),
            "parts": [
                {"heading": h, "text": fill(body, values)} for h, body in section.parts.items()
            ],
            "sources": [narrative.sources[s] for s in section.sources],
        }  # fmt: skip
        for key, section in narrative.sections.items()
    ]


def _placeholders(profile: Practice, bundle: dict) -> dict:
    from optin_analysis.outgoing.disclosure import show

    h = bundle["headline"]
    return {
        "practice": profile.name, "ods_code": profile.ods_code,
        "supplier": profile.supplier.value.upper(), "branch": BRANCH_WORDS[branch_key(profile)],
        "go_live": bundle["status"]["go_live"], "extract_date": profile.extract_date.isoformat(),
        "period": bundle["period"], "eligible": show(h["eligible"]),
        "account_holders": show(h["account_holders_16plus"]),
        "opt_in_holders": show(h.get("opt_in_holders")),
        "dpia_approved": profile.dpia_approved.isoformat() if profile.dpia_approved else
        "not recorded",
    }  # fmt: skip


def dpia(profile: Practice, bundle: dict, history: dict | None = None) -> dict:
    """The DPIA part of a practice-month bundle: narrative, risks with evidence, sign-off."""
    register = load_register(profile.risk_register)
    narrative = load_narrative(profile.dpia_narrative)
    rule = bundle.get("disclosure", {})
    hidden = (1, int(rule.get("redact_at_or_below", 7)))  # what "[c]" stands for in this run
    risks = evaluate(register, profile, bundle["headline"], history or {}, hidden)
    return {
        "approved": profile.dpia_approved.isoformat() if profile.dpia_approved else None,
        "branch": BRANCH_WORDS[branch_key(profile)],
        "narrative": narrative_sections(narrative, _placeholders(profile, bundle)),
        "risks": risks,
        "article_36": [r["id"] for r in risks if r["residual"] == "high"],
        "sign_off": profile.dpia_sign_off.model_dump(mode="json"),
    }
