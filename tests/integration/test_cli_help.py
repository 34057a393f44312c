"""The command line a newcomer reads: help in plain placeholders, and --version."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optin_analysis.run.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        "",
        "sample",
        "validate",
        "measures",
        "worklists",
        "report",
        "run",
        "init",
        "history",
        "history list",
        "history remove",
    ],  # fmt: skip
)
def test_help_shows_plain_placeholders_and_dates(command):
    result = runner.invoke(app, [*command.split(), "--help"], terminal_width=120)
    assert result.exit_code == 0
    for noise in ("<list", "<bool>", "<path>", "<str>", "<int", "{", "00:00:00"):
        assert noise not in result.output, (command, noise)


def test_help_names_what_to_type():
    assert "YYYY-MM " in runner.invoke(app, ["run", "--help"], terminal_width=120).output
    assert "ODS " in runner.invoke(app, ["validate", "--help"], terminal_width=120).output
    assert "PATH..." in runner.invoke(app, ["validate", "--help"], terminal_width=120).output
    sample = runner.invoke(app, ["sample", "--help"], terminal_width=120).output
    assert "[default: 2026-10-31]" in sample


def test_version():
    from optin_analysis import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"optin-analysis {__version__}"


def test_help_paragraphs_reflow_to_the_terminal():
    # a docstring's hard-wrapped lines read as one paragraph, not broken mid-sentence
    lines = runner.invoke(app, ["init", "--help"]).output.splitlines()
    start = next(i for i, line in enumerate(lines) if "Finds each practice" in line)
    end = next(i for i, line in enumerate(lines) if "nothing could be written" in line)
    paragraph = [line.strip() for line in lines[start:end]]  # all but its last line
    assert paragraph and all(len(line) > 60 for line in paragraph), paragraph


def _commands():
    """(name, click command) of every command and subcommand."""
    import typer

    def walk(command, prefix):
        yield prefix, command
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{prefix} {name}".strip())

    yield from walk(typer.main.get_command(app), "")


def test_help_fits_80_columns_with_every_option_whole():
    # at 80 columns, options such as --keep-notebooks must not be cut ("--no-keep-noteb…")
    for name, command in _commands():
        output = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "80"}).output
        assert "…" not in output, (name, output)
        for param in command.params:
            for option in [*param.opts, *param.secondary_opts]:
                if option.startswith("--"):
                    assert option in output, (name, option)
