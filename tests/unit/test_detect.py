"""Recognising real exports: preamble, date style, headings, table, supplier, practice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from optin_analysis.config import Supplier
from optin_analysis.ingest.detect import (
    classify,
    date_format,
    detect_supplier,
    match_headings,
    missing_problems,
    ods_in_name,
    practice_name,
    sniff,
    value_map,
)
from optin_analysis.problems import InputError
from tests.extracts import EMIS_EVENTS, EMIS_PATIENTS, TPP_EVENTS, TPP_PATIENTS

#: A patients search as a practice might name its columns (EMIS style values and dates).
RENAMED_PATIENTS = (
    "Search: Opt-in patients\r\nRun by: Data Lead\r\nRun date: 31-Oct-2026 09:14\r\n"
    "Patient Number,NHS No,DOB,Gender,Registered on,Online Access Status,"
    "Online registration date,Record access level (online),Access from,Usual GP\r\n"
    "101,9434765919,12-Jun-1980,F,01-Jan-2010,Live,01-Mar-2022,Full Record (Prospective),"
    "31-Oct-2023,Dr [Smith]\r\n"
    "102,,29-Feb-2012,M,01-Mar-2012,Inactive,,,,Dr Jones\r\n"
)
RENAMED_EVENTS = (
    "Patient Number,Read Code,Term,Date Added\r\n"
    "101,1364731000000104,Enhanced review indicated,15-Nov-2023\r\n"
)


def _file(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# --- the head of a file ----------------------------------------------------------------------


def test_emis_preamble_is_skipped_and_its_run_date_read(tmp_path):
    head = sniff(_file(tmp_path, EMIS_PATIENTS))
    assert head.skip_rows == 2 and head.header_row == 3
    assert head.headings[:3] == ("Patient ID", "NHS Number", "Date of Birth")
    assert len(head.rows) == 3
    assert head.run_date() == dt.date(2026, 10, 31)
    assert head.has_emis_preamble()


def test_a_longer_preamble_and_a_run_time_are_understood(tmp_path):
    head = sniff(_file(tmp_path, RENAMED_PATIENTS))
    assert head.skip_rows == 3  # Search, Run by, Run date
    assert head.run_date() == dt.date(2026, 10, 31)
    assert head.values("Usual GP") == ["Dr [Smith]", "Dr Jones"]


def test_tpp_exports_have_no_preamble_and_no_run_date(tmp_path):
    head = sniff(_file(tmp_path, TPP_PATIENTS))
    assert head.skip_rows == 0 and head.run_date() is None and not head.has_emis_preamble()


def test_a_file_without_a_header_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="empty"):
        sniff(_file(tmp_path, "\r\n"))
    with pytest.raises(InputError, match="no header row"):
        sniff(_file(tmp_path, "Search: nothing\r\nRun date: 31-Oct-2026\r\n", "x.csv"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12-Jun-2024", "", "01-Feb-1990"], "%d-%b-%Y"),
        (["12/06/2024", "1/2/1990"], "%d/%m/%Y"),
        (["2024-06-12"], "%Y-%m-%d"),
        (["12/06/2024", "12-Jun-2024"], None),  # two styles: no one format reads both
        (["06/13/2024"], None),  # month first: not a UK date
        (["", " "], None),
    ],
)
def test_date_style_is_the_one_format_reading_every_value(values, expected):
    assert date_format(values) == expected


# --- headings ------------------------------------------------------------------------------


def test_renamed_patient_headings_are_placed_heading_by_heading(tmp_path):
    match = match_headings(sniff(_file(tmp_path, RENAMED_PATIENTS)), "patients", Supplier.EMIS)
    placed = {c: (p.heading, p.how) for c, p in match.placed.items()}
    assert placed == {
        "patient_id": ("Patient Number", "synonym"),
        "nhs_number": ("NHS No", "synonym"),
        "date_of_birth": ("DOB", "synonym"),
        "sex": ("Gender", "shipped"),
        "registration_date": ("Registered on", "synonym"),
        "online_account": ("Online Access Status", "synonym"),
        "online_account_date": ("Online registration date", "synonym"),
        "access_level": ("Record access level (online)", "close"),
        "access_start_date": ("Access from", "synonym"),
    }
    # in normal form "record access level online" (26 characters) holds the synonym
    # "record access level" (19): 0.75 + 0.2 * 19/26, above difflib's ratio 2*19/45
    assert match.placed["access_level"].score == pytest.approx(0.75 + 0.2 * 19 / 26)
    assert "please check" in match.placed["access_level"].describe()
    assert [(u.heading, u.nearest) for u in match.unplaced] == [("Usual GP", None)]
    assert "not a heading I know" in match.unplaced[0].reason
    assert match.missing_required == []


@pytest.mark.parametrize("code", ["Read Code", "Code", "SNOMED CT Concept ID", "Concept ID"])
def test_renamed_event_headings_and_the_term_column(tmp_path, code):
    text = RENAMED_EVENTS.replace("Read Code", code)
    match = match_headings(sniff(_file(tmp_path, text)), "events")
    assert match.columns == {
        "patient_id": "Patient Number",
        "code": code,
        "event_date": "Date Added",
    }
    assert match.term_heading == "Term" and match.unplaced == []


def test_a_heading_whose_values_contradict_it_is_not_placed_and_is_reported(tmp_path):
    text = (
        "Patient ID,Date of Birth,Registration Status,Online Services Status,Record Access\r\n"
        "P1,12-Jun-1980,Registered,Live,\r\n"
        "P2,01-Jan-1990,Deceased,Inactive,\r\n"
    )
    head = sniff(_file(tmp_path, text, "patients.csv"))
    match = match_headings(head, "patients", Supplier.EMIS)
    assert "registration_date" not in match.placed
    [unplaced] = match.unplaced
    assert unplaced.heading == "Registration Status"
    assert unplaced.reason == "looks like registration_date but its values are not dates"
    [problem] = missing_problems(head, match)
    assert problem.file.name == "patients.csv" and problem.row == 1
    assert problem.message.startswith("no column for registration_date (required")
    assert "'Registration Status'" in problem.message and "'Patient ID'" in problem.message


def test_an_account_status_column_is_placed_by_its_values(tmp_path):
    text = (
        "Patient ID,Date of Birth,Registration Date,Status,Record Access\r\n"
        "P1,12-Jun-1980,01-Jan-2010,Live,\r\n"
        "P2,01-Jan-1990,01-Jan-2010,Archived,\r\n"
    )
    match = match_headings(sniff(_file(tmp_path, text)), "patients", Supplier.EMIS)
    placement = match.placed["online_account"]
    assert (placement.heading, placement.how) == ("Status", "values")
    assert "please check" in placement.describe()


def test_two_canonical_columns_never_share_a_heading(tmp_path):
    # "Online Registration Date" is close to registration_date too; it goes to the
    # online account date, and registration_date takes its own heading.
    text = (
        "Patient ID,DOB,Date registered,Online Status,Online Registration Date,Record access\r\n"
        "P1,12/06/1980,01/01/2010,Y,01/01/2022,Summary\r\n"
    )
    match = match_headings(sniff(_file(tmp_path, text)), "patients", Supplier.TPP)
    assert match.columns["registration_date"] == "Date registered"
    assert match.columns["online_account_date"] == "Online Registration Date"
    assert len(set(match.columns.values())) == len(match.columns)


# --- table and supplier ----------------------------------------------------------------------


def test_patients_and_events_are_told_apart_by_their_columns(tmp_path):
    patients = sniff(_file(tmp_path, RENAMED_PATIENTS, "search-1.csv"))
    events = sniff(_file(tmp_path, RENAMED_EVENTS, "search-2.csv"))
    other = sniff(_file(tmp_path, "Owner,Comment\r\nme,hello\r\n", "notes.csv"))
    assert classify(patients)[0] == "patients"
    assert classify(events)[0] == "events"
    assert classify(other)[0] is None


@pytest.mark.parametrize(
    ("patients", "events", "supplier"),
    [(EMIS_PATIENTS, EMIS_EVENTS, Supplier.EMIS), (TPP_PATIENTS, TPP_EVENTS, Supplier.TPP)],
)
def test_supplier_is_read_from_the_files(tmp_path, patients, events, supplier):
    heads = [sniff(_file(tmp_path, patients, "p.csv")), sniff(_file(tmp_path, events, "e.csv"))]
    guess = detect_supplier((h, classify(h)[1]) for h in heads)
    assert guess.supplier is supplier
    style = "12-Jun-2024" if supplier is Supplier.EMIS else "12/06/2024"
    assert f"p.csv: dates written like {style}" in guess.reasons


def test_renamed_emis_exports_are_still_emis(tmp_path):
    head = sniff(_file(tmp_path, RENAMED_PATIENTS))
    guess = detect_supplier([(head, classify(head)[1])])
    assert guess.supplier is Supplier.EMIS
    assert "export.csv: 'Search:' and 'Run date:' above the header" in guess.reasons


def test_files_that_say_nothing_leave_the_supplier_open(tmp_path):
    text = "Patient,Code,Date\r\n1,123,2024-06-12\r\n"
    head = sniff(_file(tmp_path, text, "events.csv"))
    assert detect_supplier([(head, classify(head)[1])]).supplier is None


# --- practices and values ------------------------------------------------------------------


def test_ods_codes_and_names_in_folder_names():
    assert ods_in_name("y90001_patients") == "Y90001"
    assert ods_in_name("exports", "A81001 - Riverside Surgery") == "A81001"
    assert ods_in_name("PATIENTS", "2026-10") is None  # words and dates are not codes
    assert practice_name("A81001 - Riverside Surgery") == "Riverside Surgery"
    assert practice_name("A81001_Riverside_Surgery") == "Riverside Surgery"
    assert practice_name("A81001") is None and practice_name("exports") is None


def test_account_values_known_by_synonym_are_added_and_others_reported():
    base = {"Y": True, "N": False, "": False}
    values, unknown = value_map("online_account", ["Yes", "No", "Y", "", "Pending"], base)
    assert values == {"Y": True, "N": False, "": False, "No": False, "Yes": True}
    assert unknown == ["Pending"]
