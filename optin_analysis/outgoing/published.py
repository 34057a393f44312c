"""A practice-month's figures as they leave the practice, under disclosure control.

:func:`publish` turns the exact :class:`~optin_analysis.measures.month.MonthMeasures`
into published tables and headline figures, following the two rules of
:mod:`optin_analysis.outgoing.disclosure`: base cells controlled on their own (coarsened
until publishable), everything else derived from them. Each figure's kind (count,
share, days) says how it is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optin_analysis.config import Disclosure, Model, Supplier
from optin_analysis.measures.definitions import AGE_BANDS, BAND_UPPER, STAGES, WAIT_TAIL_DAYS
from optin_analysis.measures.month import MonthMeasures
from optin_analysis.outgoing.disclosure import (
    MARK,
    Level,
    Published,
    coarsen,
    control_count,
    hidden,
    share,
    some,
    total,
)
from optin_analysis.outgoing.releases import (
    Released,
    covered_months,
    level_words,
    series_rows,
    state_rows,
)

UPTAKE = ("requests", "counselled", "provisioned")
#: The wait tail published ([rule sdc-wait-tail]): open requests waiting more than these
#: many days (the upper bounds of the wait bands).
WAIT_THRESHOLDS = tuple(int(t) for t in BAND_UPPER)
#: A median or percentile of waits is published only over at least this many provisions,
#: judged from the published count (so whether it is shown tells nothing more).
MIN_GROUP_FOR_PERCENTILES = 10
#: A backlog projected to clear later than this many months away reads "not clearing at
#: the recent rate": the recent rate says nothing about years ahead.
BELIEVABLE_MONTHS = 60

#: Headline counts published as base cells: no identity links their true values.
BASE_COUNTS = (
    "eligible",
    "account_holders_16plus",
    "opt_in_holders",
    "opt_in_holders_with_account",
    "withheld_pending_opt_in",
    "active_104_bulk",
    "active_104_individual",
    "active_104_16plus",
    "protection_coverage_denominator",
    "unprotected",
    "turned_16_automatic",
    "record_disagreements",
    "provisioned_counselled_period",
)
#: What a practice on the default model publishes: the figures NHS England monitors (access
#: among 16+ patients and account holders, active 104 codes against the 50% line) and the
#: patients the guidance's last sentence is about. No opt-in figure, table or step.
DEFAULT_MODEL_HEADLINE = (
    "ref_date",
    "period_start",
    "eligible",
    "account_holders_16plus",
    "with_access",
    "account_holders_with_access",
    "access_share_of_eligible",
    "access_share_of_account_holders",
    "active_104_16plus",
    "active_104_bulk",
    "active_104_individual",
    "active_104_share",
    "withheld_pending_opt_in",
    "record_disagreements",
)
#: Shares derived from published counts: share -> (numerator, denominator).
SHARES = {
    "opt_in_share_of_eligible": ("opt_in_holders", "eligible"),
    "opt_in_share_of_account_holders": ("opt_in_holders_with_account", "account_holders_16plus"),
    "counselled_before_provision_share": ("provisioned_counselled_period", "provisioned_period"),
    "access_share_of_eligible": ("with_access", "eligible"),
    "access_share_of_account_holders": ("account_holders_with_access", "account_holders_16plus"),
    "active_104_share": ("active_104_16plus", "eligible"),
}
#: Every figure a published headline may hold, by kind: a ``count`` is "[c]", 0 or a count
#: rounded by the disclosure rule; a ``share`` a fraction 0-1 to 3 decimals (or "[c]");
#: ``days`` whole days (or "[c]"); a ``rate`` per month to 1 decimal (or "[c]"); ``date``
#: ISO text; ``label`` words from a fixed set; ``flag`` true or false; ``months`` a whole
#: number of months. Any of them may be null (does not apply). ``summary.schema.json``
#: is generated from this.
HEADLINE_KINDS = {
    **dict.fromkeys(
        ("eligible", "account_holders_16plus", "opt_in_holders", "opt_in_holders_with_account",
         "withheld_pending_opt_in", "active_104_bulk", "active_104_individual",
         "active_104_16plus", "protection_coverage_denominator", "unprotected",
         "turned_16_automatic", "record_disagreements", "provisioned_counselled_period",
         "requests_period", "counselled_period", "provisioned_period", "revocations_period",
         "automatic_with_account", "dormant_exposure", "revocation_backlog", "open_requests",
         "open_requests_awaiting_counselling", "open_requests_over_28_days",
         "open_requests_over_90_days", "open_requests_over_180_days", "pending_16_protected",
         "pending_16_at_risk", "pending_16_cohort", "with_access", "account_holders_with_access"),
        "count",
    ),
    **dict.fromkeys(
        ("opt_in_share_of_eligible", "opt_in_share_of_account_holders",
         "counselled_before_provision_share", "access_share_of_eligible",
         "access_share_of_account_holders", "active_104_share", "protection_coverage_share"),
        "share",
    ),
    "request_to_provision_median_days": "days",
    "request_to_provision_p90_days": "days",
    "revocation_rate_per_month": "rate",
    "ref_date": "date",
    "period_start": "date",
    "projected_clear_date": "date",
    "projected_clear_latest": "date",
    "projected_clear_status": "label",
    "longest_wait_band": "label",
    "revocations_made": "flag",
    "pending_16_horizon_months": "months",
    "revocation_window_months": "months",
}  # fmt: skip
#: How each published headline figure is shown (anything not listed is a count).
KINDS = {k: v for k, v in HEADLINE_KINDS.items() if v in ("share", "days", "rate")}


def _grouped(name: str, keys: list[str]) -> Level:
    labels = tuple(dict.fromkeys(keys))
    index = {label: i for i, label in enumerate(labels)}
    return Level(name, np.array([index[k] for k in keys], dtype=np.int64), labels)


def pending_levels(months: list[str]) -> list[Level]:
    """(month, status); (block of 3 months, status); (whole horizon, status)."""
    statuses = ("protected", "at_risk")
    blocks = [
        months[i // 3 * 3]
        + (f" to {months[min(i // 3 * 3 + 2, len(months) - 1)]}" if len(months) > 1 else "")
        for i in range(len(months))
    ]
    span = f"{months[0]} to {months[-1]}" if len(months) > 1 else (months or ["all"])[0]
    out = []
    for name, keys in (
        ("month", months),
        ("three months", blocks),
        ("whole horizon", [span] * len(months)),
    ):
        level = _grouped(name, [f"{k}|{s}" for k in keys for s in statuses])
        out.append(Level(name, level.group, tuple(tuple(x.split("|")) for x in level.labels)))
    return out


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """A published table: the grouping it is published at and its rows (JSON-ready)."""

    level: str
    rows: list[dict]

    def to_json(self) -> dict:
        return {"level": self.level, "rows": self.rows}


def _series(
    frame: pd.DataFrame, columns: list[str], rule: Disclosure, released: Released, name: str,
    last_complete: str,
) -> Table:  # fmt: skip
    """Monthly flows (no published total), consistent with earlier releases
    ([rule sdc-releases]): one level per calendar year for all ``columns``, the coarsest
    any column needs."""
    rows = series_rows(frame, columns, rule, released.cells.get(name, []), last_complete)
    return Table(level_words(rows), rows)


def _states(
    frame: pd.DataFrame, columns: list[str], rule: Disclosure, released: Released,
    last_complete: str,
) -> Table:  # fmt: skip
    """Month-end states: each month's count a base cell of its own, as first released."""
    rows = state_rows(frame, columns, rule, released.cells.get("automatic", []), last_complete)
    return Table("month", rows)


