"""The guidance's four steps for the practice's supplier and go-live branch, with status.

NHS England, "Implementing an opt-in model" gives four steps for each branch: (1) a
supplier-specific step that stops automatic access, (2) advertise, counsel and provision
on request, (3) update the practice website, (4) write to the ICB. :func:`action_plan`
states each step for the practice's profile with a status worked out from the profile's
dates and the figures it is given, and its evidence in words.

Statuses follow from the figures shown beside them: for an outgoing report those are
the published (disclosure-controlled) figures, where "[c]" is a count from 1 to 7, so
"[c]" against "nothing left" is not done. Rules (each has a hand-worked test):

* [rule step1-emis-live] EMIS, gone live: bulk-add 104s and revoke. Done when the
  supplier setting date (the bulk 104) is on or before D, the backlog is 0 and nobody
  turning 16 is at risk; in progress when the date is set or any revocation was made;
  otherwise not started.
* [rule step1-emis-due] EMIS, due to go live: bulk-add 104s. Done when the date is on or
  before D and nobody turning 16 is at risk; in progress when the date is set.
* [rule step1-setting] EMIS not going live (per-patient global setting), TPP yet to go
  live (preference unticked): done when the setting date is on or before D; in progress
  when it is set for later; otherwise not started.
* [rule step1-tpp-live] TPP, gone live: untick the preference and revoke. Done when the
  date is on or before D and the backlog is 0; in progress when the date is set or any
  revocation was made; otherwise not started.
* [rule step2-continuing] Step 2 is a continuing duty: "on track" when no open request
  has waited over 28 days, "behind" otherwise.
* [rule step-dated] Steps 3 and 4: done when their date is on or before D; otherwise not
  started (a later date is shown as planned).
* [rule default-model] A practice on the default model: every step "not applicable".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.dates import as_timestamp
from optin_analysis.measures.days import DateLike
from optin_analysis.measures.definitions import band_words

DONE = "done"
IN_PROGRESS = "in progress"
NOT_STARTED = "not started"
NOT_APPLICABLE = "not applicable"
ON_TRACK = "on track"
BEHIND = "behind"
MARK = "[c]"  #: a published count from 1 to 7 (see optin_analysis.outgoing.disclosure)

EMIS_PREVENT = (
    "Prevent automatic access: bulk-add the 104 code to all patients without access "
    "(including those soon to turn 16); review account holders already given full "
    "prospective access and revoke it until they opt in"
)
EMIS_PREVENT_DUE = (
    "Prevent automatic access: bulk-add the 104 code to all patients without access "
    "(including those soon to turn 16) before go-live"
)
EMIS_GLOBAL = "Ensure EMIS global settings allow full prospective access per patient"
TPP_UNTICK_REVIEW = (
    "Untick 'By default give prospective access to the full clinical record' in the "
    "organisation preferences; review those already given full prospective access and "
    "revoke it until they opt in"
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

Figures = Mapping[str, Any]
Step = tuple[str, str, str]  # action, status, evidence
StepRule = Callable[[Practice, Figures, pd.Timestamp], Step]


def _text(value: object) -> str:
    if value == MARK or value is None:
        return MARK
    return f"{int(value):,}"


def _zero(value: object) -> bool:
    """A figure known to be 0 ("[c]" is 1 to 7, so never zero)."""
    return value != MARK and value is not None and int(value) == 0


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
    """Done once the setting is made by D and the rest is ``finished``; in progress once
    the setting has a date (or work has ``started``)."""
    if _on_or_before(profile.supplier_setting_date, ref) and finished:
        return DONE
    if profile.supplier_setting_date is not None or started:
        return IN_PROGRESS
    return NOT_STARTED


def _revoked(f: Figures) -> bool:
    return bool(f.get("revocations_made", not _zero(f.get("revocations_cumulative", 0))))


def _step1_emis_live(profile: Practice, f: Figures, ref: pd.Timestamp) -> Step:
    backlog, at_risk = f["revocation_backlog"], f["pending_16_at_risk"]
    evidence = " ".join(
        [
            _setting_words(profile, ref, "104 codes bulk-added"),
            f"Revocation backlog {_text(backlog)}; {_text(at_risk)} patients turning 16 "
            f"within {f['pending_16_horizon_months']} months not protected.",
        ]
    )
    finished = _zero(backlog) and _zero(at_risk)
    return EMIS_PREVENT, _setting_status(profile, ref, finished, _revoked(f)), evidence


def _step1_emis_due(profile: Practice, f: Figures, ref: pd.Timestamp) -> Step:
    at_risk = f["pending_16_at_risk"]
    evidence = (
        f"{_setting_words(profile, ref, '104 codes bulk-added')} {_text(at_risk)} patients "
        f"turning 16 within {f['pending_16_horizon_months']} months not protected."
    )
    return EMIS_PREVENT_DUE, _setting_status(profile, ref, _zero(at_risk)), evidence


def _setting_only(action: str, what: str) -> StepRule:
    def step(profile: Practice, f: Figures, ref: pd.Timestamp) -> Step:
        return action, _setting_status(profile, ref, True), _setting_words(profile, ref, what)

    return step


def _step1_tpp_live(profile: Practice, f: Figures, ref: pd.Timestamp) -> Step:
    backlog = f["revocation_backlog"]
    evidence = (
        f"{_setting_words(profile, ref, 'Preference unticked')} "
        f"Revocation backlog {_text(backlog)}."
    )
    return TPP_UNTICK_REVIEW, _setting_status(profile, ref, _zero(backlog), _revoked(f)), evidence


_STEP_1: dict[tuple[Supplier, GoLiveStatus], StepRule] = {
    (Supplier.EMIS, GoLiveStatus.LIVE): _step1_emis_live,
    (Supplier.EMIS, GoLiveStatus.DUE): _step1_emis_due,
    (Supplier.EMIS, GoLiveStatus.NOT_PLANNED): _setting_only(EMIS_GLOBAL, "Global setting made"),
    (Supplier.TPP, GoLiveStatus.LIVE): _step1_tpp_live,
    (Supplier.TPP, GoLiveStatus.DUE): _setting_only(TPP_UNTICK, "Preference unticked"),
    (Supplier.TPP, GoLiveStatus.NOT_PLANNED): _setting_only(TPP_UNTICK, "Preference unticked"),
}


def _step2(f: Figures) -> Step:
    late = f["open_requests_over_28_days"]
    longest = f.get("longest_wait_band")
    tail = f" (longest wait {band_words(longest)})" if longest not in (None, "none") else ""
    evidence = (
        f"{_text(f['open_requests'])} opt-in requests open, {_text(late)} waiting more than "
        f"28 days{tail}; {_text(f.get('provisioned_period'))} provisioned this month."
    )
    status = ON_TRACK if _zero(late) else f"{BEHIND}: {_text(late)} waiting over 28 days"
    return STEP_2, status, evidence


def _dated_step(action: str, date: dt.date | None, ref: pd.Timestamp, what: str) -> Step:
    if date is None:
        return action, NOT_STARTED, f"{what}: no date recorded."
    if as_timestamp(date) <= ref:
        return action, DONE, f"{what} on {date.isoformat()}."
    return action, NOT_STARTED, f"{what}: planned for {date.isoformat()}, after the report date."


DEFAULT_MODEL_EVIDENCE = (
    "The practice uses the default model (automatic access unless opted out); "
    "the opt-in steps do not apply."
)


def action_plan(profile: Practice, figures: Figures, ref_date: DateLike) -> pd.DataFrame:
    """The four steps with ``step`` (1-4), ``action``, ``status`` and ``evidence``.

    ``figures`` holds the headline figures the statuses are decided on and quoted from:
    exact ones for practice-internal use, the published ones for outgoing reports.
    """
    ref = as_timestamp(ref_date)
    steps: list[Step] = [
        _STEP_1[(profile.supplier, profile.go_live_status)](profile, figures, ref),
        _step2(figures),
        _dated_step(STEP_3, profile.website_updated, ref, "Website updated"),
        _dated_step(STEP_4, profile.icb_informed, ref, "ICB informed"),
    ]
    if profile.model is Model.DEFAULT:
        steps = [(action, NOT_APPLICABLE, DEFAULT_MODEL_EVIDENCE) for action, _, _ in steps]
    action, status, evidence = zip(*steps, strict=True)
    return pd.DataFrame(
        {
            "step": np.arange(1, 5),
            "action": pd.array(action, dtype="str"),
            "status": pd.array(status, dtype="str"),
            "evidence": pd.array(evidence, dtype="str"),
        }
    )
