"""The command line prints user text literally: names, codes, file names and "[c]" are
never read as Rich markup (which crashed on "[/red]" and dropped "[branch surgery]")."""

from __future__ import annotations

from pathlib import Path

from optin_analysis.problems import Problem, Severity
from optin_analysis.run import cli
from optin_analysis.run.batch import PracticeResult
from optin_analysis.run.console import say, styled


def test_markup_like_text_prints_as_written(capsys):
    say("Dr Smith [branch surgery] [/red] [c] :smile:", "red", stderr=True)
    say("[bold]not bold[/bold]")
    captured = capsys.readouterr()
    assert captured.err == "Dr Smith [branch surgery] [/red] [c] :smile:\n"
    assert captured.out == "[bold]not bold[/bold]\n"
    assert styled("[/red]", "green").plain == "[/red]"


def test_problems_from_files_print_as_written(capsys):
    problems = [
        Problem(
            Path("[x]/events.csv"),
            "code [/red] is not in the codelist",
            row=3,
            column="[c]",
            severity=Severity.WARNING,
        ),  # fmt: skip
        Problem(Path("patients.csv"), "bad [red]", row=2),
    ]
    cli.print_problems(problems)
    err = capsys.readouterr().err
    assert "ERROR: patients.csv, row 2: bad [red]" in err
    assert "WARNING: events.csv, row 3, column '[c]': code [/red] is not in the codelist" in err


def test_tables_show_names_and_suppressed_values_literally(capsys):
    bundle_headline = {"ref_date": "2026-10-31", "eligible": "[c]", "revocation_backlog": 5}
    result = PracticeResult("Y90001", "Dr Smith [branch]", bundle={"headline": bundle_headline})
    cli._print_headlines([result], controlled=True)
    cli._results_table([result], "Run [/red]")
    out = capsys.readouterr().out
    assert "[c]" in out and "Dr Smith [branch]" in out and "Run [/red]" in out


def test_many_practices_get_a_row_each_not_a_column(capsys):
    # 100 columns would not fit a terminal: the table turns to a row per practice
    results = [
        PracticeResult(
            f"Y9{i:04d}",
            f"Practice {i}",
            bundle={
                "headline": {
                    "ref_date": "2026-10-31",
                    "eligible": 1000 + i,
                    "revocation_backlog": "[c]",
                }
            },
        )
        for i in range(12)
    ]
    cli._print_headlines(results, controlled=True)
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("│ Y9")]
    assert len(rows) == 12
    assert "1,011" in rows[-1] and "[c]" in rows[-1]  # Y90011: eligible 1000 + 11
    assert max(len(line) for line in lines) <= 80  # fits the terminal the tests use


def test_opt_in_measures_read_n_a_for_a_default_model_practice(capsys):
    # the default model gives access automatically: it has no backlog to revoke
    results = [
        PracticeResult(
            f"Y9000{i}",
            "P",
            bundle={
                "practice": {"model": model},
                "headline": {
                    "ref_date": "2026-10-31",
                    "eligible": 1000,
                    "revocation_backlog": 2595,
                },
            },
        )
        for i, model in enumerate(["opt_in"] * 4 + ["default"])
    ]
    cli._print_headlines(results, controlled=True)
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()
            if line.startswith("│ Y9")}  # fmt: skip
    assert "2,595" in rows["Y90000"]
    assert "2,595" not in rows["Y90004"] and "n/a" in rows["Y90004"]


def test_a_dpia_needing_re_approval_gets_one_line_with_its_reasons(capsys):
    reasons = ["R2 rose from medium to high in 2026-09", "the review due on 2026-08-06 has passed"]
    again = {"needed": True, "reasons": reasons}
    results = [
        PracticeResult("Y90001", "Dr Smith [branch]", bundle={"dpia": {"reapproval": again}}),
        PracticeResult("Y90002", "P", bundle={"dpia": {"reapproval": {"needed": False}}}),
        PracticeResult("Y90003", "Q", status="failed"),  # no bundle: nothing to say
    ]
    cli._print_reapprovals(results)
    assert capsys.readouterr().out.splitlines() == [
        "DPIA re-approval needed: Y90001 Dr Smith [branch]: R2 rose from medium to high in "
        "2026-09; the review due on 2026-08-06 has passed"
    ]
