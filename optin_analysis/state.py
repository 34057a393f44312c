"""Per-patient state as of a reference date: one vectorised frame every measure reads.

:func:`patient_state` answers, for each row of ``patients`` and a reference date ``D``,
who is eligible, who holds access and how they got it, who is protected from automatic
access, who has opted out and whose opt-in request is waiting. Nothing reads the clock.

Rules shared by every function here:

* Events are matched to patients on ``(practice_code, patient_id)`` (on ``patient_id``
  alone when either frame lacks ``practice_code``). Events of patients not in ``patients``
  (for example a patient who left the practice) and events of unknown type are ignored.
* Events dated after ``D`` are ignored, with one documented exception in ``has_access``.
* Same-day ties between two events whose order matters resolve to the more protective
  reading: ``opt_out`` counts as later than ``opt_in_requested``, ``enhanced_review_added``
  as later than ``enhanced_review_removed`` and ``access_revoked`` as later than
  ``access_granted``.
* The 16th birthday is :func:`optin_analysis.dates.anniversary` (29 February -> 1 March).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optin_analysis.config import Practice, Supplier
from optin_analysis.dates import age_on, anniversary, as_timestamp
from optin_analysis.schema import AccessLevel, EventType

DateLike = dt.date | str | pd.Timestamp
#: Events as parallel arrays: (patient position, kind index, day number).
EventArrays = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Day number standing for "no such date" in max-aggregations (it is also numpy's NaT).
MISSING = np.iinfo(np.int64).min
#: Day number standing for "no such date" in min-aggregations.
NEVER = np.iinfo(np.int64).max

KINDS: tuple[EventType, ...] = tuple(EventType)
K_ADDED = KINDS.index(EventType.ENHANCED_REVIEW_ADDED)
K_REMOVED = KINDS.index(EventType.ENHANCED_REVIEW_REMOVED)
K_OPT_OUT = KINDS.index(EventType.OPT_OUT)
K_REQUEST = KINDS.index(EventType.OPT_IN_REQUESTED)
K_COUNSELLED = KINDS.index(EventType.COUNSELLED)
K_DECLINED = KINDS.index(EventType.OPT_IN_DECLINED)
K_GRANTED = KINDS.index(EventType.ACCESS_GRANTED)
K_REVOKED = KINDS.index(EventType.ACCESS_REVOKED)

AWAITING_COUNSELLING = "awaiting counselling"
AWAITING_PROVISIONING = "awaiting provisioning"


def day_number(value: DateLike) -> int:
    """Days since 1970-01-01 of a date (the integer form used internally)."""
    return int(as_timestamp(value).to_datetime64().astype("datetime64[D]").astype(np.int64))


def to_days(values: pd.Series) -> np.ndarray:
    """Day numbers of a date column; NaT becomes :data:`MISSING`."""
    dates = pd.to_datetime(values)
    return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)


def to_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[us]`` array from day numbers; :data:`MISSING` and :data:`NEVER` become NaT."""
    valid = (days != MISSING) & (days != NEVER)
    return np.where(valid, days, MISSING).astype("datetime64[D]").astype("datetime64[us]")


def group_max(pos: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-patient maximum of ``values`` (patients by position); :data:`MISSING` where none."""
    out = np.full(n, MISSING, dtype=np.int64)
    np.maximum.at(out, pos, values)
    return out


def group_min(pos: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-patient minimum of ``values`` (patients by position); :data:`NEVER` where none."""
    out = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(out, pos, values)
    return out


@dataclass(frozen=True)
class Prepared:
    """Patients and their linked events in array form, independent of any reference date.

    ``ev_pos`` is the row position in ``patients`` of each kept event, ``ev_kind`` its
    index in :data:`KINDS`, ``ev_day`` its day number (all dates, also after any ``D``).
    """

    patients: pd.DataFrame
    ev_pos: np.ndarray
    ev_kind: np.ndarray
    ev_day: np.ndarray
    group: np.ndarray
    reg_day: np.ndarray
    dob: pd.Series
    b16_day: np.ndarray
    online: np.ndarray
    acct_day: np.ndarray
    full: np.ndarray
    access_day: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.patients)

    def registered(self, d: int) -> np.ndarray:
        """Registered at day ``d``: registration_date <= D (a missing date is not registered)."""
        return (self.reg_day != MISSING) & (self.reg_day <= d)

    def account_at(self, d: int) -> np.ndarray:
        """online_account and (online_account_date missing or <= day ``d``)."""
        return self.online & ((self.acct_day == MISSING) | (self.acct_day <= d))

    def events_until(self, d: int) -> EventArrays:
        """(pos, kind, day) of the events dated on or before day ``d``."""
        keep = self.ev_day <= d
        return self.ev_pos[keep], self.ev_kind[keep], self.ev_day[keep]


def _key_columns(patients: pd.DataFrame, events: pd.DataFrame) -> list[str]:
    both = "practice_code" in patients.columns and "practice_code" in events.columns
    return ["practice_code", "patient_id"] if both else ["patient_id"]


