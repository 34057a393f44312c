"""The guidance's four steps for the practice's supplier and go-live status, with status.

NHS England, "Implementing an opt-in model" gives four steps: (1) a supplier-specific
step that stops automatic access, (2) advertise, counsel and provision on request,
(3) update the practice website, (4) write to the ICB. :func:`action_plan` states each
step for the practice's profile with a status worked out from the profile's dates and the
headline figures (:func:`optin_analysis.measures.definitions.headline`), and its evidence in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.dates import as_timestamp
from optin_analysis.measures.state import DateLike

DONE = "done"
IN_PROGRESS = "in progress"
NOT_STARTED = "not started"
NOT_APPLICABLE = "not applicable"

EMIS_PREVENT = (
    "Prevent automatic access: bulk-add the 104 code to all patients without access "
    "(incl. soon-16s); review account holders already given full prospective access and "
    "revoke until they opt in"
)
EMIS_PREVENT_DUE = (
    "Prevent automatic access: bulk-add the 104 code to all patients without access "
    "(incl. soon-16s) before go-live"
)
EMIS_GLOBAL = "Ensure EMIS global settings allow full prospective access per patient"
TPP_UNTICK_REVIEW = (
    "Untick 'By default give prospective access to the full clinical record' in the "
    "organisation preferences; review those already given full prospective access and "
    "revoke until they opt in"
)
TPP_UNTICK = (
    "Untick 'By default give prospective access to the full clinical record' in the "
    "organisation preferences"
)
STEP_2 = (
    "Advertise the opt-in model and the NHS App; counsel patients who ask and provision "
    "access manually (registration letters for those without the NHS App)"
)
STEP_3 = "Update the practice website"
STEP_4 = "Write to the ICB to inform it of the approach"

Headline = Mapping[str, Any]
Step = tuple[str, str, str]  # action, status, evidence
StepRule = Callable[[Practice, Headline, Headline, pd.Timestamp], Step]


def _on_or_before(date: dt.date | None, ref: pd.Timestamp) -> bool:
    return date is not None and as_timestamp(date) <= ref


def _setting_words(profile: Practice, ref: pd.Timestamp, what: str) -> str:
    date = profile.supplier_setting_date
    if date is None:
        return f"{what}: no date recorded."
    when = "done on" if as_timestamp(date) <= ref else "planned for"
    return f"{what}: {when} {date.isoformat()}."


def _setting_status(
    profile: Practice, ref: pd.Timestamp, finished: bool, started: bool = False
) -> str:
    """Step 1's status: done once the supplier setting is made by D and the rest is
    ``finished``; in progress once the setting has a date (or work has ``started``)."""
    if _on_or_before(profile.supplier_setting_date, ref) and finished:
        return DONE
    if profile.supplier_setting_date is not None or started:
        return IN_PROGRESS
    return NOT_STARTED


def _step1_emis_live(profile: Practice, h: Headline, s: Headline, ref: pd.Timestamp) -> Step:
    backlog, at_risk = h["revocation_backlog"], h["pending_16_at_risk"]
    revoked = h.get("revocations_cumulative", 0) or 0
    evidence = " ".join(
        [
            _setting_words(profile, ref, "104 codes bulk-added"),
            f"Revocation backlog {s['revocation_backlog']}; "
            f"{s['revocations_cumulative']} revocations to date;",
            f"{s['pending_16_at_risk']} patients turning 16 within "
            f"{h['pending_16_horizon_months']} months "
            "at risk.",
        ]
    )
    status = _setting_status(profile, ref, backlog == 0 and at_risk == 0, started=revoked > 0)
    return EMIS_PREVENT, status, evidence


def _step1_emis_due(profile: Practice, h: Headline, s: Headline, ref: pd.Timestamp) -> Step:
    at_risk = h["pending_16_at_risk"]
    evidence = (
        f"{_setting_words(profile, ref, '104 codes bulk-added')} "
        f"{s['pending_16_at_risk']} patients turning "
        f"16 within {h['pending_16_horizon_months']} months at risk."
    )
    return EMIS_PREVENT_DUE, _setting_status(profile, ref, at_risk == 0), evidence


def _setting_only(action: str, what: str) -> StepRule:
    def step(profile: Practice, h: Headline, s: Headline, ref: pd.Timestamp) -> Step:
        return action, _setting_status(profile, ref, True), _setting_words(profile, ref, what)

    return step


def _step1_tpp_live(profile: Practice, h: Headline, s: Headline, ref: pd.Timestamp) -> Step:
    backlog = h["revocation_backlog"]
    evidence = (
        f"{_setting_words(profile, ref, 'Preference unticked')} "
        f"Revocation backlog {s['revocation_backlog']}."
    )
    return TPP_UNTICK_REVIEW, _setting_status(profile, ref, backlog == 0), evidence


_STEP_1: dict[tuple[Supplier, GoLiveStatus], StepRule]
_STEP_1 = {
    (Supplier.EMIS, GoLiveStatus.LIVE): _step1_emis_live,
    (Supplier.EMIS, GoLiveStatus.DUE): _step1_emis_due,
    (Supplier.EMIS, GoLiveStatus.NOT_PLANNED): _setting_only(EMIS_GLOBAL, "Global setting made"),
    (Supplier.TPP, GoLiveStatus.LIVE): _step1_tpp_live,
    (Supplier.TPP, GoLiveStatus.DUE): _setting_only(TPP_UNTICK, "Preference unticked"),
    (Supplier.TPP, GoLiveStatus.NOT_PLANNED): _setting_only(TPP_UNTICK, "Preference unticked"),
}


def _step2(h: Headline, s: Headline) -> Step:
    requests, provisioned = h["requests_cumulative"], h["provisioned_cumulative"]
    late = h["open_requests_over_28_days"]
    evidence = (
        f"{s['requests_cumulative']} opt-in requests and {s['provisioned_cumulative']} "
        f"provisioned to date; {s['open_requests']} open, "
        f"{s['open_requests_over_28_days']} waiting more than 28 days."
    )
    if provisioned > 0 and late == 0:
        status = DONE
    elif requests > 0:
        status = IN_PROGRESS
    else:
        status = NOT_STARTED
    return STEP_2, status, evidence


def _dated_step(action: str, date: dt.date | None, ref: pd.Timestamp, what: str) -> Step:
    if date is None:
        return action, NOT_STARTED, f"{what}: no date recorded."
    if as_timestamp(date) <= ref:
        return action, DONE, f"{what} on {date.isoformat()}."
    return action, NOT_STARTED, f"{what}: recorded for {date.isoformat()}, after the report date."


def action_plan(
    profile: Practice, headline: Headline, ref_date: DateLike, shown: Headline | None = None
) -> pd.DataFrame:
    """The four steps with ``step`` (1-4), ``action``, ``status`` and ``evidence``.

    Step 1 depends on supplier and go-live status:

    * EMIS live: bulk-add 104s and revoke: done when supplier_setting_date <= D, backlog 0
      and no pending-16 at risk; in progress when the date is set or any revocation was
      made; else not started. EMIS due: the same without the backlog/revocation part.
    * EMIS not planned: per-patient global setting: done iff supplier_setting_date <= D
      (in progress when set for a later date).
    * TPP live: untick the preference and revoke: done when the setting date <= D and
      backlog 0; in progress when the date is set; else not started.
    * TPP due / not planned: untick the preference only (as EMIS not planned).

    Step 2: done when any request was provisioned and no open request waits over 28 days;
    in progress when any request was made; else not started. Step 3: done iff
    website_updated <= D; step 4: done iff icb_informed <= D. A practice on the default
    model gets 'not applicable' for every step.

    Statuses are decided on ``headline`` (exact figures); the evidence quotes ``shown``
    (for outgoing reports: the disclosure-controlled figures as text), else ``headline``.
    """
    ref = as_timestamp(ref_date)
    s = shown if shown is not None else headline
    steps: list[Step] = [
        _STEP_1[(profile.supplier, profile.go_live_status)](profile, headline, s, ref),
        _step2(headline, s),
        _dated_step(STEP_3, profile.website_updated, ref, "Website updated"),
        _dated_step(STEP_4, profile.icb_informed, ref, "ICB informed"),
    ]
    frame = pd.DataFrame(steps, columns=["action", "status", "evidence"]).astype("str")
    frame.insert(0, "step", range(1, 5))
    if profile.model is Model.DEFAULT:
        frame["status"] = NOT_APPLICABLE
        frame["evidence"] = (
            "The practice uses the default model (automatic access unless opted out); "
            "the opt-in steps do not apply."
        )
    return frame
