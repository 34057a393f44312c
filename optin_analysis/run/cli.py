"""The ``optin-analysis`` command line.

Exit codes: 0 done; 1 some practice (or the roll-up) failed, or input errors found by
``validate``; 2 the command cannot run (configuration, codelist, another run writing
the same reports folder, a folder or history store that cannot be written); 130 or 143
stopped by Ctrl-C or SIGTERM. User text (names, codes, file names, "[c]") is printed
literally (:mod:`optin_analysis.run.console`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperGroup

from optin_analysis.config import ConfigError, RunConfig, load_config, overlap
from optin_analysis.problems import InputError, Problem, Severity
from optin_analysis.run.console import err, fail, say, styled
from optin_analysis.run.console import out as console


class _PlainArgument(TyperArgument):
    """An argument shown by its metavar alone: ``PATH...``, not ``{PATH...}...`` and
    ``<list[Path]>``."""

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"

    def display_type_rich(self, ctx) -> None:
        return None


class _PlainHelp(TyperGroup):
    """Help in plain placeholders: arguments by their metavar, flags (``--help``
    included) without a ``<bool>`` type."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            for param in command.params:
                if type(param) is TyperArgument and param.metavar:
                    param.__class__ = _PlainArgument
            option = command.get_help_option(ctx)
            if option is not None:
                option.metavar = ""
        return command


app = typer.Typer(
    cls=_PlainHelp,
    help="Run and evidence an opt-in model for online access to GP records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow to the terminal width
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", metavar="FILE", help="Run configuration (YAML).")
]
PeriodOpt = Annotated[
    str, typer.Option("--period", "-p", metavar="YYYY-MM", help="Month to report, e.g. 2026-10.")
]
PracticeOpt = Annotated[
    list[str] | None,
    typer.Option("--practice", metavar="ODS", help="Only this practice (ODS code); repeatable."),
]
FlagOpt = {"metavar": ""}  # flags take no value: show none (not <bool>)


def _version(value: bool) -> None:
    if value:
        from optin_analysis import __version__

        console.print(f"optin-analysis {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
            **FlagOpt,
        ),
    ] = False,
) -> None:
    """Run and evidence an opt-in model for online access to GP records."""


def _config(path: Path) -> RunConfig:
    """The run configuration, or exit 2 naming every problem (and every TODO left by init)."""
    from optin_analysis.run.onboard.config import find_todos, todo_summary

    todos = find_todos(path) if path.is_file() else []
    if todos:
        fail(f"{path}: {len(todos)} setting(s) are still TODO:")
        for line in todo_summary(todos):
            fail(f"  {line}")
        fail("Fill each in (dates as YYYY-MM-DD, null when not done), then try again.")
        raise typer.Exit(2)
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(2) from None


def print_problems(problems: list[Problem], limit: int = 50) -> None:
    """Print problems, errors first, at most ``limit`` of each severity."""
    for severity, colour in ((Severity.ERROR, "red"), (Severity.WARNING, "yellow")):
        shown = [p for p in problems if p.severity is severity]
        for p in shown[:limit]:
            say(f"  {p}", colour, stderr=True)
        if len(shown) > limit:
            say(f"  ... and {len(shown) - limit} more {severity}s", colour, stderr=True)


@app.command()
def sample(
    out: Annotated[
        Path,
        typer.Option(metavar="PATH", help="Folder to write extracts and config.yaml into."),
    ],
    practices: Annotated[int, typer.Option(min=1, metavar="N", help="Number of practices.")] = 4,
    patients: Annotated[int, typer.Option(min=1, metavar="N", help="Patients in all.")] = 12_000,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed (same seed, same files).")
    ] = 42,
    extract_date: Annotated[
        dt.datetime,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Extract date of the data.",
        ),
    ] = "2026-10-31",  # text, so that help shows it as a date; parsed like a typed value
) -> None:
    """Write synthetic EMIS/TPP extracts and a run configuration for them."""
    from optin_analysis.generate import generate, write_sample

    try:
        synth = generate(practices, patients, seed, extract_date.date())
        config_path = write_sample(synth, out, seed)
    except ValueError as exc:
        fail(f"Cannot make this sample: {exc}")
        raise typer.Exit(2) from None
    except OSError as exc:
        fail(f"Cannot write the sample to {out}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    console.print(
        f"Wrote {len(synth.patients):,} patients and {len(synth.events):,} events in "
        f"{practices} practices to {out}; run configuration: {config_path}"
    )


