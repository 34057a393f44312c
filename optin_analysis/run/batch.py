"""The monthly job for many practices: validate, compute, worklists, reports, roll-up.

Practices run in parallel worker processes (``jobs``), each keeping one kernel alive
for its notebooks. One practice failing never stops the others: each outcome is a
:class:`PracticeResult` with its status, time, what it wrote and, if it failed, why.

Workers only *stage* a practice's files (worklists and reports under temporary names);
this parent process publishes them (renames) and records the practice in the history
store in one step, the only step a signal waits for. So:

* one run per reports folder: the run lock (:mod:`optin_analysis.run.lock`) is taken
  before anything is touched, and held until :func:`close`, so the roll-up is written
  under it too; a second run stops with :class:`RunError` and touches nothing;
* SIGTERM or Ctrl-C: nothing is published after the signal, the history matches what
  was published, staging is removed and :class:`Interrupted` is raised;
* the parent gone (even ``kill -9``): workers die with it (``PR_SET_PDEATHSIG`` on Linux,
  and a watchdog on their parent's pid), killing their kernels, and never publish.

The ICB roll-up is rendered last from the practices' summaries and the history.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from optin_analysis.config import ConfigError, Practice, RunConfig
from optin_analysis.ingest.codelist import load_codelist, placeholder_event_types
from optin_analysis.ingest.load import load_practice
from optin_analysis.outgoing.history import History, HistoryError
from optin_analysis.outgoing.releases import Released
from optin_analysis.outgoing.summary import (
    HISTORY_MEASURES,
    ICB,
    PRACTICE,
    PeriodError,
    compute,
    outgoing,
    write_json,
)
from optin_analysis.practice.worklists import (
    FIRST_REVIEW_DAYS,
    REVIEW_WEEKS,
    LinkedFolder,
    Pending,
    commit_worklists,
    discard_worklists,
    private_folder,
    remove_stale_temporaries,
    stage_worklists,
    worklists,
)
from optin_analysis.problems import InputError, errors, naming, os_error
from optin_analysis.reports.kernel import ReportError, current, session
from optin_analysis.reports.notebooks import (
    ROLLUP,
    STAGING,
    StagedReports,
    Timings,
    begin_reports,
    complete,
    publish,
    remove_stale_staging,
    render,
)
from optin_analysis.reports.pdf import start_pdf_helper
from optin_analysis.run import lock
from optin_analysis.run.checks import practice_warnings

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
ROLLUP_HTML = "icb-rollup.html"


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
    staged: Staged | None = None  #: complete files not yet in place (published by the parent)


@dataclass
class Staged:
    """A practice's files, complete under temporary names, waiting to be published."""

    lists: Pending = field(default_factory=list)  #: (temporary, final) worklist files
    reports: tuple[Path, Path] | None = None  #: (staging folder, final folder)

    def publish(self) -> list[Path]:
        """Move everything into place (renames only); returns the files now in place."""
        written = commit_worklists(self.lists)
        self.lists = []
        if self.reports is not None:
            stage, final = self.reports
            publish(stage, final)
            self.reports = None
            written += sorted(final.iterdir())
        return written

    def discard(self) -> None:
        """Remove what was staged (it will not be published)."""
        discard_worklists(self.lists)
        if self.reports is not None:
            shutil.rmtree(self.reports[0], ignore_errors=True)
        self.lists, self.reports = [], None


class RunError(Exception):
    """The run cannot start or go on: another run, an unwritable folder or history store.
    The message says why and what to do; nothing half-written is left."""


