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

from optin_analysis.config import ConfigError, RunConfig, load_config
from optin_analysis.problems import InputError, Problem, Severity
from optin_analysis.run.console import err, fail, say, styled
from optin_analysis.run.console import out as console

app = typer.Typer(
    help="Run and evidence an opt-in model for online access to GP records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Run configuration (YAML).")]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="Month to report, YYYY-MM.")]
PracticeOpt = Annotated[
    list[str] | None, typer.Option("--practice", help="Only this practice (ODS code); repeatable.")
]


def _config(path: Path) -> RunConfig:
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
    out: Annotated[Path, typer.Option(help="Folder to write extracts and config.yaml into.")],
    practices: Annotated[int, typer.Option(min=1, help="Number of practices.")] = 4,
    patients: Annotated[int, typer.Option(min=1, help="Patients in all.")] = 12_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
    extract_date: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Extract date of the data.")
    ] = dt.datetime(2026, 10, 31),
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
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Run configuration file(s) or folder(s).")],
    practice: PracticeOpt = None,
) -> None:
    """Check extracts: every problem with its file, row and column. Exit 1 if any error."""
    from optin_analysis.ingest.load import load_practice

    failed = 0
    for path in paths:
        cfg, practices = _config_for(path)
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
            line = styled(f"✓ {label}", "green")
            line.append(
                f": {len(data.patients):,} patients, {len(data.events):,} events, "
                f"{len(data.warnings)} warning(s)"
            )
            console.print(line)
            print_problems(data.warnings)
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


def _batch(cfg, practices, period, options, jobs=1, resume=False):
    """Run a batch with a progress bar (inside :func:`_command`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from optin_analysis.run.batch import run_batch

    description = TextColumn("{task.description}", markup=False)
    columns = (description, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"{period}: practices", total=len(practices))
        return run_batch(cfg, practices, period, options, jobs, resume,
                         progress=lambda _r: bar.advance(task))  # fmt: skip


@app.command()
def measures(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
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


def _print_headlines(results, controlled: bool = False) -> None:
    """Headline figures per practice: exact, or as they leave the practice (``controlled``,
    for logs of scheduled runs, which may be read outside the practice)."""
    from rich.table import Table

    from optin_analysis.outgoing.summary import headline_rows

    figures = {r.ods_code: r.bundle["headline"] if controlled else r.headline
               for r in results if r.headline or (controlled and r.bundle)}  # fmt: skip
    if not figures:
        return
    first = next(iter(figures.values()))
    kind = "disclosure-controlled" if controlled else "exact"
    table = Table(title=f"Headline measures as of {first['ref_date']} ({kind})")
    table.add_column("Measure")
    rows = {code: headline_rows(h) for code, h in figures.items()}
    for code in figures:
        table.add_column(code, justify="right")
    for i, (label, *_rest) in enumerate(next(iter(rows.values()))):
        table.add_row(label, *(rows[code][i][1] for code in figures))
    console.print(table)


@app.command("worklists")
def worklists_command(
    config: ConfigOpt,
    period: PeriodOpt,
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: worklists_dir of the configuration).")
    ] = None,
    practice: PracticeOpt = None,
) -> None:
    """Write practice-internal worklists (CSV and XLSX): revoke, protect, requests."""
    from optin_analysis.run.batch import Options

    cfg = _config(config)
    if out is not None:
        cfg = cfg.model_copy(update={"worklists_dir": out.resolve()})
    with _command():
        results = _batch(cfg, _selected(cfg, practice), _period(period), Options(reports=False))
    _results_table(results, f"Worklists for {period} in {cfg.worklists_dir}")
    _finish(results)


JobsOpt = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Practices in parallel (default: cores).")
]
KeepOpt = Annotated[bool, typer.Option(help="Keep the executed notebooks beside the HTML.")]


@app.command()
def report(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    jobs: JobsOpt = None,
    keep_notebooks: KeepOpt = False,
) -> None:
    """Write each practice's outgoing reports: summary.json and the HTML reports."""
    import os

    from optin_analysis.run.batch import Options

    cfg = _config(config)
    options = Options(lists=False, keep_notebooks=keep_notebooks)
    with _command():
        results = _batch(cfg, _selected(cfg, practice), _period(period), options,
                         jobs or os.cpu_count() or 1)  # fmt: skip
    _results_table(results, f"Reports for {period} in {cfg.reports_dir / period}")
    _finish(results)


@app.command()
def run(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    jobs: JobsOpt = None,
    resume: Annotated[
        bool, typer.Option(help="Skip practices whose reports for the period are complete.")
    ] = False,
    keep_notebooks: KeepOpt = False,
) -> None:
    """The monthly job: validate, measures, worklists, reports and the ICB roll-up."""
    import os

    from optin_analysis.run.batch import Interrupted, Options, RunError, write_rollup

    cfg = _config(config)
    period = _period(period)
    options = Options(keep_notebooks=keep_notebooks)
    with _command():  # one run lock for the practices and the roll-up
        results = _batch(cfg, _selected(cfg, practice), period, options,
                         jobs or os.cpu_count() or 1, resume)  # fmt: skip
        _print_headlines(results, controlled=True)
        _results_table(results, f"Monthly run {period}: reports in {cfg.reports_dir / period}")
        try:
            console.print(f"ICB roll-up: {write_rollup(cfg, period)}")
        except (Interrupted, RunError):
            raise
        except Exception as exc:  # noqa: BLE001 - reported, and the run fails
            fail(f"ICB roll-up failed: {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from None
    _finish(results)


if __name__ == "__main__":
    app()
