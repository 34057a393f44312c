"""Input that used to be misread: dates with a time of 00:00 (as Excel re-saves them), a
UTF-8 mark on a Windows-1252 file, and codelist values with stray spaces."""

from __future__ import annotations

import codecs
import shutil

import numpy as np
import pyarrow as pa
import pytest

from optin_analysis.config import load_config
from optin_analysis.ingest import validate
from optin_analysis.ingest.codelist import DEFAULT_CODELIST, load_codelist
from optin_analysis.ingest.load import load_practice
from optin_analysis.problems import InputError, Severity
from tests.extracts import TPP_EVENTS, TPP_PATIENTS, write_practice

# --- dates with a time part ---------------------------------------------------------------


def _at_midnight(text: str) -> str:
    """Every dd/mm/yyyy date followed by a time of 00:00, as Excel writes it on re-save."""
    import re

    return re.sub(r"(\d\d/\d\d/\d{4})", r"\1 00:00", text)


def test_dates_with_a_time_of_midnight_are_read_with_one_warning_per_file(tmp_path):
    plain = load_practice(load_config(write_practice(tmp_path / "a", "tpp", TPP_PATIENTS,
                                                     TPP_EVENTS)).practices[0])  # fmt: skip
    cfg = load_config(
        write_practice(tmp_path / "b", "tpp", _at_midnight(TPP_PATIENTS), _at_midnight(TPP_EVENTS))
    )
    timed = load_practice(cfg.practices[0])

    assert timed.patients.equals(plain.patients)
    assert timed.events.equals(plain.events)
    notes = [p for p in timed.warnings if "00:00" in p.message]
    assert [(p.file.name, p.row, p.column) for p in notes] == [
        ("patients.csv", 2, "Date of birth"),
        ("events.csv", 2, "Event date"),
    ]
    assert all(p.severity is Severity.WARNING for p in notes)
    assert notes[0].message.startswith("6 date(s) have a time of 00:00")


@pytest.mark.parametrize("time", ["10:30", "00:01", "12:00:00", "0:00"])
def test_any_other_time_is_an_error_naming_file_row_and_column(tmp_path, time):
    body = TPP_PATIENTS.replace("12/06/1980", f"12/06/1980 {time}")
    cfg = load_config(write_practice(tmp_path, "tpp", body, TPP_EVENTS))
    with pytest.raises(InputError) as info:
        load_practice(cfg.practices[0])
    errors = [p for p in info.value.problems if p.severity is Severity.ERROR]
    assert [(p.file.name, p.row, p.column) for p in errors] == [
        ("patients.csv", 2, "Date of birth")
    ]
    assert "time of day" in errors[0].message and "00:00" in errors[0].message


def test_parse_dates_reads_midnight_and_flags_other_times():
    text = ["03/05/1991 00:00", " 03/05/1991 00:00:00 ", "03/05/1991", "03/05/1991 10:30",
            "31/02/1991 00:00", ""]  # fmt: skip
    got = validate.parse_dates(pa.array(text, pa.large_string()), "%d/%m/%Y")
    day = np.datetime64("1991-05-03", "us")
    assert got.values[:3].tolist() == [day.item()] * 3
    assert np.isnat(got.values[3:]).all()
    assert got.midnight.tolist() == [True, True, False, False, False, False]
    assert got.timed.tolist() == [False, False, False, True, False, False]


def test_a_year_before_1900_is_read_as_typed_with_one_warning_naming_the_first(tmp_path):
    body = TPP_PATIENTS.replace("12/06/1980", "12/06/1080")
    events = TPP_EVENTS + "T2,1290331000000103,31/12/1899\r\nT2,1290331000000103,01/01/1900\r\n"
    cfg = load_config(write_practice(tmp_path, "tpp", body, events))
    data = load_practice(cfg.practices[0])

    notes = [p for p in data.warnings if "before 1900" in p.message]
    assert [(p.file.name, p.row, p.column, p.severity) for p in notes] == [
        ("patients.csv", 2, "Date of birth", Severity.WARNING),
        ("events.csv", 3, "Event date", Severity.WARNING),
    ]
    assert notes[0].message.startswith("1 date(s) are before 1900")
    assert notes[1].message.startswith("1 date(s) are before 1900")  # 1900-01-01 is not
    births = data.patients.set_index("patient_id")["date_of_birth"]
    assert births["T1"] == np.datetime64("1080-06-12")


# --- a UTF-8 mark on text that is not UTF-8 ------------------------------------------------


def test_a_bom_on_a_windows_1252_file_is_read_as_windows_1252_not_as_a_renamed_column(
    tmp_path,
):
    body = codecs.BOM_UTF8 + TPP_PATIENTS.replace(",F,", ",Féminin,").encode("cp1252")
    cfg = load_config(write_practice(tmp_path, "tpp", body, TPP_EVENTS))
    data = load_practice(cfg.practices[0])  # no InputError: the header is found
    assert data.patients.loc[0, "sex"] == "Féminin"
    assert data.patients.loc[0, "patient_id"] == "T1"
    notes = [p for p in data.warnings if "UTF-8" in p.message]
    assert len(notes) == 1 and "mark (BOM)" in notes[0].message and notes[0].row == 2
    assert not any("renamed" in p.message for p in data.warnings)


# --- codelist values ----------------------------------------------------------------------


def _codelist(tmp_path, *rows: str):
    path = tmp_path / "codelist.csv"
    shutil.copyfile(DEFAULT_CODELIST, path)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(row + "\n" for row in rows)
    return path, len(DEFAULT_CODELIST.read_text(encoding="utf-8").splitlines())


def test_a_code_repeated_with_a_trailing_space_is_an_error_naming_both_rows(tmp_path):
    path, last = _codelist(tmp_path, "LOCAL-OPTIN-REQ ,Declined,opt_out,placeholder,local")
    with pytest.raises(InputError) as info:
        load_codelist(path)
    (problem,) = info.value.problems
    first = next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                 if line.startswith("LOCAL-OPTIN-REQ,"))  # fmt: skip
    assert (problem.file, problem.row, problem.column) == (path, last + 1, "code")
    assert f"'LOCAL-OPTIN-REQ' listed twice (first on row {first}" in problem.message


def test_values_are_normalised_before_they_are_checked(tmp_path):
    path, _ = _codelist(tmp_path, "\u00a0LOCAL-X\t, A local code , Opt_Out ,Confirmed , local ")
    table = load_codelist(path)
    row = table.iloc[-1].to_dict()
    assert row == {"code": "LOCAL-X", "term": "A local code", "event_type": "opt_out",
                   "status": "confirmed", "source": "local"}  # fmt: skip


def test_unknown_event_types_and_empty_values_name_their_row_and_column(tmp_path):
    path, last = _codelist(tmp_path, "LOCAL-X,term,opt out,placeholder,local", " ,t,opt_out,x,")
    with pytest.raises(InputError) as info:
        load_codelist(path)
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {(last + 1, "event_type"), (last + 2, "code"), (last + 2, "status"),
                     (last + 2, "source")}  # fmt: skip
    assert any("'opt out'" in p.message for p in info.value.problems)
