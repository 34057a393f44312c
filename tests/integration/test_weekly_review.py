"""The practice team's week: ``worklists --as-of`` on two consecutive weeks.

A generated EMIS practice (opt-in, live) is extracted on 2026-10-24; a hand-built week of
new accounts, registrants and requests (25-31 October) is then added to its exports, and
the extract date moved to 2026-10-31, as the next week's extract would be. The review
as of 2026-10-24 and the one as of 2026-10-31 are run through the command line; the second
must list exactly the hand-built week, starting from the first review, which the history
store recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

from optin_analysis.generate import SAMPLE_BRANCHES, generate, write_sample
from optin_analysis.outgoing.history import History
from optin_analysis.run.cli import app

runner = CliRunner()
FIRST, SECOND = "2026-10-24", "2026-10-31"
#: The hand-built week, as EMIS exports it: (id, born, registered, account status and
#: date, record access and date); each comment says what the second review must say.
WEEK_PATIENTS = [
    # a new account on 27 Oct holding full access given automatically: listed
    ("WK-AUTO", "01-Jan-1970", "01-Jan-2015", "Live", "27-Oct-2026", "Full Record (Prospective)",
     "27-Oct-2026"),
    # a new account on 29 Oct, no access and no 104: would get access; listed
    ("WK-OPEN", "01-Jan-1971", "01-Jan-2015", "Active", "29-Oct-2026", "", ""),
    # a new account on 28 Oct with a 104 (2024): protected, not listed
    ("WK-SAFE", "01-Jan-1972", "01-Jan-2015", "Active", "28-Oct-2026", "", ""),
    # an account dated 24 Oct: the first review's, not the second's
    ("WK-OLD", "01-Jan-1973", "01-Jan-2015", "Active", "24-Oct-2026", "", ""),
    # registered 26 Oct with a 104 dated 2025 (another practice's): listed
    ("WK-MOVED", "01-Jan-1980", "26-Oct-2026", "Inactive", "", "", ""),
    # registered 30 Oct with nothing: listed
    ("WK-NEW", "01-Jan-1981", "30-Oct-2026", "Inactive", "", "", ""),
    # asked for access on 28 Oct, not counselled: listed; asked on 26 Oct and counselled
    # on 29 Oct: not listed
    ("WK-ASKED", "01-Jan-1960", "01-Jan-2015", "Inactive", "", "", ""),
    ("WK-TALKED", "01-Jan-1961", "01-Jan-2015", "Inactive", "", "", ""),
]  # fmt: skip
WEEK_EVENTS = [
    ("WK-SAFE", "1364731000000104", "05-Jan-2024"),
    ("WK-MOVED", "1364731000000104", "01-Mar-2025"),
    ("WK-ASKED", "LOCAL-OPTIN-REQ", "28-Oct-2026"),
    ("WK-TALKED", "LOCAL-OPTIN-REQ", "26-Oct-2026"),
    ("WK-TALKED", "LOCAL-COUNSELLED", "29-Oct-2026"),
]
#: What the second review lists (items other than turning 16), worked out above.
EXPECTED = [
    ("new online account", "WK-AUTO", "2026-10-27", "holds automatic full access"),
    ("new online account", "WK-OPEN", "2026-10-29", "not protected: would get automatic access"),
    ("new registrant", "WK-MOVED", "2026-10-26",
     "arrived with a 104 dated 2025-03-01 (from another practice)"),
    ("new registrant", "WK-NEW", "2026-10-30", "no 104: not protected from automatic access"),
    ("request not yet counselled", "WK-ASKED", "2026-10-28", "asked 3 day(s) ago"),
]  # fmt: skip


def _append(export: Path, lines: list[str]) -> None:
    """Add rows to an EMIS export and move its run date to the second week's."""
    text = export.read_text(encoding="cp1252")
    text = text.replace("Run date: 24-Oct-2026", "Run date: 31-Oct-2026")
    export.write_text(text + "".join(f"{line}\n" for line in lines), encoding="cp1252")


