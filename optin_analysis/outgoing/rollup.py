"""The ICB roll-up: every practice side by side, from aggregate summaries and history only.

Nothing here reads an extract: the figures are the practices' disclosure-controlled
``summary.json`` files of the period and the history store's earlier periods. ICB totals
are sums of the controlled counts (suppressed counts add nothing), as OpenSAFELY does.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from optin_analysis.config import RunConfig
from optin_analysis.outgoing.disclosure import footnote
from optin_analysis.outgoing.history import History

#: NHS England's prospective-access dashboard: 90% or more of online accounts have access.
ACCESS_REFERENCE = 0.90
COVERAGE_TARGET = 0.95
TOTALS = [
    "eligible", "account_holders_16plus", "opt_in_holders", "revocation_backlog",
    "pending_16_at_risk", "turned_16_automatic", "withheld_pending_opt_in", "open_requests",
]  # fmt: skip


def _flags(h: dict, steps_done: int) -> list[str]:
    """Reasons a practice needs attention, most serious first."""
    flags = []
    if h.get("turned_16_automatic") != 0:
        flags.append("patients turned 16 and got automatic access")
    if h.get("revocation_backlog") != 0 and h.get("projected_clear_status") == "not clearing":
        flags.append("revocation backlog not clearing")
    if h.get("pending_16_at_risk") != 0:
        flags.append("patients turning 16 not protected")
    if h.get("open_requests_over_28_days") != 0:
        flags.append("opt-in requests waiting over 28 days")
    coverage = h.get("protection_coverage_share")
    if coverage is not None and coverage < COVERAGE_TARGET:
        flags.append(f"protection coverage below {COVERAGE_TARGET:.0%}")
    if steps_done < 4:
        flags.append(f"{4 - steps_done} action-plan step(s) not done")
    return flags


def _share(num: int | None, den: int | None) -> float | None:
    return None if num is None or not den else num / den


def _practice_row(summary: dict) -> dict:
    p, h = summary["practice"], summary["headline"]
    steps_done = sum(s["status"] == "done" for s in summary["action_plan"])
    with_access = None
    if h["opt_in_holders_with_account"] is not None and h["revocation_backlog"] is not None:
        with_access = h["opt_in_holders_with_account"] + h["revocation_backlog"]
    flags = _flags(h, steps_done)
    return {
        "ods_code": p["ods_code"], "name": p["name"], "supplier": p["supplier"],
        "model": p["model"], "go_live": p["go_live_status"], "go_live_date": p["go_live_date"],
        **{k: h.get(k) for k in TOTALS},
        "opt_in_share_of_account_holders": h["opt_in_share_of_account_holders"],
        "access_share_of_account_holders": _share(with_access, h["account_holders_16plus"]),
        "protection_coverage_share": h["protection_coverage_share"],
        "open_requests_over_28_days": h["open_requests_over_28_days"],
        "projected_clear": h["projected_clear_date"] or h["projected_clear_status"],
        "steps_done": steps_done, "attention": len(flags), "flags": flags,
    }  # fmt: skip


def _trends(history: History, period: str) -> list[dict]:
    series = history.series(None, period, TOTALS)
    totals = series.groupby(["period", "measure"], as_index=False)["controlled"].sum()
    return [
        {"period": r.period, "measure": r.measure, "value": float(r.controlled)}
        for r in totals.itertuples()
    ]


def build(cfg: RunConfig, period: str, generated: dt.datetime | None = None) -> dict:
    """The roll-up bundle for ``period`` from the summaries and the history store."""
    rows, missing = [], []
    for p in cfg.practices:
        path = cfg.reports_dir / period / p.ods_code / "summary.json"
        if path.is_file():
            rows.append(_practice_row(json.loads(path.read_text(encoding="utf-8"))))
        else:
            missing.append(f"{p.ods_code} {p.name}")
    rows.sort(key=lambda r: (-r["attention"], -(r["revocation_backlog"] or 0), r["ods_code"]))
    frame = pd.DataFrame(rows)
    totals = {k: int(frame[k].fillna(0).sum()) for k in TOTALS} if rows else {}
    with History(cfg.history_path, read_only=True) as history:
        trends = _trends(history, period)
    return {
        "period": period,
        "generated": (generated or dt.datetime.now()).isoformat(timespec="seconds"),
        "practices": rows,
        "missing": missing,
        "totals": totals,
        "trends": trends,
        "references": {"access": ACCESS_REFERENCE},
        "disclosure": {"footnote": footnote(cfg.disclosure)},
    }
