"""Every measure of one practice-month at once: the headline figures and the tables.

:func:`month_measures` prepares the inputs once and evaluates each measure of
:mod:`optin_analysis.measures.definitions` (whose docstrings define them) at D and at the
end of the month before. Figures are exact (practice-internal): what leaves the practice
goes through :mod:`optin_analysis.outgoing.summary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import pandas as pd

from optin_analysis.config import Practice
from optin_analysis.dates import as_timestamp
from optin_analysis.measures import definitions as d
from optin_analysis.measures.days import DateLike, day_number
from optin_analysis.measures.link import prepare
from optin_analysis.measures.state import frame_only, state_frame


def _json(value: object) -> int | float | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return int(value)  # type: ignore[call-overload]


def _period_counts(ctx: d._Ctx, period_start: DateLike) -> dict[str, int]:
    start = day_number(period_start)
    days = {**ctx.uptake_days, "revocations": ctx.revoked_days}
    out: dict[str, int] = {}
    for name, values in days.items():
        out[f"{name}_period"] = int(np.count_nonzero(values >= start))
        out[f"{name}_cumulative"] = len(values)
    return out


def _headline(ctx: d._Ctx, period_start: DateLike) -> dict[str, object]:
    share = d._uptake_share(ctx)
    times = d._request_to_provision(ctx, period_start)
    clear = d._projected_clear(ctx)
    _, _, cohort, protected = d._pending_16_counts(ctx, d.DEFAULT_HORIZON_MONTHS)
    coverage = d._protection_coverage(ctx)
    codes = d._active_104(ctx)
    is_open = d._open_mask(ctx)
    wait = ctx.state["wait_days"][is_open]
    not_counselled = np.isnat(d._dates(ctx.state, "counselled_date")[is_open])
    flows = _period_counts(ctx, period_start)
    counselled = d._counselled_provisions(ctx, period_start)
    automatic = int(d.automatic_with_account_mask(ctx.state).sum())
    dormant = int(d.dormant_mask(ctx.state).sum())
    with_access = share.opt_in_holders + automatic + dormant
    with_account = share.opt_in_holders_with_account + automatic
    active_16plus = int((ctx.flag("eligible") & ctx.flag("protected_104")).sum())
    return {
        "ref_date": ctx.ref,
        "period_start": pd.Timestamp(period_start),
        "eligible": share.eligible,
        "account_holders_16plus": share.account_holders,
        "opt_in_holders": share.opt_in_holders,
        "opt_in_share_of_eligible": share.share_of_eligible,
        "opt_in_holders_with_account": share.opt_in_holders_with_account,
        "opt_in_share_of_account_holders": share.share_of_account_holders,
        **flows,
        "provisioned_counselled_period": counselled,
        "counselled_before_provision_share": d._share(counselled, flows["provisioned_period"]),
        "open_requests": len(wait),
        "open_requests_awaiting_counselling": int(np.count_nonzero(not_counselled)),
        **{f"open_requests_over_{t}_days": int((wait > t).sum()) for t in d.WAIT_TAIL_DAYS},
        "longest_wait_band": d.AGE_BANDS[int(d.band_of(wait.max()))] if len(wait) else "none",
        "request_to_provision_n": times.n,
        "request_to_provision_median_days": times.median_days,
        "request_to_provision_p90_days": times.p90_days,
        "revocation_backlog": clear.backlog,
        "automatic_with_account": automatic,
        "dormant_exposure": dormant,
        "with_access": with_access,
        "account_holders_with_access": with_account,
        "access_share_of_eligible": d._share(with_access, share.eligible),
        "access_share_of_account_holders": d._share(with_account, share.account_holders),
        "revocation_rate_per_month": clear.rate_per_month,
        "projected_clear_status": clear.status,
        "projected_clear_date": clear.clear_date,
        "pending_16_horizon_months": d.DEFAULT_HORIZON_MONTHS,
        "pending_16_cohort": int(cohort.sum()),
        "pending_16_protected": int(protected.sum()),
        "pending_16_at_risk": int((cohort - protected).sum()),
        "turned_16_automatic": d._turned_16_automatic(ctx, period_start),
        "protection_coverage_numerator": coverage.numerator,
        "protection_coverage_denominator": coverage.denominator,
        "protection_coverage_share": coverage.share,
        "unprotected": coverage.denominator - coverage.numerator,
        "withheld_pending_opt_in": int(d.withheld_mask(ctx.state).sum()),
        "active_104_bulk": codes.bulk,
        "active_104_individual": codes.individual,
        "active_104_16plus": active_16plus,
        "active_104_share": d._share(active_16plus, share.eligible),
        "record_disagreements": _disagreements_at_extract(ctx),
    }


def _disagreements_at_extract(ctx: d._Ctx) -> int:
    """[rule disagreement] counted as of the extract date, whatever D: a disagreement is a
    fact of the extract (the patients registered then, as ``validate`` counts them)."""
    at_extract = ctx.prep.registered(day_number(ctx.profile.extract_date))
    return int(np.count_nonzero(at_extract & (ctx.tl.disagreement > 0)))


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
    opt_in_share_of_account_holders (:func:`~definitions.uptake_share`); requests_,
    counselled_, provisioned_ and revocations_ ``period`` (dated in [period_start, D]) and
    ``cumulative`` (dated on or before D) as in :func:`~definitions.uptake_by_month` and
    :func:`~definitions.backlog_by_month`; provisioned_counselled_period
    (:func:`~definitions.counselled_before_provision`) and
    counselled_before_provision_share (of provisioned_period; NaN without one);
    open_requests, open_requests_awaiting_counselling (not yet counselled, the rest
    awaiting provisioning) and open_requests_over_28_days, _90_days and _180_days (waiting
    more than that many days: the tail [rule wait-tail]); longest_wait_band (the band of the longest
    wait, ``"none"`` without an open request); request_to_provision_n, _median_days,
    _p90_days for provisions in the period; revocation_backlog, revocation_rate_per_month,
    projected_clear_status, projected_clear_date
    (:func:`~definitions.projected_clear_date`); automatic_with_account and dormant_exposure
    (eligible holders of automatic access with and without an account); with_access
    (eligible patients holding full access: through opt-in, or automatic with or without an
    account) and account_holders_with_access (those with an account: opt-in holders with
    one and automatic_with_account), access_share_of_eligible and
    access_share_of_account_holders (of eligible and account_holders_16plus: the figures
    NHS England monitors on the default model; NaN without a denominator); pending_16_cohort,
    _protected, _at_risk over the default 6-month horizon; turned_16_automatic in the
    period; protection_coverage_numerator, _denominator, _share and unprotected (denominator
    less numerator); withheld_pending_opt_in; active_104_bulk and active_104_individual
    (registered patients), active_104_16plus (eligible) and active_104_share (of eligible);
    record_disagreements (patients
    registered at the extract date whose codes disagree with the extract, [rule
    disagreement]: a fact of the extract date, the same in every month's report).
    """
    ctx = d._context(patients, events, profile, ref_date)
    if day_number(period_start) > ctx.d:
        raise ValueError(f"period_start {period_start} is after the reference date")
    return {k: _json(v) for k, v in _headline(ctx, period_start).items()}


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
    #: Builds the patient-level state at D (practice-internal: for worklists), on demand.
    state_source: Callable[[], pd.DataFrame] = field(repr=False, compare=False)

    @cached_property
    def state(self) -> pd.DataFrame:
        """The patient-level state at D: a frame made only when asked for (worklists,
        dashboard), since the measures themselves read arrays."""
        return self.state_source()


