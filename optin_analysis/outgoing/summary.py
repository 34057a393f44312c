"""A practice-month's figures: computed exactly, and made safe to leave the practice.

:func:`compute` runs every measure once for a practice and period (exact figures, for
internal use). :func:`outgoing` turns that into the aggregate-only bundle that reports,
``summary.json``, the history store and the ICB roll-up are built from, with the figures
published under disclosure control (:mod:`optin_analysis.outgoing.published`): this is
the one place where figures leave the practice. With ``audience="practice"`` the same
bundle carries exact figures for the practice team's own copy of the reports.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optin_analysis import __version__
from optin_analysis.config import Disclosure, GoLiveStatus, Model, Practice
from optin_analysis.dates import as_timestamp, month_end, month_start
from optin_analysis.ingest.load import PracticeData
from optin_analysis.measures.action_plan import action_plan
from optin_analysis.measures.definitions import band_words
from optin_analysis.measures.month import MonthMeasures, month_measures
from optin_analysis.outgoing import commentary
from optin_analysis.outgoing.disclosure import MARK, footnote, show
from optin_analysis.outgoing.dpia import HISTORY_FIGURES, dpia
from optin_analysis.outgoing.published import KINDS, publish
from optin_analysis.outgoing.releases import Released
from optin_analysis.outgoing.schema import FORMAT_VERSION

#: What made a bundle: shown in every report's footer.
SOFTWARE = f"optin-analysis {__version__}"

ICB, PRACTICE = "icb", "practice"  #: audiences: outgoing, or the practice's own copy
INTERNAL_MARK = "Practice internal: exact small numbers, not for sending"


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
    """Trends run from when the practice started (go-live or its supplier setting, the
    earlier), at most ``months`` back and never after D's month."""
    floor = (ref - pd.DateOffset(months=months - 1)).replace(day=1)
    began = [d for d in (profile.go_live_date, profile.supplier_setting_date) if d is not None]
    if not began:
        return floor
    start = as_timestamp(min(began)).replace(day=1)
    return min(max(start, floor), ref.replace(day=1))


def compute(data: PracticeData, period: str) -> PracticeMonth:
    """Every measure of a practice for ``period`` (YYYY-MM), exact."""
    start, ref = reference_date(data.profile, period)
    measures = month_measures(
        data.patients, data.events, data.profile, ref, start, trend_start(data.profile, ref)
    )
    plan = action_plan(data.profile, measures.headline, ref)
    return PracticeMonth(data.profile, period, start, ref, measures, plan)


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def go_live_words(profile: Practice, ref: pd.Timestamp) -> str:
    """Where the practice stood with go-live on D, in words."""
    date = profile.go_live_date
    if profile.go_live_status is GoLiveStatus.NOT_PLANNED or date is None:
        return "not going live: access is provisioned per patient"
    if as_timestamp(date) > ref:
        return f"not yet live on {ref.date().isoformat()} (go-live {date.isoformat()})"
    return f"live since {date.isoformat()}"


def earlier_list_note(profile: Practice, period: str) -> str:
    """Why a month before the extract's month counts only today's patients ('' if not)."""
    if period >= f"{profile.extract_date:%Y-%m}":
        return ""
    return (
        f"{period} is counted over the patients registered on the extract date "
        f"({profile.extract_date.isoformat()}): patients who left since are not counted."
    )


def _status(month: PracticeMonth) -> dict:
    p, ref = month.profile, month.ref_date
    partial = ref < month_end(month.period)
    notes = [
        f"The extract was taken on {ref.date().isoformat()}: the month is counted up to that day."
        if partial
        else "",
        earlier_list_note(p, month.period),
    ]
    return {
        "go_live": go_live_words(p, ref),
        "partial_month": partial,
        "earlier_list": bool(notes[1]),
        "note": " ".join(n for n in notes if n),
    }


