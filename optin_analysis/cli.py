"""The ``optin-analysis`` command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .config import ConfigError, RunConfig, load_config
from .problems import InputError, Problem, Severity

app = typer.Typer(
    help="Run and evidence an opt-in model for online access to GP records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Run configuration (YAML).")]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="Month to report, YYYY-MM.")]
PracticeOpt = Annotated[
    list[str] | None, typer.Option("--practice", help="Only this practice (ODS code); repeatable.")
]


def _config(path: Path) -> RunConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def print_problems(problems: list[Problem], limit: int = 50) -> None:
    """Print problems, errors first, at most ``limit`` of each severity."""
    for severity, colour in ((Severity.ERROR, "red"), (Severity.WARNING, "yellow")):
        shown = [p for p in problems if p.severity is severity]
        for p in shown[:limit]:
            err.print(f"  [{colour}]{p}[/{colour}]")
        if len(shown) > limit:
            err.print(f"  [{colour}]... and {len(shown) - limit} more {severity}s[/{colour}]")


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
    from .generate import generate, write_sample

    synth = generate(practices, patients, seed, extract_date.date())
    config_path = write_sample(synth, out, seed)
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
    from .ingest import load_practice

    failed = 0
    for path in paths:
        cfg = _config(path / "config.yaml" if path.is_dir() else path)
        for profile in _selected(cfg, practice):
            label = f"{profile.ods_code} {profile.name}"
            try:
                data = load_practice(profile, _codelist(cfg))
            except InputError as exc:
                failed += 1
                n = sum(p.severity is Severity.ERROR for p in exc.problems)
                err.print(f"[red]✗ {label}: {n} error(s)[/red]")
                print_problems(exc.problems)
                continue
            console.print(
                f"[green]✓ {label}[/green]: {len(data.patients):,} patients, "
                f"{len(data.events):,} events, {len(data.warnings)} warning(s)"
            )
            print_problems(data.warnings)
    if failed:
        err.print(f"[red]{failed} practice(s) have errors.[/red]")
        raise typer.Exit(1)


def _selected(cfg: RunConfig, codes: list[str] | None):
    if not codes:
        return list(cfg.practices)
    try:
        return [cfg.practice(code) for code in codes]
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _codelist(cfg: RunConfig):
    from .codelist import load_codelist

    try:
        return load_codelist(cfg.codelist)
    except InputError as exc:
        err.print("[red]The codelist has problems:[/red]")
        print_problems(exc.problems)
        raise typer.Exit(2) from None


def _period(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        err.print(f"[red]--period must be YYYY-MM, not {value!r}[/red]")
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
            f"[{colour}]{r.status}[/{colour}]",
            f"{r.seconds:.1f}",
            str(len(r.written)),
            r.problem,
        )
    console.print(table)


def _finish(results) -> None:
    failed = [r for r in results if r.status == "failed"]
    if failed:
        err.print(f"[red]{len(failed)} of {len(results)} practice(s) failed.[/red]")
        raise typer.Exit(1)


@app.command()
def measures(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Print each practice's headline measures (exact figures: practice-internal)."""
    import json

    from .batch import run_batch
    from .summary import headline_rows

    cfg = _config(config)
    results = run_batch(cfg, _selected(cfg, practice), _period(period), reports=False, lists=False)
    if as_json:
        payload = [
            {
                "practice": r.ods_code,
                "status": r.status,
                "problem": r.problem or None,
                "headline": r.headline,
            }
            for r in results
        ]
        print(json.dumps(payload, indent=2))
    else:
        _print_headlines(results, headline_rows)
    _finish(results)


def _print_headlines(results, headline_rows) -> None:
    from rich.table import Table

    ok = [r for r in results if r.headline]
    if ok:
        table = Table(title=f"Headline measures as of {ok[0].headline['ref_date']} (exact)")
        table.add_column("Measure")
        rows = {r.ods_code: headline_rows(r.headline) for r in ok}
        for r in ok:
            table.add_column(r.ods_code, justify="right")
        for i, (label, *_rest) in enumerate(rows[ok[0].ods_code]):
            table.add_row(label, *(rows[r.ods_code][i][1] for r in ok))
        console.print(table)
    for r in results:
        if r.status != "ok":
            err.print(f"[red]✗ {r.ods_code} {r.name}: {r.problem}[/red]")


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
    from .batch import run_batch

    cfg = _config(config)
    if out is not None:
        cfg = cfg.model_copy(update={"worklists_dir": out})
    results = run_batch(cfg, _selected(cfg, practice), _period(period), reports=False)
    _results_table(results, f"Worklists for {period} in {cfg.worklists_dir}")
    _finish(results)


@app.command()
def report(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    keep_notebooks: Annotated[
        bool, typer.Option(help="Keep the executed notebooks beside the HTML.")
    ] = False,
) -> None:
    """Write each practice's outgoing reports: summary.json and the HTML reports."""
    from .batch import run_batch

    cfg = _config(config)
    results = run_batch(
        cfg, _selected(cfg, practice), _period(period), lists=False, keep_notebooks=keep_notebooks
    )
    _results_table(results, f"Reports for {period} in {cfg.reports_dir / period}")
    _finish(results)


@app.command()
def run(
    config: ConfigOpt,
    period: PeriodOpt,
    practice: PracticeOpt = None,
    keep_notebooks: Annotated[
        bool, typer.Option(help="Keep the executed notebooks beside the HTML.")
    ] = False,
) -> None:
    """The monthly job: validate, measures, worklists and reports for every practice."""
    from .batch import run_batch
    from .summary import headline_rows

    cfg = _config(config)
    results = run_batch(
        cfg, _selected(cfg, practice), _period(period), keep_notebooks=keep_notebooks
    )
    _print_headlines(results, headline_rows)
    _results_table(results, f"Monthly run {period}: reports in {cfg.reports_dir / period}")
    _finish(results)


if __name__ == "__main__":
    app()
