"""Validation: each kind of bad input gives a clear problem naming file, row and column."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from optin_analysis.config import load_config
from optin_analysis.ingest import nhs_number, validate
from optin_analysis.ingest.adapters import RawTable
from optin_analysis.ingest.load import load_practice
from optin_analysis.ingest.schema import empty_events
from optin_analysis.problems import InputError, Severity
from tests.extracts import EMIS_EVENTS, EMIS_PATIENTS, TPP_EVENTS, TPP_PATIENTS, write_practice

# Row numbers as a spreadsheet shows them. TPP: header row 1, T1 row 2, T2 row 3.
# EMIS: two preamble rows, header row 3, E1 row 4, E2 row 5, E3 row 6.


def _errors(tmp_path, supplier, patients, events):
    cfg = load_config(write_practice(tmp_path, supplier, patients, events))
    with pytest.raises(InputError) as info:
        load_practice(cfg.practices[0])
    return [p for p in info.value.problems if p.severity is Severity.ERROR]


def _only(problems):
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_missing_required_column_is_named_with_its_likely_rename(tmp_path):
    body = TPP_PATIENTS.replace("Date of birth", "DOB of patient")
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert p.file.name == "patients.csv" and p.row == 1
    assert "'Date of birth'" in p.message and "not found" in p.message


def test_renamed_column_suggests_the_close_match(tmp_path):
    body = TPP_PATIENTS.replace("Date registered", "Date Registered ")
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert "renamed?" in p.message and "Date Registered" in p.message


def test_unparseable_and_impossible_dates(tmp_path):
    body = TPP_PATIENTS.replace("12/06/1980", "1980-06-12").replace("29/02/2012", "31/02/2012")
    problems = _errors(tmp_path, "tpp", body, TPP_EVENTS)
    where = {(p.row, p.column) for p in problems if "not a valid date" in p.message}
    assert where == {(2, "Date of birth"), (3, "Date of birth")}
    assert all("12/06/2024" in p.message for p in problems if "valid date" in p.message)


def test_birth_after_the_extract_date(tmp_path):
    body = TPP_PATIENTS.replace("29/02/2012,M,01/03/2012", "28/02/2027,M,01/03/2012")
    problems = _errors(tmp_path, "tpp", body, TPP_EVENTS)
    messages = {(p.row, p.column, p.message) for p in problems}
    assert (3, "Date of birth", "birth is after the extract date") in messages
    assert (3, "Date registered", "registered before birth") in messages


def test_duplicate_patient_id_flags_both_rows(tmp_path):
    body = TPP_PATIENTS.replace("T2,", "T1,")
    problems = _errors(tmp_path, "tpp", body, TPP_EVENTS.replace("T1", "T1"))
    dupes = [p for p in problems if "more than one row" in p.message]
    assert {p.row for p in dupes} == {2, 3}
    assert {p.column for p in dupes} == {"Patient Identifier"}


def test_invalid_nhs_number_fails_modulus_11(tmp_path):
    body = EMIS_PATIENTS.replace("9990000018", "9990000017")  # last digit should be 8
    p = _only(_errors(tmp_path, "emis", body, EMIS_EVENTS))
    assert (p.row, p.column) == (6, "NHS Number")
    assert "Modulus 11" in p.message


def test_event_for_unknown_patient(tmp_path):
    events = EMIS_EVENTS + "E9,LOCAL-OPTIN-REQ,01-Apr-2024\r\n"
    p = _only(_errors(tmp_path, "emis", EMIS_PATIENTS, events))
    assert (p.file.name, p.row, p.column) == ("events.csv", 6, "Patient ID")
    assert "no patient with this id" in p.message


def test_unknown_code_is_a_listed_warning_not_an_error(tmp_path):
    events = EMIS_EVENTS + "E1,123456,01-Apr-2024\r\nE3,123456,02-Apr-2024\r\n"
    cfg = load_config(write_practice(tmp_path, "emis", EMIS_PATIENTS, events))
    data = load_practice(cfg.practices[0])
    unknown = [p for p in data.warnings if "not in the codelist" in p.message]
    assert len(unknown) == 1
    assert unknown[0].row == 6 and "2 row(s)" in unknown[0].message
    assert len(data.events) == 4  # kept, with no event type


@pytest.mark.parametrize(
    "body,message",
    [
        ("", "the file is empty"),
        ("   \r\n", "the file is empty"),
        (TPP_PATIENTS.split("\r\n")[0] + "\r\n", "header but no data rows"),
    ],
)
def test_empty_and_header_only_files(tmp_path, body, message):
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert message in p.message and p.file.name == "patients.csv"


def test_events_file_with_header_only_is_a_practice_with_no_coded_events(tmp_path):
    # [rule events-header-only] a patients file with no rows stays an error (above)
    header = TPP_EVENTS.split("\r\n")[0] + "\r\n"
    cfg = load_config(write_practice(tmp_path, "tpp", TPP_PATIENTS, header))
    data = load_practice(cfg.practices[0])
    assert len(data.events) == 0 and len(data.patients) > 0
    assert [p.message for p in data.warnings if "no coded events" in p.message]
    assert list(data.events.columns) == list(empty_events().columns)


def test_file_truncated_mid_row(tmp_path):
    body = TPP_PATIENTS + "T3,,01/01/2001,F,01/01/20"
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert p.row == 4 and "truncated" in p.message


def test_row_with_extra_fields(tmp_path):
    body = TPP_PATIENTS + "T3,,01/01/2001,F,01/01/2020,N,,No access,,surplus\r\n"
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert p.row == 4 and "do not line up" in p.message


def test_undecodable_bytes_are_explained(tmp_path):
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8.
    body = TPP_PATIENTS.encode("utf-8") + b"T3,,01/01/2001,F,01/01/2020,N,,No access\x81,\r\n"
    p = _only(_errors(tmp_path, "tpp", body, TPP_EVENTS))
    assert p.row == 4 and "UTF-8" in p.message


def test_every_problem_is_reported_at_once(tmp_path):
    body = (
        TPP_PATIENTS.replace("9434765919", "1234567890")
        .replace("12/06/1980", "31/13/1980")
        .replace(",Y,", ",Maybe,")
    )
    events = TPP_EVENTS + "T7,1290331000000103,03/01/2024\r\n"
    problems = _errors(tmp_path, "tpp", body, events)
    columns = {(p.file.name, p.column) for p in problems}
    assert columns == {
        ("patients.csv", "NHS number"),
        ("patients.csv", "Date of birth"),
        ("patients.csv", "Online user"),
        ("events.csv", "Patient Identifier"),
    }


# --- fast parsing gives what pandas gives ----------------------------------------------


def _date_samples(fmt: str) -> list[str]:
    rng = random.Random(fmt)
    days = pd.date_range("1600-01-01", "2300-12-31", freq="11D").strftime(fmt).tolist()
    days += pd.date_range("2011-12-25", "2013-03-05", freq="D").strftime(fmt).tolist()
    alphabet = "0123456789-/. JanFebMayjunJUNx\t"
    noisy = []
    for text in rng.sample(days, 2000):
        chars = list(text)
        chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        noisy.append("".join(chars))
    odd = ["", "  ", "31-Feb-2001", "29-Feb-1900", "29/02/2000", "00/01/2000", "1-Jun-2000"]
    return days + noisy + [f" {d}\t" for d in days[:50]] + odd


@pytest.mark.parametrize("fmt", ["%d-%b-%Y", "%d/%m/%Y", "%Y-%m-%d", "%b %d %Y", "%d/%m/%y"])
def test_date_parsing_matches_pandas(fmt):
    values = _date_samples(fmt)
    got = validate.parse_dates(pa.array(values, pa.large_string()), fmt)
    stripped = pd.Series(values, dtype="object").str.strip()
    want = pd.to_datetime(stripped, format=fmt, errors="coerce").astype("datetime64[us]")
    assert np.array_equal(got.values, want.to_numpy(), equal_nan=True)
    assert np.array_equal(got.blank, (stripped == "").to_numpy())


def test_only_fixed_width_formats_take_the_byte_route():
    assert validate.layout("%d-%b-%Y").width == 11
    assert validate.layout("%d/%m/%Y").width == 10
    for fmt in ("%d/%m/%y", "%d %B %Y", "%Y-%m-%d %H:%M", " %d/%m/%Y", "%d/%m"):
        assert validate.layout(fmt) is None


def test_nhs_numbers_must_be_ascii_digits():
    numbers = pd.Series(["943 476 5919", "9434765918", "\u0669\u0669\u06690000018", None])
    assert nhs_number.is_valid(numbers).tolist() == [True, False, False, False]


# --- pandera collects the failures -----------------------------------------------------


def test_pandera_runs_only_when_a_check_fails(tmp_path, monkeypatch):
    calls = []
    validate_schema = validate.pa.DataFrameSchema.validate

    def counting(self, frame, *args, **kwargs):
        calls.append(len(frame))
        return validate_schema(self, frame, *args, **kwargs)

    monkeypatch.setattr(validate.pa.DataFrameSchema, "validate", counting)
    load_practice(
        load_config(write_practice(tmp_path / "ok", "tpp", TPP_PATIENTS, TPP_EVENTS)).practices[0]
    )
    assert calls == []
    body = TPP_PATIENTS.replace("12/06/1980", "31/13/1980")
    problems = _errors(tmp_path / "bad", "tpp", body, TPP_EVENTS)
    assert calls == [1]  # just the failing row
    assert [(p.row, p.column) for p in problems] == [(2, "Date of birth")]


def test_every_bad_row_of_a_long_file_is_listed_in_order(tmp_path):
    header = TPP_PATIENTS.split("\r\n")[0]
    rows = [
        f"T{i},,{'bad' if i % 3 else '01/01/2000'},F,01/01/2020,N,,No access," for i in range(3000)
    ]
    problems = _errors(
        tmp_path,
        "tpp",
        "\r\n".join([header, *rows, ""]),
        "Patient Identifier,SNOMED code,Event date\r\n",
    )
    bad = [p.row for p in problems if "valid date" in p.message]
    assert bad == [i + 2 for i in range(3000) if i % 3]


@pytest.mark.parametrize(
    ("table", "column", "old"),
    [
        ("patients", "Date registered", "01/01/2010"),
        ("patients", "Online user since", "01/03/2022"),
        ("patients", "Record access from", "31/10/2023"),
        ("events", "Event date", "03/01/2024"),
    ],
)
def test_a_date_on_the_extract_date_is_valid_and_the_day_after_is_refused(
    tmp_path, table, column, old
):
    # The extract is dated 2026-10-31 (tests/extracts.py). T1's date in `column` moved to
    # that day is valid; moved to 2026-11-01 it is refused, naming row 2 (T1) and column.
    def with_date(new: str) -> tuple[str, str]:
        if table == "patients":
            return TPP_PATIENTS.replace(old, new, 1), TPP_EVENTS
        return TPP_PATIENTS, TPP_EVENTS.replace(old, new, 1)

    cfg = load_config(write_practice(tmp_path / "same-day", "tpp", *with_date("31/10/2026")))
    load_practice(cfg.practices[0])  # no error
    (p,) = [p for p in _errors(tmp_path / "next-day", "tpp", *with_date("01/11/2026"))
            if "after the extract date" in p.message]  # fmt: skip
    assert (p.row, p.column) == (2, column)


# --- shortcuts for clean columns give what the general route gives --------------------


def _texts() -> list[list[str]]:
    rng = random.Random(7)
    alphabet = ["a", "7", "-", " ", "\t", "\u00a0", "\u2003", "é", "\x1f", "\x85", ""]
    random_rows = ["".join(rng.choices(alphabet, k=rng.randrange(4))) for _ in range(400)]
    return [
        [],
        ["x"],
        ["SYN-1", "SYN-2", "SYN-3"],
        ["SYN-1", "", "SYN-3"],
        ["b", "a", "c"],
        ["a", "a"],
        ["a", "b", "a"],
        [" a", "b"],
        ["a", "b\u00a0"],
        ["943 476 5919", "9434765918"],
        random_rows,
        sorted(set(random_rows)),
    ]


@pytest.mark.parametrize("values", _texts())
def test_clean_column_shortcuts_match_the_general_route(values):
    whole = pa.array(["pad", *values, "pad"], pa.large_string())
    for text in (pa.array(values, pa.large_string()), whole.slice(1, len(values))):
        assert validate._without(text, " ").equals(pc.replace_substring(text, " ", ""))
        encoded = text.dictionary_encode()
        counts = np.bincount(encoded.indices.to_numpy(), minlength=len(encoded.dictionary))
        want = counts[encoded.indices.to_numpy()] > 1
        assert np.array_equal(validate._duplicated(text), want)


def test_date_columns_parsed_together_are_parsed_as_each_alone():
    rng = random.Random(3)
    timed = ["03/05/1991 00:00", "03/05/1991 10:00", "01/01/1019"]
    columns = {c: rng.sample(_date_samples("%d/%m/%Y"), 497) + timed for c in ("a", "b", "c")}
    table = pa.table({c: pa.array(v, pa.large_string()) for c, v in columns.items()})
    table = pa.concat_tables([table.slice(0, 200), table.slice(200)])  # several chunks
    raw = RawTable(Path("p.csv"), table, np.arange(500), 2, {c: c for c in columns}, [])
    together = validate._dates(raw, tuple(columns), "%d/%m/%Y")
    for column, values in columns.items():
        alone = validate.parse_dates(pa.array(values, pa.large_string()), "%d/%m/%Y")
        for part in ("values", "blank", "midnight", "timed"):
            got, want = getattr(together[column], part), getattr(alone, part)
            assert np.array_equal(got, want, equal_nan=part == "values"), (column, part)


# --- cases an independent mutation run found untested (each checked against its mutant) --


def test_a_check_digit_of_0_is_valid_and_one_that_would_be_10_never_is(tmp_path):
    # 943476590: 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 0*2 = 297 = 27 * 11, so
    # 11 - 0 = 11 gives the check digit 0: 9434765900 is valid, 9434765901 is not.
    # 999000000: 90 + 81 + 72 = 243, 243 mod 11 = 1, 11 - 1 = 10: no check digit can do,
    # not even ':' (the byte after '9').
    valid = EMIS_PATIENTS.replace("9434765919", "9434765900")
    cfg = load_config(write_practice(tmp_path / "a", "emis", valid, EMIS_EVENTS))
    assert load_practice(cfg.practices[0]).patients["nhs_number"][0] == "9434765900"
    wrong = _only(_errors(tmp_path / "b", "emis", valid.replace("65900", "65901"), EMIS_EVENTS))
    assert (wrong.row, wrong.column) == (4, "NHS Number")
    colon = EMIS_PATIENTS.replace("9990000018", "999000000:")
    ten = _only(_errors(tmp_path / "c", "emis", colon, EMIS_EVENTS))
    assert (ten.row, ten.column) == (6, "NHS Number")
    numbers = pd.Series([f"999000000{c}" for c in "0123456789:"])
    assert not nhs_number.is_valid(numbers).any()


def test_nhs_number_written_in_groups_is_valid_and_kept_as_ten_digits(tmp_path):
    body = EMIS_PATIENTS.replace("9434765919", "943 476 5919")  # as letters and screens show it
    cfg = load_config(write_practice(tmp_path, "emis", body, EMIS_EVENTS))
    data = load_practice(cfg.practices[0])
    assert data.patients["nhs_number"][0] == "9434765919" and not data.warnings


def test_registered_on_the_day_of_birth_is_valid_and_the_day_before_is_not(tmp_path):
    same_day = TPP_PATIENTS.replace("29/02/2012,M,01/03/2012", "29/02/2012,M,29/02/2012")
    cfg = load_config(write_practice(tmp_path / "a", "tpp", same_day, TPP_EVENTS))
    assert len(load_practice(cfg.practices[0]).patients) == 2
    before = TPP_PATIENTS.replace("29/02/2012,M,01/03/2012", "29/02/2012,M,28/02/2012")
    p = _only(_errors(tmp_path / "b", "tpp", before, TPP_EVENTS))
    assert (p.row, p.column, p.message) == (3, "Date registered", "registered before birth")


def test_an_event_without_a_date_is_an_error(tmp_path):
    events = EMIS_EVENTS + "E1,1364731000000104,\r\n"  # a 104 with no date: row 6
    p = _only(_errors(tmp_path, "emis", EMIS_PATIENTS, events))
    assert (p.file.name, p.row, p.column) == ("events.csv", 6, "Date")
    assert "a date is needed" in p.message


def test_warnings_name_the_row_counting_blank_lines(tmp_path):
    # a blank line after T1 (row 2) keeps its number: T2 is row 4 (not 3); in the EMIS
    # events, a blank line after E3's event (row 5) makes the new event row 7 (not 6)
    patients = TPP_PATIENTS.replace("\r\nT2,,29/02/2012", "\r\n\r\nT2,,28/02/1812")
    cfg = load_config(write_practice(tmp_path / "a", "tpp", patients, TPP_EVENTS))
    old = _only(load_practice(cfg.practices[0]).warnings)
    assert (old.row, old.column) == (4, "Date of birth") and "before 1900" in old.message
    events = EMIS_EVENTS + "\r\nE1,123456,01-Apr-2024\r\n"
    cfg = load_config(write_practice(tmp_path / "b", "emis", EMIS_PATIENTS, events))
    unknown = _only(load_practice(cfg.practices[0]).warnings)
    assert (unknown.row, unknown.column) == (7, "SNOMED CT Concept ID")
    assert "not in the codelist" in unknown.message
