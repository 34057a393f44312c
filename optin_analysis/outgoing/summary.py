"""A practice-month's figures: computed exactly, and made safe to leave the practice.

:func:`compute` runs every measure once for a practice and period (exact figures, for
internal use). :func:`outgoing` turns that into the aggregate-only, disclosure-controlled
bundle that reports, ``summary.json``, the history store and the ICB roll-up are built
from: this is the one place where figures leave the practice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optin_analysis.config import Disclosure, Practice
from optin_analysis.dates import as_timestamp, month_end, month_start
from optin_analysis.ingest.load import PracticeData
from optin_analysis.measures.action_plan import action_plan
from optin_analysis.measures.month import MonthMeasures, month_measures
from optin_analysis.outgoing import commentary, disclosure
from optin_analysis.outgoing.dpia import Register, evidence, load_register

#: Headline keys holding counts of patients or events (controlled in outgoing data).
COUNT_KEYS = (
    "eligible", "account_holders_16plus", "opt_in_holders", "opt_in_holders_with_account",
    "requests_period", "requests_cumulative", "counselled_period", "counselled_cumulative",
    "provisioned_period", "provisioned_cumulative", "revocations_period",
    "revocations_cumulative", "open_requests", "open_requests_over_28_days",
    "request_to_provision_n", "revocation_backlog", "pending_16_cohort",
    "pending_16_protected", "pending_16_at_risk", "turned_16_automatic",
    "protection_coverage_numerator", "protection_coverage_denominator",
    "withheld_pending_opt_in", "active_104_bulk", "active_104_individual",
)  # fmt: skip
#: Shares recomputed from controlled counts: share -> (numerator, denominator).
SHARES = {
    "opt_in_share_of_eligible": ("opt_in_holders", "eligible"),
    "opt_in_share_of_account_holders": ("opt_in_holders_with_account", "account_holders_16plus"),
    "protection_coverage_share": (
        "protection_coverage_numerator",
        "protection_coverage_denominator",
    ),
}
#: Figures derived from a count: suppressed when that count is.
DERIVED = {
    "request_to_provision_median_days": "request_to_provision_n",
    "request_to_provision_p90_days": "request_to_provision_n",
}
TABLE_COUNTS = {
    "uptake_by_month": [
        "requests", "counselled", "provisioned",
        "requests_cumulative", "counselled_cumulative", "provisioned_cumulative",
    ],
    "backlog_by_month": ["backlog", "revocations"],
    "pending_16": ["cohort", "protected", "at_risk"],
    "open_requests": ["requests"],
}  # fmt: skip


#: Labelling columns kept in outgoing tables (dates of any kind are left out on purpose).
TABLE_COLUMNS = {
    "uptake_by_month": ["month"],
    "backlog_by_month": ["month"],
    "pending_16": ["month"],
    "open_requests": ["stage", "band"],
}


class PeriodError(ValueError):
    """A period the practice's extract cannot report."""


@dataclass(frozen=True)
class PracticeMonth:
    """Exact figures of one practice for one month (practice-internal)."""

    profile: Practice
    period: str
    period_start: pd.Timestamp
    ref_date: pd.Timestamp
    measures: MonthMeasures
    action_plan: pd.DataFrame


