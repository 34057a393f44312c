"""`optin-analysis init` on generated extracts without their configuration.

The generator writes EMIS and TPP extracts and its own configuration; init, given only
the extracts, must find the same practices, suppliers and extract dates, and (once its
TODOs are filled in) a configuration giving the same headline figures.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from optin_analysis.config import ConfigError, load_config
from optin_analysis.ingest.codelist import load_codelist
from optin_analysis.ingest.load import load_practice
from optin_analysis.outgoing.summary import compute
from optin_analysis.run.cli import app
from optin_analysis.run.onboard import find_todos

runner = CliRunner()
PERIOD = "2026-10"
FIGURES = (
    "eligible",
    "account_holders_16plus",
    "opt_in_holders",
    "open_requests",
    "active_104_bulk",
    "active_104_individual",
)
BRANCH_KEYS = ("name", "model", "go_live_status", "go_live_date")
CHECKLIST = ("supplier_setting_date", "website_updated", "icb_informed", "dpia_approved")
ANY_DAY = dt.date(2024, 1, 15)  # checklist dates: the compared figures must not depend on them


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Generated extracts (3 practices, 900 patients) and the generator's own profiles."""
    folder = tmp_path_factory.mktemp("exports")
    result = runner.invoke(
        app, ["sample", "--out", str(folder), "--practices", "3", "--patients", "900"]
    )
    assert result.exit_code == 0, result.output
    generated = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    (folder / "config.yaml").unlink()
    return folder, {p["ods_code"]: p for p in generated["practices"]}


@pytest.fixture(scope="module")
def initialised(exports: tuple[Path, dict]) -> tuple[Path, str]:
    folder, _ = exports
    result = runner.invoke(app, ["init", str(folder), "--yes"])
    return folder / "config.yaml", result.output