@app.command()
def notebooks(
    out: Annotated[Path, typer.Option(metavar="PATH", help="Folder to write the notebooks into.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", metavar="FILE", help="Run configuration the notebooks open."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace notebooks already there.", **FlagOpt)
    ] = False,
) -> None:
    """Copy the workbench notebooks (practice dashboard, explore) into a folder of yours.

    Open them in JupyterLab; they show exact figures and identifiers: practice-internal.
    """
    from optin_analysis.practice.workbench import WorkbenchError, copy_workbench

    try:
        written = copy_workbench(out, config, force)
    except (WorkbenchError, OSError) as exc:
        fail(f"Cannot write the notebooks: {exc}")
        raise typer.Exit(2) from None
    for path in written:
        console.print(f"Wrote {path}")


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Run configuration file(s) or folder(s)."),
    ],
    practice: PracticeOpt = None,
) -> None:
    """Check extracts: every problem with its file, row and column. Exit 1 if any error."""
    from optin_analysis.ingest.load import load_practice
    from optin_analysis.outgoing.dpia import problems as dpia_problems
    from optin_analysis.run.checks import practice_warnings
    from optin_analysis.run.onboard.config import clear_ready_note

    failed = 0
    for path in paths:
        cfg, practices = _config_for(path)
        if clear_ready_note(cfg.source):
            console.print(f"{cfg.source}: every TODO is filled in; its NOT READY note is "
                          "removed.", markup=False)  # fmt: skip
        for profile in _selected(cfg, practice) if practice else practices:
            label = f"{profile.ods_code} {profile.name}"
            try:
                data = load_practice(profile, _codelist(cfg))
            except InputError as exc:
                failed += 1
                n = sum(p.severity is Severity.ERROR for p in exc.problems)
                fail(f"✗ {label}: {n} error(s)")
                print_problems(exc.problems)
                continue
            warnings = practice_warnings(data, cfg.source)
            line = styled(f"✓ {label}", "green")
            line.append(
                f": {len(data.patients):,} patients, {len(data.events):,} events, "
                f"{len(warnings)} warning(s)"
            )
            console.print(line)
            print_problems(warnings)
            for problem in dpia_problems(profile):  # its DPIA's register, narrative, sign-off
                failed += 1
                fail(f"✗ {label}: DPIA: {problem}")
    if failed:
        fail(f"{failed} practice(s) have errors.")
        raise typer.Exit(1)


def _config_for(path: Path):
    """A configuration file; a folder holding config.yaml; or a folder of one practice's
    extracts, found in the nearest config.yaml above it that lists them."""
    if not path.is_dir():
        cfg = _config(path)
        return cfg, list(cfg.practices)
    if (path / "config.yaml").is_file():
        cfg = _config(path / "config.yaml")
        return cfg, list(cfg.practices)
    folder = path.resolve()
    for parent in folder.parents:
        if (parent / "config.yaml").is_file():
            cfg = _config(parent / "config.yaml")
            mine = [p for p in cfg.practices if folder in p.patients.parents]
            if mine:
                return cfg, mine
    fail(f"{path}: no config.yaml in or above this folder lists its extracts")
    fail(f"To write one for a folder of exports: optin-analysis init {path}")
    raise typer.Exit(2)


def _selected(cfg: RunConfig, codes: list[str] | None):
    if not codes:
        return list(cfg.practices)
    try:
        return [cfg.practice(code) for code in codes]
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(2) from None


def _codelist(cfg: RunConfig):
    from optin_analysis.ingest.codelist import load_codelist

    try:
        return load_codelist(cfg.codelist)
    except InputError as exc:
        fail("The codelist has problems:")
        print_problems(exc.problems)
        raise typer.Exit(2) from None


def _period(value: str) -> str:
    import re

    if not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", value):
        fail(f"--period must be a month YYYY-MM from 1900 on, not {value!r}")
        raise typer.Exit(2)
    return value