def outgoing(
    month: PracticeMonth,
    rule: Disclosure,
    *,
    generated: dt.datetime | None = None,
    audience: str = ICB,
    placeholders: tuple[str, ...] = (),
    earlier: pd.DataFrame | None = None,
    released: Released | None = None,
) -> dict:
    """The aggregate-only bundle for reports and ``summary.json`` (JSON-ready).

    For the ICB, figures are published under ``rule``; for the practice's own copy
    (``audience="practice"``) they are exact. Nothing in it identifies a patient.
    ``placeholders``: opt-in event types whose codes are still the codelist's
    placeholders; ``earlier``: the practice's figures from the history store (trends);
    ``released``: what its earlier releases published (the release ledger), which this
    release stays consistent with.
    """
    p, m = month.profile, month.measures
    if audience == PRACTICE:
        rule = Disclosure(enabled=False)
    pub = publish(m, rule, p.supplier, p.model, released)
    default = p.model is Model.DEFAULT
    bundle = {
        "format_version": FORMAT_VERSION,
        "audience": audience,
        "practice": {
            "ods_code": p.ods_code,
            "name": p.name,
            "pcn": p.pcn,
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
        "software": SOFTWARE,
        "status": _status(month),
        "disclosure": {**rule.model_dump(), "footnote": footnote(rule)},
        "headline": pub.headline,
        "previous": pub.previous,
        "tables": {name: table.to_json() for name, table in pub.tables.items()},
        "action_plan": [] if default else _records(action_plan(p, pub.headline, month.ref_date)),
        "commentary": commentary.sentences(pub, p),
        "placeholder_codes": [] if default else list(placeholders),
    }
    bundle = with_history(bundle, earlier if earlier is not None else _NO_HISTORY)
    bundle["dpia"] = dpia(p, bundle, six_months(bundle["history"], DPIA_MEASURES))
    return bundle


_NO_HISTORY = pd.DataFrame(columns=["practice_code", "period", "measure", "value"])


def six_months(history: list[dict], measures: list[str]) -> dict[str, list]:
    """The last six months of each measure: [(period, value), ...], oldest first."""
    out: dict[str, list] = {m: [] for m in measures}
    for row in sorted(history, key=lambda r: r["period"]):
        if row["measure"] in out:
            out[row["measure"]].append((row["period"], row["value"]))
    return {m: rows[-6:] for m, rows in out.items()}


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
    "opt_in_holders_with_account": "... of whom with an online account",
    "opt_in_share_of_account_holders": "Opt-in access, share of 16+ account holders",
    "requests_period": "New opt-in requests this month",
    "provisioned_period": "Access provisioned this month",
    "counselled_before_provision_share": "Provisions counselled first (this month)",
    "open_requests": "Open requests",
    "open_requests_awaiting_counselling": "... of which awaiting counselling",
    "open_requests_over_28_days": "Open requests waiting over 28 days",
    "open_requests_over_90_days": "... over 90 days",
    "open_requests_over_180_days": "... over 180 days",
    "longest_wait_band": "Longest wait",
    "request_to_provision_median_days": "Request to provision, median (this month)",
    "revocation_backlog": "Revocation backlog",
    "dormant_exposure": "Automatic access without a usable online account",
    "revocations_period": "Revocations of automatic access this month",
    "projected_clear_date": "Backlog projected to clear",
    "pending_16_at_risk": "Turning 16 within 6 months, not protected",
    "turned_16_automatic": "Turned 16 this month with automatic access",
    "protection_coverage_denominator": "16+ without access, an opt-out or a request",
    "unprotected": "... of whom not protected from automatic access",
    "protection_coverage_share": "Protection coverage",
    "withheld_pending_opt_in": "16+ without access and not opted out",
    "active_104_bulk": "Active 104 codes added in bulk",
    "record_disagreements": "Codes disagreeing with the account settings",
}
#: The figures NHS England monitors for a practice on the default model.
DEFAULT_MODEL_LABELS = {
    "eligible": "Registered patients aged 16+",
    "with_access": "16+ with full prospective access",
    "access_share_of_eligible": "... share of registered patients aged 16+",
    "account_holders_16plus": "16+ with an online account",
    "account_holders_with_access": "... of whom with full prospective access",
    "access_share_of_account_holders": "Full access, share of 16+ account holders",
    "active_104_16plus": "16+ with an active 104 code",
    "active_104_share": "... share of registered patients aged 16+",
    "withheld_pending_opt_in": "16+ without access and not opted out",
}


