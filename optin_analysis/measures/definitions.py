"""The opt-in model's measures, as of a reference date D, for one practice.

Every public function takes ``(patients, events, profile, ...)`` canonical frames for one
practice and explicit dates; nothing reads the clock. Per-patient facts (eligible, access,
protection, requests) come from :func:`optin_analysis.measures.state.patient_state`, whose
docstring defines them. Rules common to all measures:

* Only patients registered at D (registration_date <= D) count, and only their events.
* Events dated after D are ignored (``has_access`` has one documented exception).
* Events of patients missing from ``patients`` (transferred out) are ignored.
* Months are calendar months, labelled ``YYYY-MM``; "month end" is its last day. A month
  that contains D is counted up to D only.
* A share is ``numerator / denominator`` and NaN when the denominator is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from optin_analysis.config import Practice
from optin_analysis.dates import as_timestamp
from optin_analysis.measures.state import (
    K_ADDED,
    K_COUNSELLED,
    K_GRANTED,
    K_REQUEST,
    K_REVOKED,
    MISSING,
    NEVER,
    DateLike,
    EventArrays,
    Prepared,
    StateArrays,
    automatic_spells,
    day_number,
    group_min,
    prepare,
    state_arrays,
    state_frame,
)

#: A patient state: the frame of :func:`~optin_analysis.measures.state.patient_state` or its columns
#: as arrays (:func:`~optin_analysis.measures.state.state_arrays`); the masks below read either.
State = pd.DataFrame | StateArrays

#: Ageing bands of open requests, by days waited (upper bounds of all but the last).
AGE_BANDS: tuple[str, ...] = ("0-7", "8-14", "15-28", "29-56", "57+")
_BAND_UPPER = np.array([7, 14, 28, 56])
STAGES: tuple[str, ...] = ("awaiting counselling", "awaiting provisioning")
#: A 104 is "bulk" when at least this many patients got one on the same date.
BULK_104_THRESHOLD = 50
DEFAULT_HORIZON_MONTHS = 6


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Ctx:
    """Inputs prepared once and the state at D, shared by the measures of one run."""

    prep: Prepared
    state: StateArrays
    profile: Practice
    d: int

    @property
    def ref(self) -> pd.Timestamp:
        return pd.Timestamp(np.datetime64(self.d, "D"))

    def flag(self, name: str) -> np.ndarray:
        return self.state[name]

    @cached_property
    def ev(self) -> EventArrays:
        """Events dated <= D of patients registered at D."""
        pos, kind, day = self.prep.events_until(self.d)
        keep = self.flag("registered")[pos]
        return pos[keep], kind[keep], day[keep]

    def events(self) -> EventArrays:
        """Events dated <= D of patients registered at D (computed once)."""
        return self.ev

    @cached_property
    def uptake_days(self) -> dict[str, np.ndarray]:
        """Days of requests, counselling and provisions (:func:`_uptake_days`), once."""
        return _uptake_days(self)

    @cached_property
    def revoked_days(self) -> np.ndarray:
        """Days of access_revoked events (:func:`_revoked_days`), once."""
        return _revoked_days(self)


def _ctx(prep: Prepared, profile: Practice, ref_date: DateLike) -> _Ctx:
    return _Ctx(prep, state_arrays(prep, profile, ref_date), profile, day_number(ref_date))


def _context(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> _Ctx:
    return _ctx(prepare(patients, events), profile, ref_date)


def _bool(state: State, name: str) -> np.ndarray:
    return np.asarray(state[name], dtype=bool)


def _dates(state: State, name: str) -> np.ndarray:
    return np.asarray(state[name], dtype="datetime64[us]")


def _share(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _month(days: np.ndarray | int) -> np.ndarray:
    """Month number (months since 1970-01) of day numbers."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@lru_cache(maxsize=256)
def _month_labels(m0: int, m1: int) -> pd.api.extensions.ExtensionArray:
    """``YYYY-MM`` labels of months m0..m1 as a text array (immutable, so shared)."""
    return pd.array(np.arange(m0, m1 + 1).astype("datetime64[M]").astype(str), dtype="str")


def _month_end_day(month: int) -> int:
    return int(np.datetime64(month + 1, "M").astype("datetime64[D]").astype(np.int64)) - 1


