"""Whether the DPIA's approval still covers the evidence, and what changed since.

An approval covers a state of the evidence: the residual risk of each risk as the
approved DPIA gave it. When the month's evidence puts a risk higher, or the review date
has passed, the DPIA says re-approval is needed and why, in words, and lists what
changed since the approval so that a DPO can re-approve quickly. The result is part of
the DPIA in every summary (``dpia.reapproval``), so the ICB roll-up lists the practice
and the run prints it.

Earlier months' levels are worked out again from each month's published figures in the
history store, with the practice's register as it is now (the store keeps every figure
the DPIA cites, and the counts its shares come from).

Rules (each has a hand-worked test):

* [rule dpia-approved-state] The approved state is the sign-off's
  ``approved_residual_risks`` when it records any; else the levels of the release at the
  approval date (the latest month the history store holds that ended on or before
  ``dpia_approved``); else the approval records no levels, and no risk can be said to
  have risen.
* [rule dpia-reapproval] Re-approval is needed when no approval is recorded; when a risk
  that applies this month is higher than its approved level, or applies now but has no
  approved level while others have; or when the next review date is before the
  reference date.
* [rule dpia-rise-month] A risk "rose" in the first month of the run of consecutive
  months, ending this month, in which its residual was above its approved level. A month
  missing from the history ends the run: the rise is then "by" its first month (the
  history holds no month before it).
* [rule dpia-changes] Since the approval: each risk whose level now differs from its
  approved level, and each measure whose status or evidence (a figure, or whether it
  meets its target) differs from the release at the approval date, when the history
  holds that release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from optin_analysis.config import DpiaSignOff

LEVELS = ("low", "medium", "high")
Evaluate = Callable[[dict], list[dict]]  #: a month's figures -> its risk rows


def _month_end(period: str) -> dt.date:
    return pd.Period(period, freq="M").end_time.date()


def _levels(rows: list[dict]) -> dict[str, str]:
    """The residual of each risk that applies ({id: level})."""
    return {r["id"]: r["residual"] for r in rows if r["residual"] is not None}


def release_at(approved: dt.date | None, periods: list[str]) -> str | None:
    """[rule dpia-approved-state] The latest period that ended on or before ``approved``."""
    if approved is None:
        return None
    ended = [p for p in periods if _month_end(p) <= approved]
    return max(ended) if ended else None


def approved_state(
    sign_off: DpiaSignOff, approved: dt.date | None, levels_by_month: dict[str, dict]
) -> dict:
    """[rule dpia-approved-state] The residual risks the approval covers, and where they
    come from ("configuration", "history" or None), with the release at the approval."""
    release = release_at(approved, list(levels_by_month))
    if sign_off.approved_residual_risks:
        return {"source": "configuration", "levels": dict(sign_off.approved_residual_risks),
                "release": release}  # fmt: skip
    if release is not None:
        return {"source": "history", "levels": dict(levels_by_month[release]), "release": release}
    return {"source": None, "levels": {}, "release": None}


def _above(level: str | None, approved: str) -> bool:
    return level is not None and LEVELS.index(level) > LEVELS.index(approved)


def rise(rid: str, approved: str, now: str, period: str, levels_by_month: dict) -> dict:
    """[rule dpia-rise-month] When ``rid`` rose above ``approved``, in words."""
    month = pd.Period(period, freq="M")
    since, known, seen = period, False, [now]
    while True:
        before = str(month - 1)
        if before not in levels_by_month:
            break
        level = levels_by_month[before].get(rid)
        if not _above(level, approved):
            known = True
            break
        since, month = before, month - 1
        seen.append(level)
    if not known:
        words = f"{rid} rose from {approved} to {now} by {since}"
    elif all(level == now for level in seen):
        words = f"{rid} rose from {approved} to {now} in {since}"
    else:
        words = f"{rid} rose from {approved} to {now} (above {approved} since {since})"
    return {"risk": rid, "approved": approved, "now": now, "since": since, "known": known,
            "words": words}  # fmt: skip


def _review(sign_off: DpiaSignOff, ref: dt.date) -> dict:
    due = sign_off.next_review
    return {
        "next": due.isoformat() if due else None,
        "overdue": bool(due and due < ref),
        "days_overdue": (ref - due).days if due and due < ref else 0,
    }


def reasons(
    approved: dt.date | None,
    state: dict,
    now: dict[str, str],
    period: str,
    levels_by_month: dict,
    review: dict,
) -> tuple[list[str], list[dict]]:
    """[rule dpia-reapproval] Why re-approval is needed (empty: it is not), and the rises."""
    out: list[str] = []
    rises = []
    if approved is None:
        out.append("no approval of this DPIA is recorded")
    levels = state["levels"]
    for rid, level in now.items():
        if rid in levels:
            if _above(level, levels[rid]):
                rises.append(rise(rid, levels[rid], level, period, levels_by_month))
                out.append(rises[-1]["words"])
        elif levels:
            out.append(f"{rid} ({level} this month) is not among the risks approved")
    if review["overdue"]:
        out.append(f"the review due on {review['next']} has passed")
    return out, rises


def _change(e: dict, t: dict | None) -> dict:
    return {"label": e["label"], "kind": e["kind"], "target": e["target"], "note": e["note"],
            "then": None if t is None else t["figure"], "now": e["figure"],
            "then_met": None if t is None else t["met"], "now_met": e["met"]}  # fmt: skip


def _evidence_changes(then: dict | None, now: dict) -> list[dict]:
    """Evidence that moved since ``then`` (a measure at the release at the approval);
    with no release, this month's evidence that is not met or cannot tell."""
    if then is None:
        return [_change(e, None) for e in now["evidence"] if e["met"] is not True]
    return [
        _change(e, t)
        for e, t in zip(now["evidence"], then["evidence"], strict=False)
        if e["figure"] != t["figure"] or e["met"] != t["met"]
    ]


