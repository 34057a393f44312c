"""The ICB roll-up: every practice side by side, from the practices' published figures.

Figures come from the practices' ``summary.json`` files of the period (already under
disclosure control) and the history store's earlier periods; nothing here reads an
extract. ICB totals follow :mod:`optin_analysis.outgoing.disclosure`: the sum of the
practices' published figures, "at least N (K practices suppressed)" when some are
suppressed; or, when the run that wrote them hands over every practice's exact figure,
the exact sum controlled, where that cannot narrow any practice's published figure.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from optin_analysis.config import RunConfig
from optin_analysis.outgoing.disclosure import (
    MARK,
    at_least,
    control_count,
    exact_total_is_safe,
    footnote,
    hidden,
)
from optin_analysis.outgoing.history import History
from optin_analysis.outgoing.summary import SOFTWARE

#: NHS England's dashboard for practices on the default model: 90% of online accounts
#: with access. Its 50% line: practices excluding more than half their patients with 104s
#: are asked for an action plan.
ACCESS_REFERENCE = 0.90
EXCLUSION_REFERENCE = 0.50
COVERAGE_TARGET = 0.95
#: Base cells of every practice summary: the run may total them exactly.
EXACT_TOTALS = (
    "eligible",
    "account_holders_16plus",
    "opt_in_holders",
    "withheld_pending_opt_in",
    "turned_16_automatic",
)
#: ICB totals: base cells above, then figures derived in each practice (sums of parts).
TOTALS = (
    *EXACT_TOTALS,
    "revocation_backlog",
    "dormant_exposure",
    "pending_16_at_risk",
    "open_requests",
    "open_requests_over_28_days",
    "open_requests_over_90_days",
    "open_requests_over_180_days",
)
STEPS = ("Supplier setting", "Advertise, counsel, provision", "Website", "Letter to ICB")


def _some(value: object) -> bool:
    """A published figure that is not zero ("[c]" is 1 to 7)."""
    return hidden(value) or (value is not None and int(value) > 0)


def _below(value: object, line: float) -> bool:
    return value is not None and not hidden(value) and float(value) < line


def _flags(h: dict, steps: list[dict], model: str) -> list[str]:
    """Reasons a practice needs attention, most serious first, from published figures."""
    if model == "default":
        flags = []
        if not hidden(h.get("active_104_share")) and (h.get("active_104_share") or 0) > 0.5:
            flags.append("more than half of patients aged 16+ have an active 104 code")
        return flags
    flags = []
    if _some(h.get("turned_16_automatic")):
        flags.append("patients turned 16 and got automatic access")
    if _some(h.get("revocation_backlog")) and h.get("projected_clear_status") == "not clearing":
        flags.append("revocation backlog not clearing")
    if _some(h.get("pending_16_at_risk")):
        flags.append("patients turning 16 not protected")
    if _some(h.get("open_requests_over_28_days")):
        flags.append("opt-in requests waiting over 28 days")
    if _below(h.get("protection_coverage_share"), COVERAGE_TARGET):
        flags.append(f"protection coverage below {COVERAGE_TARGET:.0%}")
    for step, name in zip(steps, STEPS, strict=True):
        if step["step"] != 2 and step["status"] not in ("done", "not applicable"):
            flags.append(f"{name}: {step['status']}")
    return flags


def _reapproval(summary: dict) -> list[str]:
    """Why the practice's DPIA needs re-approval (its summary's ``dpia.reapproval``)."""
    again = (summary.get("dpia") or {}).get("reapproval") or {}
    return list(again.get("reasons") or []) if again.get("needed") else []


def _practice_row(summary: dict) -> dict:
    p, h = summary["practice"], summary["headline"]
    steps = summary["action_plan"]
    reapproval = _reapproval(summary)
    flags = _flags(h, steps, p["model"]) + (["DPIA needs re-approval"] if reapproval else [])
    keys = (
        "opt_in_share_of_account_holders",
        "protection_coverage_share",
        "access_share_of_eligible",
        "access_share_of_account_holders",
        "active_104_share",
        "longest_wait_band",
        "projected_clear_status",
        "projected_clear_date",
        "projected_clear_latest",
    )
    return {
        "ods_code": p["ods_code"],
        "name": p["name"],
        "supplier": p["supplier"],
        "model": p["model"],
        "go_live": summary["status"]["go_live"],
        **{k: h.get(k) for k in TOTALS},
        **{k: h.get(k) for k in keys},
        "steps": [s["status"] for s in steps],
        "attention": len(flags),
        "flags": flags,
        "placeholder_codes": summary.get("placeholder_codes", []),
        "dpia_reapproval": reapproval,
    }


def _total(rows: list[dict], key: str, exact: dict[str, dict] | None, rule) -> dict:
    """An ICB total of ``key``: the exact sum controlled where safe, else published sums."""
    values = [r[key] for r in rows]
    if exact is not None and key in EXACT_TOTALS and all(r["ods_code"] in exact for r in rows):
        controlled = control_count(sum(int(exact[r["ods_code"]][key]) for r in rows), rule)
        if exact_total_is_safe(controlled, values, rule):
            return {"value": controlled, "suppressed": 0, "exact": True}
    lowest, suppressed = at_least(values)
    return {"value": lowest, "suppressed": suppressed, "exact": False}


def _trends(history: History, period: str, codes: list[str]) -> list[dict]:
    """ICB totals by month from the history store over the practices ``codes``: sums of
    published figures, with how many practices' figures were suppressed."""
    series = history.series(None, period, list(TOTALS))
    series = series[series["practice_code"].isin(codes)]
    out = []
    for (month, measure), rows in series.groupby(["period", "measure"], sort=True):
        values = [v for v in rows["value"] if v is not None]
        lowest, suppressed = at_least([MARK if hidden(v) else int(v) for v in values])
        out.append(
            {
                "period": month,
                "measure": measure,
                "value": lowest,
                "suppressed": suppressed,
                "practices": len(rows),
            }
        )
    return out


def build(
    cfg: RunConfig,
    period: str,
    generated: dt.datetime | None = None,
    failures: dict[str, str] | None = None,
    exact: dict[str, dict] | None = None,
) -> dict:
    """The roll-up bundle for ``period`` from the summaries and the history store.

    ``failures``: practices the run could not report, with the reason; ``exact``: the
    run's exact headline figures by practice (for exact ICB totals where safe).
    """
    rows, missing = [], []
    failures = failures or {}
    for p in cfg.practices:
        path = cfg.reports_dir / period / p.ods_code / "summary.json"
        if path.is_file() and p.ods_code not in failures:
            rows.append(_practice_row(json.loads(path.read_text(encoding="utf-8"))))
        else:
            reason = failures.get(p.ods_code, "no report for this period")
            missing.append({"ods_code": p.ods_code, "name": p.name, "reason": reason})
    rows.sort(key=lambda r: (r["model"] == "default", -r["attention"], r["ods_code"]))
    opt_in = [r for r in rows if r["model"] != "default"]
    with History(cfg.history_path, read_only=True) as history:
        trends = _trends(
            history, period, [p.ods_code for p in cfg.practices if p.model.value != "default"]
        )
    return {
        "period": period,
        "generated": (generated or dt.datetime.now()).isoformat(timespec="seconds"),
        "software": SOFTWARE,
        "practices": rows,
        "missing": missing,
        "totals": {k: _total(opt_in, k, exact, cfg.disclosure) for k in TOTALS} if opt_in else {},
        "trends": trends,
        "references": {
            "access": ACCESS_REFERENCE,
            "exclusion": EXCLUSION_REFERENCE,
            "coverage": COVERAGE_TARGET,
        },
        "disclosure": {"footnote": footnote(cfg.disclosure)},
    }


def frame(bundle: dict) -> pd.DataFrame:
    """The practices of a roll-up bundle as a frame (one row a practice)."""
    return pd.DataFrame(bundle["practices"])