def _results_table(results, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("Practice", "Status", "Time (s)", "Written", "Problem"):
        table.add_column(column, overflow="fold")
    for r in results:
        colour = {"ok": "green", "failed": "red"}.get(r.status, "yellow")
        table.add_row(
            f"{r.ods_code} {r.name}",
            styled(r.status, colour),
            f"{r.seconds:.1f}",
            str(len(r.written)),
            r.problem,
        )
    console.print(table)


def _finish(results) -> None:
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        fail(f"✗ {r.ods_code} {r.name}: {r.problem}")
    if failed:
        fail(f"{len(failed)} of {len(results)} practice(s) failed.")
        raise typer.Exit(1)


@contextlib.contextmanager
def _command() -> Iterator[None]:
    """The frame of a command that runs a batch: SIGTERM and Ctrl-C stop it cleanly with
    a message (exit 143/130), a run that cannot start or go on exits 2 with its reason,
    and the kernel and the run lock are given back at the end, whatever happens."""
    from optin_analysis.run.batch import Interrupted, RunError, close, stopping

    try:
        with stopping():
            yield
    except Interrupted as exc:
        published = [f"{r.ods_code} {r.name}" for r in exc.results if r.written]
        done = f"published before it: {', '.join(published)}" if published else "none published"
        fail(f"Stopped by {exc}: nothing was written after the signal; {done}. "
             "Run again (with --resume) to finish.")  # fmt: skip
        raise typer.Exit(exc.exit_code) from None
    except RunError as exc:
        fail(f"Cannot run: {exc}")
        raise typer.Exit(2) from None
    except InputError as exc:  # the run's shared inputs (codelist) are unusable
        fail("The run cannot start:")
        print_problems(exc.problems)
        raise typer.Exit(2) from None
    finally:
        close()


def _say_earlier_list(practices, period: str) -> None:
    """Once, where the period is before some practice's extract month: whose patients count."""
    from optin_analysis.outgoing.summary import earlier_list_note

    later = [p for p in practices if earlier_list_note(p, period)]
    if later:
        dates = sorted({p.extract_date.isoformat() for p in later})
        say(f"{period} is before the extract ({', '.join(dates)}): it is counted over the "
            "patients registered on the extract date; patients who left since are not "
            "counted.", "yellow", stderr=True)  # fmt: skip


def _stale_rollup(period: str):
    """What ``run`` says first when the roll-up it will rebuild is older than some reports."""

    def say_stale(codes: list[str]) -> None:
        say(f"The ICB roll-up of {period} does not include the latest reports of "
            f"{', '.join(codes)} (a run stopped before it rebuilt the roll-up, or `report` "
            "ran since): this run rebuilds it.", "yellow", stderr=True)  # fmt: skip

    return say_stale


def _pdf_unavailable(practices: list, jobs: int) -> str | None:
    """Why this run cannot make PDFs, or None: asked of the PDF helpers where the run is in
    this process (they are started for it anyway), so that it need not load WeasyPrint;
    the kernel starts first, so that it need not wait for their answer.

    Decided on the practices asked for: with ``--resume`` fewer may be left to run (known
    only once the run holds its lock), and then helpers may start that are not used.
    """
    from optin_analysis.reports import pdf
    from optin_analysis.reports.kernel import session
    from optin_analysis.run.batch import pdf_helpers_here, runs_here

    if practices and runs_here(jobs, len(practices)):
        session().warm()
        return pdf.unavailable_in_helper(pdf_helpers_here(len(practices)))
    return pdf.unavailable()


def _batch(cfg, practices, period, options, jobs=1, resume=False, stale=None):
    """Run a batch with a progress bar (inside :func:`_command`); without PDFs, said once,
    where this machine cannot make them."""
    import dataclasses

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from optin_analysis.run.batch import run_batch

    if options.reports and options.pdf and (why := _pdf_unavailable(practices, jobs)):
        say(f"DPIA PDFs are not written: {why}. The HTML reports are complete.", "yellow",
            stderr=True)  # fmt: skip
        options = dataclasses.replace(options, pdf=False)
    _say_earlier_list(practices, period)

    description = TextColumn("{task.description}", markup=False)
    columns = (description, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"{period}: practices", total=len(practices))
        return run_batch(cfg, practices, period, options, jobs, resume,
                         progress=lambda _r: bar.advance(task), stale=stale)  # fmt: skip


@app.command()
def measures(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for machines.", **FlagOpt)
    ] = False,
) -> None:
    """Print each practice's headline measures (exact figures: practice-internal)."""
    import json

    from optin_analysis.run.batch import Options

    cfg = _config(config)
    options = Options(reports=False, lists=False)
    with _command():
        results = _batch(cfg, _selected(cfg, practice), _period(period), options)
    if as_json:
        payload = [
            {"practice": r.ods_code, "status": r.status, "problem": r.problem or None,
             "headline": r.headline}
            for r in results
        ]  # fmt: skip
        print(json.dumps(payload, indent=2))
    else:
        _print_headlines(results)
    _finish(results)


#: Up to this many practices, the headline table has a column per practice; beyond, a
#: row per practice with the measures below.
WIDE_PRACTICES = 4
KEY_MEASURES = ("eligible", "open_requests", "open_requests_over_28_days",
                "revocation_backlog", "pending_16_at_risk")  # fmt: skip


def _model(result) -> str | None:
    return ((result.bundle or {}).get("practice") or {}).get("model")


def _print_headlines(results, controlled: bool = False) -> None:
    """Headline figures per practice: exact, or as they leave the practice (``controlled``,
    for logs of scheduled runs, which may be read outside the practice)."""
    from rich.table import Table

    from optin_analysis.outgoing.published import DEFAULT_MODEL_HEADLINE
    from optin_analysis.outgoing.summary import DEFAULT_MODEL_LABELS, LABELS, figure_text

    figures = {r.ods_code: r.bundle["headline"] if controlled else r.headline
               for r in results if r.headline or (controlled and r.bundle)}  # fmt: skip
    if not figures:
        return
    first = next(iter(figures.values()))
    kind = "disclosure-controlled" if controlled else "exact"
    table = Table(title=f"Headline measures as of {first['ref_date']} ({kind})")
    default = {r.ods_code for r in results if _model(r) == "default"}

    def cell(code: str, key: str) -> str:  # the opt-in model's figures: n/a on the default
        return "n/a" if code in default and key not in DEFAULT_MODEL_HEADLINE else (
            figure_text(key, figures[code]))  # fmt: skip

    if len(figures) > WIDE_PRACTICES:  # a column a practice would not fit: a row each
        table.add_column("Practice")
        for key in KEY_MEASURES:
            table.add_column(LABELS[key], justify="right")
        for code in figures:
            table.add_row(code, *(cell(code, key) for key in KEY_MEASURES))
        console.print(table)
        console.print(
            "Key measures only: every measure is in each practice's report and the roll-up.",
            markup=False,
        )
        return
    labels = DEFAULT_MODEL_LABELS if set(figures) <= default else LABELS
    table.add_column("Measure")
    for code in figures:
        table.add_column(code, justify="right")
    for key, label in labels.items():
        table.add_row(label, *(cell(code, key) for code in figures))
    console.print(table)


DayOpt = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}


@app.command("worklists")
def worklists_command(
    config: ConfigOpt,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            "-p",
            metavar="YYYY-MM",
            help="Month: the worklists as of its last day (or the extract date).",
        ),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            **DayOpt,
            help="Weekly review: the worklists as of this day (up to the extract date), "
            "with a review list of what is new since the practice's previous review.",
        ),
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(**DayOpt, help="With --as-of: review what is new after this day instead."),
    ] = None,
    weeks: Annotated[
        int,
        typer.Option(
            min=1, max=52, metavar="N", help="With --as-of: list who turns 16 within N weeks."
        ),
    ] = 4,
    out: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Folder (default: worklists_dir of the configuration)."),
    ] = None,
    practice: PracticeOpt = None,
) -> None:
    """Write practice-internal worklists (CSV, XLSX), each saying who acts and how.

    Monthly with --period; weekly with --as-of, which also writes a review list of what is
    new since the previous review (recorded in the history store).
    """  # fmt: skip
    from optin_analysis.run.batch import Options, record_reviews, review_starts

    cfg = _config(config)
    if (period is None) == (as_of is None):
        fail("Give either --period YYYY-MM (the month) or --as-of YYYY-MM-DD (a weekly review).")
        raise typer.Exit(2)
    if since is not None and (as_of is None or since >= as_of):
        fail("--since goes with --as-of, and must be a day before it.")
        raise typer.Exit(2)
    if out is not None:
        if problem := overlap(cfg.reports_dir, out, ("reports_dir", "--out")):
            fail(problem)
            raise typer.Exit(2)
        cfg = cfg.model_copy(update={"worklists_dir": out.resolve()})
    selected = _selected(cfg, practice)
    day = as_of.date() if as_of is not None else None
    with _command():
        if day is None:
            label, options = _period(period), Options(reports=False)
        else:
            starts = review_starts(cfg, selected, day, since.date() if since else None)
            label = day.isoformat()
            options = Options(reports=False, as_of=day, since=starts, review_weeks=weeks)
        results = _batch(cfg, selected, label, options)
        if day is not None:
            record_reviews(cfg, results, options, dt.datetime.now())
    _results_table(results, f"Worklists for {label} in {cfg.worklists_dir}")
    if day is not None:
        _review_summary(results, options)
    _finish(results)


def _review_summary(results, options) -> None:
    """What each practice's review list covers, a line per starting day."""
    from optin_analysis.run.batch import review_since

    groups: dict[tuple, list[str]] = {}
    for r in results:
        if r.status == "ok":
            groups.setdefault(review_since(options, r.ods_code), []).append(r.ods_code)
    for (since, why), codes in sorted(groups.items()):
        who = ", ".join(codes) if len(codes) <= 5 else f"{len(codes)} practices"
        console.print(
            f"Review as of {options.as_of} ({who}): what is new since {since} ({why}), and "
            f"who turns 16 within {options.review_weeks} weeks. Recorded for the next review.",
            markup=False,
        )


JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", min=1, metavar="N", help="Practices in parallel (default: cores)."
    ),
]
KeepOpt = Annotated[
    bool,
    typer.Option(
        "--keep-notebooks", help="Keep the executed notebooks beside the HTML.", **FlagOpt
    ),
]


AudienceOpt = Annotated[
    str,
    typer.Option(
        "--audience",
        metavar="icb|practice",
        help="icb: outgoing reports under disclosure control (reports folder); practice: "
        "the same reports with exact figures, for the practice team only (worklists folder).",
    ),
]


PdfOpt = Annotated[
    bool, typer.Option("--pdf/--no-pdf", help="Also write each DPIA as PDF for filing.", **FlagOpt)
]


def _audience(value: str) -> str:
    if value not in ("icb", "practice"):
        err.print(f"--audience must be icb or practice, not {value!r}", markup=False)
        raise typer.Exit(2)
    return value


@app.command()
def report(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    jobs: JobsOpt = None,
    keep_notebooks: KeepOpt = False,
    audience: AudienceOpt = "icb",
    pdf: PdfOpt = True,
) -> None:
    """Write each practice's reports: summary.json, the HTML reports and the DPIA as PDF."""
    import os

    from optin_analysis.run.batch import Options, report_folder

    cfg = _config(config)
    options = Options(
        lists=False, keep_notebooks=keep_notebooks, audience=_audience(audience), pdf=pdf
    )
    with _command():
        results = _batch(cfg, _selected(cfg, practice), _period(period), options,
                         jobs or os.cpu_count() or 1)  # fmt: skip
    where = report_folder(cfg, period, "<ODS>", options.audience)
    _results_table(results, f"Reports for {period} in {where}")
    _finish(results)


@app.command()
def run(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    jobs: JobsOpt = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Skip practices whose reports for the period are complete.", **FlagOpt
        ),
    ] = False,
    keep_notebooks: KeepOpt = False,
    audience: AudienceOpt = "icb",
    pdf: PdfOpt = True,
) -> None:
    """The monthly job: validate, measures, worklists, reports and the ICB roll-up."""
    import os

    from optin_analysis.reports.kernel import current, session

    cfg = _config(config)
    period, audience, jobs = _period(period), _audience(audience), jobs or os.cpu_count() or 1
    if audience == "icb" or jobs == 1:  # this process's kernel: the roll-up, or every report
        session().warm()  # it starts on the other core while the rest is imported (~1 s)
    try:
        from optin_analysis.run.batch import Interrupted, Options, RunError, in_words, write_rollup
    except BaseException:  # Ctrl-C meanwhile
        if (kernel := current()) is not None:
            kernel.close()
        raise

    options = Options(keep_notebooks=keep_notebooks, audience=audience, pdf=pdf)
    with _command():  # one run lock for the practices and the roll-up
        stale = _stale_rollup(period) if options.audience == "icb" else None
        results = _batch(cfg, _selected(cfg, practice), period, options, jobs, resume, stale)
        _print_headlines(results, controlled=options.audience == "icb")
        _results_table(results, f"Monthly run {period}: reports in {cfg.reports_dir / period}")
        _print_reapprovals(results)
        try:
            if options.audience == "icb":
                rollup = write_rollup(cfg, period, results=results)
                console.print(f"ICB roll-up: {rollup}", markup=False)
        except (Interrupted, RunError):
            raise
        except Exception as exc:  # noqa: BLE001 - reported, and the run fails
            fail(f"ICB roll-up failed: {in_words(exc)}")
            raise typer.Exit(1) from None
    _warnings_summary(results, config)
    _finish(results)


def _print_reapprovals(results) -> None:
    """One line per practice whose DPIA needs re-approval, and why (the published words)."""
    for r in results:
        again = ((r.bundle or {}).get("dpia") or {}).get("reapproval") or {}
        if again.get("needed"):
            say(f"DPIA re-approval needed: {r.ods_code} {r.name}: {'; '.join(again['reasons'])}",
                "yellow")  # fmt: skip


def _warnings_summary(results, config: Path) -> None:
    """One line counting the practices read with validation warnings, and the command that
    lists them."""
    warned = [r for r in results if r.warnings]
    if not warned:
        return
    total = sum(len(r.warnings) for r in warned)
    console.print(
        f"Validation: {len(warned)} of {len(results)} practices were read with warnings "
        f"({total} in all). List them with: optin-analysis validate {config}",
        markup=False,
    )


@app.command()
def rollup(
    inbox: Annotated[
        Path, typer.Argument(metavar="INBOX", help="Folder of what the practices sent.")
    ],
    period: PeriodOpt,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Folder for icb-rollup.html and rollup.json [default: icb-rollup/PERIOD].",
        ),
    ] = None,
    practices: Annotated[
        Path | None,
        typer.Option(
            metavar="CSV",
            help="The ICB's practices (ODS code, name, PCN): who "
            "has not sent anything, and groups by PCN.",
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="The ICB's history store of received summaries "
            "[default: icb-history.duckdb beside the --out folder].",
        ),
    ] = None,
    redact_at_or_below: Annotated[
        int,
        typer.Option(min=0, metavar="K", help="The ICB's disclosure rule: counts 1 to K hidden."),
    ] = 7,
    round_to: Annotated[
        int,
        typer.Option(min=1, metavar="R", help="... and other counts rounded to R."),
    ] = 5,
) -> None:
    """The ICB's roll-up from the summaries its practices sent.

    INBOX holds a folder per practice (with its summary.json), files named by ODS code, or
    zip files of either. Each summary is checked against the summary format; one for
    another period, edited, sent twice, or made under a weaker disclosure rule than the
    ICB's is refused and listed with the reason. Exit 1 when any was refused.
    """  # fmt: skip
    from pydantic import ValidationError

    from optin_analysis.config import Disclosure
    from optin_analysis.outgoing import inbox as received
    from optin_analysis.outgoing.history import History, HistoryError
    from optin_analysis.outgoing.rollup import build
    from optin_analysis.run.batch import RunError, publish_rollup
    from optin_analysis.run.lock import LockError, acquire

    period = _period(period)
    out = out or Path("icb-rollup") / period
    history = history or out.parent / "icb-history.duckdb"
    if not inbox.is_dir():
        fail(f"Cannot read the inbox {inbox}: not a folder")
        raise typer.Exit(2)
    try:
        rule = Disclosure(redact_at_or_below=redact_at_or_below, round_to=round_to)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        fail(f"Cannot use --redact-at-or-below {redact_at_or_below} --round-to {round_to}: "
             f"{problem}")  # fmt: skip
        raise typer.Exit(2) from None
    try:
        roster = received.read_roster(practices) if practices else {}
    except received.RosterError as exc:
        fail(f"Cannot read the practices list: {exc}")
        raise typer.Exit(2) from None
    summaries, refused = received.receive(inbox, period, rule)
    with _command():
        try:
            acquire(out.parent)
        except LockError as exc:
            raise RunError(str(exc)) from None
        try:
            with History(history) as store:
                for summary in summaries:
                    store.record(summary, dt.datetime.now())
                bundle = build(summaries, period, history=store, rule=rule, roster=roster,
                               missing=received.not_sent(roster, summaries, refused),
                               refused=[r.as_dict() for r in refused])  # fmt: skip
        except HistoryError as exc:
            raise RunError(str(exc)) from None
        written = publish_rollup(bundle, out)
    console.print(f"Roll-up of {len(summaries)} practice(s) for {period}: {written}",
                  markup=False)  # fmt: skip
    for r in refused:
        fail(f"✗ refused {r.where}: {r.reason}")
    if refused:
        raise typer.Exit(1)


