"""`init` without a terminal: finding practices, mappings, codes, the written configuration,
and the questions answered by a script instead of a person."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

from optin_analysis.config import Supplier, load_config
from optin_analysis.ingest.adapters import load_mapping
from optin_analysis.ingest.codelist import load_codelist
from optin_analysis.ingest.load import load_practice
from optin_analysis.outgoing.dpia import DEFAULT_NARRATIVE
from optin_analysis.problems import InputError
from optin_analysis.run.onboard import (
    TODO,
    Entry,
    Setting,
    codelist_copy,
    find_practices,
    find_todos,
    init,
    mapping_yaml,
    propose_mapping,
    render_config,
    suggested_period,
)
from tests.builders import make_profile
from tests.extracts import EMIS_EVENTS, EMIS_PATIENTS, TPP_EVENTS, TPP_PATIENTS

RENAMES = {
    "Patient ID": "Patient Number",
    "NHS Number": "NHS No",
    "Date of Birth": "DOB",
    "Registration Date": "Registered on",
    "Online Services Status": "Online Access Status",
    "SNOMED CT Concept ID": "Read Code",
    "Date\r\n": "Date Added\r\n",
}


def _renamed(text: str) -> str:
    header_end = text.index("\r\n", text.index("Patient ID"))
    header = text[: header_end + 2]
    for old, new in RENAMES.items():
        header = header.replace(old, new)
    return header + text[header_end + 2 :]


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return folder


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


# --- finding practices -----------------------------------------------------------------------


def test_practices_are_found_by_folder_or_by_ods_code_in_file_names(tmp_path):
    _write(
        tmp_path,
        {
            "A81001 - Riverside Surgery/search one.csv": EMIS_PATIENTS,
            "A81001 - Riverside Surgery/search two.csv": EMIS_EVENTS,
            "b82002_patients.csv": TPP_PATIENTS,
            "b82002_events.csv": TPP_EVENTS,
            "Brook Lane/p.csv": TPP_PATIENTS,
            "Brook Lane/e.csv": TPP_EVENTS,
            "notes.csv": "Owner,Comment\r\nme,hello\r\n",
        },
    )
    found, passed = find_practices(tmp_path)
    by_label = {f.label: f for f in found}
    assert set(by_label) == {"A81001", "B82002", "Brook Lane"}
    riverside = by_label["A81001"]
    assert (riverside.ods, riverside.name) == ("A81001", "Riverside Surgery")
    assert riverside.ods_source == "from the folder name 'A81001 - Riverside Surgery'"
    assert riverside.patients.path.name == "search one.csv"
    assert riverside.events.path.name == "search two.csv"
    assert riverside.supplier.supplier is Supplier.EMIS
    assert by_label["B82002"].ods_source == "from the file name 'b82002_events.csv'"
    assert by_label["B82002"].supplier.supplier is Supplier.TPP
    assert (by_label["Brook Lane"].ods, by_label["Brook Lane"].name) == (None, "Brook Lane")
    assert all(not f.problems for f in found)
    [note] = passed
    assert note.file.name == "notes.csv" and "not a patients or events export" in note.message


def test_two_events_exports_or_none_are_errors_naming_the_files(tmp_path):
    _write(
        tmp_path,
        {
            "Y90001/patients.csv": TPP_PATIENTS,
            "Y90001/events-104.csv": TPP_EVENTS,
            "Y90001/events-optin.csv": TPP_EVENTS,
            "Y90002/patients.csv": TPP_PATIENTS,
        },
    )
    found = {f.label: f for f in find_practices(tmp_path)[0]}
    [two] = found["Y90001"].problems
    assert "more than one events export for Y90001 (events-104.csv, events-optin.csv)" in str(two)
    [none] = found["Y90002"].problems
    assert "no events export found for Y90002 (CSV files: patients.csv)" in str(none)


# --- mappings ------------------------------------------------------------------------------------


def test_the_mapping_for_renamed_headings_reads_the_same_tables(tmp_path):
    original = _write(tmp_path / "a", {"p.csv": EMIS_PATIENTS, "e.csv": EMIS_EVENTS})
    renamed = _write(
        tmp_path / "b",
        {"Y90001/p.csv": _renamed(EMIS_PATIENTS), "Y90001/e.csv": _renamed(EMIS_EVENTS)},
    )
    [found] = find_practices(renamed)[0]
    proposal = propose_mapping(Supplier.EMIS, found.patients, found.events)
    assert proposal.data["patients"]["columns"]["nhs_number"] == "NHS No"
    assert proposal.data["events"]["columns"] == {
        "patient_id": "Patient Number",
        "code": "Read Code",
        "event_date": "Date Added",
    }
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_yaml(proposal, "Y90001", found), encoding="utf-8")
    assert "'': false" in mapping.read_text()  # the empty status, written plainly
    load_mapping(Supplier.EMIS, mapping)  # a valid mapping file
    theirs = make_profile(supplier="emis", patients=original / "p.csv", events=original / "e.csv")
    mine = theirs.model_copy(
        update={"patients": found.patients.path, "events": found.events.path, "mapping": mapping}
    )
    got, want = load_practice(mine), load_practice(theirs)
    pd.testing.assert_frame_equal(got.patients, want.patients)
    pd.testing.assert_frame_equal(got.events, want.events)


def test_headings_as_shipped_need_no_mapping_file(tmp_path):
    _write(tmp_path, {"Y90001/p.csv": TPP_PATIENTS, "Y90001/e.csv": TPP_EVENTS})
    [found] = find_practices(tmp_path)[0]
    proposal = propose_mapping(Supplier.TPP, found.patients, found.events)
    assert not proposal.differs and proposal.changes == []


def test_account_values_the_mapping_lacks_are_added_or_reported(tmp_path):
    patients = TPP_PATIENTS.replace(",Y,", ",Yes,").replace(",N,", ",Pending,")
    _write(tmp_path, {"Y90001/p.csv": patients, "Y90001/e.csv": TPP_EVENTS})
    [found] = find_practices(tmp_path)[0]
    proposal = propose_mapping(Supplier.TPP, found.patients, found.events)
    assert proposal.data["patients"]["values"]["online_account"]["Yes"] is True
    assert proposal.unknown_values == {"online_account": ["Pending"]}


# --- codes ---------------------------------------------------------------------------------------


def test_a_mapped_local_code_replaces_its_unused_placeholder():
    base = load_codelist()
    rows = [
        {"code": "EMISNQRE1", "term": "t", "event_type": "opt_in_requested",
         "status": "confirmed", "source": "Local code of Y90001"},
        {"code": "EMISNQCO2", "term": "t", "event_type": "counselled",
         "status": "confirmed", "source": "Local code of Y90001"},
    ]  # fmt: skip
    table = codelist_copy(base, rows, in_use={"LOCAL-COUNSELLED"})
    codes = set(table["code"])
    assert "LOCAL-OPTIN-REQ" not in codes  # replaced by the practice's code
    assert "LOCAL-COUNSELLED" in codes  # still used by an export: kept
    assert {"EMISNQRE1", "EMISNQCO2", "LOCAL-ACCESS-GRANTED"} <= codes
    assert len(table) == len(base) - 1 + 2


# --- the configuration ---------------------------------------------------------------------------


def test_the_configuration_is_commented_yaml_and_todos_are_found_by_line(tmp_path):
    entry = Entry(
        "Y90001",
        [
            Setting("ods_code", "Y90001", "from the folder name"),
            Setting("name", "St Mary's: [Health] Centre"),
            Setting("supplier", "tpp"),
            Setting("model", TODO, "opt_in or default"),
            Setting("go_live_status", TODO),
            Setting("extract_date", dt.date(2026, 10, 31)),
            Setting("website_updated", None),
            Setting("patients", Path("Y90001 exports/p.csv")),
        ],
    )
    path = tmp_path / "config.yaml"
    path.write_text(render_config([entry], [Setting("codelist", Path("codelist.csv"))], "x", 2))
    text = path.read_text()
    assert "NOT READY: 2 setting(s) below are TODO" in text
    assert "TPP: have already gone live" in text  # the branches, in the guidance's words
    raw = yaml.safe_load(text)
    assert raw["codelist"] == "codelist.csv"
    [practice] = raw["practices"]
    assert practice["name"] == "St Mary's: [Health] Centre"
    assert practice["extract_date"] == dt.date(2026, 10, 31)
    assert practice["website_updated"] is None
    assert practice["patients"] == "Y90001 exports/p.csv"
    todos = find_todos(path)
    assert [(t.practice, t.key) for t in todos] == [
        ("Y90001", "model"),
        ("Y90001", "go_live_status"),
    ]
    lines = text.splitlines()
    assert all(lines[t.line - 1].lstrip().startswith(f"{t.key}: TODO") for t in todos)
    assert str(todos[0]) == f"line {todos[0].line}: practice Y90001: model is TODO"


@pytest.mark.parametrize(
    ("extract", "period"),
    [(dt.date(2026, 10, 31), "2026-10"), (dt.date(2026, 11, 3), "2026-10"),
     (dt.date(2024, 2, 29), "2024-02"), (dt.date(2025, 1, 15), "2024-12")],
)  # fmt: skip
def test_the_suggested_period_is_the_last_whole_month(extract, period):
    assert suggested_period(extract) == period


# --- the questions, answered by a script ------------------------------------------------


class Script:
    """A prompter that answers from a list and records the questions."""

    def __init__(self, answers: list):
        self.answers = list(answers)
        self.asked: list[str] = []

    def _next(self, question: str):
        self.asked.append(question)
        return self.answers.pop(0)

    def text(self, question, default=""):
        answer = self._next(question)
        return answer if answer != "" else default

    def choose(self, question, choices, default=None):
        answer = self._next(question)
        answer = default if answer == "" else answer
        assert answer in choices, (question, answer, choices)
        return answer

    def confirm(self, question, default=True):
        return self._next(question)


def test_at_the_terminal_every_setting_is_asked_and_the_configuration_validates(tmp_path):
    events = TPP_EVENTS + "T2,XLOC1,04/01/2024\r\nT2,XLOC1,05/01/2024\r\nT1,XOTHER,05/01/2024\r\n"
    _write(tmp_path, {"exports/Brook Lane/p.csv": TPP_PATIENTS, "exports/Brook Lane/e.csv": events})
    script = Script(
        [
            "B82002",  # ODS code: not in the folder name
            True,  # patients headings right
            True,  # events headings right
            "",  # name: the folder's, Brook Lane
            "31/10/2026",  # extract date: TPP files do not say
            "2",  # TPP: have yet to go live
            "2027-01-15",  # due date
            "not a date",  # untick date: asked again
            "2026-09-01",
            "",  # website: not done
            "2026-09-20",  # ICB
            "2026-08-01",  # DPIA
            True,  # map local codes
            "1",  # XLOC1 (2 rows): opt-in request
            "s",  # XOTHER: left out
        ]
    )
    out = tmp_path / "run" / "config.yaml"
    code = init(tmp_path / "exports", out, _quiet(), script)
    assert code == 0 and script.answers == []
    assert "  XLOC1 (2 row(s))" in script.asked
    assert find_todos(out) == []
    cfg = load_config(out)
    [p] = cfg.practices
    assert (p.ods_code, p.name, p.supplier.value) == ("B82002", "Brook Lane", "tpp")
    assert (p.go_live_status.value, p.go_live_date) == ("due", dt.date(2027, 1, 15))
    assert p.extract_date == dt.date(2026, 10, 31)
    assert p.supplier_setting_date == dt.date(2026, 9, 1) and p.website_updated is None
    assert p.patients == (tmp_path / "exports/Brook Lane/p.csv").resolve()
    codelist = load_codelist(cfg.codelist)
    assert codelist.set_index("code").loc["XLOC1", "event_type"] == "opt_in_requested"
    sheet = pd.read_csv(out.parent / "local-codes.csv", dtype="str", keep_default_na=False)
    assert sheet["code"].tolist() == ["XOTHER"]
    assert sheet["event_type"].str.startswith("TODO: one of opt_in_requested,").all()
    assert sheet["status"].tolist() == ["TODO: confirmed"]
    # moved into the codelist as it is, the row is refused until it is filled in
    moved = pd.concat([codelist, sheet], ignore_index=True)
    moved.to_csv(out.parent / "moved.csv", index=False)
    with pytest.raises(InputError) as refused:
        load_codelist(out.parent / "moved.csv")
    said = " ".join(str(p) for p in refused.value.problems)
    assert "unknown event type (one of: enhanced_review_added" in said
    assert "status must be 'confirmed' or 'placeholder'" in said
    data = load_practice(p, codelist)
    assert data.events["event_type"].tolist()[-3:-1] == ["opt_in_requested"] * 2


def test_without_a_terminal_nothing_is_asked_and_todos_are_written(tmp_path):
    _write(
        tmp_path, {"exports/Brook Lane/p.csv": TPP_PATIENTS, "exports/Brook Lane/e.csv": TPP_EVENTS}
    )
    out = tmp_path / "config.yaml"
    assert init(tmp_path / "exports", out, _quiet(), None) == 0
    todos = {t.key for t in find_todos(out)}
    assert todos >= {"ods_code", "extract_date", "model", "go_live_status", "dpia_approved"}
    assert "name" not in todos  # the folder's name
    assert init(tmp_path / "exports", out, _quiet(), None) == 2  # exists: --force needed
    assert init(tmp_path / "exports", out, _quiet(), None, force=True) == 0


def test_init_writes_the_dpia_stubs_whose_todos_do_not_stop_a_run(tmp_path):
    _write(
        tmp_path, {"exports/Brook Lane/p.csv": TPP_PATIENTS, "exports/Brook Lane/e.csv": TPP_EVENTS}
    )
    out, console = tmp_path / "config.yaml", _quiet()
    assert init(tmp_path / "exports", out, console, None) == 0
    # a copy of the shipped narrative beside the configuration, the practice pointed at it
    copy = tmp_path / "dpia-narrative.yaml"
    assert copy.read_bytes() == DEFAULT_NARRATIVE["opt_in"].read_bytes()
    raw = yaml.safe_load(out.read_text(encoding="utf-8"))
    (practice,) = raw["practices"]
    assert practice["dpia_narrative"] == "dpia-narrative.yaml"
    # every row of the ICO sign-off table, TODO, found by line under dpia_sign_off
    sign_off = find_todos(out, sign_off=True)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert all("TODO" in lines[t.line - 1] for t in sign_off)
    keys = {t.key for t in sign_off}
    assert {"dpia_sign_off.measures_approved_by.name", "dpia_sign_off.dpo_advice",
            "dpia_sign_off.dpo_advice_accepted_by.date", "dpia_sign_off.next_review",
            "dpia_sign_off.approved_residual_risks.R1"} <= keys  # fmt: skip
    assert not any(t.key.startswith("dpia_sign_off") for t in find_todos(out))  # not blocking
    assert "DPIA sign-off entries" in console.file.getvalue()
    # once the other TODOs are answered the configuration loads; the sign-off reads as not
    # recorded (the DPIA shows TO COMPLETE)
    answers = {"ods_code": "B82002", "extract_date": dt.date(2026, 10, 31), "model": "opt_in",
               "go_live_status": "due", "go_live_date": dt.date(2027, 1, 15)}  # fmt: skip
    practice.update({k: answers.get(k) for k, v in practice.items() if v == "TODO"})
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert find_todos(out) == []
    (profile,) = load_config(out).practices
    assert profile.dpia_narrative == copy.resolve()
    assert profile.dpia_sign_off.approved_residual_risks == {}
    assert profile.dpia_sign_off.measures_approved_by.name == ""


def test_init_keeps_a_narrative_the_practice_has_edited(tmp_path):
    _write(
        tmp_path, {"exports/Brook Lane/p.csv": TPP_PATIENTS, "exports/Brook Lane/e.csv": TPP_EVENTS}
    )
    (tmp_path / "dpia-narrative.yaml").write_text("# ours\n", encoding="utf-8")
    assert init(tmp_path / "exports", tmp_path / "config.yaml", _quiet(), None) == 0
    assert (tmp_path / "dpia-narrative.yaml").read_text(encoding="utf-8") == "# ours\n"


def test_a_practice_without_an_ods_code_is_named_by_its_folder_and_position(tmp_path):
    _write(tmp_path, {"exports/patients.csv": EMIS_PATIENTS, "exports/events.csv": EMIS_EVENTS})
    console = _quiet()
    out = tmp_path / "config.yaml"
    assert init(tmp_path / "exports", out, console, None) == 0
    todos = find_todos(out)
    assert {t.practice for t in todos} == {"#1 (ODS code TODO)"}
    assert "ods_code" in {t.key for t in todos} and "extract_date" not in {t.key for t in todos}
    text = console.file.getvalue()
    assert "Practice in exports:" in text
    assert "✓ (ODS code TODO) in exports: 3 patients, 2 events" in text