def _own_backlog(supplier: Supplier, model: Model) -> bool:
    """Whether the backlog is a base cell of its own: a TPP practice on the opt-in model.

    [rule sdc-base-cells] TPP's backlog is everybody holding automatic access
    ([rule backlog-tpp]): with and without an account. Published as the sum of those two
    parts it would read "[c]" whenever few of them lack an account, however many hold
    access. So the backlog and the part without an account are the base cells, and the
    part with an account is not published (it is their difference).
    """
    return supplier is Supplier.TPP and model is not Model.DEFAULT


def _automatic(
    frame: pd.DataFrame, own_backlog: bool, rule: Disclosure, released: Released,
    last_complete: str,
) -> Table:  # fmt: skip
    """Month-end holders of automatic access: with an account and without one (dormant),
    or, where the backlog is its own base cell, the backlog and the dormant part."""
    first = "backlog" if own_backlog else "automatic_with_account"
    return _states(frame, [first, "dormant"], rule, released, last_complete)


def _backlog(automatic: Table, supplier: Supplier) -> Table:
    """The backlog by month ([rule backlog-emis], [rule backlog-tpp]): its own cell, the
    EMIS account holders' cell, or the sum of the two parts."""
    rows = []
    for row in automatic.rows:
        if "backlog" in row:
            backlog = row["backlog"]
        elif supplier is Supplier.EMIS:
            backlog = row["automatic_with_account"]
        else:
            backlog = total([row["automatic_with_account"], row["dormant"]])
        rows.append({"period": row["period"], "backlog": backlog})
    return Table("month", rows)