def _month_firsts(m0: int, m1: int) -> np.ndarray:
    """Day numbers of the first days of months m0..m1."""
    return np.arange(m0, m1 + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _monthly(days: np.ndarray, m0: int, m1: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts per month m0..m1 and cumulative counts (everything up to each month end)."""
    bins = np.searchsorted(_month_firsts(m0, m1 + 1), days, side="right")  # 0: before m0
    counts = np.bincount(bins, minlength=m1 - m0 + 3)
    return counts[1:-1], counts[0] + np.cumsum(counts[1:-1])


def _month_range(start: DateLike, d: int) -> tuple[int, int]:
    m0, m1 = int(_month(day_number(start))), int(_month(d))
    if m0 > m1:
        raise ValueError(f"start {start} is after the reference date's month")
    return m0, m1


# --------------------------------------------------------------------------- uptake


def _uptake_days(ctx: _Ctx) -> dict[str, np.ndarray]:
    pos, kind, day = ctx.events()
    is_request = kind == K_REQUEST
    first_request = group_min(pos[is_request], day[is_request], ctx.prep.n)
    provisioned = (kind == K_GRANTED) & (day >= first_request[pos])
    return {
        "requests": day[is_request],
        "counselled": day[kind == K_COUNSELLED],
        "provisioned": day[provisioned],
    }


def _uptake_by_month(ctx: _Ctx, start: DateLike) -> pd.DataFrame:
    m0, m1 = _month_range(start, ctx.d)
    columns: dict[str, object] = {"month": _month_labels(m0, m1)}
    for name, days in ctx.uptake_days.items():
        counts, cumulative = _monthly(days, m0, m1)
        columns[name] = counts.astype(np.int64)
        columns[f"{name}_cumulative"] = cumulative.astype(np.int64)
    return pd.DataFrame(columns)


def uptake_by_month(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    start: DateLike,
    ref_date: DateLike,
) -> pd.DataFrame:
    """Opt-in activity per calendar month, from ``start``'s month to D's month (zeros shown).

    Counts events (not patients) of patients registered at D, dated <= D:

    * ``requests``: opt_in_requested events in the month;
    * ``counselled``: counselled events in the month;
    * ``provisioned``: access_granted events in the month dated on or after some
      opt_in_requested event of the same patient.

    Each has a ``<name>_cumulative`` column: all such events up to the month end (or D),
    including those before ``start``. The event date decides the month.
    """
    return _uptake_by_month(_context(patients, events, profile, ref_date), start)


@dataclass(frozen=True)
class UptakeShare:
    """Opt-in holders as counts and shares (see :func:`uptake_share`)."""

    eligible: int
    account_holders: int
    opt_in_holders: int
    opt_in_holders_with_account: int
    share_of_eligible: float
    share_of_account_holders: float


def _uptake_share(ctx: _Ctx) -> UptakeShare:
    eligible = ctx.flag("eligible")
    holders = eligible & ctx.flag("via_opt_in")
    accounts = eligible & ctx.flag("account")
    n_eligible, n_accounts = int(eligible.sum()), int(accounts.sum())
    n_holders, n_holders_acct = int(holders.sum()), int((holders & accounts).sum())
    return UptakeShare(
        n_eligible,
        n_accounts,
        n_holders,
        n_holders_acct,
        _share(n_holders, n_eligible),
        _share(n_holders_acct, n_accounts),
    )


def uptake_share(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> UptakeShare:
    """Share of patients holding access through opt-in at D.

    * ``share_of_eligible`` = opt-in holders (eligible & via_opt_in) / eligible (registered
      at D, aged 16+ at D).
    * ``share_of_account_holders`` = opt-in holders with an online account at D /
      (eligible & account).
    """
    return _uptake_share(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- open requests


def _open_mask(ctx: _Ctx) -> np.ndarray:
    return ctx.flag("registered") & ctx.flag("open_request")


def _open_requests(ctx: _Ctx) -> pd.DataFrame:
    is_open = _open_mask(ctx)
    wait = ctx.state["wait_days"][is_open]
    # stage: awaiting provisioning once counselled (see patient_state)
    stage = (~np.isnat(ctx.state["counselled_date"][is_open])).astype(np.int64)
    band = np.searchsorted(_BAND_UPPER, wait, side="left")
    counts = np.bincount(stage * len(AGE_BANDS) + band, minlength=len(STAGES) * len(AGE_BANDS))
    return pd.DataFrame(
        {
            "stage": pd.array(np.repeat(STAGES, len(AGE_BANDS)), dtype="str"),
            "band": pd.array(np.tile(AGE_BANDS, len(STAGES)), dtype="str"),
            "requests": counts.astype(np.int64),
        }
    )


def open_requests(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> pd.DataFrame:
    """Open opt-in requests at D by stage and ageing band: all 2 x 5 rows, zeros included.

    Counted: registered patients with ``open_request`` at D (a request <= D with no
    access_granted or opt_in_declined on or after it, and not opted out since). ``stage`` is
    'awaiting counselling' (no counselled on or after the request) or 'awaiting
    provisioning'. ``band`` groups ``wait_days`` = D - request date: 0-7, 8-14, 15-28,
    29-56, 57+ days.
    """
    return _open_requests(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- provision time


@dataclass(frozen=True)
class ProvisionTimes:
    """Days from opt-in request to provision (see :func:`request_to_provision`)."""

    n: int
    median_days: float
    p90_days: float


def _pair_keys(pos: np.ndarray, day: np.ndarray, low: int, span: int) -> np.ndarray:
    """One sortable integer per (patient or practice, day), for days in [low, low + span)."""
    return pos * span + (day - low)


def _provision_episodes(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """(granted day, wait in days), one pair per provisioned request."""
    pos, kind, day = ctx.events()
    is_req, is_grant = kind == K_REQUEST, kind == K_GRANTED
    if not is_req.any() or not is_grant.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    low = int(day.min())
    span = int(day.max()) - low + 1
    requests = np.sort(_pair_keys(pos[is_req], day[is_req], low, span))
    grants = _pair_keys(pos[is_grant], day[is_grant], low, span)
    # the latest request of the same patient on or before each grant
    latest = np.searchsorted(requests, grants, side="right") - 1
    paired = latest >= 0
    request = requests[np.maximum(latest, 0)]
    paired &= request // span == pos[is_grant]
    request, granted = request[paired], day[is_grant][paired]
    # each request once, with its first grant
    order = np.argsort(request * span + (granted - low))
    request, granted = request[order], granted[order]
    first = np.ones(len(request), dtype=bool)
    first[1:] = request[1:] != request[:-1]
    granted = granted[first]
    return granted, granted - (request[first] % span + low)


def _request_to_provision(ctx: _Ctx, period_start: DateLike | None) -> ProvisionTimes:
    granted, waits = _provision_episodes(ctx)
    if period_start is not None:
        waits = waits[granted >= day_number(period_start)]
    waits = waits.astype(float)
    if not len(waits):
        return ProvisionTimes(0, math.nan, math.nan)
    return ProvisionTimes(len(waits), float(np.median(waits)), float(np.percentile(waits, 90)))


def request_to_provision(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    period_start: DateLike | None = None,
) -> ProvisionTimes:
    """Days from opt-in request to provision: n, median and 90th percentile.

    A provisioned request is an access_granted event <= D paired with the latest
    opt_in_requested of the same patient on or before it; each request counts once, with
    its first such grant (the generalisation over time of ``request_date`` and
    ``granted_date`` in the patient state). Wait = grant date - request date in days.
    All time, or only grants dated in [period_start, D] when ``period_start`` is given.
    Percentiles use numpy's linear interpolation; both are NaN when n == 0.
    """
    ctx = _context(patients, events, profile, ref_date)
    return _request_to_provision(ctx, period_start)


# --------------------------------------------------------------------------- backlog


def backlog_mask(state: State) -> np.ndarray:
    """Rows of a patient state in the revocation backlog: eligible & account & automatic."""
    return _bool(state, "eligible") & _bool(state, "account") & _bool(state, "automatic")


def revocation_backlog(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> int:
    """Revocation backlog at D: eligible & account & automatic.

    Patients registered and 16+ at D, with an online account at D, holding full prospective
    access at D that did not come through an opt-in request (``automatic`` in the patient
    state). Opted-out patients still holding automatic access are included.
    """
    return int(backlog_mask(_context(patients, events, profile, ref_date).state).sum())


def _revoked_days(ctx: _Ctx) -> np.ndarray:
    _, kind, day = ctx.events()
    return day[kind == K_REVOKED]


def _backlog_on(prep: Prepared, profile: Practice, days: np.ndarray) -> np.ndarray:
    """Revocation backlog at each of ``days``, in one pass over the patients' histories.

    Each condition of the backlog holds over spans of days: registered, 16+ (16th birthday
    <= d) and an account each from a day on, ``automatic`` over the spans of
    :func:`~optin_analysis.measures.state.automatic_spells`. A patient counts on day d when d is in
    one of their automatic spans cut to start no earlier than all three days.
    """
    since = np.maximum(np.maximum(prep.reg_day, prep.b16_day), prep.acct_day)  # MISSING: none
    never = (prep.reg_day == MISSING) | (prep.b16_day == MISSING) | ~prep.online
    since = np.where(never, NEVER, since)
    pos, start, end = automatic_spells(prep, profile)
    start = np.maximum(start, since[pos])
    held = start < end
    starts, ends = np.sort(start[held]), np.sort(end[held])
    return np.searchsorted(starts, days, side="right") - np.searchsorted(ends, days, side="right")


def _backlog_by_month(ctx: _Ctx, start: DateLike) -> pd.DataFrame:
    m0, m1 = _month_range(start, ctx.d)
    as_of = np.minimum(_month_firsts(m0 + 1, m1 + 1) - 1, ctx.d)  # month ends
    backlog = _backlog_on(ctx.prep, ctx.profile, as_of)
    revocations, _ = _monthly(ctx.revoked_days, m0, m1)
    return pd.DataFrame(
        {
            "month": _month_labels(m0, m1),
            "as_of": np.asarray(as_of).astype("datetime64[D]").astype("datetime64[us]"),
            "backlog": np.asarray(backlog, dtype=np.int64),
            "revocations": revocations.astype(np.int64),
        }
    )


def backlog_by_month(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    start: DateLike,
    ref_date: DateLike,
) -> pd.DataFrame:
    """Revocation backlog trend, one row per month from ``start``'s month to D's month.

    ``backlog``: the revocation backlog (see :func:`revocation_backlog`) evaluated with the
    patient state at ``as_of`` = min(month end, D), over today's patient list (patients who
    have since left cannot be reconstructed). ``revocations``: access_revoked events dated
    in the month (and <= D) of patients registered at D.
    """
    return _backlog_by_month(_context(patients, events, profile, ref_date), start)


@dataclass(frozen=True)
class ClearProjection:
    """When the revocation backlog would clear at the recent revocation rate."""

    backlog: int
    revocations_last_3_months: int
    rate_per_month: float
    status: str  #: 'cleared', 'clearing' or 'not clearing'
    months_to_clear: int | None
    clear_date: pd.Timestamp | None


def _projected_clear(ctx: _Ctx) -> ClearProjection:
    backlog = int(backlog_mask(ctx.state).sum())
    m = int(_month(ctx.d))
    last = m if ctx.d == _month_end_day(m) else m - 1
    first, end = _month_firsts(last - 2, last + 1)[[0, -1]]
    revoked = ctx.revoked_days
    recent = int(np.count_nonzero((revoked >= first) & (revoked < end)))
    rate = recent / 3
    if backlog == 0:
        return ClearProjection(0, recent, rate, "cleared", None, None)
    if recent == 0:
        return ClearProjection(backlog, 0, 0.0, "not clearing", None, None)
    k = -(-3 * backlog // recent)  # ceil(backlog / (recent / 3)) in integers
    clear = pd.Timestamp(np.datetime64(_month_end_day(m + k), "D"))
    return ClearProjection(backlog, recent, rate, "clearing", k, clear)


def projected_clear_date(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> ClearProjection:
    """Projected date the revocation backlog clears.

    rate = access_revoked events (patients registered at D) in the last 3 complete months
    up to D's month, divided by 3; D's month counts as complete only when D is its last
    day. backlog 0: 'cleared'; rate 0: 'not clearing' (no date); otherwise the month end
    of D's month + ceil(backlog / rate) months.
    """
    return _projected_clear(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- turning 16


@lru_cache(maxsize=256)
def horizon_end(ref_date: DateLike, horizon_months: int) -> pd.Timestamp:
    """D + horizon_months calendar months (day clamped to the month's last day)."""
    if horizon_months < 0:
        raise ValueError("horizon_months must be >= 0")
    return as_timestamp(ref_date) + pd.DateOffset(months=horizon_months)


def pending_16_mask(state: State, ref_date: DateLike, horizon_months: int) -> np.ndarray:
    """Rows of a patient state in the pending-16 cohort (see :func:`pending_16`)."""
    b16 = _dates(state, "sixteenth_birthday")
    ref = as_timestamp(ref_date).to_datetime64()
    window = (b16 > ref) & (b16 <= horizon_end(ref_date, horizon_months).to_datetime64())
    return _bool(state, "registered") & window


def _pending_16_counts(ctx: _Ctx, horizon_months: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(first month, last month, cohort and protected per month) of :func:`pending_16`."""
    cohort = pending_16_mask(ctx.state, ctx.ref, horizon_months)
    m0, m1 = int(_month(ctx.d + 1)), int(_month(day_number(horizon_end(ctx.ref, horizon_months))))
    months = _month(ctx.prep.b16_day[cohort]) - m0
    protected = ctx.flag("protected")[cohort]
    size = max(m1 - m0 + 1, 0)
    total = np.bincount(months, minlength=size).astype(np.int64)
    return m0, m1, total, np.bincount(months[protected], minlength=size).astype(np.int64)


def _pending_16(ctx: _Ctx, horizon_months: int) -> pd.DataFrame:
    m0, m1, total, safe = _pending_16_counts(ctx, horizon_months)
    return pd.DataFrame(
        {
            "month": _month_labels(m0, m1),
            "cohort": total,
            "protected": safe,
            "at_risk": total - safe,
        }
    )


def pending_16(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> pd.DataFrame:
    """Patients turning 16 soon, by month of their 16th birthday.

    Cohort: patients registered at D, aged under 16 at D, whose 16th birthday (29 February
    -> 1 March in a common year) is in (D, D + horizon_months] (calendar months, day clamped
    to the month's end). ``protected``: protected at D (active 104, or TPP preference
    unticked by D); ``at_risk`` = cohort - protected. One row per month from the month of
    D + 1 day to the month of D + horizon, zeros included.
    """
    return _pending_16(_context(patients, events, profile, ref_date), horizon_months)


def _turned_16_automatic(ctx: _Ctx, period_start: DateLike) -> int:
    b16 = ctx.prep.b16_day
    window = (b16 >= day_number(period_start)) & (b16 <= ctx.d)
    return int((ctx.flag("registered") & window & ctx.flag("automatic")).sum())


def turned_16_automatic(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    period_start: DateLike,
    ref_date: DateLike,
) -> int:
    """Patients who turned 16 in [period_start, D] and hold automatic access at D.

    A failure of the model: registered at D, 16th birthday in [period_start, D], and
    ``automatic`` at D (full prospective access not through an opt-in request). Access
    granted on the birthday after an opt-in request on or before it is not counted;
    automatic access from the birthday is.
    """
    return _turned_16_automatic(_context(patients, events, profile, ref_date), period_start)


# --------------------------------------------------------------------------- protection


@dataclass(frozen=True)
class Coverage:
    """Protection coverage (see :func:`protection_coverage`)."""

    numerator: int
    denominator: int
    share: float


def withheld_mask(state: State) -> np.ndarray:
    """Rows of a patient state withheld pending opt-in: eligible & ~has_access & ~opted_out."""
    return _bool(state, "eligible") & ~_bool(state, "has_access") & ~_bool(state, "opted_out")


def coverage_base_mask(state: State) -> np.ndarray:
    """Rows in the protection-coverage denominator: withheld and no opt-in request."""
    return withheld_mask(state) & np.isnat(_dates(state, "request_date"))


def _protection_coverage(ctx: _Ctx) -> Coverage:
    base = coverage_base_mask(ctx.state)
    denominator = int(base.sum())
    numerator = int((base & ctx.flag("protected")).sum())
    return Coverage(numerator, denominator, _share(numerator, denominator))


def protection_coverage(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> Coverage:
    """Share of 16+ patients without access, neither opted out nor opted in, who are protected.

    denominator: eligible & ~has_access & ~opted_out & no opt_in_requested <= D (all at D);
    numerator: those ``protected`` at D (active 104, or TPP preference unticked by D).
    """
    return _protection_coverage(_context(patients, events, profile, ref_date))


def withheld_pending_opt_in(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> int:
    """16+ patients with neither access nor an opt-out: eligible & ~has_access & ~opted_out.

    The number the guidance's last sentence is about ("must be provided with access").
    """
    return int(withheld_mask(_context(patients, events, profile, ref_date).state).sum())


@dataclass(frozen=True)
class Active104:
    """Active 104 codes split into bulk-applied and individual."""

    bulk: int
    individual: int


def _active_104(ctx: _Ctx) -> Active104:
    pos, kind, day = ctx.events()
    added = kind == K_ADDED
    active = ctx.flag("registered") & ctx.flag("protected_104")
    n_active = int(active.sum())
    if not n_active:
        return Active104(0, 0)
    low = int(day[added].min())
    span = int(day[added].max()) - low + 1
    n = ctx.prep.n
    # (practice, day, patient) of each 104, sorted; distinct patients per (practice, day)
    coded = np.sort(_pair_keys(ctx.prep.group[pos[added]], day[added], low, span) * n + pos[added])
    coded = coded[np.append(True, coded[1:] != coded[:-1])] // n
    firsts = np.flatnonzero(np.append(True, coded[1:] != coded[:-1]))
    sizes, counts = coded[firsts], np.diff(np.append(firsts, len(coded)))
    # looked up at each active 104's date
    review = _dates(ctx.state, "enhanced_review_date")[active].astype("datetime64[D]")
    wanted = _pair_keys(ctx.prep.group[active], review.astype(np.int64), low, span)
    at = np.minimum(np.searchsorted(sizes, wanted), len(sizes) - 1)
    same_day = np.where(sizes[at] == wanted, counts[at], 0)
    bulk = int(np.count_nonzero(same_day >= BULK_104_THRESHOLD))
    return Active104(bulk, n_active - bulk)


def active_104s(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> Active104:
    """Active 104 codes at D (registered patients with ``protected_104``), bulk vs individual.

    A patient's active 104 is the latest enhanced_review_added <= D; it is bulk when at
    least 50 distinct patients of the same practice have an enhanced_review_added event on
    that same date, individual otherwise.
    """
    return _active_104(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- headline


def _json(value: object) -> int | float | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return int(value)  # type: ignore[call-overload]


def _period_counts(ctx: _Ctx, period_start: DateLike) -> dict[str, int]:
    start = day_number(period_start)
    days = {**ctx.uptake_days, "revocations": ctx.revoked_days}
    out: dict[str, int] = {}
    for name, values in days.items():
        out[f"{name}_period"] = int(np.count_nonzero(values >= start))
        out[f"{name}_cumulative"] = len(values)
    return out


def _headline(ctx: _Ctx, period_start: DateLike) -> dict[str, object]:
    share = _uptake_share(ctx)
    times = _request_to_provision(ctx, period_start)
    clear = _projected_clear(ctx)
    _, _, cohort, protected = _pending_16_counts(ctx, DEFAULT_HORIZON_MONTHS)
    coverage = _protection_coverage(ctx)
    codes = _active_104(ctx)
    wait = ctx.state["wait_days"][_open_mask(ctx)]
    return {
        "ref_date": ctx.ref,
        "period_start": pd.Timestamp(period_start),
        "eligible": share.eligible,
        "account_holders_16plus": share.account_holders,
        "opt_in_holders": share.opt_in_holders,
        "opt_in_share_of_eligible": share.share_of_eligible,
        "opt_in_holders_with_account": share.opt_in_holders_with_account,
        "opt_in_share_of_account_holders": share.share_of_account_holders,
        **_period_counts(ctx, period_start),
        "open_requests": len(wait),
        "open_requests_over_28_days": int((wait > 28).sum()),
        "request_to_provision_n": times.n,
        "request_to_provision_median_days": times.median_days,
        "request_to_provision_p90_days": times.p90_days,
        "revocation_backlog": clear.backlog,
        "revocation_rate_per_month": clear.rate_per_month,
        "projected_clear_status": clear.status,
        "projected_clear_date": clear.clear_date,
        "pending_16_horizon_months": DEFAULT_HORIZON_MONTHS,
        "pending_16_cohort": int(cohort.sum()),
        "pending_16_protected": int(protected.sum()),
        "pending_16_at_risk": int((cohort - protected).sum()),
        "turned_16_automatic": _turned_16_automatic(ctx, period_start),
        "protection_coverage_numerator": coverage.numerator,
        "protection_coverage_denominator": coverage.denominator,
        "protection_coverage_share": coverage.share,
        "withheld_pending_opt_in": int(withheld_mask(ctx.state).sum()),
        "active_104_bulk": codes.bulk,
        "active_104_individual": codes.individual,
    }


def headline(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    period_start: DateLike,
) -> dict[str, int | float | str | None]:
    """The headline figures at D for the period [period_start, D], JSON-friendly.

    Values are int, float, None (for NaN or no date) or ISO date text. Keys:
    eligible, account_holders_16plus (eligible & account), opt_in_holders and
    opt_in_share_of_eligible, opt_in_holders_with_account and
    opt_in_share_of_account_holders (:func:`uptake_share`); requests_, counselled_,
    provisioned_ and revocations_ ``period`` (event dated in [period_start, D]) and
    ``cumulative`` (dated <= D) as in :func:`uptake_by_month`; open_requests and
    open_requests_over_28_days (wait_days > 28); request_to_provision_n, _median_days,
    _p90_days for grants in the period (:func:`request_to_provision`);
    revocation_backlog, revocation_rate_per_month, projected_clear_status,
    projected_clear_date (:func:`projected_clear_date`); pending_16_cohort, _protected,
    _at_risk over the default 6-month horizon (:func:`pending_16`); turned_16_automatic
    in the period; protection_coverage_numerator, _denominator, _share;
    withheld_pending_opt_in; active_104_bulk and active_104_individual
    (:func:`active_104s`).
    """
    ctx = _context(patients, events, profile, ref_date)
    if day_number(period_start) > ctx.d:
        raise ValueError(f"period_start {period_start} is after the reference date")
    return {k: _json(v) for k, v in _headline(ctx, period_start).items()}


# --------------------------------------------------------------------------- one month


@dataclass(frozen=True)
class MonthMeasures:
    """Every measure of one practice-month, computed from one preparation of the inputs.

    ``headline`` is :func:`headline` at D for the period; ``previous`` the same at the
    end of the month before (for "change since last month"), or None when that month
    ends before ``trend_start``. Tables are exact (practice-internal): outgoing use goes
    through :mod:`optin_analysis.outgoing.summary`, which applies disclosure control.
    """

    headline: dict[str, int | float | str | None]
    previous: dict[str, int | float | str | None] | None
    uptake_by_month: pd.DataFrame
    backlog_by_month: pd.DataFrame
    pending_16: pd.DataFrame
    open_requests: pd.DataFrame
    state: pd.DataFrame  #: patient-level state at D (practice-internal: for worklists)


def month_measures(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    period_start: DateLike,
    trend_start: DateLike,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> MonthMeasures:
    """All measures for the period [period_start, D], with trends from ``trend_start``."""
    prep = prepare(patients, events)
    ctx = _ctx(prep, profile, ref_date)
    previous = None
    prev_end = as_timestamp(period_start) - pd.Timedelta(days=1)
    if prev_end >= as_timestamp(trend_start):
        prev_ctx = _ctx(prep, profile, prev_end)
        prev_start = prev_end.replace(day=1)
        previous = {k: _json(v) for k, v in _headline(prev_ctx, prev_start).items()}
    return MonthMeasures(
        headline={k: _json(v) for k, v in _headline(ctx, period_start).items()},
        previous=previous,
        uptake_by_month=_uptake_by_month(ctx, trend_start),
        backlog_by_month=_backlog_by_month(ctx, trend_start),
        pending_16=_pending_16(ctx, horizon_months),
        open_requests=_open_requests(ctx),
        state=state_frame(prep, ctx.state),
    )