#: Why a figure reads n/a (a share or a time of nobody), said inside the practice.
NOT_APPLICABLE = {
    "opt_in_share_of_eligible": "no patients aged 16+",
    "opt_in_share_of_account_holders": "no 16+ account holders",
    "counselled_before_provision_share": "no provisions this month",
    "request_to_provision_median_days": "no provisions this month",
    "request_to_provision_p90_days": "no provisions this month",
    "protection_coverage_share": "nobody without access, an opt-out or a request",
    "access_share_of_eligible": "no patients aged 16+",
    "access_share_of_account_holders": "no 16+ account holders",
    "active_104_share": "no patients aged 16+",
}


def figure_text(key: str, h: dict | None, reasons: bool = False) -> str:
    """One headline figure as display text ("[c]" where suppressed); with ``reasons``, an
    n/a says why (:data:`NOT_APPLICABLE`)."""
    if h is None:
        return ""
    if reasons and key in NOT_APPLICABLE and h.get(key) is None:
        return f"n/a ({NOT_APPLICABLE[key]})"
    if key == "projected_clear_date":
        return commentary.clear_words(h)
    if key == "longest_wait_band":
        band = h.get(key)
        return MARK if band == MARK else band_words(band) if band else "n/a"
    return show(h.get(key), KINDS.get(key, "count"))


def headline_rows(
    headline: dict,
    previous: dict | None = None,
    labels: dict[str, str] = LABELS,
    reasons: bool = False,
) -> list[tuple[str, str, str]]:
    """(label, this month, last month) as display text, for tables in reports and the CLI;
    with ``reasons`` (practice-internal), each n/a says why."""
    return [
        (label, figure_text(key, headline, reasons), figure_text(key, previous, reasons))
        for key, label in labels.items()
    ]


def bundle_for(config_path: Path, ods_code: str, period: str, audience: str = ICB) -> dict:
    """Load a practice from a run configuration and build its outgoing bundle."""
    from optin_analysis.config import load_config
    from optin_analysis.ingest.load import load_practice

    cfg = load_config(config_path)
    data = load_practice(cfg.practice(ods_code))
    return outgoing(compute(data, period), cfg.disclosure, audience=audience)


#: Headline figures the history store keeps a trend of in the monthly report.
TREND_MEASURES = [
    "revocation_backlog",
    "opt_in_holders",
    "open_requests",
    "pending_16_at_risk",
    "withheld_pending_opt_in",
    "protection_coverage_share",
]
#: Figures the DPIA shows six months of, as evidence for its mitigations, and works out
#: earlier months' residual risks from (the counts its shares come from too).
DPIA_MEASURES = HISTORY_FIGURES
HISTORY_MEASURES = list(dict.fromkeys(TREND_MEASURES + DPIA_MEASURES))


def with_history(bundle: dict, earlier: pd.DataFrame) -> dict:
    """The bundle plus a ``history`` table: earlier periods from the store, then this one.

    ``earlier`` has columns period, measure, value (a number, None or "[c]", from
    :meth:`optin_analysis.outgoing.history.History.series`); periods at or after the
    bundle's are ignored, so re-running a month replaces it.
    """
    before = earlier[earlier["period"] < bundle["period"]]
    rows = [
        {"period": r.period, "measure": r.measure, "value": r.value}
        for r in before.itertuples()
        if r.measure in HISTORY_MEASURES
    ]
    rows += [
        {"period": bundle["period"], "measure": m, "value": bundle["headline"].get(m)}
        for m in HISTORY_MEASURES
    ]
    return {**bundle, "history": rows}