def reference_date(profile: Practice, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of the period and its reference date: month end, or the extract date if earlier."""
    start, end = month_start(period), month_end(period)
    extract = as_timestamp(profile.extract_date)
    if start > extract:
        raise PeriodError(
            f"{profile.ods_code}: period {period} starts after the extract date "
            f"{profile.extract_date}; use an extract taken after the period"
        )
    return start, min(end, extract)


def trend_start(profile: Practice, ref: pd.Timestamp, months: int = 36) -> pd.Timestamp:
    """Trends run from the go-live month (or ``months`` back when later or unknown)."""
    floor = (ref - pd.DateOffset(months=months - 1)).replace(day=1)
    if profile.go_live_date is None:
        return floor
    go_live = as_timestamp(profile.go_live_date).replace(day=1)
    return min(max(go_live, floor), ref.replace(day=1))


def compute(data: PracticeData, period: str) -> PracticeMonth:
    """Every measure of a practice for ``period`` (YYYY-MM), exact."""
    start, ref = reference_date(data.profile, period)
    measures = month_measures(
        data.patients, data.events, data.profile, ref, start, trend_start(data.profile, ref)
    )
    plan = action_plan(data.profile, measures.headline, ref)
    return PracticeMonth(data.profile, period, start, ref, measures, plan)


def control_headline(headline: dict, rule: Disclosure) -> dict:
    """Headline figures with counts controlled, shares recomputed, derived figures hidden."""
    out = dict(headline)
    for key in COUNT_KEYS:
        out[key] = disclosure.control_count(headline.get(key), rule)
    for share, (num, den) in SHARES.items():
        out[share] = disclosure.control_share(out[num], out[den])
    for key, base in DERIVED.items():
        if out[base] is None or out[base] == 0:
            out[key] = None
    rate_count = headline.get("revocation_rate_per_month")
    if rate_count is not None:
        three_months = disclosure.control_count(round(rate_count * 3), rule)
        out["revocation_rate_per_month"] = None if three_months is None else three_months / 3
        out["projected_clear_date"] = _clear_date(out, three_months)
    return out


def _clear_date(controlled: dict, three_months: int | None) -> str | None:
    """The projected clear date recomputed from controlled figures (an exact date would
    undo the rounding: it is the backlog divided by the rate)."""
    backlog = controlled.get("revocation_backlog")
    if controlled.get("projected_clear_status") != "clearing" or not backlog or not three_months:
        return None
    months = -(-3 * backlog // three_months)
    ref = pd.Period(controlled["ref_date"], freq="M")
    return (ref + months).end_time.date().isoformat()


def shown(controlled: dict) -> dict:
    """Controlled headline as display text ("[c]" where suppressed)."""
    return {k: disclosure.show(v) if k in COUNT_KEYS else v for k, v in controlled.items()}


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.date().isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
        for r in clean.to_dict(orient="records")
    ]


def outgoing(
    month: PracticeMonth,
    rule: Disclosure,
    register: Register | None = None,
    generated: dt.datetime | None = None,
) -> dict:
    """The aggregate-only bundle for reports and ``summary.json`` (JSON-ready).

    Counts pass disclosure control; nothing in it identifies a patient.
    """
    p, m = month.profile, month.measures
    head = control_headline(m.headline, rule)
    register = register or load_register(p.risk_register)
    tables = {
        name: _records(
            disclosure.control_frame(getattr(m, name), cols, rule)[TABLE_COLUMNS[name] + cols]
        )
        for name, cols in TABLE_COUNTS.items()
    }
    return {
        "practice": {
            "ods_code": p.ods_code,
            "name": p.name,
            "supplier": p.supplier.value,
            "model": p.model.value,
            "go_live_status": p.go_live_status.value,
            "go_live_date": p.go_live_date.isoformat() if p.go_live_date else None,
            "extract_date": p.extract_date.isoformat(),
        },
        "period": month.period,
        "period_start": month.period_start.date().isoformat(),
        "ref_date": month.ref_date.date().isoformat(),
        "generated": (generated or dt.datetime.now()).isoformat(timespec="seconds"),
        "disclosure": {**rule.model_dump(), "footnote": disclosure.footnote(rule)},
        "headline": head,
        "previous": control_headline(m.previous, rule) if m.previous else None,
        "tables": tables,
        "action_plan": _records(action_plan(p, m.headline, month.ref_date, shown=shown(head))),
        "dpia": {
            "sign_off": register.sign_off.model_dump(mode="json"),
            "evidence": _records(evidence(register, head, head)),
        },
        "commentary": commentary.sentences(
            head, control_headline(m.previous, rule) if m.previous else None
        ),
    }


def write_json(bundle: dict, path: Path) -> None:
    """Write a bundle as JSON atomically (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(bundle, fh, indent=2, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Headline figures shown in tables, with their labels, in reading order.
LABELS = {
    "eligible": "Registered patients aged 16+",
    "account_holders_16plus": "16+ with an online account",
    "opt_in_holders": "Access through opt-in",
    "opt_in_share_of_account_holders": "Opt-in access, share of 16+ account holders",
    "requests_period": "Opt-in requests this month",
    "provisioned_period": "Access provisioned this month",
    "open_requests": "Open requests",
    "open_requests_over_28_days": "Open requests waiting over 28 days",
    "request_to_provision_median_days": "Request to provision, median days (this month)",
    "revocation_backlog": "Revocation backlog",
    "revocations_period": "Revocations this month",
    "projected_clear_date": "Backlog projected to clear by",
    "pending_16_at_risk": "Turning 16 within 6 months, not protected",
    "turned_16_automatic": "Turned 16 this month with automatic access",
    "protection_coverage_share": "Protection coverage",
    "withheld_pending_opt_in": "16+ without access and not opted out",
    "active_104_bulk": "Active 104 codes added in bulk",
}


def headline_rows(headline: dict, previous: dict | None = None) -> list[tuple[str, str, str]]:
    """(label, this month, last month) as display text, for tables in reports and the CLI."""

    def text(key: str, h: dict | None) -> str:
        if h is None:
            return ""
        value = h.get(key)
        if key.endswith("_share") or "_share_" in key:
            return disclosure.show(value, percent=True)
        if key == "projected_clear_date":
            return value or str(h.get("projected_clear_status") or "")
        if isinstance(value, float):
            return "[c]" if value != value else f"{value:g}"
        return disclosure.show(value)

    return [(label, text(k, headline), text(k, previous)) for k, label in LABELS.items()]


def bundle_for(config_path: Path, ods_code: str, period: str) -> dict:
    """Load a practice from a run configuration and build its outgoing bundle."""
    from optin_analysis.config import load_config
    from optin_analysis.ingest.load import load_practice

    cfg = load_config(config_path)
    data = load_practice(cfg.practice(ods_code))
    return outgoing(compute(data, period), cfg.disclosure)


#: Headline figures the history store keeps a trend of in the monthly report.
TREND_MEASURES = [
    "revocation_backlog",
    "opt_in_holders",
    "open_requests",
    "pending_16_at_risk",
    "withheld_pending_opt_in",
    "protection_coverage_share",
]


def with_history(bundle: dict, earlier: pd.DataFrame) -> dict:
    """The bundle plus a ``history`` table: earlier periods from the store, then this one.

    ``earlier`` has columns period, measure, controlled (from
    :meth:`optin_analysis.outgoing.history.History.series`); periods at or after the bundle's are
    ignored, so re-running a month replaces it.
    """
    before = earlier[earlier["period"] < bundle["period"]]
    rows = [
        {"period": r.period, "measure": r.measure, "value": _finite(r.controlled)}
        for r in before.itertuples()
        if r.measure in TREND_MEASURES
    ]
    rows += [
        {"period": bundle["period"], "measure": m, "value": bundle["headline"].get(m)}
        for m in TREND_MEASURES
    ]
    return {**bundle, "history": rows}


def _finite(value: float | None) -> float | None:
    return None if value is None or value != value else float(value)
