"""Plain-English commentary for the monthly report, written from the published figures.

Each sentence names a gap the practice must act on, or says it is closed. Every figure a
sentence quotes is a published figure the report shows in its headline table (the
labels are in :data:`optin_analysis.outgoing.summary.LABELS`); a suppressed figure reads
"[c]", never a number, a blank or "no".
"""

from __future__ import annotations

from optin_analysis.config import Model, Practice, Supplier
from optin_analysis.measures.definitions import band_words
from optin_analysis.outgoing.disclosure import hidden, show
from optin_analysis.outgoing.published import BELIEVABLE_MONTHS, Publication


def _n(value: object) -> str:
    return show(value)


def _zero(value: object) -> bool:
    return not hidden(value) and value is not None and int(value) == 0


def _change(now: object, before: object) -> str:
    """' (down from N last month)', ' (unchanged since last month)' or ''."""
    if before is None or hidden(now) or hidden(before) or now is None:
        return ""
    if int(now) == int(before):
        return " (unchanged since last month)"
    return f" ({'down' if int(now) < int(before) else 'up'} from {_n(before)} last month)"


def protection_gap(h: dict) -> str:
    """Patients with no access who neither opted out nor asked: how many are unprotected."""
    den, gap = h["protection_coverage_denominator"], h["unprotected"]
    if _zero(den):
        return "No patient aged 16+ is waiting without access, an opt-out or a request."
    if _zero(gap):
        return (
            f"All {_n(den)} patients aged 16+ without access, an opt-out or an opt-in "
            "request are protected from automatic access."
        )
    return (
        f"{_n(den)} patients aged 16+ have no access, have not opted out and have not asked "
        f"to opt in; {_n(gap)} of them are not protected from automatic access (protection "
        f"coverage {show(h['protection_coverage_share'], 'share')})."
    )


def backlog(h: dict, prev: dict | None, supplier: Supplier) -> str:
    """The revocation backlog, its trend and when it would clear."""
    size = h["revocation_backlog"]
    if _zero(size):
        return "No patient holds automatic full access awaiting review: the backlog is clear."
    who = "account holders" if supplier is Supplier.EMIS else "patients"
    held = (
        f"{_n(size)} {who} still hold automatic full access awaiting review"
        f"{_change(size, prev and prev.get('revocation_backlog'))}"
    )
    status = h["projected_clear_status"]
    if status == "not clearing":
        return f"{held}. {not_clearing_words(h)}"
    return (
        f"{held}; {_n(h['revocations_period'])} were revoked this month. At the recent "
        f"rate it would clear {clear_words(h, in_a_sentence=True)}."
    )


def clear_words(h: dict, in_a_sentence: bool = False) -> str:
    """The projected clear date (or range, or status) in words: "2027-11-30", "2027-11-30
    to 2028-02-29"; ``in_a_sentence``: "by 2027-11-30", "between ... and ..."."""
    status = h.get("projected_clear_status")
    if status == "not clearing":
        return "not clearing at the recent rate"
    if status != "clearing":
        return str(status or "n/a")
    date, latest = h["projected_clear_date"], h.get("projected_clear_latest")
    if in_a_sentence:
        return f"between {date} and {latest}" if latest else f"by {date}"
    return f"{date} to {latest}" if latest else str(date)


def not_clearing_words(h: dict) -> str:
    """Why a backlog is "not clearing": no revocations lately, or too few to clear it
    within :data:`BELIEVABLE_MONTHS` months."""
    rate, window = h.get("revocation_rate_per_month"), h.get("revocation_window_months")
    if rate == 0 or rate is None:
        months = f"the last {window} months" if window else "any complete month yet"
        return f"It is not clearing: no revocations of automatic access in {months}."
    return (
        f"It is not clearing at the recent rate ({show(rate, 'rate')} a month): at that rate "
        f"it would take more than {BELIEVABLE_MONTHS // 12} years."
    )


