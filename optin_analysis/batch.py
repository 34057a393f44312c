"""The monthly job for many practices: validate, compute, worklists, reports.

One practice failing never stops the others: each practice's outcome is a
:class:`PracticeResult` with its status, time, what it wrote and, if it failed, why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .codelist import load_codelist
from .config import ConfigError, Practice, RunConfig
from .dpia import load_register
from .ingest import load_practice
from .problems import InputError, errors
from .reports import ReportError, Timings, write_reports
from .summary import PeriodError, compute, outgoing
from .worklists import worklists, write_worklists

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class PracticeResult:
    """What happened to one practice in a run."""

    ods_code: str
    name: str
    status: str = OK
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)
    problem: str = ""
    headline: dict | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _describe(exc: Exception) -> str:
    if isinstance(exc, InputError):
        errs = errors(exc.problems)
        first = "; ".join(str(p) for p in errs[:3])
        more = f" (+{len(errs) - 3} more; run `optin-analysis validate`)" if len(errs) > 3 else ""
        return f"{len(errs)} input error(s): {first}{more}"
    return str(exc)


def run_practice(
    cfg: RunConfig,
    profile: Practice,
    period: str,
    *,
    reports: bool = True,
    lists: bool = True,
    keep_notebooks: bool = False,
    codelist: pd.DataFrame | None = None,
) -> PracticeResult:
    """Everything for one practice-month; failures become a result, never an exception."""
    result = PracticeResult(profile.ods_code, profile.name)
    timings = Timings()
    start = time.perf_counter()
    try:
        with timings.stage("load+validate"):
            data = load_practice(profile, codelist)
        with timings.stage("measures"):
            month = compute(data, period)
            bundle = outgoing(month, cfg.disclosure, load_register(profile.risk_register))
        result.headline = month.measures.headline
        if lists:
            with timings.stage("worklists"):
                frames = worklists(data.patients, data.events, profile, month.ref_date)
                result.written += write_worklists(
                    frames, cfg.worklists_dir, profile.ods_code, period
                )
        if reports:
            final = cfg.reports_dir / period / profile.ods_code
            result.written += write_reports(bundle, final, keep_notebooks, timings)
    except (InputError, ConfigError, PeriodError, ReportError) as exc:
        result.status, result.problem = FAILED, _describe(exc)
    except Exception as exc:  # noqa: BLE001 - one practice must never stop the batch
        result.status, result.problem = FAILED, f"unexpected {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - start
    result.timings = timings.stages
    return result


def run_batch(
    cfg: RunConfig, practices: list[Practice], period: str, **options
) -> list[PracticeResult]:
    """Run every practice in turn (see :func:`run_practice` for the options)."""
    codelist = load_codelist(cfg.codelist)
    return [run_practice(cfg, p, period, codelist=codelist, **options) for p in practices]
