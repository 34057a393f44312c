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
from optin_analysis.measures.definitions import AGE_BANDS, STAGES
from optin_analysis.measures.month import MonthMeasures
from optin_analysis.outgoing.disclosure import (
    MARK,
    Level,
    Published,
    coarsen,
    control_count,
    hidden,
    share,
    total,
)

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
#: How each published headline figure is shown (anything not listed is a count).
KINDS = {
    **dict.fromkeys(SHARES, "share"),
    "protection_coverage_share": "share",
    "request_to_provision_median_days": "days",
    "request_to_provision_p90_days": "days",
    "revocation_rate_per_month": "rate",
}


def late(band: str) -> bool:
    """Whether a band (at any grouping) holds requests waiting more than 28 days."""
    return int(band.split("-")[0].rstrip("+")) > 28


# --------------------------------------------------------------------------- levels


def _quarter(month: str) -> str:
    year, m = month.split("-")
    return f"{year} Q{(int(m) - 1) // 3 + 1}"


def _grouped(name: str, keys: list[str]) -> Level:
    labels = tuple(dict.fromkeys(keys))
    index = {label: i for i, label in enumerate(labels)}
    return Level(name, np.array([index[k] for k in keys], dtype=np.int64), labels)


def month_levels(months: list[str]) -> list[Level]:
    """Months, calendar quarters, years, and the whole span (one cell)."""
    span = f"{months[0]} to {months[-1]}" if months else "all"
    return [
        _grouped("month", months),
        _grouped("quarter", [_quarter(m) for m in months]),
        _grouped("year", [m[:4] for m in months]),
        _grouped("whole period", [span] * len(months)),
    ]


def _band_groups(edges: list[int]) -> list[str]:
    """Band labels merged at ``edges`` (indices in AGE_BANDS where a new group starts)."""
    out = []
    for i in range(len(AGE_BANDS)):
        first = max(e for e in edges if e <= i)
        after = [e for e in edges if e > first]
        last = (after[0] if after else len(AGE_BANDS)) - 1
        low = AGE_BANDS[first].split("-")[0].rstrip("+")
        high = AGE_BANDS[last].split("-")[-1]
        out.append(f"{low}+" if last == len(AGE_BANDS) - 1 else f"{low}-{high}")
    return out


def open_request_levels() -> list[Level]:
    """Stage by band; bands; 0-28 / 29-90 / 91+; 0-28 / 29+ (fine cells: stage x band)."""
    stages = [stage for stage in STAGES for _ in AGE_BANDS]
    bands = list(AGE_BANDS) * len(STAGES)
    levels = [
        Level("stage and band", np.arange(len(bands)), tuple(zip(stages, bands, strict=True)))
    ]
    for name, edges in (
        ("band", list(range(7))),
        ("three bands", [0, 3, 5]),
        ("two bands", [0, 3]),
    ):
        merged = _band_groups(edges) * len(STAGES)
        level = _grouped(name, merged)
        levels.append(Level(name, level.group, tuple(("all", b) for b in level.labels)))
    return levels


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


def _series(frame: pd.DataFrame, columns: list[str], rule: Disclosure) -> Table:
    """Monthly flows (no published total): one level for all ``columns``, the finest at which
    every column passes the ``series`` policy."""
    months = frame["month"].tolist()
    levels = month_levels(months)
    chosen = max(
        (
            levels.index(coarsen(frame[c].to_numpy(float), levels, rule, "series")[0])
            for c in columns
        ),
        default=0,
    )
    level = levels[chosen]
    published = {c: coarsen(frame[c].to_numpy(float), [level], rule, "series")[1] for c in columns}
    rows = []
    for i, label in enumerate(level.labels):
        covered = [m for m, g in zip(months, level.group, strict=True) if g == i]
        rows.append(
            {
                "period": label,
                "from": covered[0],
                "to": covered[-1],
                **{c: published[c][i] for c in columns},
            }
        )
    return Table(level.name, rows)


def _states(frame: pd.DataFrame, columns: list[str], rule: Disclosure) -> Table:
    """Month-end states: each month's count a base cell of its own."""
    rows = [
        {"period": row["month"], **{c: control_count(int(row[c]), rule) for c in columns}}
        for row in frame.to_dict(orient="records")
    ]
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


