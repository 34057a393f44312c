"""Patients and their coded events linked into arrays, once per practice extract.

:func:`prepare` matches events to patients on ``(practice_code, patient_id)`` (on
``patient_id`` alone when either frame lacks ``practice_code``) and turns every date into
a day number. Events of patients not in ``patients`` (for example a patient who left the
practice), events of unknown type and undated events are dropped here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optin_analysis.ingest.load import give_back
from optin_analysis.ingest.schema import AccessLevel, EventType
from optin_analysis.measures.days import (
    MISSING,
    civil,
    days_from_civil,
    to_days,
    year_and_month_day,
)

#: Events as parallel arrays: (patient position, kind index, day number).
EventArrays = tuple[np.ndarray, np.ndarray, np.ndarray]

KINDS: tuple[EventType, ...] = tuple(EventType)
#: Linking more rows than this gives Arrow's freed memory back (see ``load.give_back``).
GIVE_BACK_ROWS = 1_000_000
K_ADDED = KINDS.index(EventType.ENHANCED_REVIEW_ADDED)
K_REMOVED = KINDS.index(EventType.ENHANCED_REVIEW_REMOVED)
K_OPT_OUT = KINDS.index(EventType.OPT_OUT)
K_REQUEST = KINDS.index(EventType.OPT_IN_REQUESTED)
K_COUNSELLED = KINDS.index(EventType.COUNSELLED)
K_DECLINED = KINDS.index(EventType.OPT_IN_DECLINED)
K_GRANTED = KINDS.index(EventType.ACCESS_GRANTED)
K_REVOKED = KINDS.index(EventType.ACCESS_REVOKED)


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
    #: Results derived from these arrays, kept per practice profile (see ``timeline``).
    cache: dict = field(default_factory=dict, compare=False, repr=False)

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
        year, month_day = year_and_month_day(np.array([d]))
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
    if len(patients) + len(events) > GIVE_BACK_ROWS:
        give_back()  # what linking took in Arrow, before the arrays are made
    kind = _kinds(events["event_type"])
    day = to_days(events["event_date"])
    keep = (pos >= 0) & (kind >= 0) & (day != MISSING)
    dob = to_days(patients["date_of_birth"])
    year, month, day_of_month = civil(dob)
    b16 = days_from_civil(year + 16, month, day_of_month)
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