class Interrupted(BaseException):
    """SIGTERM or Ctrl-C stopped the run. ``results`` are the practices finished (and, if
    published, recorded) before the signal; nothing was published after it."""

    def __init__(self, signum: int, results: list[PracticeResult] | None = None):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.results = results or []

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal (143, or 130 for Ctrl-C)."""
        return 128 + self.signum


@dataclass(frozen=True)
class Options:
    """What a run does for each practice."""

    reports: bool = True
    lists: bool = True
    keep_notebooks: bool = False
    generated: dt.datetime | None = None
    audience: str = ICB  #: "icb" (outgoing) or "practice" (exact, under the worklists)
    pdf: bool = True  #: also write the DPIA as PDF
    as_of: dt.date | None = None  #: a weekly review as of this day (worklists only)
    #: per practice, the day its review lists what is new after, and where that day came from
    since: dict[str, tuple[dt.date, str]] | None = None
    review_weeks: int = REVIEW_WEEKS  #: the review lists who turns 16 within this many weeks


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
    if (cause := os_error(exc)) is not None:
        return _os_problem(cause)
    return str(exc)


def in_words(exc: BaseException) -> str:
    """A failure in words: input errors by file, row and column; a file-system error, even
    one a library wrapped, by its file and cause; anything else by its type and message."""
    if isinstance(exc, InputError) or os_error(exc) is not None:
        return _describe(exc)
    return f"{type(exc).__name__}: {exc}"


def _os_problem(exc: OSError) -> str:
    """A file-system error in words: what could not be written, and why."""
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the disk"
    return f"cannot write{where}: {reason}"


def run_practice(
    cfg: RunConfig,
    profile: Practice,
    period: str,
    options: Options = Options(),
    codelist: pd.DataFrame | None = None,
    earlier: Earlier | None = None,
) -> PracticeResult:
    """Everything for one practice-month; failures become a result, never an exception.

    ``earlier`` holds the practice's figures from the history store (trends, and what its
    earlier releases published). Its files are staged, not published: the caller
    publishes ``result.staged``.
    """
    return begin_practice(cfg, profile, period, options, codelist, earlier).result()


@dataclass
class Begun:
    """A practice read, measured and its worklists staged, whose reports are being staged
    (by the kernel, on the other core) while the caller goes on: :meth:`result` waits."""

    result_so_far: PracticeResult
    staged: Staged
    timings: Timings
    seconds: float  #: spent so far (the reports add their own)
    reports: Future | None = None
    final: Path | None = None

    def result(self) -> PracticeResult:
        """The practice's result, once its reports are staged (or failed)."""
        result, staged = self.result_so_far, self.staged
        if self.reports is not None:
            try:
                reports, seconds = self.reports.result()
                start = time.perf_counter()
                with naming(self.final):
                    stage = reports.complete(self.timings)  # the PDFs, laid out meanwhile
                staged.reports = (stage, self.final)
                self.seconds += seconds + time.perf_counter() - start
            except BaseException as exc:
                _failed(result, staged, exc)
        if result.status != FAILED:
            result.staged = staged
        result.seconds, result.timings = self.seconds, self.timings.stages
        return result


#: What stops the run rather than one practice: a signal, Ctrl-C, an exit.
NOT_THE_PRACTICES = (Interrupted, KeyboardInterrupt, SystemExit, GeneratorExit)


def _failed(result: PracticeResult, staged: Staged, exc: BaseException) -> None:
    """``exc`` as the practice's failure (its staged files removed); re-raised when it is
    not the practice's (:data:`NOT_THE_PRACTICES`). Anything else, even an error that
    is not an ``Exception`` (a library's Rust panic), fails this practice only."""
    staged.discard()
    if isinstance(exc, NOT_THE_PRACTICES):
        raise exc
    if isinstance(exc, InputError | ConfigError | PeriodError | ReportError | OSError):
        result.status, result.problem = FAILED, _describe(exc)
    else:  # one practice must never stop the batch
        words = in_words(exc)
        result.status = FAILED
        result.problem = words if os_error(exc) is not None else f"unexpected {words}"