def _waits(frame: pd.DataFrame, rule: Disclosure) -> Table:
    """The wait tail ([rule sdc-wait-tail]): open requests waiting more than each of
    :data:`WAIT_THRESHOLDS` days, every one a base cell of its own. Nested counts, never
    merged: each bounds the next, none is a sum or difference of others, so the longest
    waits are always shown (the longest band is the last non-zero one)."""
    lower = frame["band"].map(lambda b: int(b.split("-")[0].rstrip("+")))
    beyond = {t: int(frame.loc[lower > t, "requests"].sum()) for t in WAIT_THRESHOLDS}
    rows = [{"over_days": t, "requests": control_count(n, rule)} for t, n in beyond.items()]
    return Table("over days", rows)


def _pending_16(frame: pd.DataFrame, rule: Disclosure) -> Table:
    months = frame["month"].tolist()
    fine = frame[["protected", "at_risk"]].to_numpy(float).ravel()
    level, published = coarsen(fine, pending_levels(months), rule, "parts")
    cells = dict(zip(level.labels, published, strict=True))
    periods = list(dict.fromkeys(label[0] for label in level.labels))
    rows = []
    for period in periods:
        protected, at_risk = cells[(period, "protected")], cells[(period, "at_risk")]
        rows.append(
            {
                "period": period,
                "protected": protected,
                "at_risk": at_risk,
                "cohort": total([protected, at_risk]),
            }
        )
    return Table(level.name, rows)


# --------------------------------------------------------------------------- headline


def _last(table: Table, column: str, month: str | None) -> Published:
    """The published cell of ``month`` alone: MARK when the table publishes that month only
    within a longer period (0 when that period's figure is 0) or not yet (its quarter or
    year is not complete), 0 before the table's first period, None when the table does
    not publish ``column``."""
    if table.rows and column not in table.rows[0]:
        return None
    for row in table.rows:
        start, end = row.get("from", row["period"]), row.get("to", row["period"])
        if start == end == month:
            return row[column]
        if start <= (month or "") <= end:  # 0 in the period: 0 in each of its months
            return 0 if row[column] == 0 else MARK
    if not table.rows:
        return MARK  # nothing published yet: the months wait for their quarter
    after = (month or "") > table.rows[-1].get("to", table.rows[-1]["period"])
    return MARK if after else 0


def _derived(out: dict, supplier: Supplier) -> dict:
    """Sums and shares of published counts (never a difference of two: a difference of
    rounded counts can read 0 where the true count is not)."""
    auto, dormant = out["automatic_with_account"], out["dormant_exposure"]
    if auto is None:  # the backlog is its own cell (TPP, opt-in): every automatic holder
        out["with_access"] = total([out["opt_in_holders"], out["revocation_backlog"]])
        out["account_holders_with_access"] = None
    else:
        out["with_access"] = total([out["opt_in_holders"], auto, dormant])
        out["account_holders_with_access"] = total([out["opt_in_holders_with_account"], auto])
    for name, (num, base) in SHARES.items():
        out[name] = share(out.get(num), out.get(base))
    # coverage = 1 - unprotected / denominator (the protected count itself is not shown)
    gap = share(out["unprotected"], out["protection_coverage_denominator"])
    out["protection_coverage_share"] = gap if gap in (None, MARK) else round(1 - gap, 3)
    return out