history_app = typer.Typer(
    cls=_PlainHelp, help="List or correct the history store behind the trends.",
    rich_markup_mode="markdown",
)  # fmt: skip
app.add_typer(history_app, name="history")


@contextlib.contextmanager
def _history_store(cfg: RunConfig, write: bool = False) -> Iterator:
    """The history store for a history command; exit 2 naming why it cannot be had: a run
    writing the reports folder (its pid, as a second run is told), or another program
    holding the store. Changing it takes the run lock, so no run starts meanwhile."""
    from optin_analysis.outgoing.history import History, HistoryError
    from optin_analysis.run import lock

    try:
        lock.acquire(cfg.reports_dir) if write else lock.check_free(cfg.reports_dir)
        with History(cfg.history_path, read_only=not write) as history:
            yield history
    except (lock.LockError, HistoryError) as exc:
        fail(f"Cannot {'change' if write else 'read'} the history store: {exc}")
        raise typer.Exit(2) from None
    finally:
        lock.release_all()


@history_app.command("list")
def history_list(config: ConfigOpt) -> None:
    """List the practice-months recorded in the history store."""
    from rich.table import Table

    cfg = _config(config)
    with _history_store(cfg) as history:
        rows = history.recorded()
    if rows.empty:
        console.print(f"The history store {cfg.history_path} holds no month yet.", markup=False)
        return
    table = Table(title=f"History store {cfg.history_path}")
    for column in ("Period", "Practice", "Figures as of", "Recorded"):
        table.add_column(column)
    for r in rows.itertuples():
        recorded = r.recorded_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(r.period, r.practice_code, r.ref_date.date().isoformat(), recorded)
    console.print(table)


@history_app.command("remove")
def history_remove(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: Annotated[
        str | None, typer.Option("--practice", metavar="ODS", help="Only this practice.")
    ] = None,
) -> None:
    """Take a mistaken run's month out of the history store (one practice, or all)."""
    cfg = _config(config)
    period = _period(period)
    with _history_store(cfg, write=True) as history:
        removed = history.remove(period, practice)
    who = f"practice {practice}" if practice else "every practice"
    console.print(
        f"Removed {removed} practice-month(s) of {period} ({who}) from {cfg.history_path}.",
        markup=False,
    )


@app.command()
def init(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder of EMIS or SystmOne CSV exports.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Configuration to write (default: DIR/config.yaml)."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Ask nothing: write TODO where the files cannot say.", **FlagOpt
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write over an existing configuration.", **FlagOpt)
    ] = False,
) -> None:
    """Write a run configuration for a folder of exports, asking what the files cannot say.

    Finds each practice's patients and events files, detects the supplier, the extract
    date and the column headings, writes mapping and codelist copies where needed, then
    checks the extracts. Exit 0 when written and readable (TODOs may remain), 1 when
    something needs fixing, 2 when nothing could be written.
    """
    from optin_analysis.run import onboard

    prompter = None
    if not yes and onboard.is_terminal():
        prompter = onboard.RichPrompter(console)
    elif not yes:
        console.print("Not a terminal: nothing is asked; unknown settings are written as TODO.")
    raise typer.Exit(onboard.init(folder, out, console, prompter, force))


if __name__ == "__main__":
    app()