def begin_practice(
    cfg: RunConfig,
    profile: Practice,
    period: str,
    options: Options = Options(),
    codelist: pd.DataFrame | None = None,
    earlier: Earlier | None = None,
    reports: ThreadPoolExecutor | None = None,
) -> Begun:
    """:func:`run_practice` up to its reports, which are staged in ``reports`` (one thread:
    the kernel runs one notebook at a time) when given, else here."""
    if options.as_of is not None:
        review = run_review(cfg, profile, period, options, codelist)
        return Begun(review, review.staged or Staged(), Timings(review.timings), review.seconds)
    result = PracticeResult(profile.ods_code, profile.name)
    timings = Timings()
    start = time.perf_counter()
    begun = Begun(result, Staged(), timings, 0.0)
    try:
        if options.reports:
            session().warm()  # the kernel starts while this process reads and measures
            if options.pdf:
                start_pdf_helper()  # here: it ends with the thread that starts it
        with timings.stage("load+validate"):
            data = load_practice(profile, codelist)
            result.warnings = [p.message for p in practice_warnings(data, cfg.source)]
        with timings.stage("measures"):
            month = compute(data, period)
            used = codelist if codelist is not None else load_codelist(cfg.codelist)
            placeholders = tuple(placeholder_event_types(used, data.events))
            bundle = outgoing(
                month,
                cfg.disclosure,
                generated=options.generated,
                audience=options.audience,
                placeholders=placeholders,
                earlier=earlier.series if earlier else None,
                released=earlier.released if earlier else None,
            )
        result.headline, result.bundle = month.measures.headline, bundle
        if options.lists:
            with timings.stage("worklists"):
                frames = worklists(data.patients, data.events, profile, month.ref_date,
                                   state=month.measures.state)  # fmt: skip
                begun.staged.lists = stage_worklists(frames, cfg.worklists_dir,
                                                     profile.ods_code, period)  # fmt: skip
        if options.reports:
            begun.final = final = report_folder(cfg, period, profile.ods_code, options.audience)
            if options.audience == PRACTICE:  # exact figures: kept with the worklists
                private_folder(cfg.worklists_dir, period, profile.ods_code)
                private_folder(
                    cfg.worklists_dir, period, profile.ods_code, final.name, create=False
                )
            job = partial(_stage_reports, bundle, final, options, timings)
            begun.reports = reports.submit(job) if reports is not None else _now(job)
    except BaseException as exc:
        _failed(result, begun.staged, exc)
        begun.reports = None
    begun.seconds = time.perf_counter() - start
    return begun


def _stage_reports(
    bundle: dict, final: Path, options: Options, timings: Timings
) -> tuple[StagedReports, float]:
    """A practice's reports begun beside ``final``: (:class:`StagedReports`, seconds).
    Its PDFs may still be being laid out: :meth:`Begun.result` waits for them."""
    start = time.perf_counter()
    with naming(final):  # its files are staged under temporary names
        staged = begin_reports(session(), bundle, final, options.keep_notebooks, timings,
                               options.pdf)  # fmt: skip
    return staged, time.perf_counter() - start


def _now(job: Callable) -> Future:
    """``job`` run here, as a finished future (its exception kept in it)."""
    done: Future = Future()
    try:
        done.set_result(job())
    except Exception as exc:  # noqa: BLE001 - handed over as the future's
        done.set_exception(exc)
    return done


def review_since(options: Options, ods_code: str) -> tuple[dt.date, str]:
    """The day a practice's weekly review lists what is new after, and why that day."""
    given = (options.since or {}).get(ods_code)
    if given is not None:
        return given
    start = options.as_of - dt.timedelta(days=FIRST_REVIEW_DAYS)
    return start, f"no earlier review recorded: the last {FIRST_REVIEW_DAYS} days"


def run_review(
    cfg: RunConfig,
    profile: Practice,
    period: str,
    options: Options,
    codelist: pd.DataFrame | None = None,
) -> PracticeResult:
    """A practice's weekly review: every worklist as of ``options.as_of``, with the
    ``review`` list first (what is new since its previous review), staged under
    ``<worklists>/<period>`` (``period`` is the day, YYYY-MM-DD). Failures become a result.
    """
    result = PracticeResult(profile.ods_code, profile.name)
    timings = Timings()
    start = time.perf_counter()
    staged = Staged()
    try:
        if options.as_of > profile.extract_date:
            raise PeriodError(
                f"{profile.ods_code}: --as-of {options.as_of} is after the extract date "
                f"{profile.extract_date}; use an extract taken on or after that day"
            )
        with timings.stage("load+validate"):
            data = load_practice(profile, codelist)
            result.warnings = [p.message for p in practice_warnings(data, cfg.source)]
        since, why = review_since(options, profile.ods_code)
        with timings.stage("worklists"):
            frames = worklists(data.patients, data.events, profile, options.as_of, since=since,
                               review_weeks=options.review_weeks, since_why=why)  # fmt: skip
            staged.lists = stage_worklists(frames, cfg.worklists_dir, profile.ods_code, period)
        result.staged = staged
    except BaseException as exc:  # noqa: BLE001 - _failed re-raises what is not the practice's
        _failed(result, staged, exc)
    result.seconds = time.perf_counter() - start
    result.timings = timings.stages
    return result