def _open_totals(frame: pd.DataFrame, waits: Table, rule: Disclosure) -> dict:
    """Open requests, those not yet counselled, the tail, and the longest band: the band
    above the longest threshold some request waited beyond (never shorter than the longest
    wait, as every threshold is published on its own).

    [rule sdc-wait-tail] Open requests and those among them awaiting counselling are
    nested counts, each a base cell like each count of the tail (open requests are the
    tail over 0 days): never summed from parts, so never "[c]" beside a larger count, and,
    as rounding keeps order, never fewer than those waiting over 28 days. Those awaiting
    provisioning would be a difference of the two: not published.
    """
    counselling = frame.loc[frame["stage"] == STAGES[0], "requests"].sum()
    opened = control_count(int(frame["requests"].sum()), rule)
    tail = {r["over_days"]: r["requests"] for r in waits.rows}
    return {
        "open_requests": opened,
        "open_requests_awaiting_counselling": control_count(int(counselling), rule),
        **{f"open_requests_over_{t}_days": tail[t] for t in WAIT_TAIL_DAYS},
        "longest_wait_band": longest_band(opened, tail),
    }


def _pending_totals(table: Table) -> dict:
    return {
        "pending_16_protected": total(r["protected"] for r in table.rows),
        "pending_16_at_risk": total(r["at_risk"] for r in table.rows),
        "pending_16_cohort": total(r["cohort"] for r in table.rows),
    }


def _percentiles(exact: dict, provisioned: Published) -> dict:
    """[rule sdc-percentiles] Median and 90th percentile of the month's waits to
    provision: whole days by nearest rank, published only where the month's
    published provision count is at least :data:`MIN_GROUP_FOR_PERCENTILES`; "[c]" where
    there were provisions but too few, None where there were none."""
    keep = not hidden(provisioned) and int(provisioned) >= MIN_GROUP_FOR_PERCENTILES
    none = provisioned is None or (not hidden(provisioned) and int(provisioned) == 0)
    out = {}
    for key in ("request_to_provision_median_days", "request_to_provision_p90_days"):
        value = exact.get(key)
        out[key] = int(value) if keep and value is not None else (None if none else MARK)
    return out


@dataclass(frozen=True)
class Publication:
    """Headline figures and tables of one practice-month as they leave the practice."""

    headline: dict
    previous: dict | None
    tables: dict[str, Table]


def _month_label(ref: str) -> str:
    return ref[:7]


def _last_complete(ref: str) -> str:
    """The last month counted whole: D's month when D is its last day, else the one before."""
    day = pd.Timestamp(ref)
    whole = day == day + pd.offsets.MonthEnd(0)
    return str(pd.Period(day, freq="M") - (0 if whole else 1))


def _previous_month(ref: str) -> str:
    return str(pd.Period(ref[:7], freq="M") - 1)


def publish(
    m: MonthMeasures,
    rule: Disclosure,
    supplier: Supplier,
    model: Model = Model.OPT_IN,
    released: Released | None = None,
) -> Publication:
    """The published headline, last month's headline and tables (see the module docstring),
    consistent with the practice's earlier ``released`` figures ([rule sdc-releases]; not
    for the practice's exact copy, which is not a release)."""
    released = released if released is not None and rule.enabled else Released()
    ref = str(m.headline["ref_date"])
    done = _last_complete(ref)
    uptake, revocations = m.uptake_by_month, m.backlog_by_month
    automatic = _automatic(revocations, _own_backlog(supplier, model), rule, released, done)
    tables = {
        "uptake": _series(uptake, list(UPTAKE), rule, released, "uptake", done),
        "automatic": automatic,
        "backlog": _backlog(automatic, supplier),
        "revocations": _series(revocations, ["revocations"], rule, released, "revocations", done),
        "waits": _waits(m.open_requests, rule),
        "pending_16": _pending_16(m.pending_16, rule),
    }
    head = _headline(m.headline, tables, rule, _month_label(ref), supplier, m.open_requests)
    previous = released.previous
    if previous is None and m.previous is not None:
        month = _previous_month(ref)
        previous = _previous_headline(m.previous, tables, rule, month, supplier)
        if model is Model.DEFAULT:
            previous = _default_access(previous, m.previous, rule)
    if model is Model.DEFAULT:
        head = _default_access(head, m.headline, rule)
        return _default_model(Publication(head, previous, tables))
    return Publication(head, previous, tables)


