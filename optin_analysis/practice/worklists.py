"""Practice-internal worklists: who needs what done, each list saying who acts and how.

These carry patient identifiers and exact figures. They are for practice staff only and
must never be attached to anything that leaves the practice. Who is on each list is in
:func:`worklists` (each rule tag there has a hand-worked test, listed in
``tests/README.md``); who acts on each list, and how, is :func:`notes`: the first row of
the list's sheet in ``worklists.xlsx``.

The lists follow the practice's model and branch of the guidance:

* opt-in model: ``revoke``, ``protect-16``, ``protect-adults``, ``requests``,
  ``disagreements``;
* default model (``model: default``, which is also how a practice leaving the opt-in
  model is configured): ``give-access``, ``codes-104`` (the active 104s, bulk-added ones
  first, to be cancelled; the others for a clinician to review), ``disagreements``;
  nothing about opting in, revoking or protecting from automatic access;
* a weekly review (``since`` given) adds ``review``, first: what is new since the
  previous review.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import rvgsrust_xlsxwriter as xl

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.dates import as_timestamp
from optin_analysis.ingest.schema import EventType
from optin_analysis.measures.days import MISSING, NEVER, DateLike, group_max, group_min
from optin_analysis.measures.definitions import (
    BULK_104_THRESHOLD,
    DEFAULT_HORIZON_MONTHS,
    backlog_mask,
    coverage_base_mask,
    dormant_mask,
    pending_16_mask,
    withheld_mask,
)
from optin_analysis.measures.state import patient_state
from optin_analysis.measures.timeline import (
    DISAGREEMENTS,
    GIVEN_AGAIN_UNCODED,
    GRANT_NOT_IN_ACCOUNT,
    REVOKE_NOT_IN_ACCOUNT,
)
from optin_analysis.problems import naming

#: The lists, by the name of their CSV file and sheet.
REVIEW, REVOKE, PROTECT_16, PROTECT_ADULTS = "review", "revoke", "protect-16", "protect-adults"
REQUESTS, CODES_104, DISAGREEMENTS_LIST = "requests", "codes-104", "disagreements"
GIVE_ACCESS = "give-access"
OPT_IN_LISTS = (REVOKE, PROTECT_16, PROTECT_ADULTS, REQUESTS, DISAGREEMENTS_LIST)
DEFAULT_LISTS = (GIVE_ACCESS, CODES_104, DISAGREEMENTS_LIST)
#: Every list a run may write, and 0.2.0's protect.csv: one not written again is removed
#: from the folder, so a practice that changed model keeps no list of the other.
KNOWN_LISTS = (*OPT_IN_LISTS, *DEFAULT_LISTS, REVIEW, "protect")
#: Turning 16 within this many weeks is on the weekly review, unless told otherwise.
REVIEW_WEEKS = 4
#: Without an earlier review (nor ``--since``), the review looks back this many days.
FIRST_REVIEW_DAYS = 7

REASON_NO_CODE = "16+, no access, not opted out, no opt-in request, no 104 code"
REASON_NO_SETTING = "16+, no access, not opted out, no opt-in request; setting not made yet"
REASON_TURNING_16 = "turns 16 on "
REASON_BACKLOG = "automatic full access: revoke until the patient opts in"
REASON_DORMANT = "automatic full access, no usable online account: revoke before it is used"
REASON_GIVE = "16+, no full access, not opted out, no active 104 code"

REVOKE_COLUMNS = [
    "patient_id", "nhs_number", "age", "online_account", "online_account_date",
    "access_start_date", "reason",
]  # fmt: skip
PROTECT_16_COLUMNS = ["patient_id", "nhs_number", "age", "sixteenth_birthday", "reason"]
PROTECT_ADULTS_COLUMNS = ["patient_id", "nhs_number", "age", "online_account", "reason"]
REQUEST_COLUMNS = ["patient_id", "nhs_number", "request_date", "stage", "wait_days"]
DISAGREEMENT_COLUMNS = [
    "patient_id", "nhs_number", "access_level", "access_start_date", "disagreement",
    "what_to_do",
]  # fmt: skip
GIVE_ACCESS_COLUMNS = [
    "patient_id", "nhs_number", "age", "online_account", "online_account_date", "reason",
]  # fmt: skip
CODES_104_COLUMNS = ["patient_id", "nhs_number", "age", "code_date", "origin", "what_to_do"]
REVIEW_COLUMNS = ["patient_id", "nhs_number", "age", "item", "date", "detail", "what_to_do"]

#: Where an active 104 came from ([rule code-104-origin]), in the order listed.
BULK, AT_REGISTRATION, INDIVIDUAL = "bulk", "at registration", "individual"
ORIGINS = (BULK, AT_REGISTRATION, INDIVIDUAL)

#: What to do about each kind of record disagreement ([rule disagreement-action]).
DISAGREEMENT_ACTIONS = {
    GRANT_NOT_IN_ACCOUNT: "switch full access on if it was meant; else mark the grant in error",
    REVOKE_NOT_IN_ACCOUNT: "switch full access off if the revocation stands; else mark it in error",
    GIVEN_AGAIN_UNCODED: "if the patient asked, code the grant; if not, switch full access off",
}
#: The same on the default model, where access is the norm.
DEFAULT_DISAGREEMENT_ACTIONS = {
    **DISAGREEMENT_ACTIONS,
    REVOKE_NOT_IN_ACCOUNT: "switch access off if withdrawn for a reason; else mark it in error",
    GIVEN_AGAIN_UNCODED: "if access was given again on purpose, code the grant; else switch it off",
}
#: What to do about a 104 on the default model (and when leaving the opt-in model).
CANCEL_BULK = "add a 106 (in bulk); a 104 again only if a safeguarding reason is recorded"
CLINICIAN_104 = "clinician: keep the 104 only if a reason is recorded, else add a 106"

#: Items of the weekly review, in the order listed ([rule worklist-review]).
NEW_ACCOUNT, NEW_REGISTRANT = "new online account", "new registrant"
NOT_COUNSELLED, TURNING_16 = "request not yet counselled", "turning 16"
REVIEW_ITEMS = (NEW_ACCOUNT, NEW_REGISTRANT, NOT_COUNSELLED, TURNING_16)
EXCEPTION_CHECK = "check for an exception (serious harm, third-party information)"


class Worklists(dict):
    """The lists by name (each a frame), with ``notes``: for each list, who acts and how,
    in a sentence or two (the first row of its sheet in the workbook)."""

    def __init__(self, lists: Mapping[str, pd.DataFrame], notes: Mapping[str, str]):
        super().__init__(lists)
        self.notes = dict(notes)


#: Worklist columns taken from the extract; the others come from the patient state.
FROM_PATIENTS = ("nhs_number", "online_account", "online_account_date", "access_level",
                 "access_start_date")  # fmt: skip


def _rows(
    patients: pd.DataFrame, state: pd.DataFrame, mask: np.ndarray, columns: list[str]
) -> pd.DataFrame:
    """``columns`` of the rows where ``mask`` (state and patients are row-aligned); only
    those rows and columns are copied."""
    at = np.flatnonzero(mask)
    return pd.DataFrame(
        {c: (patients if c in FROM_PATIENTS else state)[c].take(at).array for c in columns}
    )


def _ordered(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, kind="stable").reset_index(drop=True)


def _text(values: object, n: int) -> pd.api.extensions.ExtensionArray:
    """A text column of ``n`` rows: one value repeated, or one per row."""
    if isinstance(values, str):
        values = [values] * n
    return pd.array(np.asarray(values, dtype=object), dtype="str")


def _flag(state: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(state[name], dtype=bool)


def _dates(frame: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(frame[name], dtype="datetime64[us]")


def _iso(dates: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(dates.astype("datetime64[D]"), unit="D")


def codes_protect(profile: Practice) -> bool:
    """Whether 104 codes are what protects at this practice (EMIS live or due to go live);
    elsewhere the supplier setting protects everybody once made ([rule protection-setting])."""
    return profile.supplier is Supplier.EMIS and (
        profile.go_live_status is not GoLiveStatus.NOT_PLANNED
    )


# --------------------------------------------------------------------------- opt-in lists


def _revoke(patients: pd.DataFrame, state: pd.DataFrame, profile: Practice) -> pd.DataFrame:
    backlog = backlog_mask(state, profile.supplier)
    dormant = dormant_mask(state) & ~backlog
    columns = REVOKE_COLUMNS[:-1]
    first = _ordered(
        _rows(patients, state, backlog, columns), ["online_account_date", "patient_id"]
    )
    then = _ordered(_rows(patients, state, dormant, columns), ["patient_id"])
    reasons = [REASON_BACKLOG] * len(first) + [REASON_DORMANT] * len(then)
    out = pd.concat([first, then], ignore_index=True)
    return out.assign(reason=pd.array(reasons, dtype="str"))


def _protect_16(
    patients: pd.DataFrame, state: pd.DataFrame, ref: pd.Timestamp, horizon_months: int
) -> pd.DataFrame:
    unprotected = ~_flag(state, "protected")
    soon = pending_16_mask(state, ref, horizon_months) & unprotected
    out = _ordered(_rows(patients, state, soon, PROTECT_16_COLUMNS[:-1]),
                   ["sixteenth_birthday", "patient_id"])  # fmt: skip
    out["sixteenth_birthday"] = out["sixteenth_birthday"].astype("datetime64[us]")
    reasons = REASON_TURNING_16 + out["sixteenth_birthday"].dt.strftime("%Y-%m-%d")
    return out.assign(reason=pd.array(reasons.tolist(), dtype="str"))


def _protect_adults(patients: pd.DataFrame, state: pd.DataFrame, profile: Practice) -> pd.DataFrame:
    adults = coverage_base_mask(state) & ~_flag(state, "protected")
    out = _ordered(_rows(patients, state, adults, PROTECT_ADULTS_COLUMNS[:-1]), ["patient_id"])
    why = REASON_NO_CODE if codes_protect(profile) else REASON_NO_SETTING
    return out.assign(reason=_text(why, len(out)))


def _requests(patients: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    waiting = (state["registered"] & state["open_request"]).to_numpy(dtype=bool)
    return _ordered(
        _rows(patients, state, waiting, REQUEST_COLUMNS), ["request_date", "patient_id"]
    )


def _disagreements(patients: pd.DataFrame, state: pd.DataFrame, profile: Practice) -> pd.DataFrame:
    found = _flag(state, "registered") & (state["disagreement"] != "").to_numpy()
    out = _ordered(
        _rows(patients, state, found, DISAGREEMENT_COLUMNS[:-1]), ["disagreement", "patient_id"]
    )
    default = profile.model is Model.DEFAULT
    actions = DEFAULT_DISAGREEMENT_ACTIONS if default else DISAGREEMENT_ACTIONS
    by_words = {DISAGREEMENTS[k]: v for k, v in actions.items()}
    return out.assign(what_to_do=_text(out["disagreement"].map(by_words).to_numpy(), len(out)))


# --------------------------------------------------------------------------- 104 codes


def _positions(patients: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Row position in ``patients`` of each event's patient, -1 for none ([rule linking]):
    on practice_code and patient_id (on patient_id alone where a frame has no practice)."""
    pos = np.full(len(events), -1, dtype=np.int64)
    keyed = "practice_code" in patients.columns and "practice_code" in events.columns
    for code, rows in (patients.groupby("practice_code", sort=False).indices.items()
                       if keyed else [(None, np.arange(len(patients)))]):  # fmt: skip
        mine = (events["practice_code"] == code).to_numpy() if keyed else slice(None)
        found = pd.Index(patients["patient_id"].take(rows)).get_indexer(events["patient_id"][mine])
        pos[mine] = np.where(found >= 0, rows[found], -1)
    return pos