# --- workers: die with the parent, never outlive it ----------------------------------------

PR_SET_PDEATHSIG = 1  #: prctl(2) option: a signal for this process when its parent dies
WATCH_SECONDS = 0.5  #: how often a worker's watchdog checks that its parent is alive


def _leave(signum: int = signal.SIGTERM, _frame=None) -> None:
    """End this worker at once: kill its kernel, exit without unwinding or tracebacks.

    What it staged is removed by the parent, or by the next run if the parent is gone.
    """
    if (kernel := current()) is not None:
        kernel.kill()
    _unlink_semaphores()
    os._exit(128 + signum)


def _unlink_semaphores() -> None:
    """Unlink this worker's named semaphores (its PDF helper's queues) as their finalizers
    would at a normal exit, so the resource tracker it shares with the parent has none
    left to warn about ("leaked semaphore objects") when the run ends."""
    from multiprocessing import synchronize, util

    with contextlib.suppress(Exception):  # internals of multiprocessing: best effort
        for finalizer in list(util._finalizer_registry.values()):
            if getattr(finalizer, "_callback", None) is synchronize.SemLock._cleanup:
                finalizer()


def _die_with(parent: int) -> None:
    """Make this process end when ``parent`` (its parent) does, however that ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # gone before the line above took effect
        _leave()
    watchdog = threading.Thread(target=_watch, args=(parent,), name="parent-watchdog")
    watchdog.daemon = True
    watchdog.start()


def _watch(parent: int) -> None:
    """The fallback where ``PR_SET_PDEATHSIG`` is missing: poll the parent's pid."""
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    _leave()


def _init_worker(parent: int) -> None:
    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides on Ctrl-C
    _die_with(parent)


# --- the parent: signals wait for the publish step in progress, then stop the run --------


class _Signals:
    """SIGTERM and SIGINT raise :class:`Interrupted` at once, except inside
    :meth:`atomic` (publishing a practice), where they take effect at its end."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.depth = 0  # nested use
        self.atomic_depth = 0
        self.previous: dict[int, object] = {}

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None:
            return  # already stopping: finish the clean-up
        self.received = signum
        if not self.atomic_depth:
            raise Interrupted(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        """Handle the signals in this block (main thread only; elsewhere a no-op)."""
        main = threading.current_thread() is threading.main_thread()
        if main and self.depth == 0:
            self.received = None
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.previous[signum] = signal.signal(signum, self._handle)
        self.depth += main
        try:
            yield self
        finally:
            self.depth -= main
            if main and self.depth == 0:
                for signum, handler in self.previous.items():
                    signal.signal(signum, handler)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """A block no signal interrupts; a signal received meanwhile stops the run after."""
        if self.received is not None:
            raise Interrupted(self.received)
        self.atomic_depth += 1
        try:
            yield
        finally:
            self.atomic_depth -= 1
        if self.received is not None and not self.atomic_depth:
            raise Interrupted(self.received)


_signals = _Signals()


def stopping() -> contextlib.AbstractContextManager[_Signals]:
    """A block in which SIGTERM and Ctrl-C raise :class:`Interrupted` (a command wraps its
    whole work in one, so that a signal between two steps is handled the same way)."""
    return _signals.installed()


@dataclass(frozen=True)
class Earlier:
    """A practice's figures from the history store: trends, and its release ledger."""

    series: pd.DataFrame
    released: Released


def _earlier(cfg: RunConfig, period: str) -> dict[str, Earlier]:
    try:
        with History(cfg.history_path, read_only=True) as history:
            series = history.series(None, period, HISTORY_MEASURES)
            released = history.released(period)
    except HistoryError as exc:
        raise RunError(str(exc)) from None
    trends = {code: rows for code, rows in series.groupby("practice_code")}
    codes = set(trends) | set(released)
    empty = series.iloc[:0]
    return {c: Earlier(trends.get(c, empty), released.get(c, Released())) for c in codes}


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
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(os.getpid(),))  # fmt: skip
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
                    result = future.result()
                except BrokenProcessPool:  # one dead worker breaks the whole pool
                    lost.append(profile)
                    continue
                progress(result)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return lost


def _stop(pool: ProcessPoolExecutor) -> None:
    """End every worker now (each kills its kernel); what they staged is left for the
    run's clean-up. Results not yet taken are dropped: they were not published."""
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _run_parallel(cfg, todo, period, options, codelist, earlier, jobs, progress) -> None:
    """Run in worker processes; practices lost to a dead worker get one more try."""
    lost = _pool_round(cfg, todo, period, options, codelist, earlier, jobs, progress)
    if lost:
        lost = _pool_round(cfg, lost, period, options, codelist, earlier, jobs, progress)
    for profile in lost:
        progress(_died(profile))


#: PDF helpers of a run in one process: a DPIA's PDF takes longer to lay out than a
#: practice's notebooks take to run (about 0.7 s against 0.3 s), so one held it back.
PDF_HELPERS_ONE_JOB = 2


def runs_here(jobs: int, practices: int) -> bool:
    """Whether a batch of ``practices`` on ``jobs`` runs in this process (not in workers)."""
    return jobs <= 1 or practices <= 1


def pdf_helpers_here(practices: int) -> int:
    """PDF helpers of a batch of ``practices`` run in this process."""
    return min(PDF_HELPERS_ONE_JOB, practices)


def _run_here(cfg, todo, period, options, codelist, earlier, progress) -> None:
    """Run in this process, one practice after another, each one's reports staged by the
    kernel while the next practice is read, measured and its worklists staged (so the two
    cores are used with one job). On a signal the kernel is stopped, the reports not yet
    staged are dropped and nothing more is published."""
    reports = ThreadPoolExecutor(1, thread_name_prefix="reports")
    if options.reports and options.pdf and todo:
        start_pdf_helper(pdf_helpers_here(len(todo)))
    begun: list[Begun] = []
    try:
        for p in todo:
            begun.append(begin_practice(cfg, p, period, options, codelist,
                                        earlier.get(p.ods_code), reports))  # fmt: skip
            if len(begun) > 1:
                progress(begun[0].result())
                begun.pop(0)
        while begun:
            progress(begun[0].result())
            begun.pop(0)
    except BaseException:
        reports.shutdown(wait=False, cancel_futures=True)
        if (kernel := current()) is not None:
            kernel.kill()  # the notebook running now fails at once
        reports.shutdown(wait=True)  # even a job submitted but not yet in ``begun``
        for left in begun:
            with contextlib.suppress(BaseException):
                left.result()  # its reports' staging folder, if staged, is then known
            left.staged.discard()
        if (kernel := current()) is not None:
            kernel.close()  # what is left of it (the next run starts a new kernel)
        raise
    finally:
        reports.shutdown(wait=True)


def _writes(options: Options) -> bool:
    return options.reports or options.lists


def _private_parts(options: Options, ods_code: str) -> list[tuple[str, ...]]:
    """The folders below ``<worklists>/<period>`` a practice's run writes, if any."""
    parts = [(ods_code,)] if options.lists else []
    if options.reports and options.audience == PRACTICE:
        parts.append((ods_code, "reports"))
    return parts


def _prepare(
    cfg: RunConfig, period: str, options: Options, practices: list[Practice] | None = None
) -> None:
    """Take the run lock and check the folders this run writes (RunError if it cannot):
    none under the worklists folder may be a symbolic link."""
    try:
        lock.acquire(cfg.reports_dir)
        for p in practices or []:
            for parts in _private_parts(options, p.ods_code):
                private_folder(cfg.worklists_dir, period, *parts, create=False)
        if options.reports:
            lock.writable(cfg.reports_dir / period, "reports folder")
        if options.lists:
            lock.writable(cfg.worklists_dir / period, "worklists folder")
    except lock.LockError as exc:
        raise RunError(str(exc)) from None
    except LinkedFolder as exc:
        raise RunError(_os_problem(exc)) from None


def _clean(cfg: RunConfig, period: str) -> None:
    """Remove what unfinished work left in this period's folders (this run's own after a
    stop, or a killed run's): staging folders (the practices' exact copies' too, in their
    worklists folders) and temporary worklist files."""
    remove_stale_staging(cfg.reports_dir / period)
    private = cfg.worklists_dir / period
    for folder in sorted(private.iterdir()) if private.is_dir() else []:
        if folder.is_dir() and not folder.is_symlink():
            remove_stale_staging(folder)
    remove_stale_temporaries(private)


def _open_history(cfg: RunConfig, options: Options) -> History | None:
    if not options.reports:
        return None
    try:
        return History(cfg.history_path)
    except HistoryError as exc:
        raise RunError(str(exc)) from None


def run_batch(
    cfg: RunConfig,
    practices: list[Practice],
    period: str,
    options: Options = Options(),
    jobs: int = 1,
    resume: bool = False,
    progress: Progress = lambda _r: None,
    stale: Callable[[list[str]], None] | None = None,
) -> list[PracticeResult]:
    """Run every practice (in ``jobs`` processes), publishing each and recording it in the
    history store as it finishes.

    A run that writes takes the reports folder's run lock first (kept until
    :func:`close`); then ``stale`` is told the practices whose reports are newer than the
    period's ICB roll-up (:func:`stale_rollup`), if any. Raises :class:`RunError` when the
    run cannot start or go on, and :class:`Interrupted` on SIGTERM or Ctrl-C, after
    cleaning up.
    """
    codelist = load_codelist(cfg.codelist)
    writes = _writes(options)
    with _signals.installed() as signals:
        if writes:
            _prepare(cfg, period, options, practices)
            _clean(cfg, period)
            if stale is not None and (newer := stale_rollup(cfg, period)):
                stale(newer)
        skipped = [r for p in practices if resume and (r := _resumed(cfg, p, period, options))]
        todo = [p for p in practices if p.ods_code not in {r.ods_code for r in skipped}]
        outgoing_run = options.reports and options.audience == ICB
        earlier = _earlier(cfg, period) if outgoing_run else {}
        results: list[PracticeResult] = []
        stack = contextlib.ExitStack()
        history = _open_history(cfg, options) if outgoing_run else None
        if history is not None:
            stack.enter_context(history)

        def finished(result: PracticeResult) -> None:
            with signals.atomic():
                _publish(result, history, options)
                results.append(result)
            progress(result)

        try:
            for result in skipped:
                finished(result)
            if not runs_here(jobs, len(todo)):
                _run_parallel(cfg, todo, period, options, codelist, earlier, jobs, finished)
            else:
                _run_here(cfg, todo, period, options, codelist, earlier, finished)
        except Interrupted as exc:
            exc.results = _ordered(results, practices)
            raise
        finally:
            stack.close()
            if writes:
                _clean(cfg, period)  # e.g. of a worker that was killed, or of the stop
    return _ordered(results, practices)


def _ordered(results: list[PracticeResult], practices: list[Practice]) -> list[PracticeResult]:
    order = {p.ods_code: i for i, p in enumerate(practices)}
    return sorted(results, key=lambda r: order[r.ods_code])


def _publish(result: PracticeResult, history: History | None, options: Options) -> None:
    """Put a finished practice's files in place and record it in the history store.

    A file that cannot be put in place fails the practice; a history store that cannot
    be written stops the run (RunError), naming the practice published but not recorded.
    """
    staged, result.staged = result.staged, None
    if staged is not None:
        try:
            result.written += staged.publish()
        except OSError as exc:
            staged.discard()
            result.status, result.problem = FAILED, _describe(exc)
            return
    if history is None or result.bundle is None or result.status == FAILED:
        return
    try:
        history.record(result.bundle, options.generated or dt.datetime.now())
    except HistoryError as exc:
        raise RunError(
            f"{exc}. {result.ods_code} was published but is not in the history store: "
            "run again with --resume once the store can be written"
        ) from None