def dormant(h: dict, supplier: Supplier) -> str:
    """Automatic access without a usable account: exposed once the account is used."""
    count = h["dormant_exposure"]
    if _zero(count):
        return ""
    where = "of them" if supplier is Supplier.TPP else "more patients"
    return (
        f"{_n(count)} {where} hold automatic full access without a usable online "
        "account: activating the account would expose their record."
    )


def waits(h: dict) -> str:
    """Open requests, the late ones and the longest wait."""
    if _zero(h["open_requests"]):
        return "No opt-in request is waiting."
    late, longest = h["open_requests_over_28_days"], h.get("longest_wait_band")
    if _zero(late):
        tail = "none has waited more than 28 days"
    else:
        tail = f"{_n(late)} have waited more than 28 days"
        longer = [(d, h.get(f"open_requests_over_{d}_days")) for d in (90, 180)]
        longer = [f"{_n(v)} over {d} days" for d, v in longer if v is not None and not _zero(v)]
        if longer:
            tail += f" ({' and '.join(longer)})"
        if longest not in (None, "none"):
            tail += f", the longest {band_words(longest)}"
    return f"{_n(h['open_requests'])} opt-in requests are waiting; {tail}."


def sixteen(h: dict) -> str:
    """Patients turning 16 unprotected, and those who turned 16 with automatic access."""
    at_risk, failures = h["pending_16_at_risk"], h["turned_16_automatic"]
    months = h.get("pending_16_horizon_months", 6)
    first = (
        f"Everyone turning 16 in the next {months} months is protected."
        if _zero(at_risk)
        else f"{_n(at_risk)} patients turning 16 in the next {months} months are not yet protected."
    )
    if _zero(failures):
        return first
    return f"{first} {_n(failures)} patients who turned 16 this month hold automatic access."


def uptake(h: dict) -> str:
    """New requests, provisions and opt-in holders."""
    return (
        f"{_n(h['requests_period'])} new opt-in requests this month and "
        f"{_n(h['provisioned_period'])} provisioned; {_n(h['opt_in_holders'])} patients hold "
        f"access through opt-in, {_n(h['opt_in_holders_with_account'])} of them with an online "
        f"account ({show(h['opt_in_share_of_account_holders'], 'share')} of 16+ account "
        "holders)."
    )


def withheld(h: dict) -> str:
    """The number the guidance's last sentence is about."""
    return (
        f"{_n(h['withheld_pending_opt_in'])} patients aged 16+ have neither access nor an "
        "opt-out: the guidance expects them to be given access unless a data-protection "
        "exception applies."
    )


def default_model(h: dict) -> list[str]:
    """What NHS England monitors for a practice on the default model."""
    return [
        f"The practice is on the default model: {show(h['access_share_of_eligible'], 'share')} "
        "of registered patients aged 16+ hold full prospective access.",
        f"{show(h['active_104_share'], 'share')} of patients aged 16+ have an active 104 code "
        "(NHS England asks practices above 50% for an action plan).",
    ]


def data_notes(h: dict) -> list[str]:
    """Where the figures rest on something the practice should fix in its records."""
    notes = []
    if not _zero(h.get("record_disagreements", 0)):
        notes.append(
            f"For {_n(h['record_disagreements'])} patients the coded grants or revocations "
            "disagree with the online account settings; the account settings were used."
        )
    return notes


def sentences(pub: Publication, profile: Practice) -> list[str]:
    """The commentary, one sentence (or two) per gap, from the published figures."""
    h, prev = pub.headline, pub.previous
    if profile.model is Model.DEFAULT:
        return default_model(h) + [withheld(h)] + data_notes(h)
    lines = [
        protection_gap(h),
        backlog(h, prev, profile.supplier),
        dormant(h, profile.supplier),
        waits(h),
        sixteen(h),
        uptake(h),
        withheld(h),
        *data_notes(h),
    ]
    return [line for line in lines if line]