def _default_access(head: dict, exact: dict, rule: Disclosure) -> dict:
    """[rule sdc-default-access] On the default model the parts of those with access
    (opt-in, automatic, without a usable account) are not published, so those with access,
    and the account holders among them, are base cells of their own (from the ``exact``
    headline of the same month) and NHS England's access shares come from them: a part
    from 1 to k does not hide the share."""
    out = {
        **head,
        "with_access": control_count(exact["with_access"], rule),
        "account_holders_with_access": control_count(exact["account_holders_with_access"], rule),
    }
    for name in ("access_share_of_eligible", "access_share_of_account_holders"):
        out[name] = share(*(out[k] for k in SHARES[name]))
    return out


def _default_model(pub: Publication) -> Publication:
    """Only the default model's figures (:data:`DEFAULT_MODEL_HEADLINE`), no opt-in table."""

    def keep(h: dict | None) -> dict | None:
        return None if h is None else {k: h[k] for k in DEFAULT_MODEL_HEADLINE if k in h}

    return Publication(keep(pub.headline), keep(pub.previous), {})


def _flows(tables: dict[str, Table], month: str | None) -> dict:
    """The cells the tables publish for ``month``: the period's flows and month-end states."""
    up, rev, auto = tables["uptake"], tables["revocations"], tables["automatic"]
    return {
        "requests_period": _last(up, "requests", month),
        "counselled_period": _last(up, "counselled", month),
        "provisioned_period": _last(up, "provisioned", month),
        "revocations_period": _last(rev, "revocations", month),
        "automatic_with_account": _last(auto, "automatic_with_account", month),
        "dormant_exposure": _last(auto, "dormant", month),
        "revocation_backlog": _last(tables["backlog"], "backlog", month),
    }


def _headline(
    exact: dict,
    tables: dict[str, Table],
    rule: Disclosure,
    month: str,
    supplier: Supplier,
    opened: pd.DataFrame,
) -> dict:
    """This month's published figures: base cells, the tables' cells for the month, open
    requests from ``opened`` (by stage and band), and what is derived from them."""
    out = {k: exact.get(k) for k in ("ref_date", "period_start", "pending_16_horizon_months")}
    out |= {k: control_count(exact.get(k), rule) for k in BASE_COUNTS}
    out |= _flows(tables, month)
    out |= _open_totals(opened, tables["waits"], rule)
    out |= _pending_totals(tables["pending_16"])
    out |= _percentiles(exact, out["provisioned_period"])
    out = _derived(out, supplier)
    out["revocations_made"] = any(
        hidden(r["revocations"]) or r["revocations"] for r in tables["revocations"].rows
    )
    return out | projection(
        out["revocation_backlog"], tables["revocations"], exact["ref_date"], rule
    )


def _previous_headline(
    exact: dict, tables: dict, rule: Disclosure, month: str, supplier: Supplier
) -> dict:
    """Last month's figures: the current tables' cells for that month where they publish
    it, base cells of their own for states the tables do not hold."""
    out = {k: exact.get(k) for k in ("ref_date", "period_start", "pending_16_horizon_months")}
    out |= {k: control_count(exact.get(k), rule) for k in BASE_COUNTS}
    out |= _flows(tables, month)
    tail = [f"open_requests_over_{t}_days" for t in WAIT_TAIL_DAYS]
    nested = ("open_requests", "open_requests_awaiting_counselling", *tail)
    for key in (*nested, "pending_16_protected", "pending_16_at_risk"):
        out[key] = control_count(exact.get(key), rule)
    exact_band = exact.get("longest_wait_band")
    tail = {t: out[f"open_requests_over_{t}_days"] for t in WAIT_TAIL_DAYS}
    out["longest_wait_band"] = (
        longest_band(out["open_requests"], tail) if rule.enabled else exact_band
    )
    out["pending_16_cohort"] = total([out["pending_16_protected"], out["pending_16_at_risk"]])
    out |= _percentiles(exact, out["provisioned_period"])
    out = _derived(out, supplier)
    return out | projection(
        out["revocation_backlog"], _until(tables["revocations"], month), exact["ref_date"], rule
    )