def stale_rollup(cfg: RunConfig, period: str) -> list[str]:
    """Practices whose published reports for ``period`` are newer than its ICB roll-up (all
    that are published, when it has none): what a run stopped before its roll-up (even by
    ``kill -9``), or ``report``, leaves until the next run rebuilds the roll-up."""
    folder = cfg.reports_dir / period
    rollup = folder / ROLLUP_HTML
    built = rollup.stat().st_mtime_ns if rollup.is_file() else -1
    return sorted(
        summary.parent.name
        for summary in folder.glob("[!.]*/summary.json")
        if summary.stat().st_mtime_ns > built
    )


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
    from optin_analysis.outgoing.rollup import build_for_run

    folder = cfg.reports_dir / period
    _prepare(cfg, period, Options(lists=False))
    failures = {r.ods_code: r.problem for r in results or [] if r.status == FAILED}
    exact = {r.ods_code: r.headline for r in results or [] if r.headline}
    try:
        bundle = build_for_run(cfg, period, generated, failures, exact if results else None)
    except HistoryError as exc:
        raise RunError(str(exc)) from None
    return publish_rollup(bundle, folder)


def publish_rollup(bundle: dict, folder: Path) -> Path:
    """Write a roll-up bundle's ``rollup.json`` and ``icb-rollup.html`` into ``folder``:
    staged beside it and moved into place only when the HTML is complete."""
    period = bundle["period"]
    folder.mkdir(parents=True, exist_ok=True)
    staging = tempfile.TemporaryDirectory(dir=folder, prefix=f".rollup{STAGING}")
    with _signals.installed() as signals, staging as tmp:
        stage = Path(tmp)
        with naming(folder / "rollup.json"):
            write_json(bundle, stage / "rollup.json")
        notebook, title = ROLLUP
        parameters = {"period": period, "rollup_path": str(stage / "rollup.json")}
        render(session(), notebook, f"{title} — {period}", parameters,
               stage / ROLLUP_HTML)  # fmt: skip
        with signals.atomic():
            for name in ("rollup.json", ROLLUP_HTML):
                os.replace(stage / name, folder / name)
    return folder / ROLLUP_HTML


def close() -> None:
    """End a command: shut this process's kernel down and give back the run lock."""
    try:
        if (kernel := current()) is not None:
            kernel.close()
    finally:
        lock.release_all()


def review_starts(
    cfg: RunConfig, practices: list[Practice], as_of: dt.date, since: dt.date | None = None
) -> dict[str, tuple[dt.date, str]]:
    """For each practice, the day its weekly review as of ``as_of`` lists what is new
    after: ``since`` when given, else its latest review recorded before ``as_of`` in the
    history store (practices with none are left out: they look back
    :data:`FIRST_REVIEW_DAYS`). Raises :class:`RunError` when the store cannot be read."""
    if since is not None:
        return {p.ods_code: (since, "as asked with --since") for p in practices}
    try:
        with History(cfg.history_path, read_only=True) as history:
            last = {p.ods_code: history.last_review(p.ods_code, as_of) for p in practices}
    except HistoryError as exc:
        raise RunError(str(exc)) from None
    return {code: (day, f"the previous review, as of {day}")
            for code, day in last.items() if day is not None}  # fmt: skip


def record_reviews(
    cfg: RunConfig, results: list[PracticeResult], options: Options, when: dt.datetime
) -> None:
    """Record in the history store the weekly review of each practice whose lists were
    published, so that its next review starts from this one."""
    done = [r for r in results if r.status == OK and r.written]
    if not done or options.as_of is None:
        return
    try:
        with History(cfg.history_path) as history:
            for r in done:
                since, _ = review_since(options, r.ods_code)
                history.record_review(r.ods_code, options.as_of, since, when)
    except HistoryError as exc:
        raise RunError(
            f"{exc}. The worklists were written, but the next review will not know of this one"
        ) from None
