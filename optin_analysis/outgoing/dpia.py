"""The DPIA risk register: load it, score it the ICO's way, and check mitigations' evidence.

A shipped default (``data/risk-register.yaml``) is copied and edited by the practice.
Scores follow the ICO's sample DPIA template: likelihood (remote, possible, probable)
times severity (minimal, significant, severe), each 1-3; a product of 1-2 is a low risk,
3-4 medium and 6-9 high.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from optin_analysis.config import ConfigError

MARK = "[c]"
DEFAULT_REGISTER = Path(str(files("optin_analysis") / "data" / "risk-register.yaml"))
LIKELIHOOD = {"remote": 1, "possible": 2, "probable": 3}
SEVERITY = {"minimal": 1, "significant": 2, "severe": 3}

#: Measures a mitigation can be tied to: key in the headline figures -> (label, kind).
MEASURES: dict[str, tuple[str, str]] = {
    "revocation_backlog": ("Revocation backlog (patients)", "count"),
    "protection_coverage_share": ("Protection coverage", "share"),
    "pending_16_at_risk": ("Turning 16 within 6 months and not protected", "count"),
    "turned_16_automatic": ("Turned 16 this month and given access automatically", "count"),
    "open_requests_over_28_days": ("Opt-in requests waiting over 28 days", "count"),
    "request_to_provision_p90_days": ("Request to provision, 90th percentile (days)", "days"),
    "opt_in_share_of_account_holders": ("Opt-in access among 16+ account holders", "share"),
    "withheld_pending_opt_in": ("16+ without access and not opted out", "count"),
    "active_104_bulk": ("Active 104 codes added in bulk", "count"),
}


def overall(likelihood: str, severity: str) -> str:
    """ICO overall risk from likelihood and severity."""
    score = LIKELIHOOD[likelihood] * SEVERITY[severity]
    return "low" if score <= 2 else "medium" if score <= 4 else "high"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(Frozen):
    """A target a measure's figure must meet: at most or at least a value."""

    at_most: float | None = None
    at_least: float | None = None

    def met(self, value: float | str | None, hidden_range: tuple[int, int] = (1, 7)) -> bool | None:
        """Whether ``value`` meets the target; None when there is no figure to decide on.

        A suppressed count ("[c]") is any of ``hidden_range``: met when all of them meet
        the target, not met when none does ("[c]" against "at most 0" is not met).
        """
        if value == MARK:
            low, high = (self.met(v) for v in hidden_range)
            return low if low == high else None
        if value is None or pd.isna(value):
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


class Mitigation(Frozen):
    action: str
    measure: str | None = None
    target: Target | None = None
    effect: Literal["eliminated", "reduced", "accepted"]
    residual_risk: Literal["low", "medium", "high"]
    approved: bool

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str | None) -> str | None:
        if value is not None and value not in MEASURES:
            raise ValueError(f"unknown measure {value!r}; use one of: {', '.join(MEASURES)}")
        return value


class Risk(Frozen):
    id: str
    title: str
    likelihood: Literal["remote", "possible", "probable"]
    severity: Literal["minimal", "significant", "severe"]
    mitigations: Annotated[list[Mitigation], Field(min_length=1)]

    @property
    def inherent(self) -> str:
        return overall(self.likelihood, self.severity)


class SignOff(Frozen):
    dpo_advice: str = ""
    approved_by: str = ""
    approved_on: dt.date | None = None
    next_review: dt.date | None = None


class Register(Frozen):
    sign_off: SignOff = SignOff()
    risks: Annotated[list[Risk], Field(min_length=1)]


def load_register(path: Path | None = None) -> Register:
    """Read and validate a risk register; :class:`ConfigError` lists every problem."""
    path = Path(path or DEFAULT_REGISTER)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Register.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError(f"{path}: risk register not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(x) for x in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError(f"{path}: invalid risk register:\n" + "\n".join(lines)) from None


def evidence(register: Register, exact: dict, shown: dict) -> pd.DataFrame:
    """One row per mitigation: the measure, its target, the figure and whether it is met.

    ``exact`` holds the figures that decide met / not met and ``shown`` those printed. For
    outgoing reports both are the disclosure-controlled figures: deciding on exact ones
    would reveal a suppressed count (a "[c]" marked "met" against "at most 5").
    """
    rows = []
    for risk in register.risks:
        for m in risk.mitigations:
            label, kind = MEASURES.get(m.measure, ("", "")) if m.measure else ("", "")
            rows.append(
                {
                    "risk": risk.id,
                    "title": risk.title,
                    "inherent": risk.inherent,
                    "action": m.action,
                    "measure": label,
                    "kind": kind,
                    "target": m.target.describe(kind) if m.target else "",
                    "figure": shown.get(m.measure) if m.measure else None,
                    "met": m.target.met(exact.get(m.measure)) if m.target and m.measure else None,
                    "effect": m.effect,
                    "residual": m.residual_risk,
                    "approved": m.approved,
                }
            )
    return pd.DataFrame(rows)


def register_evidence(register: Register, profile: object, figures: dict) -> dict:
    """The register with each mitigation's evidence, decided on the figures given."""
    rows = evidence(register, figures, figures)
    return {
        "sign_off": register.sign_off.model_dump(mode="json"),
        "evidence": rows.astype(object).where(rows.notna(), None).to_dict(orient="records"),
    }