def longest_band(opened: Published, tail: dict[int, Published]) -> str:
    """The longest wait's band from published counts: ``opened`` requests and ``tail``, the
    requests waiting over each of some of :data:`WAIT_THRESHOLDS` days; [c] where they do
    not decide it.

    A published 0 is none ([rule sdc-zero]), so the longest wait is "none" with no request
    open, and lies above the longest threshold some request waited beyond, up to the next
    threshold: one band when that threshold is in ``tail`` (this month's tail has them
    all), else more than one. Last month's tail has only 28, 90 and 180 days: "91-180"
    over 90 but none over 180, "181+" over 180, [c] otherwise. (Where the release ledger
    holds last month's release, its own band is used instead, in ``publish``.)
    """
    beyond = [t for t, v in tail.items() if some(v)]
    if not beyond and not some(opened):
        return "none"
    band = WAIT_THRESHOLDS.index(max(beyond)) + 1 if beyond else 0
    known = band == len(WAIT_THRESHOLDS) or WAIT_THRESHOLDS[band] in tail
    return AGE_BANDS[band] if known else MARK


def _until(table: Table, month: str) -> Table:
    """The rows of a published series that end on or before ``month``."""
    return Table(table.level, [r for r in table.rows if r.get("to", r["period"]) <= month])


# --------------------------------------------------------------------------- projection


def _complete(table: Table, ref: pd.Timestamp) -> tuple[list[Published], int]:
    """The revocation cells of the last complete periods spanning at least 3 months, and
    how many months they span (every period counted whole, none after D's last whole
    month)."""
    done = _last_complete(str(ref.date()))
    cells, months = [], 0
    for row in reversed(table.rows):
        if months >= 3:
            break
        if row.get("complete", True) and row["to"] <= done:
            cells.append(row["revocations"])
            months += len(covered_months(row))
    return cells, months


def projection(backlog: Published, revocations: Table, ref_date: object, rule: Disclosure) -> dict:
    """When the backlog would clear at the recent published revocation rate.

    From published figures only: the backlog at D and the revocations of automatic access
    in the last complete periods spanning three months or more (fewer where the series is
    shorter; ``revocation_window_months``). A suppressed figure counts as anything from 1
    to k, so the date may be a range. "not clearing": no revocations in the window (rate
    0), or a latest end more than :data:`BELIEVABLE_MONTHS` away (rate above 0).
    """
    base = {
        "projected_clear_status": "cleared",
        "projected_clear_date": None,
        "projected_clear_latest": None,
        "revocation_rate_per_month": None,
        "revocation_window_months": None,
    }
    if not hidden(backlog) and int(backlog) == 0:
        return base
    if not revocations.rows:
        return {**base, "projected_clear_status": "not clearing"}
    cells, months = _complete(revocations, pd.Timestamp(ref_date))
    known = sum(int(c) for c in cells if not hidden(c))
    n_hidden = sum(hidden(c) for c in cells)
    lo_r, hi_r = known + n_hidden, known + n_hidden * rule.redact_at_or_below
    b_lo, b_hi = (1, rule.redact_at_or_below) if hidden(backlog) else (int(backlog),) * 2
    rate = MARK if n_hidden else (round(known / months, 1) if months else 0.0)
    base |= {"revocation_rate_per_month": rate, "revocation_window_months": months}
    if hi_r == 0 or months == 0:
        return {**base, "projected_clear_status": "not clearing", "revocation_rate_per_month": 0.0}
    end = pd.Period(pd.Timestamp(ref_date), freq="M")
    soonest = end + math.ceil(b_lo * months / hi_r)
    latest = end + math.ceil(b_hi * months / lo_r)
    if (latest - end).n > BELIEVABLE_MONTHS:  # a date decades off is no projection
        return {**base, "projected_clear_status": "not clearing"}
    return {
        **base,
        "projected_clear_status": "clearing",
        "projected_clear_date": soonest.end_time.date().isoformat(),
        "projected_clear_latest": None if latest == soonest else latest.end_time.date().isoformat(),
    }
