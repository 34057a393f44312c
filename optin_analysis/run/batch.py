"""The monthly job for many practices: validate, compute, worklists, reports, roll-up.

Practices run in parallel worker processes (``jobs``), each keeping one kernel alive
for its notebooks. One practice failing never stops the others: each outcome is a
:class:`PracticeResult` with its status, time, what it wrote and, if it failed, why.
Only this parent process writes the history store, after the workers; the ICB roll-up
is rendered last from the practices' summaries and the history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optin_analysis.config import ConfigError, Practice, RunConfig
from optin_analysis.ingest.codelist import load_codelist, placeholder_event_types
from optin_analysis.ingest.load import load_practice
from optin_analysis.outgoing.history import History
from optin_analysis.outgoing.summary import (
    HISTORY_MEASURES,
    ICB,
    PRACTICE,
    PeriodError,
    compute,
    outgoing,
    write_json,
)
from optin_analysis.practice.worklists import worklists, write_worklists
from optin_analysis.problems import InputError, errors
from optin_analysis.reports.notebooks import (
    ROLLUP,
    STAGING,
    KernelSession,
    ReportError,
    Timings,
    complete,
    remove_stale_staging,
    render,
    write_reports,
)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
_session: KernelSession | None = None  # one per process, reused across practices


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
    bundle: dict | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  #: validation warnings, in words


@dataclass(frozen=True)
class Options:
    """What a run does for each practice."""

    reports: bool = True
    lists: bool = True
    keep_notebooks: bool = False
    generated: dt.datetime | None = None
    audience: str = ICB  #: "icb" (outgoing) or "practice" (exact, under the worklists)
    pdf: bool = True  #: also write the DPIA as PDF


def report_folder(cfg: RunConfig, period: str, ods_code: str, audience: str = ICB) -> Path:
    """Where a practice's reports for the period go: the reports folder for the ICB, the
    practice's worklists folder for its own exact copy (never ``reports/``)."""
    if audience == PRACTICE:
        return cfg.worklists_dir / period / ods_code / "reports"
    return cfg.reports_dir / period / ods_code


def _describe(exc: Exception) -> str:
    if isinstance(exc, InputError):
        errs = errors(exc.problems)
        first = "; ".join(str(p) for p in errs[:3])
        more = f" (+{len(errs) - 3} more; run `optin-analysis validate`)" if len(errs) > 3 else ""
        return f"{len(errs)} input error(s): {first}{more}"
    return str(exc)


def session() -> KernelSession:
    """This process's kernel session."""
    global _session
    if _session is None:
        _session = KernelSession()
    return _session


def run_practice(
    cfg: RunConfig,
    profile: Practice,
    period: str,
    options: Options = Options(),
    codelist: pd.DataFrame | None = None,
    earlier: pd.DataFrame | None = None,
) -> PracticeResult:
    """Everything for one practice-month; failures become a result, never an exception.

    ``earlier`` holds the practice's figures from the history store (for trends).
    """
    result = PracticeResult(profile.ods_code, profile.name)
    timings = Timings()
    start = time.perf_counter()
    try:
        with timings.stage("load+validate"):
            data = load_practice(profile, codelist)
            result.warnings = [p.message for p in data.warnings]
        with timings.stage("measures"):
            month = compute(data, period)
            used = codelist if codelist is not None else load_codelist(cfg.codelist)
            placeholders = tuple(placeholder_event_types(used))
            bundle = outgoing(
                month,
                cfg.disclosure,
                generated=options.generated,
                audience=options.audience,
                placeholders=placeholders,
                earlier=earlier,
            )
        result.headline, result.bundle = month.measures.headline, bundle
        if options.lists:
            with timings.stage("worklists"):
                frames = worklists(data.patients, data.events, profile, month.ref_date,
                                   state=month.measures.state)  # fmt: skip
                result.written += write_worklists(frames, cfg.worklists_dir, profile.ods_code,
                                                  period)  # fmt: skip
        if options.reports:
            final = report_folder(cfg, period, profile.ods_code, options.audience)
            result.written += write_reports(session(), bundle, final, options.keep_notebooks,
                                            timings, options.pdf)  # fmt: skip
    except (InputError, ConfigError, PeriodError, ReportError) as exc:
        result.status, result.problem = FAILED, _describe(exc)
    except Exception as exc:  # noqa: BLE001 - one practice must never stop the batch
        result.status, result.problem = FAILED, f"unexpected {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - start
    result.timings = timings.stages
    return result


def _terminate(_signum, _frame) -> None:
    """SIGTERM in a worker: unwind (staging folders are removed by ``finally``)."""
    sys.exit(143)


def _init_worker() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides on Ctrl-C


def _earlier(cfg: RunConfig, period: str) -> dict[str, pd.DataFrame]:
    with History(cfg.history_path, read_only=True) as history:
        series = history.series(None, period, HISTORY_MEASURES)
    return {code: rows for code, rows in series.groupby("practice_code")}