def _automatic(frame: pd.DataFrame, own_backlog: bool, rule: Disclosure) -> Table:
    """Month-end holders of automatic access: with an account and without one (dormant),
    or, where the backlog is its own base cell, the backlog and the dormant part."""
    first = "backlog" if own_backlog else "automatic_with_account"
    return _states(frame, [first, "dormant"], rule)


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


def _open_requests(frame: pd.DataFrame, rule: Disclosure) -> Table:
    level, published = coarsen(
        frame["requests"].to_numpy(float), open_request_levels(), rule, "parts"
    )
    rows = [
        {"stage": stage, "band": band, "requests": v}
        for (stage, band), v in zip(level.labels, published, strict=True)
    ]
    return Table(level.name, rows)


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
    within a longer period (0 when that period's figure is 0), 0 when the table does not
    reach it, None when the table does not publish ``column``."""
    if table.rows and column not in table.rows[0]:
        return None
    for row in table.rows:
        start, end = row.get("from", row["period"]), row.get("to", row["period"])
        if start == end == month:
            return row[column]
        if start <= (month or "") <= end:  # 0 in the period: 0 in each of its months
            return 0 if row[column] == 0 else MARK
    return 0


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
    out["protection_coverage_share"] = gap if gap in (None, MARK) else 1 - gap
    return out


def _open_totals(table: Table) -> dict:
    values = [r["requests"] for r in table.rows]
    overdue = [r["requests"] for r in table.rows if late(r["band"])]
    longest = next(
        (r["band"] for r in reversed(table.rows) if hidden(r["requests"]) or r["requests"]), None
    )
    return {
        "open_requests": total(values),
        "open_requests_over_28_days": total(overdue),
        "longest_wait_band": longest if longest is not None else "none",
    }


def _pending_totals(table: Table) -> dict:
    return {
        "pending_16_protected": total(r["protected"] for r in table.rows),
        "pending_16_at_risk": total(r["at_risk"] for r in table.rows),
        "pending_16_cohort": total(r["cohort"] for r in table.rows),
    }


def _waits(exact: dict, provisioned: Published) -> dict:
    keep = not hidden(provisioned) and int(provisioned) > 0
    return {
        key: exact.get(key) if keep else (MARK if hidden(provisioned) else None)
        for key in ("request_to_provision_median_days", "request_to_provision_p90_days")
    }


@dataclass(frozen=True)
class Publication:
    """Headline figures and tables of one practice-month as they leave the practice."""

    headline: dict
    previous: dict | None
    tables: dict[str, Table]


def _month_label(ref: str) -> str:
    return ref[:7]


def _previous_month(ref: str) -> str:
    return str(pd.Period(ref[:7], freq="M") - 1)


def publish(
    m: MonthMeasures, rule: Disclosure, supplier: Supplier, model: Model = Model.OPT_IN
) -> Publication:
    """The published headline, last month's headline and tables (see the module docstring)."""
    automatic = _automatic(m.backlog_by_month, _own_backlog(supplier, model), rule)
    tables = {
        "uptake": _series(m.uptake_by_month, ["requests", "counselled", "provisioned"], rule),
        "automatic": automatic,
        "backlog": _backlog(automatic, supplier),
        "revocations": _series(m.backlog_by_month, ["revocations"], rule),
        "open_requests": _open_requests(m.open_requests, rule),
        "pending_16": _pending_16(m.pending_16, rule),
    }
    ref = str(m.headline["ref_date"])
    head = _headline(m.headline, tables, rule, _month_label(ref), supplier)
    previous = None
    if m.previous is not None:
        month = _previous_month(ref)
        previous = _previous_headline(m.previous, tables, rule, month, supplier)
    if model is Model.DEFAULT:
        return _default_model(Publication(head, previous, tables))
    return Publication(head, previous, tables)


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
    exact: dict, tables: dict[str, Table], rule: Disclosure, month: str, supplier: Supplier
) -> dict:
    out = {k: exact.get(k) for k in ("ref_date", "period_start", "pending_16_horizon_months")}
    out |= {k: control_count(exact.get(k), rule) for k in BASE_COUNTS}
    out |= _flows(tables, month)
    out |= _open_totals(tables["open_requests"]) | _pending_totals(tables["pending_16"])
    out |= _waits(exact, out["provisioned_period"])
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
    for key in (
        "open_requests",
        "open_requests_over_28_days",
        "pending_16_protected",
        "pending_16_at_risk",
    ):
        out[key] = control_count(exact.get(key), rule)
    # last month's bands are not published; the practice's own copy shows the exact band
    out["longest_wait_band"] = MARK if rule.enabled else exact.get("longest_wait_band")
    out["pending_16_cohort"] = total([out["pending_16_protected"], out["pending_16_at_risk"]])
    out |= _waits(exact, out["provisioned_period"])
    out = _derived(out, supplier)
    return out | projection(
        out["revocation_backlog"], _until(tables["revocations"], month), exact["ref_date"], rule
    )