def _practice(folder: Path) -> Path:
    """A generated practice extracted on FIRST, with the hand-built week added after it."""
    synth = generate(1, 400, seed=11, extract_date=dt.date(2026, 10, 24),
                     branches=SAMPLE_BRANCHES[:1])  # fmt: skip
    config = write_sample(synth, folder, seed=11)
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    practice = raw["practices"][0]
    practice["extract_date"] = SECOND
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    patients, events = (config.parent / practice[name] for name in ("patients", "events"))
    _append(patients, [",".join((pid, "", born, "F", *rest)) for pid, born, *rest in WEEK_PATIENTS])
    _append(events, [",".join(row) for row in WEEK_EVENTS])
    assert patients.read_text(encoding="cp1252").startswith("Search:")  # an EMIS export
    return config


def _review(config: Path, as_of: str) -> pd.DataFrame:
    result = runner.invoke(app, ["worklists", "-c", str(config), "--as-of", as_of])
    assert result.exit_code == 0, result.output
    code = yaml.safe_load(config.read_text(encoding="utf-8"))["practices"][0]["ods_code"]
    folder = config.parent / "worklists" / as_of / code
    with (folder / "review.csv").open(encoding="utf-8", newline="") as handle:
        return pd.DataFrame(list(csv.DictReader(handle)))


def test_two_weekly_reviews_list_exactly_what_appeared_between_them(tmp_path: Path) -> None:
    config = _practice(tmp_path / "sample")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))

    first = _review(config, FIRST)  # no earlier review: the 7 days to 24 October
    assert "WK-OLD" in set(first["patient_id"])
    assert not {r[1] for r in EXPECTED} & set(first["patient_id"])

    second = _review(config, SECOND)
    listed = second[second["item"] != "turning 16"]
    got = listed[["item", "patient_id", "date", "detail"]].itertuples(index=False, name=None)
    assert list(got) == EXPECTED

    code = raw["practices"][0]["ods_code"]
    with History(config.parent / "reports" / "history.duckdb", read_only=True) as history:
        assert history.last_review(code, dt.date(2026, 11, 1)) == dt.date(2026, 10, 31)
        assert history.last_review(code, dt.date(2026, 10, 31)) == dt.date(2026, 10, 24)


def test_since_overrides_the_previous_review_and_the_note_says_so(tmp_path: Path) -> None:
    config = _practice(tmp_path / "sample")
    result = runner.invoke(
        app, ["worklists", "-c", str(config), "--as-of", SECOND, "--since", "2026-10-28"]
    )
    assert result.exit_code == 0, result.output
    assert "what is new since 2026-10-28 (as asked with --since)" in " ".join(result.output.split())
    code = yaml.safe_load(config.read_text(encoding="utf-8"))["practices"][0]["ods_code"]
    review = pd.read_csv(config.parent / "worklists" / SECOND / code / "review.csv", dtype=str)
    # only what happened on 29-31 October: WK-OPEN's account and WK-NEW's registration
    listed = review[review["item"] != "turning 16"]
    assert listed["patient_id"].tolist() == ["WK-OPEN", "WK-NEW"]


def test_as_of_after_the_extract_date_and_period_with_as_of_are_refused(tmp_path: Path) -> None:
    config = _practice(tmp_path / "sample")
    late = runner.invoke(app, ["worklists", "-c", str(config), "--as-of", "2026-11-07"])
    assert late.exit_code == 1
    assert "--as-of 2026-11-07 is after the extract date 2026-10-31" in " ".join(
        late.output.split()
    )
    both = runner.invoke(
        app, ["worklists", "-c", str(config), "--as-of", SECOND, "--period", "2026-10"]
    )
    assert both.exit_code == 2 and "Give either --period" in both.output
    since_alone = runner.invoke(
        app, ["worklists", "-c", str(config), "--period", "2026-10", "--since", "2026-10-01"]
    )
    assert since_alone.exit_code == 2 and "--since goes with --as-of" in since_alone.output
