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

import contextlib
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optin_analysis.config import Practice, Supplier
from optin_analysis.dates import as_timestamp
from optin_analysis.ingest.schema import AccessLevel, EventType

DateLike = dt.date | str | pd.Timestamp
#: Events as parallel arrays: (patient position, kind index, day number).
EventArrays = tuple[np.ndarray, np.ndarray, np.ndarray]
#: The columns of :func:`patient_state` as numpy arrays (see :func:`state_arrays`).
StateArrays = dict[str, np.ndarray]

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
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        values = pd.to_datetime(values)
    return values.to_numpy(dtype="datetime64[D]").astype(np.int64)


def to_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[us]`` array from day numbers; :data:`MISSING` and :data:`NEVER` become NaT."""
    valid = (days != MISSING) & (days != NEVER)
    return np.where(valid, days * 86_400_000_000, MISSING).view("datetime64[us]")


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers in integer arithmetic (proleptic Gregorian).

    H. Hinnant's ``civil_from_days``: years counted from 1 March, so leap days come last.
    Meaningless where the day number is :data:`MISSING`.
    """
    z = np.where(days == MISSING, 0, days) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day numbers of (year, month, day); 29 February of a common year gives 1 March."""
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def anniversary_days(dob: np.ndarray, years: int) -> np.ndarray:
    """Day numbers of :func:`optin_analysis.dates.anniversary` from dates of birth as day numbers.

    Same month and day ``years`` later; 29 February falls on 1 March in a common year.
    :data:`MISSING` stays missing.
    """
    year, month, day = _civil(dob)
    return np.where(dob == MISSING, MISSING, _days_from_civil(year + years, month, day))


def _year_and_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, 100 * month + day of month) of day numbers (meaningless where MISSING)."""
    year, month, day = _civil(days)
    return year, month * 100 + day


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
    dob_day: np.ndarray
    dob_year: np.ndarray
    dob_month_day: np.ndarray
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

    def age_at(self, d: int) -> np.ndarray:
        """Whole years attained at day ``d`` (as :func:`optin_analysis.dates.age_on`).

        Meaningless where the date of birth is missing (``dob_day == MISSING``).
        """
        year, month_day = _year_and_month_day(np.array([d]))
        return year[0] - self.dob_year - (self.dob_month_day > month_day[0])

    def events_until(self, d: int) -> EventArrays:
        """(pos, kind, day) of the events dated on or before day ``d``."""
        keep = self.ev_day <= d
        return self.ev_pos[keep], self.ev_kind[keep], self.ev_day[keep]