def _link(patients: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Row position in ``patients`` of each event (-1 when the patient is not there)."""
    n = len(patients)
    key = np.zeros(n + len(events), dtype=np.int64)
    unknown = np.zeros(n + len(events), dtype=bool)
    for col in _key_columns(patients, events):
        both = pd.concat([patients[col], events[col]], ignore_index=True)
        codes, uniques = pd.factorize(both)
        key = key * (len(uniques) + 1) + codes
        unknown |= codes < 0
    index = pd.Index(key[:n])
    if not index.is_unique:
        raise ValueError("patients: a patient_id appears more than once in the same practice")
    pos = index.get_indexer(key[n:])
    return np.where(unknown[n:], -1, pos)


def _practice_groups(patients: pd.DataFrame) -> np.ndarray:
    if "practice_code" not in patients.columns:
        return np.zeros(len(patients), dtype=np.int64)
    return pd.factorize(patients["practice_code"])[0].astype(np.int64)


def prepare(patients: pd.DataFrame, events: pd.DataFrame) -> Prepared:
    """Link events to patients and turn dates into day numbers, once for any number of dates."""
    pos = _link(patients, events)
    codes, uniques = pd.factorize(events["event_type"])
    lookup = np.append(pd.Index([str(k) for k in KINDS]).get_indexer(uniques), -1)
    kind = lookup[codes]  # code -1 (missing type) picks the appended -1
    day = to_days(events["event_date"])
    keep = (pos >= 0) & (kind >= 0) & (day != MISSING)
    dob = pd.to_datetime(patients["date_of_birth"]).reset_index(drop=True)
    return Prepared(
        patients=patients,
        ev_pos=pos[keep].astype(np.int64),
        ev_kind=kind[keep].astype(np.int8),
        ev_day=day[keep],
        group=_practice_groups(patients),
        reg_day=to_days(patients["registration_date"]),
        dob=dob,
        b16_day=to_days(anniversary(dob, 16)),
        online=patients["online_account"].fillna(False).to_numpy(dtype=bool),
        acct_day=to_days(patients["online_account_date"]),
        full=patients["access_level"].eq(AccessLevel.FULL_PROSPECTIVE).fillna(False).to_numpy(bool),
        access_day=to_days(patients["access_start_date"]),
    )


def latest_key(events: EventArrays, n: int, lower: int, upper: int) -> np.ndarray:
    """Per patient, ``2 * day + (kind == upper)`` of the latest event of kind lower or upper.

    On the same day ``upper`` counts as later. :data:`MISSING` where the patient has neither.
    """
    pos, kind, day = events
    keep = (kind == lower) | (kind == upper)
    return group_max(pos[keep], 2 * day[keep] + (kind[keep] == upper), n)


def _latest_is_upper(key: np.ndarray) -> np.ndarray:
    return (key != MISSING) & (key % 2 == 1)


def _first_on_or_after(events: EventArrays, n: int, kind: int, since: np.ndarray) -> np.ndarray:
    """Per patient, first day of ``kind`` on or after ``since`` (NEVER when none or no since)."""
    pos, kinds, day = events
    start = since[pos]
    keep = (kinds == kind) & (start != MISSING) & (day >= start)
    return group_min(pos[keep], day[keep], n)


def _auto_start(prep: Prepared, profile: Practice) -> np.ndarray:
    """max(go-live, account date, 16th birthday); MISSING without go-live or birthday.

    A missing account date does not delay automatic access (it is skipped in the max).
    """
    if profile.go_live_date is None:
        return np.full(prep.n, MISSING, dtype=np.int64)
    go_live = day_number(profile.go_live_date)
    start = np.maximum(np.maximum(prep.acct_day, prep.b16_day), go_live)
    return np.where(prep.b16_day == MISSING, MISSING, start)


def _tpp_setting_protects(profile: Practice, d: int) -> bool:
    date = profile.supplier_setting_date
    return profile.supplier is Supplier.TPP and date is not None and day_number(date) <= d


def access_at(prep: Prepared, profile: Practice, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(has_access, via_opt_in) at day number ``d``; see :func:`patient_state` for the rule."""
    n = prep.n
    upto = prep.events_until(d)
    before = latest_key(upto, n, K_GRANTED, K_REVOKED)
    later = (prep.ev_day > d) & np.isin(prep.ev_kind, (K_GRANTED, K_REVOKED))
    first_later = group_min(
        prep.ev_pos[later], 2 * prep.ev_day[later] + (prep.ev_kind[later] == K_REVOKED), n
    )
    granted = (before != MISSING) & (before % 2 == 0)
    auto_start = _auto_start(prep, profile)
    held_auto = (first_later % 2 == 1) & (auto_start != MISSING) & (auto_start <= d)
    by_level = prep.full & ((prep.access_day == MISSING) | (prep.access_day <= d))
    has_access = np.where(
        before != MISSING, granted, np.where(first_later != NEVER, held_auto, by_level)
    )
    pos, kind, day = upto
    is_req = kind == K_REQUEST
    first_request = group_min(pos[is_req], day[is_req], n)
    via_opt_in = granted & (first_request <= before // 2)
    return has_access, via_opt_in


def _requests(upto: EventArrays, n: int) -> dict[str, np.ndarray]:
    pos, kind, day = upto
    is_req = kind == K_REQUEST
    request = group_max(pos[is_req], day[is_req], n)
    return {
        "request": request,
        "counselled": _first_on_or_after(upto, n, K_COUNSELLED, request),
        "granted": _first_on_or_after(upto, n, K_GRANTED, request),
        "declined": _first_on_or_after(upto, n, K_DECLINED, request),
    }


def _open_requests(req: dict[str, np.ndarray], opted_out: np.ndarray, d: int) -> dict:
    is_open = (
        (req["request"] != MISSING)
        & (req["granted"] == NEVER)
        & (req["declined"] == NEVER)
        & ~opted_out
    )
    stage = np.where(
        req["counselled"] == NEVER, AWAITING_COUNSELLING, AWAITING_PROVISIONING
    ).astype(object)
    stage[~is_open] = None
    wait = pd.array(np.where(is_open, d - req["request"], 0), dtype="Int64")
    wait[~is_open] = pd.NA
    return {"open_request": is_open, "stage": pd.array(stage, dtype="str"), "wait_days": wait}


def state_at(prep: Prepared, profile: Practice, ref_date: DateLike) -> pd.DataFrame:
    """The frame of :func:`patient_state` from an already :func:`prepare`-d input."""
    d = day_number(ref_date)
    n = prep.n
    upto = prep.events_until(d)
    age = age_on(prep.dob, as_timestamp(ref_date))
    registered = prep.registered(d)
    opted_out = _latest_is_upper(latest_key(upto, n, K_REQUEST, K_OPT_OUT))
    review = latest_key(upto, n, K_REMOVED, K_ADDED)
    protected_104 = _latest_is_upper(review)
    has_access, via_opt_in = access_at(prep, profile, d)
    req = _requests(upto, n)
    return pd.DataFrame(
        {
            "patient_id": prep.patients["patient_id"].array,
            "age": age.array,
            "sixteenth_birthday": to_dates(prep.b16_day),
            "registered": registered,
            "eligible": registered & (age >= 16).fillna(False).to_numpy(dtype=bool),
            "account": prep.account_at(d),
            "opted_out": opted_out,
            "protected_104": protected_104,
            "enhanced_review_date": to_dates(np.where(protected_104, review // 2, MISSING)),
            "protected": protected_104 | _tpp_setting_protects(profile, d),
            "request_date": to_dates(req["request"]),
            "counselled_date": to_dates(req["counselled"]),
            "granted_date": to_dates(req["granted"]),
            "declined_date": to_dates(req["declined"]),
            "auto_start": to_dates(_auto_start(prep, profile)),
            "has_access": has_access,
            "via_opt_in": via_opt_in,
            "automatic": has_access & ~via_opt_in,
            **_open_requests(req, opted_out, d),
        },
        index=prep.patients.index,
    )


def patient_state(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> pd.DataFrame:
    """Each patient's state at reference date ``D``, one row per row of ``patients`` (same index).

    Every row is kept; patients with ``registration_date > D`` have ``registered`` False and
    the measures leave them out. Columns:

    * ``age``: whole years attained at D (``dates.age_on``); ``sixteenth_birthday``.
    * ``registered``: registration_date <= D. ``eligible``: registered and age >= 16.
    * ``account``: online_account and (online_account_date is NaT or <= D).
    * ``opted_out``: the latest event <= D among {opt_out, opt_in_requested} is opt_out
      (opted out then opted in: not opted out).
    * ``protected_104``: the latest event <= D among {enhanced_review_added,
      enhanced_review_removed} is enhanced_review_added; ``enhanced_review_date`` is its date.
    * ``protected``: protected_104, or the practice is TPP and its supplier_setting_date
      (preference unticked) is set and <= D: then everybody is protected.
    * ``request_date``: latest opt_in_requested <= D (NaT if none); ``counselled_date``,
      ``granted_date``, ``declined_date``: first counselled / access_granted /
      opt_in_declined on or after request_date and <= D.
    * ``auto_start``: max(go-live date, online_account_date, 16th birthday), NaT when the
      profile has no go-live date (a missing account date is skipped).
    * ``has_access`` (full prospective access held at D): if any access_granted /
      access_revoked event is <= D, the latest decides (granted: True, revoked: False);
      otherwise, if such events exist only after D, the first of them decides: revoked means
      automatic access was held before it, so True iff auto_start <= D; granted: False;
      otherwise access_level == 'full_prospective' and (access_start_date NaT or <= D).
    * ``via_opt_in``: has_access through a deciding access_granted event with an
      opt_in_requested on or before its date. ``automatic``: has_access and not via_opt_in.
    * ``open_request``: request_date set, no granted/declined on or after it (<= D), not
      opted_out. ``stage``: 'awaiting counselling' without counselled_date, else 'awaiting
      provisioning'. ``wait_days``: D - request_date in days (both <NA> when not open).
    """
    return state_at(prepare(patients, events), profile, ref_date)
