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

from optin_analysis.config import Disclosure, RunConfig
from optin_analysis.outgoing.disclosure import (
    MARK,
    at_least,
    control_count,
    exact_total_is_safe,
    footnote,
    hidden,
    show,
    some,
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
#: ICB totals: the base cells above, then other published figures of each practice (the
#: backlog, month-end states, open requests and the wait tail, those turning 16
#: unprotected), summed as published.
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


#: A backlog projected to clear further off than this is flagged.
FAR_MONTHS = 12


def lower(value: object) -> int:
    """The fewest patients a published figure stands for: "[c]" is at least 1."""
    if value is None or isinstance(value, bool):
        return 0
    return 1 if hidden(value) else int(value)


def _below(value: object, line: float) -> bool:
    return value is not None and not hidden(value) and float(value) < line


def _far_off(h: dict, period: str) -> str | None:
    """Why a backlog will not clear soon (not clearing, a range, or beyond 12 months)."""
    if not some(h.get("revocation_backlog")):
        return None
    status, date, latest = (h.get(k) for k in ("projected_clear_status", "projected_clear_date",
                                               "projected_clear_latest"))  # fmt: skip
    if status == "not clearing":
        return "not clearing at the recent rate"
    if status != "clearing":
        return None
    limit = (pd.Period(period, freq="M") + FAR_MONTHS).end_time.date().isoformat()
    if latest:
        return f"clears between {date} and {latest}: the figures are too small to tell"
    return f"clears by {date}, more than {FAR_MONTHS} months away" if date > limit else None


def _step_words(step: dict, h: dict) -> str:
    """A step's status, with what keeps step 1 open where it is in progress."""
    status = step["status"]
    if step["step"] != 1 or status != "in progress":
        return status
    open_because = []
    if some(h.get("revocation_backlog")):
        open_because.append(f"{show(h['revocation_backlog'])} to revoke")
    if some(h.get("pending_16_at_risk")):
        open_because.append(f"{show(h['pending_16_at_risk'])} turning 16 unprotected")
    return f"{status}: {', '.join(open_because)}" if open_because else status


def urgency(h: dict, steps: list[dict], period: str, reapproval: list[str]) -> dict:
    """How much an opt-in practice needs attention, from its published figures: the
    patients affected (waiting over 28 days, turning 16 unprotected, turned 16 with
    automatic access, a backlog far from clearing; "[c]" counts as 1) and the reasons,
    most serious first, each with its figure."""
    waits = [(d, h.get(f"open_requests_over_{d}_days")) for d in (180, 90, 28)]
    far = _far_off(h, period)
    reasons = []
    if any(some(v) for _, v in waits):
        reasons.append("waiting " + ", ".join(f"over {d} days: {show(v)}" for d, v in waits
                                              if some(v)))  # fmt: skip
    if some(h.get("turned_16_automatic")):
        reasons.append(f"turned 16 with automatic access: {show(h['turned_16_automatic'])}")
    if some(h.get("pending_16_at_risk")):
        reasons.append(f"turning 16 not protected: {show(h['pending_16_at_risk'])}")
    if far:
        reasons.append(f"backlog {show(h['revocation_backlog'])} {far}")
    if _below(h.get("protection_coverage_share"), COVERAGE_TARGET):
        reasons.append(f"protection coverage {show(h['protection_coverage_share'], 'share')} "
                       f"(target {COVERAGE_TARGET:.0%})")  # fmt: skip
    for step, name in zip(steps, STEPS, strict=True):
        if step["step"] != 2 and step["status"] not in ("done", "not applicable"):
            reasons.append(f"{name}: {_step_words(step, h)}")
    reasons += ["DPIA needs re-approval"] if reapproval else []
    affected = (lower(h.get("open_requests_over_28_days")) + lower(h.get("pending_16_at_risk"))
                + lower(h.get("turned_16_automatic"))
                + (lower(h.get("revocation_backlog")) if far else 0))  # fmt: skip
    key = [affected, *(lower(v) for _, v in waits)]
    return {"patients_affected": affected, "reasons": reasons, "key": key}


def default_urgency(h: dict) -> dict:
    """A default-model practice against NHS England's lines: below 90% of account holders
    with access, or more than half of 16+ patients with an active 104."""
    reasons = []
    share = h.get("access_share_of_account_holders")
    if _below(share, ACCESS_REFERENCE):
        reasons.append(f"account holders with access {show(share, 'share')} "
                       f"(NHS England: {ACCESS_REFERENCE:.0%} or more)")  # fmt: skip
    codes = h.get("active_104_share")
    if codes is not None and not hidden(codes) and float(codes) > EXCLUSION_REFERENCE:
        reasons.append(f"16+ with an active 104 {show(codes, 'share')} "
                       f"(action plan above {EXCLUSION_REFERENCE:.0%})")  # fmt: skip
    gap = ACCESS_REFERENCE - float(share) if _below(share, ACCESS_REFERENCE) else 0.0
    return {"patients_affected": 0, "reasons": reasons, "key": [round(gap, 3)]}


def _reapproval(summary: dict) -> list[str]:
    """Why the practice's DPIA needs re-approval (its summary's ``dpia.reapproval``)."""
    again = (summary.get("dpia") or {}).get("reapproval") or {}
    return list(again.get("reasons") or []) if again.get("needed") else []


def practice_row(summary: dict, pcn: str | None = None) -> dict:
    """One practice of the roll-up, from its summary (and its PCN, where known)."""
    p, h = summary["practice"], summary["headline"]
    steps = summary.get("action_plan") or []
    reapproval = _reapproval(summary)
    need = (default_urgency(h) if p["model"] == "default"
            else urgency(h, steps, summary["period"], reapproval))  # fmt: skip
    keys = (
        "opt_in_share_of_account_holders", "protection_coverage_share", "with_access",
        "account_holders_with_access", "access_share_of_eligible",
        "access_share_of_account_holders", "active_104_share",
        "longest_wait_band", "projected_clear_status", "projected_clear_date",
        "projected_clear_latest",
    )  # fmt: skip
    return {
        "ods_code": p["ods_code"], "name": p["name"], "pcn": pcn or p.get("pcn"),
        "supplier": p["supplier"], "model": p["model"], "go_live": summary["status"]["go_live"],
        **{k: h.get(k) for k in TOTALS}, **{k: h.get(k) for k in keys},
        "steps": [_step_words(s, h) for s in steps],
        "attention": len(need["reasons"]), "patients_affected": need["patients_affected"],
        "flags": need["reasons"], "urgency": need["key"],
        "placeholder_codes": summary.get("placeholder_codes", []),
        "dpia_reapproval": reapproval,
    }  # fmt: skip


def ranked(rows: list[dict]) -> list[dict]:
    """Opt-in practices needing attention first, most urgent first (patients affected,
    then the longest waits), then the rest; default-model practices last, those below
    NHS England's lines first; ties by ODS code."""

    def key(r: dict) -> tuple:
        default, flagged = r["model"] == "default", bool(r["flags"])
        return (default, not flagged, [-x for x in r["urgency"]], r["ods_code"])

    return sorted(rows, key=key)


def _total(rows: list[dict], key: str, exact: dict[str, dict] | None, rule) -> dict:
    """An ICB total of ``key``: the exact sum controlled where safe, else published sums."""
    values = [r[key] for r in rows]
    if exact is not None and key in EXACT_TOTALS and all(r["ods_code"] in exact for r in rows):
        controlled = control_count(sum(int(exact[r["ods_code"]][key]) for r in rows), rule)
        if exact_total_is_safe(controlled, values, rule):
            return {"value": controlled, "suppressed": 0, "exact": True}
    lowest, suppressed = at_least(values)
    return {"value": lowest, "suppressed": suppressed, "exact": False}


def _trends(history: History | None, period: str, codes: list[str], totals: dict) -> list[dict]:
    """ICB totals by month from the history store over the practices ``codes``: sums of
    published figures, with how many practices' figures were suppressed; the roll-up's
    own month is its totals, so every total on the page agrees."""
    out = []
    if history is not None:
        series = history.series(None, period, list(TOTALS))
        series = series[series["practice_code"].isin(codes) & (series["period"] < period)]
        for (month, measure), rows in series.groupby(["period", "measure"], sort=True):
            values = [v for v in rows["value"] if v is not None]
            lowest, suppressed = at_least([MARK if hidden(v) else int(v) for v in values])
            out.append({"period": month, "measure": measure, "value": lowest,
                        "suppressed": suppressed, "practices": len(rows)})  # fmt: skip
    out += [{"period": period, "measure": k, "value": t["value"], "suppressed": t["suppressed"],
             "practices": len(codes)} for k, t in totals.items()]  # fmt: skip
    return out


def build(
    summaries: list[dict],
    period: str,
    *,
    history: History | None,
    rule: Disclosure,
    exact: dict[str, dict] | None = None,
    missing: list[dict] | None = None,
    roster: dict[str, dict] | None = None,
    refused: list[dict] | None = None,
    generated: dt.datetime | None = None,
) -> dict:
    """The roll-up bundle for ``period`` from the practices' summaries and the history.

    ``exact``: a run's exact headline figures by practice (exact ICB totals where safe);
    ``missing``: practices that did not report, with the reason; ``roster``: ODS code ->
    name and PCN (the ICB's list of practices); ``refused``: summaries the ICB received
    but could not use, with the reason.
    """
    roster = roster or {}
    rows = ranked([practice_row(s, (roster.get(s["practice"]["ods_code"]) or {}).get("pcn"))
                   for s in summaries])  # fmt: skip
    opt_in = [r for r in rows if r["model"] != "default"]
    totals = {k: _total(opt_in, k, exact, rule) for k in TOTALS} if opt_in else {}
    return {
        "period": period,
        "generated": (generated or dt.datetime.now()).isoformat(timespec="seconds"),
        "software": SOFTWARE,
        "practices": rows,
        "missing": missing or [],
        "refused": refused or [],
        "totals": totals,
        "trends": _trends(history, period, [r["ods_code"] for r in opt_in], totals),
        "references": {
            "access": ACCESS_REFERENCE,
            "exclusion": EXCLUSION_REFERENCE,
            "coverage": COVERAGE_TARGET,
            "far_months": FAR_MONTHS,
        },
        "disclosure": {"footnote": footnote(rule)},
    }


def run_summaries(
    cfg: RunConfig, period: str, failures: dict[str, str] | None = None
) -> tuple[list[dict], list[dict]]:
    """The summaries a run wrote for ``period``, and its practices without one (why)."""
    summaries, missing = [], []
    failures = failures or {}
    for p in cfg.practices:
        path = cfg.reports_dir / period / p.ods_code / "summary.json"
        if path.is_file() and p.ods_code not in failures:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        else:
            reason = failures.get(p.ods_code, "no report for this period")
            missing.append({"ods_code": p.ods_code, "name": p.name, "reason": reason})
    return summaries, missing


def build_for_run(
    cfg: RunConfig,
    period: str,
    generated: dt.datetime | None = None,
    failures: dict[str, str] | None = None,
    exact: dict[str, dict] | None = None,
) -> dict:
    """The roll-up of a run that holds every practice's extracts (a PCN or federation)."""
    summaries, missing = run_summaries(cfg, period, failures)
    roster = {p.ods_code: {"name": p.name, "pcn": p.pcn} for p in cfg.practices}
    with History(cfg.history_path, read_only=True) as history:
        return build(summaries, period, history=history, rule=cfg.disclosure, exact=exact,
                     missing=missing, roster=roster, generated=generated)  # fmt: skip


def frame(bundle: dict) -> pd.DataFrame:
    """The practices of a roll-up bundle as a frame (one row a practice)."""
    return pd.DataFrame(bundle["practices"])
