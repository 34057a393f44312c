"""Plain-English commentary for the monthly report, written from the controlled figures.

Sentences only state what the figures show; they never quote a suppressed count.
"""

from __future__ import annotations

from optin_analysis.outgoing.disclosure import show


def _change(now: int | None, before: int | None, noun: str) -> str:
    if now is None or before is None:
        return ""
    if now == before:
        return f" ({noun} unchanged since last month)"
    direction = "down" if now < before else "up"
    return f" ({direction} from {before:,} last month)"


def _backlog(h: dict, prev: dict | None) -> str:
    backlog = h["revocation_backlog"]
    if backlog == 0:
        return (
            "No account holder still holds automatic full prospective access: "
            "the revocation backlog is clear."
        )
    change = _change(backlog, prev and prev.get("revocation_backlog"), "backlog")
    status = h.get("projected_clear_status")
    if status == "not clearing":
        outlook = "No revocations were made in the last three months, so it is not clearing."
    elif h.get("projected_clear_date"):
        outlook = f"At the recent rate it would clear by {h['projected_clear_date']}."
    else:
        outlook = ""
    held = f"{show(backlog)} account holders still hold automatic access awaiting review"
    return f"{held}{change}. {outlook}".strip()


def _uptake(h: dict) -> str:
    share = h.get("opt_in_share_of_account_holders")
    share_text = f", {share:.1%} of 16+ account holders" if share is not None else ""
    return (
        f"{show(h['requests_period'])} patients asked to opt in this month and "
        f"{show(h['provisioned_period'])} were given access; {show(h['opt_in_holders'])} "
        f"patients hold access through opt-in{share_text}."
    )


def _waiting(h: dict) -> str:
    if h["open_requests"] == 0:
        return "No opt-in request is waiting."
    late = h["open_requests_over_28_days"]
    tail = "none has waited over 28 days" if late == 0 else f"{show(late)} have waited over 28 days"
    return f"{show(h['open_requests'])} opt-in requests are waiting; {tail}."


def _sixteen(h: dict) -> str:
    at_risk, failures = h["pending_16_at_risk"], h["turned_16_automatic"]
    months = h.get("pending_16_horizon_months", 6)
    first = (
        f"Everyone turning 16 in the next {months} months is protected."
        if at_risk == 0
        else f"{show(at_risk)} patients turning 16 in the next {months} months are not "
        "yet protected."
    )
    second = (
        ""
        if failures == 0
        else f" {show(failures)} patients who turned 16 this month received access automatically."
    )
    return first + second


def _withheld(h: dict) -> str:
    return (
        f"{show(h['withheld_pending_opt_in'])} patients aged 16+ have neither access nor an "
        "opt-out: the guidance expects them to be given access unless a data-protection "
        "exception applies."
    )


def sentences(headline: dict, previous: dict | None = None) -> list[str]:
    """The commentary: one sentence (or two) per theme, from controlled figures."""
    return [
        _backlog(headline, previous),
        _uptake(headline),
        _waiting(headline),
        _sixteen(headline),
        _withheld(headline),
    ]
