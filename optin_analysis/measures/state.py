"""Per-patient state as of a reference date D: one vectorised frame every measure reads.

:func:`patient_state` answers, for each row of ``patients`` and a date D, who is eligible,
who holds access and how they got it, who is protected from automatic access, who has
opted out and whose opt-in request is waiting. Nothing reads the clock. How access came
and went over time is worked out once in :mod:`optin_analysis.measures.timeline`.

Rules (each rule tag below has a hand-worked test, listed in ``tests/README.md``):

* [rule linking] Events are matched to patients on (practice_code, patient_id); events of
  patients not in the extract (who left the practice) and of unknown type are ignored.
* [rule events-until-d] Events dated after D are ignored. The one exception: on and
  after the start of the extract's current access level, the extract decides access
  ([rule extract-wins]).
* [rule registered] ``registered``: registration_date on or before D.
* [rule eligible] ``eligible``: registered and aged 16 or over on D. A person attains an
  age on the anniversary of birth; born on 29 February, on 1 March in a common year.
* [rule account] ``account``: online_account, and online_account_date missing or on or
  before D.
* [rule opted-out] ``opted_out``: the latest of opt_in_requested and opt_out on or before
  D is an opt_out (on one day the opt_out counts as later). Opted out then opted in: not
  opted out.
* [rule protected-104] ``protected_104``: the latest 104 or 106 on or before D is a 104
  (on one day the 104 counts as later).
* [rule protection-setting] ``protected``: protected_104, or everybody at an opt-in
  practice whose supplier setting stops automatic access, once its supplier_setting_date
  is on or before D: TPP's unticked preference "By default give prospective access to the
  full clinical record", and EMIS's per-patient global setting for a practice not going
  live. (An EMIS practice that is live or due protects with 104 codes.)
* [rule access] ``has_access``: full prospective access held on D, from the spells of
  the timeline; ``via_opt_in``: held through opt-in; ``automatic``: held, not through
  opt-in.
* [rule open-request] ``open_request``: an opt-in episode is open at the end of D
  ([rule episode]; an implied provision closes it, [rule provision]). ``request_date``:
  the first request of the patient's latest episode on or before D (a chaser does not
  move it); NaT if the patient never asked. ``counselled_date``, ``granted_date``,
  ``declined_date``: the first counselled / access_granted / opt_in_declined on or after
  request_date and on or before D.
* [rule stage] ``stage`` of an open request: 'awaiting counselling' without a
  counselled_date, else 'awaiting provisioning'. ``wait_days``: D - request_date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.measures.days import (
    MISSING,
    NEVER,
    DateLike,
    day_number,
    group_max,
    group_min,
    to_dates,
)
from optin_analysis.measures.link import (
    K_ADDED,
    K_COUNSELLED,
    K_DECLINED,
    K_GRANTED,
    K_OPT_OUT,
    K_REMOVED,
    K_REQUEST,
    EventArrays,
    Prepared,
    prepare,
)
from optin_analysis.measures.timeline import coded_text, disagreement_words, timeline

#: The columns of :func:`patient_state` as numpy arrays (see :func:`state_arrays`).
StateArrays = dict[str, np.ndarray]

AWAITING_COUNSELLING = "awaiting counselling"
AWAITING_PROVISIONING = "awaiting provisioning"


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


def setting_protects(profile: Practice, d: int) -> bool:
    """[rule protection-setting]: the supplier setting protects everybody on day ``d``."""
    date = profile.supplier_setting_date
    branch = profile.supplier is Supplier.TPP or (
        profile.go_live_status is GoLiveStatus.NOT_PLANNED
    )
    made = date is not None and day_number(date) <= d
    return profile.model is Model.OPT_IN and branch and made


def _requests(prep: Prepared, profile: Practice, d: int, upto: EventArrays) -> StateArrays:
    """request_date, counselled_date and open_request on D."""
    tl = timeline(prep, profile)
    ev = tl.events
    opener = ev.latest(ev.opens, d)
    request = ev.value(ev.day, opener, MISSING)
    return {
        "request": request,
        "counselled": _first_on_or_after(upto, prep.n, K_COUNSELLED, request),
        "open": tl.open_on(d),
    }


#: The columns of the patient state only its frame has (no measure reads them): worked
#: out when the frame is made (:func:`frame_only`).
FRAME_ONLY = ("granted_date", "declined_date", "auto_start")


def frame_only(prep: Prepared, profile: Practice, d: int, cols: StateArrays) -> StateArrays:
    """:data:`FRAME_ONLY` columns at day ``d`` of a state ``cols`` without them."""
    dates = cols["request_date"]
    request = np.where(np.isnat(dates), MISSING, dates.astype("datetime64[D]").astype(np.int64))
    upto = prep.events_until(d)
    return {
        "granted_date": to_dates(_first_on_or_after(upto, prep.n, K_GRANTED, request)),
        "declined_date": to_dates(_first_on_or_after(upto, prep.n, K_DECLINED, request)),
        "auto_start": to_dates(timeline(prep, profile).auto_start),
    }


#: The order of the state's columns in its frame.
STATE_COLUMNS = (
    "age", "sixteenth_birthday", "registered", "eligible", "account", "opted_out",
    "protected_104", "enhanced_review_date", "protected", "request_date", "counselled_date",
    "granted_date", "declined_date", "auto_start", "has_access", "via_opt_in", "automatic",
    "open_request", "wait_days", "disagreement",
)  # fmt: skip


def state_arrays(
    prep: Prepared, profile: Practice, ref_date: DateLike, frame: bool = True
) -> StateArrays:
    """The columns of :func:`patient_state` as numpy arrays, without building the frame
    (without the :data:`FRAME_ONLY` ones unless ``frame``).

    Flags are bool and dates ``datetime64[us]`` (NaT for none), as in the frame. ``age``
    (int64) is meaningless where the date of birth is missing and ``wait_days`` (int64)
    where not ``open_request``; ``stage`` is left out (it follows ``counselled_date``).
    """
    d = day_number(ref_date)
    n = prep.n
    tl = timeline(prep, profile)
    upto = prep.events_until(d)
    age = prep.age_at(d)
    registered = prep.registered(d)
    review = latest_key(upto, n, K_REMOVED, K_ADDED)
    protected_104 = _latest_is_upper(review)
    has_access, via_opt_in = tl.spells.on(d, n)
    req = _requests(prep, profile, d, upto)
    cols = {
        "age": age,
        "sixteenth_birthday": to_dates(prep.b16_day),
        "registered": registered,
        "eligible": registered & (prep.dob_day != MISSING) & (age >= 16),
        "account": prep.account_at(d),
        "opted_out": _latest_is_upper(latest_key(upto, n, K_REQUEST, K_OPT_OUT)),
        "protected_104": protected_104,
        "enhanced_review_date": to_dates(np.where(protected_104, review >> 1, MISSING)),
        "protected": protected_104 | setting_protects(profile, d),
        "request_date": to_dates(req["request"]),
        "counselled_date": to_dates(req["counselled"]),
        "has_access": has_access,
        "via_opt_in": via_opt_in,
        "automatic": has_access & ~via_opt_in,
        "open_request": req["open"],
        "wait_days": np.where(req["request"] == MISSING, NEVER, d - req["request"]),
        "disagreement": tl.disagreement,
    }
    return {**cols, **frame_only(prep, profile, d, cols)} if frame else cols


def state_at(prep: Prepared, profile: Practice, ref_date: DateLike) -> pd.DataFrame:
    """The frame of :func:`patient_state` from an already :func:`prepare`-d input."""
    return state_frame(prep, state_arrays(prep, profile, ref_date))


def state_frame(prep: Prepared, cols: StateArrays) -> pd.DataFrame:
    """The frame of :func:`patient_state` from :func:`state_arrays` already computed (with
    its :data:`FRAME_ONLY` columns)."""
    is_open = cols["open_request"]
    counselled = ~np.isnat(cols["counselled_date"])
    stage = np.where(is_open, counselled.astype(np.int8), -1)  # -1: no open request
    return pd.DataFrame(
        {
            "patient_id": prep.patients["patient_id"].array,
            **{name: cols[name] for name in STATE_COLUMNS if name != "wait_days"},
            "age": pd.arrays.IntegerArray(
                np.where(prep.dob_day == MISSING, 0, cols["age"]), prep.dob_day == MISSING
            ),
            "stage": coded_text(stage, [AWAITING_COUNSELLING, AWAITING_PROVISIONING]),
            "wait_days": pd.arrays.IntegerArray(np.where(is_open, cols["wait_days"], 0), ~is_open),
            "disagreement": disagreement_words(cols["disagreement"], prep.patients.index),
        },
        index=prep.patients.index,
        copy=False,  # shares the arrays of ``cols`` (memory): nothing may write to the frame
    )


def patient_state(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> pd.DataFrame:
    """Each patient's state at reference date D, one row per row of ``patients`` (same index).

    Every row is kept; patients with registration_date after D have ``registered`` False
    and the measures leave them out. The columns and their rules are in this module's
    docstring: age, sixteenth_birthday, registered, eligible, account, opted_out,
    protected_104, enhanced_review_date, protected, request_date, counselled_date,
    granted_date, declined_date, auto_start, has_access, via_opt_in, automatic,
    open_request, stage, wait_days (``stage`` and ``wait_days`` <NA> when not open),
    disagreement ([rule disagreement] in words, empty where codes and extract agree).
    """
    return state_at(prepare(patients, events), profile, ref_date)