def _until(table: Table, month: str) -> Table:
    """The rows of a published series that end on or before ``month``."""
    return Table(table.level, [r for r in table.rows if r.get("to", r["period"]) <= month])


# --------------------------------------------------------------------------- projection


def _months_of(label: str) -> int:
    return {"month": 1, "quarter": 3, "year": 12}.get(label, 0)


def _complete(table: Table, ref: pd.Timestamp) -> tuple[list[Published], int]:
    """The revocation cells of the last complete periods spanning at least 3 months, and
    how many months they span."""
    per = _months_of(table.level)
    rows = table.rows
    if per == 0:  # one cell for the whole span
        start = pd.Period(rows[0]["period"].split(" to ")[0], freq="M")
        return [rows[0]["revocations"]], (pd.Period(ref, freq="M") - start).n + 1
    month_end = ref == ref + pd.offsets.MonthEnd(0)
    complete = (
        rows if (month_end and _period_end(rows[-1]["period"], table.level) <= ref) else rows[:-1]
    )
    need = max(1, math.ceil(3 / per))
    cells = complete[-need:]
    return [r["revocations"] for r in cells], per * len(cells)


def _period_end(label: str, level: str) -> pd.Timestamp:
    if level == "quarter":
        year, q = label.split(" Q")
        return pd.Period(f"{year}Q{q}", freq="Q").end_time.normalize()
    if level == "year":
        return pd.Period(label, freq="Y").end_time.normalize()
    return pd.Period(label, freq="M").end_time.normalize()


def projection(backlog: Published, revocations: Table, ref_date: object, rule: Disclosure) -> dict:
    """When the backlog would clear at the recent published revocation rate.

    From published figures only: the backlog at D and the revocations of automatic access
    in the last complete periods spanning at least three months. A suppressed figure
    counts as anything from 1 to k, so the date may be a range.
    """
    ref = pd.Timestamp(ref_date)
    if not revocations.rows:
        return {
            "projected_clear_status": "cleared" if backlog == 0 else "not clearing",
            "projected_clear_date": None,
            "projected_clear_latest": None,
            "revocation_rate_per_month": None,
        }
    base = {
        "projected_clear_status": "cleared",
        "projected_clear_date": None,
        "projected_clear_latest": None,
        "revocation_rate_per_month": None,
    }
    if not hidden(backlog) and int(backlog) == 0:
        return base
    cells, months = _complete(revocations, ref)
    known = sum(int(c) for c in cells if not hidden(c))
    n_hidden = sum(hidden(c) for c in cells)
    lo_r, hi_r = known + n_hidden, known + n_hidden * rule.redact_at_or_below
    b_lo, b_hi = (1, rule.redact_at_or_below) if hidden(backlog) else (int(backlog),) * 2
    rate = MARK if n_hidden else (known / months if months else 0.0)
    if hi_r == 0 or months == 0:
        return {**base, "projected_clear_status": "not clearing", "revocation_rate_per_month": 0.0,
                "revocation_window_months": months}  # fmt: skip
    end = pd.Period(ref, freq="M")
    soonest = end + math.ceil(b_lo * months / hi_r)
    latest = end + math.ceil(b_hi * months / lo_r)
    return {
        "projected_clear_status": "clearing",
        "projected_clear_date": soonest.end_time.date().isoformat(),
        "projected_clear_latest": None if latest == soonest else latest.end_time.date().isoformat(),
        "revocation_rate_per_month": rate,
    }