def _key_columns(patients: pd.DataFrame, events: pd.DataFrame) -> list[str]:
    both = "practice_code" in patients.columns and "practice_code" in events.columns
    return ["practice_code", "patient_id"] if both else ["patient_id"]


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def _arrow(values: pd.Series) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _encode(first: pd.Series, second: pd.Series) -> np.ndarray:
    """Dictionary codes of the values of ``first`` then ``second`` (-1 for missing).

    Codes follow first appearance, so ``first``'s codes are what factorizing it alone gives.
    Raises an Arrow error when the two columns are not of one Arrow type.
    """
    encoded = pa.concat_arrays([_arrow(first), _arrow(second)]).dictionary_encode()
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _link_unique(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_link` through Arrow when patient ids are unique and not missing (one practice).

    Raises ``LookupError`` otherwise, or an Arrow error for columns of different types.
    """
    n = len(patients)
    ids = _encode(patients["patient_id"], events["patient_id"])
    if not np.array_equal(ids[:n], np.arange(n)):
        raise LookupError("patient ids repeat or are missing")
    pos = np.where(ids[n:] < n, ids[n:], -1)
    if _key_columns(patients, events) == ["patient_id"]:
        return pos, np.zeros(n, dtype=np.int64)
    practice = _arrow(patients["practice_code"])
    if n and not practice.null_count and pc.all(pc.equal(practice, practice[0])).as_py():
        same = pc.fill_null(pc.equal(_arrow(events["practice_code"]), practice[0]), False)
        return np.where(same.to_numpy(zero_copy_only=False), pos, -1), np.zeros(n, np.int64)
    codes = _encode(patients["practice_code"], events["practice_code"])
    group, event_group = codes[:n], codes[n:]
    same = (event_group >= 0) & (event_group == group[np.maximum(pos, 0)])
    return np.where(same, pos, -1), group


def _link(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each event's row in ``patients`` (-1 if not there) and each patient's practice number."""
    with contextlib.suppress(LookupError, *_ARROW_ERRORS):
        return _link_unique(patients, events)
    return _link_plain(patients, events)


def _link_plain(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_link` for any input: factorized keys looked up in an index."""
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
    return np.where(unknown[n:], -1, pos), _practice_groups(patients)


def _practice_groups(patients: pd.DataFrame) -> np.ndarray:
    if "practice_code" not in patients.columns:
        return np.zeros(len(patients), dtype=np.int64)
    return pd.factorize(patients["practice_code"])[0].astype(np.int64)


def _kinds(event_type: pd.Series) -> np.ndarray:
    """Index in :data:`KINDS` of each event type (-1 for missing or unknown types)."""
    names = [str(k) for k in KINDS]
    try:
        types = _arrow(event_type)
        found = pc.index_in(types, value_set=pa.array(names, type=types.type))
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    except _ARROW_ERRORS:
        codes, uniques = pd.factorize(event_type)
        lookup = np.append(pd.Index(names).get_indexer(uniques), -1)
        return lookup[codes]  # code -1 (missing type) picks the appended -1


def _equals(values: pd.Series, text: str) -> np.ndarray:
    """``values == text`` as bool, False where missing."""
    try:
        same = pc.equal(_arrow(values), str(text))
        return pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    except (*_ARROW_ERRORS, TypeError):
        return values.eq(text).fillna(False).to_numpy(dtype=bool)


def prepare(patients: pd.DataFrame, events: pd.DataFrame) -> Prepared:
    """Link events to patients and turn dates into day numbers, once for any number of dates."""
    pos, group = _link(patients, events)
    kind = _kinds(events["event_type"])
    day = to_days(events["event_date"])
    keep = (pos >= 0) & (kind >= 0) & (day != MISSING)
    dob = to_days(patients["date_of_birth"])
    year, month, day_of_month = _civil(dob)
    b16 = _days_from_civil(year + 16, month, day_of_month)
    return Prepared(
        patients=patients,
        ev_pos=pos[keep].astype(np.int64),
        ev_kind=kind[keep].astype(np.int8),
        ev_day=day[keep],
        group=group,
        reg_day=to_days(patients["registration_date"]),
        dob_day=dob,
        dob_year=year,
        dob_month_day=100 * month + day_of_month,
        b16_day=np.where(dob == MISSING, MISSING, b16),
        online=patients["online_account"].fillna(False).to_numpy(dtype=bool),
        acct_day=to_days(patients["online_account_date"]),
        full=_equals(patients["access_level"], AccessLevel.FULL_PROSPECTIVE),
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
    return (key != MISSING) & ((key & 1) == 1)


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


def access_at(
    prep: Prepared, profile: Practice, d: int, upto: EventArrays | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(has_access, via_opt_in) at day number ``d``; see :func:`patient_state` for the rule.

    ``upto`` may pass ``prep.events_until(d)`` when the caller has it already.
    """
    n = prep.n
    upto = prep.events_until(d) if upto is None else upto
    before = latest_key(upto, n, K_GRANTED, K_REVOKED)
    later = (prep.ev_day > d) & ((prep.ev_kind == K_GRANTED) | (prep.ev_kind == K_REVOKED))
    first_later = group_min(
        prep.ev_pos[later], 2 * prep.ev_day[later] + (prep.ev_kind[later] == K_REVOKED), n
    )
    granted = (before != MISSING) & ((before & 1) == 0)
    auto_start = _auto_start(prep, profile)
    held_auto = ((first_later & 1) == 1) & (auto_start != MISSING) & (auto_start <= d)
    by_level = prep.full & ((prep.access_day == MISSING) | (prep.access_day <= d))
    has_access = np.where(
        before != MISSING, granted, np.where(first_later != NEVER, held_auto, by_level)
    )
    pos, kind, day = upto
    is_req = kind == K_REQUEST
    first_request = group_min(pos[is_req], day[is_req], n)
    via_opt_in = granted & (first_request <= (before >> 1))
    return has_access, via_opt_in


def _by_patient_and_day(pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Order of events by (patient, day): one sort of a combined integer key."""
    if not len(day):
        return np.arange(0)
    low = int(day.min())
    return np.argsort(pos * (int(day.max()) - low + 1) + (day - low))


def automatic_spells(prep: Prepared, profile: Practice) -> tuple[np.ndarray, ...]:
    """Every span of days in which a patient holds ``automatic`` access, from all events.

    Returns parallel arrays ``(pos, start, end)``: patient ``pos`` has ``has_access`` and not
    ``via_opt_in`` (as :func:`access_at` defines them) exactly on the days ``start <= d <
    end``; :data:`MISSING` and :data:`NEVER` stand for no bound. The rule read along time:

    * no access_granted / access_revoked event: [access_start_date, never) when the access
      level is full prospective;
    * before the first day with such events, when that day has revocations only:
      [auto_start, first day) (automatic access held until revoked);
    * from each such day to the next: when that day has no revocation (the grant decides)
      and no opt_in_requested is on or before it.
    """
    grant_or_revoke = (prep.ev_kind == K_GRANTED) | (prep.ev_kind == K_REVOKED)
    pos, day = prep.ev_pos[grant_or_revoke], prep.ev_day[grant_or_revoke]
    revoked = prep.ev_kind[grant_or_revoke] == K_REVOKED
    order = _by_patient_and_day(pos, day)
    pos, day, revoked = pos[order], day[order], revoked[order]
    # one row per (patient, day): did that day bring a revocation, a grant?
    new_day = np.ones(len(pos), dtype=bool)
    new_day[1:] = (pos[1:] != pos[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_day)
    pos, day = pos[starts], day[starts]
    any_revoked = np.logical_or.reduceat(revoked, starts) if len(starts) else revoked
    any_granted = np.logical_or.reduceat(~revoked, starts) if len(starts) else revoked
    first = np.ones(len(pos), dtype=bool)
    first[1:] = pos[1:] != pos[:-1]
    following = np.append(np.where(first[1:], NEVER, day[1:]), NEVER)[: len(pos)]
    is_req = prep.ev_kind == K_REQUEST
    first_request = group_min(prep.ev_pos[is_req], prep.ev_day[is_req], prep.n)
    granted = ~any_revoked & ~(first_request[pos] <= day)
    auto_start = _auto_start(prep, profile)
    held_auto = first & ~any_granted & (auto_start[pos] != MISSING)
    no_events = np.ones(prep.n, dtype=bool)
    no_events[pos] = False
    by_level = np.flatnonzero(no_events & prep.full)
    return (
        np.concatenate([by_level, pos[held_auto], pos[granted]]),
        np.concatenate([prep.access_day[by_level], auto_start[pos[held_auto]], day[granted]]),
        np.concatenate([np.full(len(by_level), NEVER), day[held_auto], following[granted]]),
    )


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


def state_arrays(prep: Prepared, profile: Practice, ref_date: DateLike) -> StateArrays:
    """The columns of :func:`patient_state` as numpy arrays, without building the frame.

    Flags are bool and dates ``datetime64[us]`` (NaT for none), as in the frame. ``age``
    (int64) is meaningless where the date of birth is missing and ``wait_days`` (int64)
    where not ``open_request``; ``stage`` is left out (it follows ``counselled_date``).
    """
    d = day_number(ref_date)
    n = prep.n
    upto = prep.events_until(d)
    age = prep.age_at(d)
    registered = prep.registered(d)
    opted_out = _latest_is_upper(latest_key(upto, n, K_REQUEST, K_OPT_OUT))
    review = latest_key(upto, n, K_REMOVED, K_ADDED)
    protected_104 = _latest_is_upper(review)
    has_access, via_opt_in = access_at(prep, profile, d, upto)
    req = _requests(upto, n)
    is_open = (
        (req["request"] != MISSING)
        & (req["granted"] == NEVER)
        & (req["declined"] == NEVER)
        & ~opted_out
    )
    return {
        "age": age,
        "sixteenth_birthday": to_dates(prep.b16_day),
        "registered": registered,
        "eligible": registered & (prep.dob_day != MISSING) & (age >= 16),
        "account": prep.account_at(d),
        "opted_out": opted_out,
        "protected_104": protected_104,
        "enhanced_review_date": to_dates(np.where(protected_104, review >> 1, MISSING)),
        "protected": protected_104 | _tpp_setting_protects(profile, d),
        "request_date": to_dates(req["request"]),
        "counselled_date": to_dates(req["counselled"]),
        "granted_date": to_dates(req["granted"]),
        "declined_date": to_dates(req["declined"]),
        "auto_start": to_dates(_auto_start(prep, profile)),
        "has_access": has_access,
        "via_opt_in": via_opt_in,
        "automatic": has_access & ~via_opt_in,
        "open_request": is_open,
        "wait_days": d - req["request"],
    }


def state_at(prep: Prepared, profile: Practice, ref_date: DateLike) -> pd.DataFrame:
    """The frame of :func:`patient_state` from an already :func:`prepare`-d input."""
    return state_frame(prep, state_arrays(prep, profile, ref_date))


def state_frame(prep: Prepared, cols: StateArrays) -> pd.DataFrame:
    """The frame of :func:`patient_state` from :func:`state_arrays` already computed."""
    is_open = cols["open_request"]
    counselled = ~np.isnat(cols["counselled_date"])
    stage = np.where(counselled, AWAITING_PROVISIONING, AWAITING_COUNSELLING).astype(object)
    stage[~is_open] = None
    return pd.DataFrame(
        {
            "patient_id": prep.patients["patient_id"].array,
            **{name: values for name, values in cols.items() if name != "wait_days"},
            "age": pd.arrays.IntegerArray(
                np.where(prep.dob_day == MISSING, 0, cols["age"]), prep.dob_day == MISSING
            ),
            "stage": pd.array(stage, dtype="str"),
            "wait_days": pd.arrays.IntegerArray(np.where(is_open, cols["wait_days"], 0), ~is_open),
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