def _fill(config: Path, generated: dict) -> Path:
    """Answer every TODO: the go-live branch as the generator made it, checklist dates any."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for practice in raw["practices"]:
        truth = generated[practice["ods_code"]]
        for key, value in practice.items():
            if value == "TODO":
                practice[key] = ANY_DAY if key in CHECKLIST else truth[key]
    filled = config.with_name("filled.yaml")
    filled.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return filled


def test_init_finds_each_practice_supplier_and_run_date(initialised, exports):
    config, output = initialised
    _, generated = exports
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    found = {p["ods_code"]: p for p in raw["practices"]}
    assert found.keys() == generated.keys()
    for ods, practice in found.items():
        assert practice["supplier"] == generated[ods]["supplier"], ods
        # EMIS says when the search ran; TPP does not, so init leaves it to the user
        expected = dt.date(2026, 10, 31) if practice["supplier"] == "emis" else "TODO"
        assert practice["extract_date"] == expected, ods
        assert practice["patients"] == f"{ods}/patients.csv"
        assert "mapping" not in practice  # headings as shipped: no override needed
    assert raw["codelist"] == "codelist.csv"
    assert (config.parent / "codelist.csv").is_file()
    assert "Fill them in, then run:" in output and "validate" in output


def test_the_written_file_says_it_is_not_ready_and_does_not_load(initialised):
    config, _ = initialised
    text = config.read_text(encoding="utf-8")
    todos = find_todos(config)
    assert f"NOT READY: {len(todos)} setting(s) below are TODO" in text
    assert {t.key for t in todos} >= {"name", "go_live_status", "supplier_setting_date"}
    line = text.splitlines()[todos[0].line - 1]
    assert line.split(":")[0].strip() == todos[0].key and "TODO" in line
    with pytest.raises(ConfigError, match="supplier_setting_date"):
        load_config(config)


def test_filled_in_configuration_validates(initialised, exports):
    config, _ = initialised
    filled = _fill(config, exports[1])
    result = runner.invoke(app, ["validate", str(filled)])
    assert result.exit_code == 0, result.output
    assert result.output.count("✓") == 3


def test_same_headline_figures_as_the_generators_configuration(initialised, exports):
    config, _ = initialised
    folder, generated = exports
    mine = load_config(_fill(config, generated))
    (folder / "generated.yaml").write_text(
        yaml.safe_dump({"practices": list(generated.values())}, sort_keys=False),
        encoding="utf-8",
    )
    theirs = load_config(folder / "generated.yaml")
    codelist = load_codelist(mine.codelist)
    for ours in mine.practices:
        reference = theirs.practice(ours.ods_code)
        got = compute(load_practice(ours, codelist), PERIOD).measures.headline
        want = compute(load_practice(reference), PERIOD).measures.headline
        assert want["eligible"] > 0
        assert {k: got[k] for k in FIGURES} == {k: want[k] for k in FIGURES}, ours.ods_code


# --- a folder made by hand: renamed headings, EMIS and TPP, no configuration ------------------

EMIS_RENAMED = (
    "Search: Opt-in patients\r\nRun date: 31-Oct-2026\r\n"
    "Patient Number,NHS No,DOB,Gender,Registered on,Online Access Status,"
    "Online Services Registration Date,Record Access,Record Access Date,Usual GP [c]\r\n"
    "E1,9434765919,12-Jun-1980,F,01-Jan-2010,Live,01-Mar-2022,Full Record (Prospective),"
    "31-Oct-2023,Dr A\r\n"
    "E2,,29-Feb-2012,M,01-Mar-2012,,,,,Dr B\r\n"
)
EMIS_EVENTS_RENAMED = (
    "Search: Opt-in codes\r\nRun date: 31-Oct-2026\r\n"
    "Patient Number,Read Code,Term,Date Added\r\n"
    "E2,1364731000000104,Enhanced review indicated,15-Nov-2023\r\n"
    "E1,EMISLOC7,Online access requested,01-Mar-2024\r\n"
)
TPP_RENAMED = (
    "Patient Number,NHS No,DOB,Sex,Registered on,Online user,Online user since,"
    "Record access level,Record access from\r\n"
    "T1,9434765919,12/06/1980,F,01/01/2010,Y,01/03/2022,Full clinical record (prospective),"
    "31/10/2023\r\n"
    "T2,,29/02/2012,M,01/03/2012,N,,No access,\r\n"
)
TPP_EVENTS_RENAMED = "Patient Number,Code,Date Added\r\nT1,1290331000000103,03/01/2024\r\n"


def _hand_made(root: Path) -> Path:
    files = {
        "A81001 Riverside Surgery/Opt-in patients.csv": EMIS_RENAMED,
        "A81001 Riverside Surgery/Opt-in codes.csv": EMIS_EVENTS_RENAMED,
        "B82002_patients.csv": TPP_RENAMED,
        "B82002_events.csv": TPP_EVENTS_RENAMED,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode("utf-8"))
    return root


def test_renamed_headings_get_a_mapping_file_and_the_unplaced_one_is_reported(tmp_path):
    folder = _hand_made(tmp_path / "exports")
    result = runner.invoke(app, ["init", str(folder), "--yes"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "patient_id           <- 'Patient Number': known heading" in out
    assert "online_account       <- 'Online Access Status': known heading" in out
    assert "not placed: 'Usual GP [c]': not a heading I know; not read by the run" in out
    assert "EMISLOC7 'Online access requested': A81001: 1 row(s)" in out
    raw = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    practices = {p["ods_code"]: p for p in raw["practices"]}
    assert practices["A81001"]["name"] == "Riverside Surgery"
    assert practices["A81001"]["mapping"] == "mapping-A81001.yaml"
    assert practices["B82002"]["mapping"] == "mapping-B82002.yaml"
    mapping = yaml.safe_load((folder / "mapping-A81001.yaml").read_text(encoding="utf-8"))
    assert mapping["patients"]["columns"]["date_of_birth"] == "DOB"
    assert mapping["events"]["columns"]["code"] == "Read Code"
    sheet = (folder / "local-codes.csv").read_text(encoding="utf-8").splitlines()
    # event_type and status wait for the practice, saying what they may hold
    assert sheet[1].startswith(
        "EMISLOC7,Online access requested,"
        '"TODO: one of opt_in_requested, counselled, opt_in_declined, access_granted, '
    )
    assert '",TODO: confirmed,Local code (A81001: 1 row(s)' in sheet[1]


def test_a_missing_required_column_is_an_error_naming_the_file_and_headings(tmp_path):
    folder = _hand_made(tmp_path / "exports")
    bad = folder / "B82002_patients.csv"
    bad.write_text(TPP_RENAMED.replace("DOB,", "Age,").replace("12/06/1980", "44"))
    result = runner.invoke(app, ["init", str(folder), "--yes"])
    assert result.exit_code == 1
    assert (
        "ERROR: B82002_patients.csv, row 1: no column for date_of_birth (required in a "
        "patients export); headings found: 'Patient Number', 'NHS No', 'Age'"
    ) in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nowhere"], "not a folder of exports"), (["empty"], "No patients or events exports")],
)
def test_nothing_to_read_exits_two(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["init", str(tmp_path / args[0]), "--yes"])
    assert result.exit_code == 2 and message in result.output


def test_at_a_terminal_init_asks_and_prints_user_text_literally(tmp_path, monkeypatch):
    from optin_analysis.run import onboard

    folder = _hand_made(tmp_path / "exports")
    monkeypatch.setattr(onboard, "is_terminal", lambda: True)
    answers = [
        "y", "y",  # A81001 headings
        "",  # name: Riverside Surgery
        "1", "", "2023-11-04", "2023-11-26", "2024-02-01", "2023-10-21",  # EMIS gone live
        "y", "y",  # B82002 headings
        "Brook [Lane] Practice", "2026-10-31",
        "1", "", "2023-11-01", "", "", "2023-08-12",  # TPP gone live
        "y", "1",  # map EMISLOC7 to opt-in request
    ]  # fmt: skip
    result = runner.invoke(app, ["init", str(folder)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Ready. Next, the month's run:" in result.output
    assert f"--config {folder / 'config.yaml'} --period 2026-10" in result.output
    assert "Brook [Lane] Practice" in result.output  # not eaten as markup
    cfg = load_config(folder / "config.yaml")
    assert cfg.practice("B82002").name == "Brook [Lane] Practice"
    assert cfg.practice("A81001").supplier_setting_date == dt.date(2023, 11, 4)
    check = runner.invoke(app, ["validate", str(folder / "config.yaml")])
    assert check.exit_code == 0 and check.output.count("✓") == 2


def test_init_help_is_plain():
    result = runner.invoke(app, ["init", "--help"], terminal_width=120)
    assert "init [OPTIONS] DIR " in result.output
    for noise in ("<bool>", "<path>", "{"):
        assert noise not in result.output


def test_once_every_todo_is_filled_in_validate_removes_the_not_ready_note(initialised, exports):
    config, _ = initialised
    _, generated = exports
    lines = config.read_text(encoding="utf-8").splitlines()
    for todo in find_todos(config):  # filled in by hand: the file's comments stay
        truth = generated[todo.practice]
        value = ANY_DAY if todo.key in CHECKLIST else truth[todo.key]
        text = "null" if value is None else str(value)
        lines[todo.line - 1] = lines[todo.line - 1].replace("TODO", text, 1)
    filled = config.with_name("by-hand.yaml")
    filled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "# NOT READY:" in filled.read_text(encoding="utf-8")

    result = runner.invoke(app, ["validate", str(filled)])
    assert result.exit_code == 0, result.output
    assert "every TODO is filled in; its NOT READY note is removed" in " ".join(
        result.output.split()
    )
    text = filled.read_text(encoding="utf-8")
    assert "NOT READY" not in text and "until every TODO is filled in" not in text
    assert text.startswith("# optin-analysis run configuration, written by")
    assert len(text.splitlines()) == len(lines) - 4  # the note's four lines, nothing else
    again = runner.invoke(app, ["validate", str(filled)])
    assert again.exit_code == 0 and "NOT READY" not in again.output
