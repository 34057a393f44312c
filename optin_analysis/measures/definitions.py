"""The opt-in model's measures, as of a reference date D, for one practice.

Every public function takes ``(patients, events, profile, ...)`` canonical frames for one
practice and explicit dates; nothing reads the clock. Per-patient facts (eligible, access,
protection, requests) come from :func:`optin_analysis.measures.state.patient_state`, whose
module docstring defines them; episodes, provisions and spells of access from
:mod:`optin_analysis.measures.timeline`. :mod:`optin_analysis.measures.month` computes
all of them at once for a report.

Rules common to all measures (each rule tag below has a hand-worked test):

* [rule registered-only] Only patients registered at D count, and only their events.
* [rule calendar-months] Months are calendar months, labelled ``YYYY-MM``; "month end" is
  its last day. A month that contains D is counted up to D only.
* [rule share] A share is numerator / denominator, NaN when the denominator is 0.
* [rule wait-tail] The wait tail: open requests waiting more than 28, more than 90 and
  more than 180 days at D (days waited as in [rule stage]), each counted on its own, so
  the longest waits are seen whatever the bands below them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from optin_analysis.config import Practice, Supplier
from optin_analysis.ingest.load import PracticeData
from optin_analysis.measures.days import MISSING, NEVER, DateLike, day_number
from optin_analysis.measures.link import K_ADDED, K_COUNSELLED, EventArrays, Prepared, prepare
from optin_analysis.measures.state import StateArrays, state_arrays
from optin_analysis.measures.timeline import Spells, Timeline, disagreement_words, timeline

#: A patient state: the frame of :func:`~optin_analysis.measures.state.patient_state` or its
#: columns as arrays (:func:`~optin_analysis.measures.state.state_arrays`); masks read either.
State = pd.DataFrame | StateArrays

#: Bands of days waited by open requests (upper bounds of all but the last, inclusive).
AGE_BANDS: tuple[str, ...] = ("0-7", "8-14", "15-28", "29-56", "57-90", "91-180", "181+")
BAND_UPPER = np.array([7, 14, 28, 56, 90, 180])
STAGES: tuple[str, ...] = ("awaiting counselling", "awaiting provisioning")
#: A 104 is "bulk" when at least this many patients got one on the same date.
BULK_104_THRESHOLD = 50
DEFAULT_HORIZON_MONTHS = 6
#: Open requests waiting longer than this many days count as late.
LATE_DAYS = 28
#: The wait tail the ICB must see: open requests waiting more than each of these days.
WAIT_TAIL_DAYS = (28, 90, 180)


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

    @property
    def tl(self) -> Timeline:
        return timeline(self.prep, self.profile)

    @cached_property
    def kept(self) -> np.ndarray:
        """Timeline events dated on or before D of patients registered at D."""
        ev = self.tl.events
        return (ev.day <= self.d) & self.flag("registered")[ev.pos]

    @cached_property
    def ev(self) -> EventArrays:
        """(pos, kind, day) of :attr:`kept` events."""
        ev, keep = self.tl.events, self.kept
        return ev.pos[keep], ev.kind[keep], ev.day[keep]

    @cached_property
    def provisions(self) -> dict[str, np.ndarray]:
        """Provisions dated on or before D of patients registered at D (coded or implied)."""
        every = self.tl.provisions()
        keep = (every["day"] <= self.d) & self.flag("registered")[every["pos"]]
        return {name: values[keep] for name, values in every.items()}

    @cached_property
    def uptake_days(self) -> dict[str, np.ndarray]:
        """Days of new requests, counselling and provisions (see :func:`uptake_by_month`)."""
        ev, keep = self.tl.events, self.kept
        return {
            "requests": ev.day[keep & ev.opens],
            "counselled": ev.day[keep & (ev.kind == K_COUNSELLED)],
            "provisioned": self.provisions["day"],
        }

    @cached_property
    def revoked_days(self) -> np.ndarray:
        """Days of revocations of automatic access ([rule automatic-revocation])."""
        return self.tl.events.day[self.kept & self.tl.automatic_revocation]


def _ctx(prep: Prepared, profile: Practice, ref_date: DateLike) -> _Ctx:
    state = state_arrays(prep, profile, ref_date, frame=False)
    return _Ctx(prep, state, profile, day_number(ref_date))


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

    [rule uptake-counts] Counts events dated on or before D of patients registered at D:

    * ``requests``: new requests, i.e. opt_in_requested events that open an episode (a
      chaser within an open episode is not a new request);
    * ``counselled``: counselled events;
    * ``provisioned``: provisions (access_granted events closing an open episode, or the
      extract's access start where grants are not coded, [rule provision]; a restoration
      of access is not one).

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
    """[rule uptake-share] Share of patients holding access through opt-in at D.

    * ``share_of_eligible`` = opt-in holders (eligible & via_opt_in) / eligible.
    * ``share_of_account_holders`` = opt-in holders with an online account at D /
      (eligible & account).
    """
    return _uptake_share(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- open requests


def _open_mask(ctx: _Ctx) -> np.ndarray:
    return ctx.flag("registered") & ctx.flag("open_request")


def band_words(band: str | None) -> str:
    """A band of days waited in words: "8 to 14 days", "over 180 days", "none"."""
    if band in (None, "none"):
        return "none"
    if band.endswith("+"):
        return f"over {int(band.rstrip('+')) - 1} days"
    return band.replace("-", " to ") + " days"


def band_of(wait_days: np.ndarray) -> np.ndarray:
    """Index in :data:`AGE_BANDS` of each number of days waited ([rule wait-bands])."""
    return np.searchsorted(BAND_UPPER, wait_days, side="left")


def _open_requests(ctx: _Ctx) -> pd.DataFrame:
    is_open = _open_mask(ctx)
    wait = ctx.state["wait_days"][is_open]
    # stage: awaiting provisioning once counselled (see patient_state)
    stage = (~np.isnat(ctx.state["counselled_date"][is_open])).astype(np.int64)
    band = band_of(wait)
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
    """Open opt-in requests at D by stage and band of days waited: every row, zeros included.

    Counted: registered patients with ``open_request`` at D. ``stage``: 'awaiting
    counselling' or 'awaiting provisioning'. [rule wait-bands] ``band`` groups the days
    waited since the episode's first request, D - request_date: 0-7, 8-14, 15-28, 29-56,
    57-90, 91-180, 181+ (each upper bound inside its band). Requests waiting more than 28
    days are late.
    """
    return _open_requests(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- provision time


@dataclass(frozen=True)
class ProvisionTimes:
    """Days from opt-in request to provision (see :func:`request_to_provision`)."""

    n: int
    median_days: float
    p90_days: float


def _provisions(ctx: _Ctx, period_start: DateLike | None) -> dict[str, np.ndarray]:
    """Provisions dated in [period_start, D] (all up to D without a start): day, wait and
    whether counselled within the episode."""
    every = ctx.provisions
    if period_start is None:
        return every
    keep = every["day"] >= day_number(period_start)
    return {name: values[keep] for name, values in every.items()}


def nearest_rank(values: np.ndarray, percent: int) -> float:
    """The ``percent``-th percentile by nearest rank: the value at rank ceil(percent/100 x n)
    of the sorted values (1-based), so always one of the values; NaN when there are none.
    Unlike interpolation between ranks, its fraction carries nothing about n."""
    if not len(values):
        return math.nan
    rank = max(1, math.ceil(percent * len(values) / 100))
    return float(np.partition(np.asarray(values), rank - 1)[rank - 1])


def _request_to_provision(ctx: _Ctx, period_start: DateLike | None) -> ProvisionTimes:
    waits = _provisions(ctx, period_start)["wait"]
    return ProvisionTimes(len(waits), nearest_rank(waits, 50), nearest_rank(waits, 90))


def request_to_provision(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    period_start: DateLike | None = None,
) -> ProvisionTimes:
    """[rule request-to-provision] Days from opt-in request to provision: n, median, p90.

    One value per provision dated on or before D (only those in [period_start, D] when
    ``period_start`` is given): its date minus the first request of the episode it closes
    ([rule episode]). So ``n`` counts the same provisions as ``provisioned`` in
    :func:`uptake_by_month`. Median and 90th percentile by nearest rank (the wait at rank
    ceil(p/100 x n) of the sorted waits: whole days, one of the waits, the lower middle
    for an even n); both are NaN when n == 0.
    """
    return _request_to_provision(_context(patients, events, profile, ref_date), period_start)


def _counselled_provisions(ctx: _Ctx, period_start: DateLike) -> int:
    return int(_provisions(ctx, period_start)["counselled"].sum())


def counselled_before_provision(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    period_start: DateLike,
    ref_date: DateLike,
) -> tuple[int, int]:
    """[rule counselled-before-provision] (counselled provisions, provisions) in the period.

    A provision dated in [period_start, D] counts as counselled when a counselled event of
    the same patient lies between the first request of its episode and the grant (both
    days included).
    """
    ctx = _context(patients, events, profile, ref_date)
    return _counselled_provisions(ctx, period_start), len(_provisions(ctx, period_start)["day"])


# --------------------------------------------------------------------------- backlog


def backlog_mask(state: State, supplier: Supplier) -> np.ndarray:
    """Rows of a patient state in the revocation backlog (see :func:`revocation_backlog`)."""
    held = _bool(state, "eligible") & _bool(state, "automatic")
    return held & _bool(state, "account") if supplier is Supplier.EMIS else held


def automatic_with_account_mask(state: State) -> np.ndarray:
    """Eligible rows holding automatic access with an online account at D."""
    return _bool(state, "eligible") & _bool(state, "automatic") & _bool(state, "account")


def dormant_mask(state: State) -> np.ndarray:
    """Rows holding automatic access without a usable account (see :func:`dormant_exposure`)."""
    return _bool(state, "eligible") & _bool(state, "automatic") & ~_bool(state, "account")


def revocation_backlog(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> int:
    """Revocation backlog at D, in the guidance's words for the practice's supplier.

    * [rule backlog-emis] EMIS ("review those who may already have been given full
      prospective access ... and who have an online services account"): eligible patients
      with an online account at D holding automatic full prospective access.
    * [rule backlog-tpp] TPP ("review those who may already have been given full
      prospective access"): eligible patients holding automatic full prospective access,
      with or without an account.

    Opted-out patients still holding automatic access are included.
    """
    ctx = _context(patients, events, profile, ref_date)
    return int(backlog_mask(ctx.state, profile.supplier).sum())


def dormant_exposure(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> int:
    """[rule dormant-exposure] Eligible patients holding automatic full prospective access
    without a usable online account at D (EMIS Inactive or Archived, TPP not an online
    user): (re)activating the account exposes them. At a TPP practice they are also in the
    backlog; at an EMIS practice they are not."""
    return int(dormant_mask(_context(patients, events, profile, ref_date).state).sum())


def _count_on(start: np.ndarray, end: np.ndarray, days: np.ndarray) -> np.ndarray:
    """How many of the spans [start, end) hold each of ``days``."""
    held = start < end
    starts, ends = np.sort(start[held]), np.sort(end[held])
    return np.searchsorted(starts, days, side="right") - np.searchsorted(ends, days, side="right")


def _automatic_on(prep: Prepared, profile: Practice, days: np.ndarray) -> dict[str, np.ndarray]:
    """Eligible patients holding automatic access at each of ``days``, with and without a
    usable online account, in one pass over the automatic spells.

    Each condition holds over a span of days: registered and 16+ from the later of the
    registration date and the 16th birthday; an account from online_account_date (always,
    when it is missing) for online_account patients. A patient counts on day d when d is
    in one of their automatic spells cut to those spans.
    """
    since = np.maximum(prep.reg_day, prep.b16_day)
    since = np.where((prep.reg_day == MISSING) | (prep.b16_day == MISSING), NEVER, since)
    spells: Spells = timeline(prep, profile).spells.automatic()
    start = np.maximum(spells.start, since[spells.pos])
    online, acct = prep.online[spells.pos], prep.acct_day[spells.pos]
    account_from = np.where(online, acct, NEVER)  # MISSING (no date) means always
    with_account = _count_on(np.maximum(start, account_from), spells.end, days)
    dormant = _count_on(start, np.minimum(spells.end, account_from), days)
    return {"automatic_with_account": with_account, "dormant": dormant}


def backlog_of(automatic: dict, supplier: Supplier) -> np.ndarray:
    """The backlog from automatic holders with and without an account, for ``supplier``
    ([rule backlog-emis], [rule backlog-tpp])."""
    with_account = np.asarray(automatic["automatic_with_account"])
    if supplier is Supplier.EMIS:
        return with_account
    return with_account + np.asarray(automatic["dormant"])


def _backlog_by_month(ctx: _Ctx, start: DateLike) -> pd.DataFrame:
    m0, m1 = _month_range(start, ctx.d)
    as_of = np.minimum(_month_firsts(m0 + 1, m1 + 1) - 1, ctx.d)  # month ends
    automatic = _automatic_on(ctx.prep, ctx.profile, as_of)
    revocations, _ = _monthly(ctx.revoked_days, m0, m1)
    return pd.DataFrame(
        {
            "month": _month_labels(m0, m1),
            "as_of": np.asarray(as_of).astype("datetime64[D]").astype("datetime64[us]"),
            "backlog": backlog_of(automatic, ctx.profile.supplier).astype(np.int64),
            "automatic_with_account": automatic["automatic_with_account"].astype(np.int64),
            "dormant": automatic["dormant"].astype(np.int64),
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

    [rule backlog-trend] ``backlog``: the revocation backlog evaluated at ``as_of`` =
    min(month end, D), over today's patient list (patients who have since left cannot be
    reconstructed); ``automatic_with_account`` and ``dormant``: eligible patients holding
    automatic access then, with and without a usable online account (the backlog is the
    first at EMIS, their sum at TPP). ``revocations``: [rule revocations] revocations of
    automatic access ([rule automatic-revocation]) dated in the month (and on or before
    D), of patients registered at D; taking back opt-in access is not counted.
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


def _last_complete_months(d: int) -> tuple[int, int]:
    """Day numbers [first, end) of the last 3 complete months up to D's month."""
    m = int(_month(d))
    last = m if d == _month_end_day(m) else m - 1
    first, end = _month_firsts(last - 2, last + 1)[[0, -1]]
    return int(first), int(end)


def _projected_clear(ctx: _Ctx) -> ClearProjection:
    backlog = int(backlog_mask(ctx.state, ctx.profile.supplier).sum())
    first, end = _last_complete_months(ctx.d)
    revoked = ctx.revoked_days
    recent = int(np.count_nonzero((revoked >= first) & (revoked < end)))
    rate = recent / 3
    if backlog == 0:
        return ClearProjection(0, recent, rate, "cleared", None, None)
    if recent == 0:
        return ClearProjection(backlog, 0, 0.0, "not clearing", None, None)
    k = -(-3 * backlog // recent)  # ceil(backlog / (recent / 3)) in integers
    clear = pd.Timestamp(np.datetime64(_month_end_day(int(_month(ctx.d)) + k), "D"))
    return ClearProjection(backlog, recent, rate, "clearing", k, clear)


def projected_clear_date(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> ClearProjection:
    """[rule clear-date] Projected date the revocation backlog clears.

    rate = revocations of automatic access (patients registered at D) in the last 3
    complete months up to D's month, divided by 3; D's month counts as complete only when D
    is its last day. Backlog 0: 'cleared'; rate 0: 'not clearing' (no date); otherwise the
    month end of D's month + ceil(backlog / rate) months.
    """
    return _projected_clear(_context(patients, events, profile, ref_date))


# --------------------------------------------------------------------------- turning 16


@lru_cache(maxsize=256)
def horizon_end(ref_date: DateLike, horizon_months: int) -> pd.Timestamp:
    """Last day of the ``horizon_months``-th calendar month after D's month."""
    if horizon_months < 0:
        raise ValueError("horizon_months must be >= 0")
    month = pd.Period(pd.Timestamp(ref_date), freq="M") + horizon_months
    return month.end_time.normalize()


def pending_16_mask(state: State, ref_date: DateLike, horizon_months: int) -> np.ndarray:
    """Rows of a patient state in the pending-16 cohort (see :func:`pending_16`)."""
    b16 = _dates(state, "sixteenth_birthday")
    ref = pd.Timestamp(ref_date).to_datetime64()
    window = (b16 > ref) & (b16 <= horizon_end(ref_date, horizon_months).to_datetime64())
    return _bool(state, "registered") & window


def _pending_16_counts(ctx: _Ctx, horizon_months: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(first month, last month, cohort and protected per month) of :func:`pending_16`."""
    cohort = pending_16_mask(ctx.state, ctx.ref, horizon_months)
    m0, m1 = int(_month(ctx.d + 1)), int(_month(ctx.d)) + horizon_months
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
    """Patients turning 16 soon, by calendar month of their 16th birthday.

    [rule pending-16-window] Cohort: patients registered at D whose 16th birthday (29
    February -> 1 March in a common year) falls from the day after D to the last day of the
    ``horizon_months``-th calendar month after D's month (whole calendar months).
    [rule pending-16-protected] ``protected``: protected at D (active 104, or the supplier
    setting); ``at_risk`` = cohort - protected. One row per month from the month of D + 1
    day to the last month of the horizon, zeros included.
    """
    return _pending_16(_context(patients, events, profile, ref_date), horizon_months)


def _turned_16_automatic(ctx: _Ctx, period_start: DateLike) -> int:
    b16 = ctx.prep.b16_day
    window = (b16 >= day_number(period_start)) & (b16 <= ctx.d) & ctx.flag("registered")
    spells = ctx.tl.spells.automatic()
    mine = window[spells.pos]
    held = mine & (spells.start <= ctx.d) & (spells.end > b16[spells.pos])
    return int(np.unique(spells.pos[held]).size)


def turned_16_automatic(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    period_start: DateLike,
    ref_date: DateLike,
) -> int:
    """[rule turned-16-automatic] Patients who turned 16 in [period_start, D] and held
    automatic access on some day from their 16th birthday to D.

    A failure of the model, counted when it happened even if corrected since (revoked
    later in the month). Access provisioned after an opt-in request on or before the
    birthday is not counted; automatic access from the birthday is.
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
    """Rows of a patient state withheld pending opt-in (see :func:`withheld_pending_opt_in`)."""
    return _bool(state, "eligible") & ~_bool(state, "has_access") & ~_bool(state, "opted_out")


def coverage_base_mask(state: State) -> np.ndarray:
    """Rows in the protection-coverage denominator: withheld and never asked to opt in."""
    return withheld_mask(state) & np.isnat(_dates(state, "request_date"))


def _protection_coverage(ctx: _Ctx) -> Coverage:
    base = coverage_base_mask(ctx.state)
    denominator = int(base.sum())
    numerator = int((base & ctx.flag("protected")).sum())
    return Coverage(numerator, denominator, _share(numerator, denominator))


def protection_coverage(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> Coverage:
    """[rule protection-coverage] Share of 16+ patients without access, neither opted out
    nor asked to opt in, who are protected.

    denominator: eligible, no access, not opted out, no opt_in_requested on or before D;
    numerator: those ``protected`` at D (active 104, or the supplier setting).
    """
    return _protection_coverage(_context(patients, events, profile, ref_date))


def withheld_pending_opt_in(
    patients: pd.DataFrame, events: pd.DataFrame, profile: Practice, ref_date: DateLike
) -> int:
    """[rule withheld] 16+ patients with neither access nor an opt-out at D: eligible, no
    full prospective access, not opted out. The number the guidance's last sentence is
    about ("must be provided with access")."""
    return int(withheld_mask(_context(patients, events, profile, ref_date).state).sum())


@dataclass(frozen=True)
class Active104:
    """Active 104 codes split into bulk-applied and individual."""

    bulk: int
    individual: int


def _pair_keys(pos: np.ndarray, day: np.ndarray, low: int, span: int) -> np.ndarray:
    """One sortable integer per (patient or practice, day), for days in [low, low + span)."""
    return pos * span + (day - low)


def _active_104(ctx: _Ctx) -> Active104:
    pos, kind, day = ctx.ev
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

    [rule bulk-104] A patient's active 104 is the latest enhanced_review_added on or before
    D; it is bulk when at least 50 distinct patients of the same practice have an
    enhanced_review_added event on that same date, individual otherwise.
    """
    return _active_104(_context(patients, events, profile, ref_date))


def disagreements(patients: pd.DataFrame, events: pd.DataFrame, profile: Practice) -> pd.Series:
    """Per patient (same index as ``patients``): how coded grants/revocations disagree with
    the extract at the extract date ([rule disagreement]), in words; empty where they agree."""
    tl = timeline(prepare(patients, events), profile)
    return disagreement_words(tl.disagreement, patients.index)


def disagreement_count(data: PracticeData) -> int:
    """Patients of a loaded practice whose codes disagree with the extract ([rule
    disagreement]); the extract is what every measure uses."""
    return int((disagreements(data.patients, data.events, data.profile) != "").sum())