def _state(prep, profile: Practice, ctx: d._Ctx) -> pd.DataFrame:
    """The patient-level state of ``ctx``, with the columns only the frame has."""
    return state_frame(prep, {**ctx.state, **frame_only(prep, profile, ctx.d, ctx.state)})


def month_measures(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    period_start: DateLike,
    trend_start: DateLike,
    horizon_months: int = d.DEFAULT_HORIZON_MONTHS,
) -> MonthMeasures:
    """All measures for the period [period_start, D], with trends from ``trend_start``."""
    prep = prepare(patients, events)
    ctx = d._ctx(prep, profile, ref_date)
    previous = None
    prev_end = as_timestamp(period_start) - pd.Timedelta(days=1)
    if prev_end >= as_timestamp(trend_start):
        prev_ctx = d._ctx(prep, profile, prev_end)
        prev_start = prev_end.replace(day=1)
        previous = {k: _json(v) for k, v in _headline(prev_ctx, prev_start).items()}
    return MonthMeasures(
        headline={k: _json(v) for k, v in _headline(ctx, period_start).items()},
        previous=previous,
        uptake_by_month=d._uptake_by_month(ctx, trend_start),
        backlog_by_month=d._backlog_by_month(ctx, trend_start),
        pending_16=d._pending_16(ctx, horizon_months),
        open_requests=d._open_requests(ctx),
        state_source=partial(_state, prep, profile, ctx),
    )