def _resumed(cfg: RunConfig, profile: Practice, period: str, options: Options):
    """A SKIPPED result (with its summary) when the practice's files for the period are
    complete: its reports, and its worklists when this run writes them; else None."""
    final = report_folder(cfg, period, profile.ods_code, options.audience)
    lists = cfg.worklists_dir / period / profile.ods_code / "worklists.xlsx"
    if not complete(final) or (options.lists and not lists.is_file()):
        return None
    bundle = json.loads((final / "summary.json").read_text(encoding="utf-8"))
    return PracticeResult(profile.ods_code, profile.name, status=SKIPPED, bundle=bundle)


Progress = Callable[[PracticeResult], None]


def _died(profile: Practice) -> PracticeResult:
    return PracticeResult(
        profile.ods_code, profile.name, status=FAILED,
        problem="its worker process died twice (out of memory, or killed?)",
    )  # fmt: skip


def _pool_round(cfg, todo, period, options, codelist, earlier, jobs, progress) -> list[Practice]:
    """Run ``todo`` in a fresh pool; return the practices lost to a dead worker."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker)
    lost: list[Practice] = []
    try:
        pending: dict[Future, Practice] = {
            pool.submit(run_practice, cfg, p, period, options, codelist, earlier.get(p.ods_code)): p
            for p in todo
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                profile = pending.pop(future)
                try:
                    progress(future.result())
                except BrokenProcessPool:  # one dead worker breaks the whole pool
                    lost.append(profile)
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # workers unwind on SIGTERM and remove their staging
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return lost


def _run_parallel(cfg, todo, period, options, codelist, earlier, jobs, progress) -> None:
    """Run in worker processes; practices lost to a dead worker get one more try."""
    lost = _pool_round(cfg, todo, period, options, codelist, earlier, jobs, progress)
    if lost:
        lost = _pool_round(cfg, lost, period, options, codelist, earlier, jobs, progress)
    for profile in lost:
        progress(_died(profile))


def run_batch(
    cfg: RunConfig,
    practices: list[Practice],
    period: str,
    options: Options = Options(),
    jobs: int = 1,
    resume: bool = False,
    progress: Progress = lambda _r: None,
) -> list[PracticeResult]:
    """Run every practice (in ``jobs`` processes), recording each in the history store."""
    codelist = load_codelist(cfg.codelist)
    remove_stale_staging(cfg.reports_dir / period)
    skipped = [r for p in practices if resume and (r := _resumed(cfg, p, period, options))]
    todo = [p for p in practices if p.ods_code not in {r.ods_code for r in skipped}]
    earlier = _earlier(cfg, period) if options.reports and options.audience == ICB else {}
    results: list[PracticeResult] = []
    with contextlib.ExitStack() as stack:
        outgoing_run = options.reports and options.audience == ICB
        history = stack.enter_context(History(cfg.history_path)) if outgoing_run else None

        def finished(result: PracticeResult) -> None:
            results.append(result)
            if history is not None and result.bundle is not None and result.status != FAILED:
                history.record(result.bundle, options.generated or dt.datetime.now())
            progress(result)

        for result in skipped:
            finished(result)
        if jobs > 1 and len(todo) > 1:
            _run_parallel(cfg, todo, period, options, codelist, earlier, jobs, finished)
        else:
            for p in todo:
                finished(run_practice(cfg, p, period, options, codelist, earlier.get(p.ods_code)))
    remove_stale_staging(cfg.reports_dir / period)  # e.g. of a worker that was killed
    order = {p.ods_code: i for i, p in enumerate(practices)}
    return sorted(results, key=lambda r: order[r.ods_code])


def write_rollup(
    cfg: RunConfig,
    period: str,
    generated: dt.datetime | None = None,
    results: list[PracticeResult] | None = None,
) -> Path:
    """Render ``reports/<period>/icb-rollup.html`` and ``rollup.json`` from summaries and
    history; both are staged and moved into place only when the HTML is complete.

    ``results`` of the run that wrote the summaries name the practices that failed (and
    why) and hand over exact figures for ICB totals where that is safe.
    """
    from optin_analysis.outgoing.rollup import build

    folder = cfg.reports_dir / period
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=f".rollup{STAGING}") as tmp:
        stage = Path(tmp)
        failures = {r.ods_code: r.problem for r in results or [] if r.status == FAILED}
        exact = {r.ods_code: r.headline for r in results or [] if r.headline}
        bundle = build(cfg, period, generated, failures, exact if results else None)
        write_json(bundle, stage / "rollup.json")
        notebook, title = ROLLUP
        parameters = {"period": period, "rollup_path": str(stage / "rollup.json")}
        render(session(), notebook, f"{title} — {period}", parameters,
               stage / "icb-rollup.html")  # fmt: skip
        for name in ("rollup.json", "icb-rollup.html"):
            os.replace(stage / name, folder / name)
    return folder / "icb-rollup.html"


def close() -> None:
    """Shut this process's kernel down (call at the end of a command)."""
    if _session is not None:
        _session.close()
