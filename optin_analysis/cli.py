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


if __name__ == "__main__":
    app()