def changes(state: dict, now_rows: list[dict], then_rows: list[dict] | None) -> list[dict]:
    """[rule dpia-changes] Risks and measures that changed since the approval. Without
    the release at the approval, a risk whose level moved lists its measures with
    evidence not met (or that cannot tell) this month."""
    if not state["levels"]:
        return []
    then_by_id = {r["id"]: r for r in then_rows or []}
    out = []
    for risk in now_rows:
        approved, level = state["levels"].get(risk["id"]), risk["residual"]
        measures = []
        earlier = then_by_id.get(risk["id"])
        if earlier is not None:
            for m, t in zip(risk["mitigations"], earlier["mitigations"], strict=False):
                evidence = _evidence_changes(t, m)
                if evidence or m["status"] != t["status"]:
                    measures.append({"action": m["action"], "then": t["status"],
                                     "now": m["status"], "evidence": evidence})  # fmt: skip
        elif approved != level:
            measures = [
                {
                    "action": m["action"],
                    "then": None,
                    "now": m["status"],
                    "evidence": _evidence_changes(None, m),
                }  # fmt: skip
                for m in risk["mitigations"]
                if any(e["met"] is not True for e in m["evidence"])
            ]
        if approved != level or measures:
            out.append({"id": risk["id"], "title": risk["title"], "approved": approved,
                        "now": level, "measures": measures})  # fmt: skip
    return out


def review(
    sign_off: DpiaSignOff,
    approved: dt.date | None,
    ref: dt.date,
    period: str,
    now_rows: list[dict],
    months: dict[str, dict],
    evaluate: Evaluate,
) -> dict:
    """The approval part of a DPIA: the approved state, the review date, whether
    re-approval is needed (with reasons in words) and what changed since the approval.

    ``months``: earlier periods' published figures ({period: figures}); ``evaluate``
    works out a month's risk rows from its figures.
    """
    rows_by_month = {p: evaluate(figures) for p, figures in sorted(months.items())}
    levels_by_month = {p: _levels(rows) for p, rows in rows_by_month.items()}
    now = _levels(now_rows)
    levels_by_month[period] = now
    rows_by_month[period] = now_rows
    state = approved_state(sign_off, approved, levels_by_month)
    due = _review(sign_off, ref)
    why, rises = reasons(approved, state, now, period, levels_by_month, due)
    then_rows = rows_by_month.get(state["release"]) if state["release"] else None
    unknown = any(not r["known"] for r in rises)
    note = ("“By” a month: the first month the history store holds, so the rise may be "
            "earlier." if unknown else "")  # fmt: skip
    return {
        "approved_state": state,
        "review": due,
        "reapproval": {"needed": bool(why), "reasons": why, "rises": rises, "note": note},
        "changes": changes(state, now_rows, then_rows),
    }