def _day_dates(days: np.ndarray, none: int) -> np.ndarray:
    """Day numbers as dates (``datetime64[us]``), NaT where ``none``."""
    return np.where(days == none, np.datetime64("NaT"), days.astype("datetime64[D]")).astype(
        "datetime64[us]"
    )


def code_104_history(
    patients: pd.DataFrame, events: pd.DataFrame, state: pd.DataFrame, ref_date: DateLike
) -> pd.DataFrame:
    """Each patient's latest 104 code on or before D, where it came from, and the 106 that
    cancelled it; one row per row of ``patients`` (same index).

    [rule code-104-origin] For registered patients, from events dated on or before D:
    ``code_date`` is the latest enhanced_review_added (NaT: none). ``origin``: ``bulk``
    when at least 50 registered patients have an enhanced_review_added on that date (as
    [rule bulk-104] counts them); else ``at registration`` when it is dated before the
    registration date (it came with the record from another practice); else
    ``individual``; empty without a 104. ``cancelled_on``: the first
    enhanced_review_removed (106) after it, NaT while it is active (a 106 on the same day
    does not cancel it: on one day the 104 counts as later).
    """
    n = len(patients)
    ref = np.datetime64(as_timestamp(ref_date).date(), "D").astype(np.int64)
    codes = (EventType.ENHANCED_REVIEW_ADDED.value, EventType.ENHANCED_REVIEW_REMOVED.value)
    events = events[events["event_type"].isin(codes).to_numpy()]  # few: matched alone
    dates = events["event_date"]
    known = dates.notna().to_numpy()
    day = np.where(known, dates.to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
                   .astype(np.int64), MISSING)  # fmt: skip
    pos = _positions(patients, events)
    registered = _flag(state, "registered")
    keep = known & (pos >= 0) & (day <= ref)
    keep[keep] = registered[pos[keep]]
    kind = events["event_type"].to_numpy(dtype=object)
    added = keep & (kind == codes[0])
    removed = keep & (kind == codes[1])

    last = group_max(pos[added], day[added], n)
    r_pos, r_day = pos[removed], day[removed]
    after = (last[r_pos] != MISSING) & (r_day > last[r_pos])
    cancelled = group_min(r_pos[after], r_day[after], n)

    pairs = np.unique(day[added] * max(n, 1) + pos[added])  # one per (day, patient)
    days, counts = np.unique(pairs // max(n, 1), return_counts=True)
    bulk_days = days[counts >= BULK_104_THRESHOLD]
    reg = _dates(patients, "registration_date").astype("datetime64[D]").astype(np.int64)
    has = last != MISSING
    before_reg = has & ~np.isnat(_dates(patients, "registration_date")) & (last < reg)
    origin = np.select(
        [~has, np.isin(last, bulk_days), before_reg], ["", BULK, AT_REGISTRATION], INDIVIDUAL
    )
    return pd.DataFrame(
        {
            "code_date": _day_dates(last, MISSING),
            "origin": pd.array(origin.astype(object), dtype="str"),
            "cancelled_on": _day_dates(cancelled, NEVER),
        },
        index=patients.index,
    )


def _codes_104(patients: pd.DataFrame, state: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    active = (codes["origin"] != "").to_numpy() & codes["cancelled_on"].isna().to_numpy()
    merged = pd.concat([state[["patient_id", "age"]], codes], axis=1)
    out = _rows(patients, merged, active, CODES_104_COLUMNS[:-1])
    out = out.assign(_rank=pd.Index(ORIGINS).get_indexer(out["origin"]))
    out = _ordered(out, ["_rank", "code_date", "patient_id"]).drop(columns="_rank")
    bulk = (out["origin"] == BULK).to_numpy()
    return out.assign(what_to_do=_text(np.where(bulk, CANCEL_BULK, CLINICIAN_104), len(out)))


# --------------------------------------------------------------------------- default model


def _give_access(patients: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    give = withheld_mask(state) & ~_flag(state, "protected_104")
    out = _rows(patients, state, give, GIVE_ACCESS_COLUMNS[:-1])
    out = out.assign(_no_account=~out["online_account"].to_numpy(dtype=bool))
    out = _ordered(out, ["_no_account", "online_account_date", "patient_id"])
    return out.drop(columns="_no_account").assign(reason=_text(REASON_GIVE, len(out)))


# --------------------------------------------------------------------------- weekly review


@dataclass(frozen=True)
class _Item:
    """The rows of one item of the review: who (positions), the date of what happened,
    and a detail and action for each (or one for all)."""

    at: np.ndarray
    date: np.ndarray
    detail: np.ndarray | str
    what: np.ndarray | str


@dataclass
class _Review:
    """What every item of a weekly review reads: the patients' flags, the days that
    bound "new" (after ``since``, up to ``ref``) and the practice's branch."""

    patients: pd.DataFrame
    state: pd.DataFrame
    profile: Practice
    ref: np.datetime64
    since: np.datetime64
    f: dict[str, np.ndarray] = field(init=False)  #: each flag of every patient
    default: bool = field(init=False)  #: the practice is on the default model
    fix: str = field(init=False)  #: what protects a patient at this practice

    def __post_init__(self) -> None:
        names = ("registered", "eligible", "account", "has_access", "automatic", "protected",
                 "protected_104", "opted_out", "open_request")  # fmt: skip
        self.f = {name: _flag(self.state, name) for name in names}
        self.f["exposed"] = ~self.f["has_access"] & ~self.f["opted_out"] & ~self.f["protected"]
        self.default = self.profile.model is Model.DEFAULT
        self.fix = ("add a 104 now" if codes_protect(self.profile)
                    else "make the supplier setting (step 1 of the guidance)")  # fmt: skip

    def new(self, dates: np.ndarray) -> np.ndarray:
        """Whether each date falls after the previous review, up to the review's day."""
        return ~np.isnat(dates) & (dates > self.since) & (dates <= self.ref)

    def rows(self, mask: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Positions of ``mask`` and the flags of those rows only (texts are made for the
        rows listed, not for every patient)."""
        at = np.flatnonzero(mask)
        return at, {name: flag[at] for name, flag in self.f.items()}


def _new_accounts(r: _Review) -> _Item:
    """New online accounts that hold, or would get, automatic access."""
    f, acct_date = r.f, _dates(r.patients, "online_account_date")
    account = r.new(acct_date) & f["account"] & f["eligible"]
    if r.default:
        would = ~f["has_access"] & ~f["opted_out"] & ~f["protected_104"]
        at, g = r.rows(account & (f["has_access"] | would))
        detail = np.where(
            g["has_access"], "holds full access", "no access yet: gets it automatically"
        )
        return _Item(at, acct_date[at], detail, EXCEPTION_CHECK)
    at, g = r.rows(account & (f["automatic"] | f["exposed"]))
    detail = np.where(g["automatic"], "holds automatic full access",
                      "not protected: would get automatic access")  # fmt: skip
    what = np.where(g["automatic"], "revoke until the patient opts in (also on revoke)", r.fix)
    return _Item(at, acct_date[at], detail, what)


def _new_registrants(r: _Review, codes: pd.DataFrame) -> _Item:
    """New registrants: whether they hold access, are protected, or arrived with a 104."""
    reg_date = _dates(r.patients, "registration_date")
    at, g = r.rows(r.new(reg_date) & r.f["registered"] & r.f["eligible"])
    code_date = _dates(codes, "code_date")[at]
    arrived = g["protected_104"] & ~np.isnat(code_date) & (code_date < reg_date[at])
    came = "arrived with a 104 dated " + _iso(code_date) + " (from another practice)"
    own_104 = g["protected_104"] & ~arrived
    if r.default:
        conditions = [arrived, g["has_access"], g["opted_out"], own_104]
        detail = np.select(conditions, [came, "holds full access", "opted out",
                                        "has a 104 coded here"],
                           "no access yet: gets it automatically")  # fmt: skip
        what = np.select(conditions, [CLINICIAN_104, EXCEPTION_CHECK, "none", CLINICIAN_104],
                         EXCEPTION_CHECK)  # fmt: skip
        return _Item(at, reg_date[at], detail, what)
    conditions = [arrived, g["automatic"], g["exposed"], g["has_access"], g["opted_out"],
                  own_104]  # fmt: skip
    detail = np.select(conditions, [
        came, "holds automatic full access", "no 104: not protected from automatic access",
        "holds access through opt-in", "opted out", "has a 104 coded here",
    ], "protected by the supplier setting")  # fmt: skip
    what = np.select(conditions, [
        "keep it (it protects); a clinician checks its reason",
        "revoke until the patient opts in (also on revoke)", r.fix, "none",
        "none: opted out", "none: its 104 protects",
    ], "none: the supplier setting protects")  # fmt: skip
    return _Item(at, reg_date[at], detail, what)


def _not_counselled(r: _Review) -> _Item:
    """New opt-in requests not yet counselled."""
    request_date = _dates(r.state, "request_date")
    waiting = (r.f["registered"] & r.f["open_request"]
               & np.isnat(_dates(r.state, "counselled_date")))  # fmt: skip
    at, _ = r.rows(waiting & r.new(request_date))
    days = np.asarray(r.state["wait_days"].take(at).fillna(0), dtype=np.int64)
    detail = "asked " + days.astype(str) + " day(s) ago"
    return _Item(at, request_date[at], detail,
                 "counsel the patient, then code it (also on requests)")  # fmt: skip


def _turning_16(r: _Review, weeks: int) -> _Item:
    """Patients turning 16 in the next ``weeks`` (on the opt-in model, those unprotected)."""
    b16 = _dates(r.state, "sixteenth_birthday")
    horizon = r.ref + np.timedelta64(7 * weeks, "D")
    turning = r.f["registered"] & ~np.isnat(b16) & (b16 > r.ref) & (b16 <= horizon)
    if r.default:
        at, _ = r.rows(turning)
        birthday = "turns 16 on " + _iso(b16[at])
        return _Item(at, b16[at], birthday, "before the birthday: " + EXCEPTION_CHECK)
    at, _ = r.rows(turning & r.f["exposed"])
    before = "add a 104 before the birthday" if codes_protect(r.profile) else (
        "make the supplier setting before the birthday")  # fmt: skip
    birthday = "turns 16 on " + _iso(b16[at]) + ", not protected"
    return _Item(at, b16[at], birthday, before)


def _review(
    patients: pd.DataFrame,
    state: pd.DataFrame,
    codes: pd.DataFrame,
    profile: Practice,
    ref: pd.Timestamp,
    since: pd.Timestamp,
    weeks: int,
) -> pd.DataFrame:
    r = _Review(patients, state, profile, ref.to_datetime64(), since.to_datetime64())
    items = {NEW_ACCOUNT: _new_accounts(r), NEW_REGISTRANT: _new_registrants(r, codes)}
    if not r.default:
        items[NOT_COUNSELLED] = _not_counselled(r)
    items[TURNING_16] = _turning_16(r, weeks)
    parts = []
    merged = state[["patient_id", "age"]]
    for item, it in items.items():
        n = len(it.at)
        mask = np.zeros(len(patients), dtype=bool)
        mask[it.at] = True
        part = _rows(patients, merged, mask, ["patient_id", "nhs_number", "age"])
        parts.append(part.assign(
            item=_text(item, n),
            date=it.date.astype("datetime64[us]"),
            detail=_text(it.detail, n),
            what_to_do=_text(it.what, n),
            _order=REVIEW_ITEMS.index(item),
        ))  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out = _ordered(out, ["_order", "date", "patient_id"]).drop(columns="_order")
    out["date"] = out["date"].astype("datetime64[us]")
    return out[REVIEW_COLUMNS]


# --------------------------------------------------------------------------- the lists


def worklists(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    state: pd.DataFrame | None = None,
    since: DateLike | None = None,
    review_weeks: int = REVIEW_WEEKS,
    since_why: str = "",
) -> Worklists:
    """The practice's worklists at D, each a frame with exact figures and identifiers.

    On the opt-in model:

    * ``revoke``: [rule worklist-revoke] the revocation backlog for the practice's
      supplier ([rule backlog-emis], [rule backlog-tpp]), by online account date, then
      patient_id; then [rule worklist-dormant] the other patients holding automatic access
      without a usable account (dormant exposure), by patient_id; with a ``reason``:
      patient_id, nhs_number, age, online_account, online_account_date, access_start_date,
      reason.
    * ``protect-16``: [rule worklist-protect-16] the pending-16 cohort not protected (16th
      birthday after D and by the end of the ``horizon_months``-th calendar month after
      D's month, [rule pending-16-window]), by birthday: patient_id, nhs_number, age,
      sixteenth_birthday, reason.
    * ``protect-adults``: [rule worklist-protect-adults] 16+ patients without access, not
      opted out, with no opt-in request and not protected (the protection-coverage gap),
      by patient_id: patient_id, nhs_number, age, online_account, reason (no 104 code
      where 104s protect, EMIS live or due; the setting not made yet elsewhere).

      Both protect lists are empty where the supplier setting protects everybody
      ([rule protection-setting]).
    * ``requests``: [rule worklist-requests] open opt-in requests of registered patients,
      oldest first (request_date, then patient_id): patient_id, nhs_number, request_date
      (the episode's first request), stage, wait_days.

    On the default model ([rule worklist-default-model]) instead of those four:

    * ``give-access``: eligible patients without full access, not opted out and without
      an active 104 (the withheld of [rule withheld] less the 104-coded, who are on
      ``codes-104``): account holders first by account date, then the others, each by
      patient_id: patient_id, nhs_number, age, online_account, online_account_date,
      reason.
    * ``codes-104``: [rule worklist-codes-104] registered patients with an active 104 at
      D (not cancelled by a 106), with where it came from ([rule code-104-origin]): bulk
      ones first, then those that came at registration, then individual ones, each by
      code date and patient_id: patient_id, nhs_number, age, code_date, origin,
      what_to_do. A bulk 104 is to be cancelled (a 106, in bulk; a 104 again only where a
      safeguarding reason is recorded), the others reviewed by a clinician (NHS
      England's advice).

    On both:

    * ``disagreements``: [rule worklist-disagreements] record disagreements, registered
      patients whose coded grants or revocations disagree with the extract (the extract
      was used), by disagreement then patient_id, with [rule disagreement-action] what to
      do about each kind: patient_id, nhs_number, access_level, access_start_date,
      disagreement, what_to_do.
    * ``review`` (only when ``since`` is given, and then first): [rule worklist-review]
      what is new after ``since`` up to D, and what falls due soon, a row per item:
      *new online account*: eligible account holders at D whose account date is in
      (since, D] and who hold automatic access or, not protected and not opted out, would
      get it (default model: who hold access, or would get it: not opted out, no active
      104); *new registrant*: eligible patients registered in (since, D], each said with
      the 104 it came with (dated before registering, [rule code-104-origin]) or what
      protects it; *request not yet counselled* (opt-in model): open requests whose
      episode began in (since, D], with no counselling by D; *turning 16*: a 16th birthday
      after D and at most ``review_weeks`` weeks after it, not protected, without access
      and not opted out (default model: all of them). By item in that order, then date,
      then patient_id: patient_id, nhs_number, age, item, date, detail, what_to_do.

    ``state`` is :func:`patient_state` at D when the caller already has it (the batch takes
    it from :func:`~optin_analysis.measures.month.month_measures`), so it is not
    computed twice. The result's ``notes`` say who acts on each list and how
    (``since_why``: where ``since`` came from, said in the review's note).
    """
    if state is None:
        state = patient_state(patients, events, profile, ref_date)
    ref = as_timestamp(ref_date)
    default = profile.model is Model.DEFAULT
    codes = None
    if default or since is not None:
        codes = code_104_history(patients, events, state, ref)
    lists: dict[str, pd.DataFrame] = {}
    if since is not None:
        lists[REVIEW] = _review(patients, state, codes, profile, ref, as_timestamp(since),
                                review_weeks)  # fmt: skip
    if default:
        lists[GIVE_ACCESS] = _give_access(patients, state)
        lists[CODES_104] = _codes_104(patients, state, codes)
    else:
        lists[REVOKE] = _revoke(patients, state, profile)
        lists[PROTECT_16] = _protect_16(patients, state, ref, horizon_months)
        lists[PROTECT_ADULTS] = _protect_adults(patients, state, profile)
        lists[REQUESTS] = _requests(patients, state)
    lists[DISAGREEMENTS_LIST] = _disagreements(patients, state, profile)
    since_ts = None if since is None else as_timestamp(since)
    return Worklists(lists, notes(profile, ref, since_ts, review_weeks, since_why))


# --------------------------------------------------------------------------- who acts, how


def _setting_words(profile: Practice) -> str:
    if profile.supplier is Supplier.TPP:
        return ('untick "By default give prospective access to the full clinical record" '
                "in the organisation preferences")  # fmt: skip
    return "set EMIS's global setting so that full prospective access is given per patient"


def _day(value: object) -> str:
    return as_timestamp(value).date().isoformat()


def notes(
    profile: Practice,
    ref_date: DateLike,
    since: DateLike | None = None,
    review_weeks: int = REVIEW_WEEKS,
    since_why: str = "",
) -> dict[str, str]:
    """For each list the practice gets: who acts on it and how, in a sentence or two (the
    first row of its sheet). Worded for the practice's model and branch of the guidance:
    on the default model nothing about opting in, revoking or protection."""
    setting = profile.supplier_setting_date
    made = setting is not None and as_timestamp(setting) <= as_timestamp(ref_date)
    out: dict[str, str] = {}
    if since is not None:
        why = f" ({since_why})" if since_why else ""
        out[REVIEW] = (
            f"WEEKLY REVIEW as of {_day(ref_date)}: what is new since {_day(since)}{why}, "
            f"and who turns 16 in the next {review_weeks} weeks. "
            "Who: the online-access lead, with a clinician where a row says so. How: work "
            "down the list; each row says what to do (the other sheets list the same patients "
            "where they belong)."
        )
    if profile.model is Model.DEFAULT:
        out[GIVE_ACCESS] = (
            "Who: the online-access lead, with a clinician for exceptions. How: the default "
            "model gives each of these patients full prospective access (GMS contract reg "
            "71ZA) unless an exception applies: information that could cause serious harm, or "
            "third-party information. A clinician decides; where an exception applies, "
            "record why and add a 104. Account holders first: they can use access at once."
        )
        out[CODES_104] = (
            "Who: the practice manager, then a clinician. How (NHS England's advice on bulk "
            "104 codes): add a 106 in bulk to every patient whose 104 was added in bulk, and "
            "reapply a 104 only where a safeguarding reason is recorded; a clinician then "
            "reviews each individual or transferred-in 104, keeping it only where a reason "
            "is recorded, else adding a 106."
        )
    else:
        out[REVOKE] = (
            "Who: the online-access lead. How: for each patient, oldest online account "
            "first, switch full prospective access off in the online account settings and "
            "code the revocation with your local code; then the patients without a usable "
            "account (dormant), before they use it. Each can opt in afterwards."
        )
        if made and not codes_protect(profile):
            nobody = (f"Nobody: the supplier setting made on {_day(setting)} protects every "
                      "patient from automatic access, so no one needs a 104.")  # fmt: skip
            out[PROTECT_16] = out[PROTECT_ADULTS] = nobody
        elif codes_protect(profile):
            out[PROTECT_16] = (
                "Who: the online-access lead or a clinician. How: add the 104 code "
                "(1364731000000104) before each patient's 16th birthday, so that EMIS does "
                "not give access automatically at 16; the patient can opt in from 16."
            )
            out[PROTECT_ADULTS] = (
                "Who: the online-access lead. How: NHS England's opt-in guidance (step 1 for "
                "EMIS practices) says to add the 104 code in bulk to every patient without "
                "access: add it to these patients. A bulk 104 is not an individual assessment "
                "and goes with the patient to a new practice as a false risk flag (DPIA risk "
                "R5): where a clinician can review a patient individually, prefer that."
            )
        else:
            out[PROTECT_16] = out[PROTECT_ADULTS] = (
                f"Who: the practice manager. How: make the supplier setting (step 1 of the "
                f"guidance): {_setting_words(profile)}. It protects everybody at once, so "
                "no bulk 104: until it is made, a clinician reviews a patient individually "
                "and adds a 104 only where a reason is recorded."
            )
        out[REQUESTS] = (
            "Who: the staff who counsel and provision. How: oldest request first: counsel "
            "each patient awaiting counselling (explain what access shows) and code it; for "
            "each patient awaiting provisioning, switch access on and code the grant."
        )
    out[DISAGREEMENTS_LIST] = (
        "Who: the online-access lead. How: the account settings in the extract were used "
        "for every figure; for each patient check the account and correct either the "
        "setting or the code, as what_to_do says."
    )
    return out


class LinkedFolder(OSError):
    """A folder for patient identifiers that is a symbolic link, or leads outside the
    worklists folder; ``filename`` is the folder, ``strerror`` says why, in words."""


def private_folder(root: Path | str, *parts: str, create: bool = True) -> Path:
    """``root/parts...``, the folder for files with patient identifiers; made if needed
    (when ``create``).

    No part below ``root`` (the resolved worklists folder) may be a symbolic link, and the
    folder must lie inside ``root`` once links are followed, so identifiers are never
    written through a link to somewhere else. Raises :class:`LinkedFolder` naming the link.
    """
    root = Path(root)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    folder = root
    for part in parts:
        folder = folder / _safe_part(part, "folder")
        if folder.is_symlink():
            raise LinkedFolder(
                errno.ELOOP,
                f"a symbolic link (to {os.readlink(folder)}); worklists carry patient "
                "identifiers and are never written through a link: put a folder in its place",
                str(folder),
            )
        if create:
            folder.mkdir(exist_ok=True)
    if create and not folder.resolve().is_relative_to(root.resolve()):
        raise LinkedFolder(errno.EXDEV, f"outside the worklists folder {root}", str(folder))
    return folder


def _safe_part(value: str, what: str) -> str:
    if not value or value in {".", ".."} or any(c in value for c in "/\\:"):
        raise ValueError(f"{what} {value!r} cannot be used as a folder name")
    return value


# --- writing: CSV and XLSX, safe to open in a spreadsheet ------------------------------

#: A text cell starting with one of these is a formula to spreadsheet programs (OWASP,
#: "CSV Injection"): such cells get a single quote in front in CSV, and are written as
#: text with Excel's quote prefix (shown without the quote) in XLSX, never as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
RISKY_PATTERN = r"^[=+\-@\t\r]"
TEMP_SUFFIX = ".tmp"  #: temporary files and folders, renamed or removed when complete
DATE_FORMAT = "yyyy-mm-dd"  #: Excel's number format of dates (YYYY-MM-DD)
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")  #: day 0 of Excel's (1900) date system
IN_MEMORY_CELLS = 250_000  #: larger workbooks are written in constant-memory mode


def _risky(text: pa.Array) -> np.ndarray:
    """True for each value a spreadsheet would read as a formula (see FORMULA_START)."""
    starts = pc.match_substring_regex(text, RISKY_PATTERN).fill_null(False)
    return starts.to_numpy(zero_copy_only=False)


def neutralise(text: pd.Series) -> pd.Series:
    """``text`` with a single quote before every value a spreadsheet would run as a formula."""
    values = pa.array(text.astype("str"), type=pa.large_string(), from_pandas=True)
    risky = _risky(values)
    if not risky.any():
        return text
    quoted = pc.if_else(
        risky,
        pc.binary_join_element_wise(
            pa.scalar("'", values.type), values, pa.scalar("", values.type)
        ),
        values,
    )
    return pd.Series(quoted, index=text.index, dtype="str")


def _is_text(column: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
    )


@dataclass(frozen=True)
class Cells:
    """A list as Arrow columns, made once for both files: dates as dates, numbers as
    numbers (missing: null), flags as booleans, text as text; where each text column is
    risky (see :data:`FORMULA_START`), and how long its longest value is."""

    table: pa.Table
    risky: dict[str, np.ndarray]
    longest: dict[str, int]

    def with_flags(self, words: dict[bool, str]) -> pa.Table:
        """The table with its flags as ``words``."""
        table = self.table
        for i, kind in enumerate(table.schema.types):
            if pa.types.is_boolean(kind):
                flags = pc.fill_null(table.column(i), False)
                text = pc.if_else(flags, words[True], words[False]).cast(pa.large_string())
                table = table.set_column(i, table.column_names[i], text)
        return table


#: The first day a spreadsheet holds as a date: a list's earlier date (a typing error in
#: the extract, e.g. 1019 for 2019) makes its column ISO text, in both files, as typed.
FIRST_SHEET_DAY = np.datetime64("1900-01-01")


def cells(frame: pd.DataFrame) -> Cells:
    """``frame`` as :class:`Cells`."""
    columns, risky, longest = {}, {}, {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            days = column.to_numpy().astype("datetime64[D]")
            missing = np.isnat(days)
            if (days[~missing] < FIRST_SHEET_DAY).any():  # not a date to a spreadsheet
                iso = np.datetime_as_string(days, unit="D")
                columns[name] = pa.array(iso, type=pa.large_string(), mask=missing)
                risky[name], longest[name] = np.zeros(len(days), dtype=bool), DATE_WIDTH
            else:
                columns[name] = pa.array(days, type=pa.date32(), mask=missing)
        elif pd.api.types.is_bool_dtype(column):
            columns[name] = pa.array(column.fillna(False).to_numpy(dtype=bool))
        elif pd.api.types.is_numeric_dtype(column):
            columns[name] = pa.array(column, from_pandas=True)
        else:
            values = column.array if column.dtype == "str" else column.astype("str")
            text = pa.array(values, type=pa.large_string(), from_pandas=True)
            columns[name], risky[name] = text, _risky(text)
            longest[name] = pc.max(pc.utf8_length(text)).as_py() or 0
    return Cells(pa.table(columns), risky, longest)


#: How flags read in CSV (as pandas writes them).
CSV_FLAGS = {True: "True", False: "False"}
CSV_OPTIONS = pacsv.WriteOptions(eol="\r\n", quoting_header="none")


def _write_csv(list_cells: Cells, path: Path) -> None:
    """One list as CSV (RFC 4180 line ends, so a CR in a value is quoted): dates as ISO
    text, text cells neutralised (a quote before what would be a formula)."""
    table, risky = list_cells.with_flags(CSV_FLAGS), list_cells.risky
    for name, where in risky.items():
        if where.any():
            text = table[name].combine_chunks()
            quoted = pc.binary_join_element_wise(pa.scalar("'", text.type), text,
                                                 pa.scalar("", text.type))  # fmt: skip
            table = table.set_column(table.column_names.index(name), name,
                                     pc.if_else(where, quoted, text))  # fmt: skip
    pacsv.write_csv(table, path, CSV_OPTIONS)


# --- how a worklist sheet looks: everything besides its cells, in one place -------------

NOTE_ROW, HEADER_ROW, FIRST_DATA_ROW = 0, 1, 2  #: rows of a worklist sheet (from 0)
MIN_WIDTH, MAX_WIDTH = 6, 80  #: column widths, in characters; longer text is cut off
DATE_WIDTH = len("YYYY-MM-DD")
NOTE_LINE_POINTS = 15.0  #: height of one line of the note, in points
BOOL_TEXT = {True: "yes", False: "no"}  #: how flags read in the workbook
FOOTER = "&LPractice internal: patient identifiers, do not send&R&A, page &P of &N"


@dataclass(frozen=True)
class SheetLayout:
    """How one worklist sheet is laid out, whoever writes it.

    * row 1: ``note``, who acts on the list and how, across all columns, wrapped;
    * row 2: the headings, bold, with a filter on each; rows 1-2 and the first column
      (the patient id) stay in view while scrolling (frozen panes);
    * each column as wide as its heading or longest value (NHS numbers and dates whole),
      at most :data:`MAX_WIDTH` characters;
    * text that a spreadsheet would read as a formula is quote-prefixed text (see
      :data:`FORMULA_START`), never a formula;
    * printed landscape on A4, one page wide, rows 1-2 repeated on every page, with a
      footer saying the sheet is practice-internal.
    """

    note: str
    widths: tuple[int, ...]
    data_rows: int

    @property
    def last_column(self) -> int:
        return len(self.widths) - 1

    @property
    def note_lines(self) -> int:
        """Lines the wrapped note takes across the sheet's width (a character of text is
        about one unit of column width)."""
        per_line = max(sum(self.widths), 30)
        return max(1, -(-len(self.note) // per_line))

    @property
    def filter_range(self) -> tuple[int, int, int, int]:
        """(first row, first column, last row, last column) of the filtered table."""
        return HEADER_ROW, 0, HEADER_ROW + self.data_rows, self.last_column


def _width(heading: str, column: pd.Series, longest_text: int | None = None) -> int:
    """Characters a column needs: its heading or longest value, whichever is longer
    (``longest_text``: of a text column, when known)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        longest = DATE_WIDTH
    elif pd.api.types.is_bool_dtype(column):
        longest = max(map(len, BOOL_TEXT.values()))
    elif pd.api.types.is_numeric_dtype(column):
        top = column.abs().max() if len(column) else 0
        longest = len(f"{int(top)}") if pd.notna(top) else 1
    elif longest_text is not None:
        longest = longest_text
    else:
        lengths = pc.utf8_length(pa.array(column.astype("str"), from_pandas=True))
        longest = pc.max(lengths).as_py() or 0
    return min(max(len(str(heading)), longest, MIN_WIDTH) + 2, MAX_WIDTH)


def sheet_layout(
    frame: pd.DataFrame, note: str, longest: dict[str, int] | None = None
) -> SheetLayout:
    """The layout of a list's sheet (see :class:`SheetLayout`); ``longest``: the length of
    the longest value of text columns, where known (:class:`Cells`)."""
    known = longest or {}
    widths = tuple(_width(name, frame[name], known.get(name)) for name in frame.columns)
    return SheetLayout(note, widths, len(frame))


def _formats(book: xl.Workbook) -> dict:
    note = book.add_format().set_text_wrap().set_vertical_align("top").set_bold()
    return {
        "note": note.set_background_color("#FFF2CC").set_pattern("solid"),
        "heading": book.add_format().set_bold().set_bottom_border("thin"),
        "date": book.add_format().set_num_format(DATE_FORMAT).set_align("left"),
        "number": book.add_format().set_align("left"),
        "quoted": book.add_format().set_quote_prefix(),
    }


def _apply_layout(sheet: xl.Worksheet, layout: SheetLayout, formats: dict) -> None:
    """Write the note row and set everything of :class:`SheetLayout` but the headings."""
    for col, width in enumerate(layout.widths):
        sheet.set_column_width(col, width)
    sheet.set_row_height(NOTE_ROW, NOTE_LINE_POINTS * layout.note_lines + 3)
    if layout.last_column > 0:
        sheet.merge_range(NOTE_ROW, 0, NOTE_ROW, layout.last_column, layout.note,
                          formats["note"])  # fmt: skip
    else:
        sheet.write(NOTE_ROW, 0, layout.note, formats["note"])
    sheet.freeze_panes(FIRST_DATA_ROW, 1)
    sheet.autofilter(*layout.filter_range)
    sheet.set_landscape()
    sheet.set_paper_size(9)  # A4
    sheet.set_print_fit_to_pages(1, 0)
    sheet.set_repeat_rows(NOTE_ROW, HEADER_ROW)
    sheet.set_footer(FOOTER)


def _write_sheet(
    book: xl.Workbook, formats: dict, name: str, frame: pd.DataFrame, note: str = "",
    constant_memory: bool = False, list_cells: Cells | None = None,
) -> None:  # fmt: skip
    """One list as a worksheet laid out by :func:`sheet_layout`: its rows written from
    Arrow columns (``list_cells``, made from ``frame`` if not given), in order
    (constant-memory mode needs that), a row with a risky text cell on its own, that cell
    quote-prefixed."""
    list_cells = list_cells or cells(frame)
    sheet = book.add_worksheet(name[:31], constant_memory)
    _apply_layout(sheet, sheet_layout(frame, note, list_cells.longest), formats)
    sheet.write_row(HEADER_ROW, 0, [str(c) for c in frame.columns], formats["heading"])
    table, risky = list_cells.with_flags(BOOL_TEXT), list_cells.risky
    plain = {c: formats[kind] for c, t in zip(table.column_names, table.schema.types, strict=True)
             if (kind := _number_kind(t))}  # fmt: skip
    flagged = np.flatnonzero(np.logical_or.reduce([*risky.values(), np.zeros(len(frame), bool)]))
    start = 0
    for stop in [*flagged.tolist(), len(frame)]:
        rows = [(start, stop - start, plain)] if stop > start else []
        if stop < len(frame):
            quoted = {c: formats["quoted"] for c, where in risky.items() if where[stop]}
            rows.append((stop, 1, {**plain, **quoted}))
        for first, count, cell_formats in rows:
            sheet.write_dataframe(FIRST_DATA_ROW + first, 0, table.slice(first, count),
                                  write_header=False, column_formats=cell_formats)  # fmt: skip
        start = stop + 1


def _number_kind(kind: pa.DataType) -> str | None:
    """The format of a column's cells: dates as dates, numbers aligned left, text none."""
    if pa.types.is_date(kind):
        return "date"
    return "number" if pa.types.is_integer(kind) or pa.types.is_floating(kind) else None


def _write_xlsx(
    lists: Mapping[str, pd.DataFrame], path: Path, made: Mapping[str, Cells] | None = None
) -> None:
    """Every list as a sheet of one workbook: real dates (YYYY-MM-DD), text never a formula,
    the first row saying who acts and how (``lists.notes``, when ``lists`` is a
    :class:`Worklists`). Written with rust_xlsxwriter (the ``rvgsrust-xlsxwriter``
    bindings) from Arrow columns (``made``: each list's :class:`Cells`, where already made),
    into the file at ``path`` by Python (so a full disk is an ``OSError`` naming it).

    A workbook of up to :data:`IN_MEMORY_CELLS` cells is built in memory; a larger one in
    constant-memory mode, whose temporary files (they hold identifiers) go to a private
    folder beside ``path``, removed at the end, never to the system's temporary folder.
    (The writer also opens an unnamed, empty temporary file there for each sheet: without
    a usable temporary folder it fails.) A panic of the writer is a ``RuntimeError``, so
    it fails this practice only.
    """
    cells = sum(frame.size for frame in lists.values())
    notes = getattr(lists, "notes", {})
    scratch = None
    try:
        book = xl.Workbook()
        if cells > IN_MEMORY_CELLS:
            scratch = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.",
                                       suffix=TEMP_SUFFIX)  # fmt: skip
            book.set_tempdir(scratch)
        formats = _formats(book)
        for name, frame in lists.items():
            _write_sheet(book, formats, name, frame, notes.get(name, ""), scratch is not None,
                         (made or {}).get(name))  # fmt: skip
        _save(book, path)
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":  # pyo3's: not an Exception
            raise RuntimeError(f"the workbook writer failed: {exc}") from exc
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _save(book: xl.Workbook, path: Path) -> None:
    """The workbook's bytes into the (private, already created) file at ``path``."""
    data = book.save_to_buffer()
    with open(path, "wb") as handle:
        handle.write(data)


def _temp_beside(final: Path) -> Path:
    handle, name = tempfile.mkstemp(
        dir=final.parent, prefix=f".{final.name}.", suffix=TEMP_SUFFIX
    )  # mode 0600: worklists carry identifiers
    os.close(handle)
    return Path(name)


Pending = list[tuple[Path, Path]]  #: (complete temporary file, final name) pairs


def stage_worklists(
    lists: Mapping[str, pd.DataFrame], out_dir: Path | str, practice_code: str, period: str
) -> Pending:
    """Write every worklist file under a temporary name beside its final name.

    Returns (temporary, final) pairs, all complete, for :func:`commit_worklists` (or
    :func:`discard_worklists`); on a failure nothing is left behind.
    """
    folder = private_folder(out_dir, _safe_part(period, "period"),
                            _safe_part(practice_code, "practice"))  # fmt: skip
    pending: Pending = []
    made = {name: cells(frame) for name, frame in lists.items()}  # once, for both files
    try:
        for name in lists:
            final = folder / f"{_safe_part(name, 'worklist name')}.csv"
            with naming(final):
                pending.append((_temp_beside(final), final))
                _write_csv(made[name], pending[-1][0])
        book = folder / "worklists.xlsx"
        with naming(book):
            pending.append((_temp_beside(book), book))
            _write_xlsx(lists, pending[-1][0], made)
    except BaseException:
        discard_worklists(pending)
        raise
    return pending


def commit_worklists(pending: Pending) -> list[Path]:
    """Rename staged worklist files into place, and remove any list of an earlier run
    this one did not write (:data:`KNOWN_LISTS`); returns the final paths."""
    for temp, final in pending:
        temp.replace(final)
    written = [final for _, final in pending]
    for folder in {path.parent for path in written}:
        for name in KNOWN_LISTS:
            if (old := folder / f"{name}.csv") not in written:
                old.unlink(missing_ok=True)
    return written


def discard_worklists(pending: Pending) -> None:
    """Remove staged worklist files that will not be used."""
    for temp, _ in pending:
        temp.unlink(missing_ok=True)


def write_worklists(
    lists: Mapping[str, pd.DataFrame], out_dir: Path | str, practice_code: str, period: str
) -> list[Path]:
    """Write ``<out_dir>/<period>/<practice_code>/<name>.csv`` and ``worklists.xlsx``.

    One CSV per list and one workbook with a sheet per list. Every file is first written
    to a temporary file (mode 0600) in the same folder and renamed into place only once
    all of them are complete, so a failure leaves the earlier files intact and no
    half-written file. Cells a spreadsheet would read as formulas are neutralised
    (:data:`FORMULA_START`). Returns the paths written.
    """
    return commit_worklists(stage_worklists(lists, out_dir, practice_code, period))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove what a killed run left in ``<worklists>/<period>``: temporary files and
    folders (``.*.tmp``) in its practices' folders. Returns what was removed."""
    stale = sorted(Path(folder).glob(f"*/.*{TEMP_SUFFIX}")) if Path(folder).is_dir() else []
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale
