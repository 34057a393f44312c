"""Supplier adapters: each export maps to the same canonical tables."""

from __future__ import annotations

import pandas as pd
import pytest

from optin_analysis.config import Supplier, load_config
from optin_analysis.ingest.adapters import MAPPING_DIR, load_mapping
from optin_analysis.ingest.load import load_practice
from optin_analysis.problems import InputError
from tests.extracts import EMIS_EVENTS, EMIS_PATIENTS, TPP_EVENTS, TPP_PATIENTS, write_practice


def _load(tmp_path, supplier, patients, events):
    cfg = load_config(write_practice(tmp_path, supplier, patients, events))
    return load_practice(cfg.practices[0])


def test_emis_patients_map_to_canonical(tmp_path):
    data = _load(tmp_path, "emis", EMIS_PATIENTS, EMIS_EVENTS)
    p = data.patients.set_index("patient_id")
    assert list(p.index) == ["E1", "E2", "E3"]
    assert p.loc["E1", "date_of_birth"] == pd.Timestamp("1980-06-12")
    assert p.loc["E2", "date_of_birth"] == pd.Timestamp("2012-02-29")
    # Live and Active are accounts; an empty status is not.
    assert p["online_account"].tolist() == [True, False, True]
    assert p["access_level"].tolist() == ["full_prospective", "none", "detailed_coded"]
    assert p.loc["E1", "access_start_date"] == pd.Timestamp("2023-10-31")
    assert pd.isna(p.loc["E3", "access_start_date"])
    assert pd.isna(p.loc["E2", "nhs_number"])
    assert set(p["practice_code"]) == {"Y90001"}


def test_emis_events_are_classified_by_the_codelist(tmp_path):
    data = _load(tmp_path, "emis", EMIS_PATIENTS, EMIS_EVENTS)
    e = data.events
    assert e["event_type"].tolist() == ["enhanced_review_added", "opt_in_requested"]
    assert e["event_date"].tolist() == [pd.Timestamp("2023-11-15"), pd.Timestamp("2024-03-01")]


def test_tpp_export_maps_to_the_same_canonical_shape(tmp_path):
    emis = _load(tmp_path / "e", "emis", EMIS_PATIENTS, EMIS_EVENTS)
    tpp = _load(tmp_path / "t", "tpp", TPP_PATIENTS, TPP_EVENTS)
    assert list(tpp.patients.columns) == list(emis.patients.columns)
    t1 = tpp.patients.set_index("patient_id").loc["T1"]
    assert t1["date_of_birth"] == pd.Timestamp("1980-06-12")  # 12/06 is day first
    assert bool(t1["online_account"]) is True
    assert t1["access_level"] == "full_prospective"
    assert tpp.events["event_type"].tolist() == ["opt_out"]


def test_windows_1252_export_is_read_with_a_warning(tmp_path):
    # A sex recorded with a non-ASCII character, as Windows software writes it.
    body = TPP_PATIENTS.replace(",F,", ",Féminin,").encode("cp1252")
    data = _load(tmp_path, "tpp", body, TPP_EVENTS)
    assert data.patients.loc[0, "sex"] == "Féminin"
    assert any("Windows" in p.message for p in data.warnings)


def test_user_mapping_overrides_headings(tmp_path):
    renamed = TPP_PATIENTS.replace("Patient Identifier", "Patient ref")
    config = write_practice(
        tmp_path, "tpp", renamed, TPP_EVENTS.replace("Patient Identifier", "Patient ref")
    )
    shipped = (
        __import__("optin_analysis.ingest.adapters", fromlist=["MAPPING_DIR"]).MAPPING_DIR
        / "mapping-tpp.yaml"
    ).read_text()
    (tmp_path / "my-mapping.yaml").write_text(shipped.replace("Patient Identifier", "Patient ref"))
    text = config.read_text().replace(
        "patients: Y90001", "mapping: my-mapping.yaml\n  patients: Y90001"
    )
    config.write_text(text)
    data = load_practice(load_config(config).practices[0])
    assert data.patients["patient_id"].tolist() == ["T1", "T2"]


@pytest.mark.parametrize(
    "supplier,patients,events",
    [("emis", EMIS_PATIENTS, EMIS_EVENTS), ("tpp", TPP_PATIENTS, TPP_EVENTS)],
)
def test_clean_extracts_have_no_errors(tmp_path, supplier, patients, events):
    data = _load(tmp_path, supplier, patients, events)
    assert all(p.severity == "warning" for p in data.warnings)


# --- reading fast without losing what the careful reader gave -------------------------


def _problems(tmp_path, supplier, patients, events):
    cfg = load_config(write_practice(tmp_path, supplier, patients, events))
    try:
        return load_practice(cfg.practices[0]).warnings
    except InputError as exc:
        return exc.problems


def test_blank_lines_keep_the_row_numbers_of_what_follows(tmp_path):
    header, t1, t2 = TPP_PATIENTS.split("\r\n")[:3]
    body = "\r\n".join([header, t1, "", ",,,,,,,,", t2.replace("29/02/2012", "31/02/2012")])
    problems = _problems(tmp_path, "tpp", body + "\r\n", TPP_EVENTS)
    assert [(p.row, p.column) for p in problems] == [(5, "Date of birth")]


def test_a_value_over_two_lines_is_one_row(tmp_path):
    body = TPP_PATIENTS.replace(",F,", ',"F\r\n(see notes)",').replace("29/02/2012", "x")
    problems = _problems(tmp_path, "tpp", body, TPP_EVENTS)
    assert [(p.row, p.column) for p in problems] == [(3, "Date of birth")]


def test_short_row_mid_file_reads_as_empty_cells(tmp_path):
    header, t1, t2 = TPP_PATIENTS.split("\r\n")[:3]
    body = "\r\n".join([header, "T0,,01/01/2001", t1, t2]) + "\r\n"
    problems = _problems(tmp_path, "tpp", body, TPP_EVENTS)
    assert [(p.row, p.message) for p in problems] == [(2, "empty: a date is needed")]


def test_windows_1252_preamble_and_values_in_a_long_file(tmp_path):
    header, e1, e2, e3 = EMIS_PATIENTS.split("\r\n")[2:6]
    rows = [e1.replace(",F,", ",Féminin,")] + [
        f"X{i},,01-Jan-2000,Mâle,01-Jan-2001,,,," for i in range(5000)
    ]
    body = "Search: Opt-in · patients\r\nRun date: 31-Oct-2026\r\n" + "\r\n".join(
        [header, *rows, e2, e3, ""]
    )
    data = _load(tmp_path, "emis", body.encode("cp1252"), EMIS_EVENTS)
    assert data.patients["sex"].iloc[0] == "Féminin"
    assert set(data.patients["sex"].iloc[1:-2]) == {"Mâle"}
    assert any("Windows" in p.message for p in data.warnings)


def test_utf8_with_a_byte_order_mark_is_plain_utf8(tmp_path):
    body = "\ufeff" + TPP_PATIENTS.replace(",F,", ",Féminin,")
    data = _load(tmp_path, "tpp", body.encode("utf-8"), TPP_EVENTS)
    assert data.patients["patient_id"].tolist() == ["T1", "T2"]
    assert data.patients.loc[0, "sex"] == "Féminin" and data.warnings == []


def test_quote_in_the_preamble_does_not_swallow_the_file(tmp_path):
    body = EMIS_PATIENTS.replace("Search: Opt-in", 'Search: "Opt-in')
    data = _load(tmp_path, "emis", body, EMIS_EVENTS)
    assert data.patients["patient_id"].tolist() == ["E1", "E2", "E3"]


def test_headings_repeated_after_trimming_are_an_error_naming_both_columns(tmp_path):
    body = (
        TPP_PATIENTS.replace("Sex,", "Sex ,Sex,", 1).replace(",F,", ",F,F,").replace(",M,", ",M,M,")
    )
    with pytest.raises(InputError) as caught:  # which of the two is the sex cannot be told
        _load(tmp_path, "tpp", body, TPP_EVENTS)
    assert [str(p) for p in caught.value.problems] == [
        "ERROR: patients.csv, row 1, column 'Sex': columns D and E both have this heading: "
        "which one holds sex cannot be told; rename or remove the other"
    ]


def test_edited_mapping_file_is_read_again(tmp_path):
    patients, events = (
        t.replace("Patient Identifier", "Patient ref") for t in (TPP_PATIENTS, TPP_EVENTS)
    )
    config = write_practice(tmp_path, "tpp", patients, events)
    shipped = (MAPPING_DIR / "mapping-tpp.yaml").read_text()
    mapping = tmp_path / "my-mapping.yaml"
    mapping.write_text(shipped)
    config.write_text(
        config.read_text().replace(
            "patients: Y90001", "mapping: my-mapping.yaml\n  patients: Y90001"
        )
    )
    practice = load_config(config).practices[0]
    with pytest.raises(InputError):
        load_practice(practice)
    mapping.write_text(shipped.replace("Patient Identifier", "Patient ref"))
    assert load_practice(practice).patients["patient_id"].tolist() == ["T1", "T2"]


def test_unusable_date_format_is_a_mapping_problem(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    shipped = (MAPPING_DIR / "mapping-tpp.yaml").read_text()
    (tmp_path / "my-mapping.yaml").write_text(shipped.replace("%d/%m/%Y", "%d/%m/%Q", 1))
    config.write_text(
        config.read_text().replace(
            "patients: Y90001", "mapping: my-mapping.yaml\n  patients: Y90001"
        )
    )
    with pytest.raises(InputError) as info:
        load_practice(load_config(config).practices[0])
    (problem,) = info.value.problems
    assert "invalid mapping file" in problem.message and "date format" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    sex: Sex",
            "    gender: Sex",
            "line 13, patients.columns.gender: not a column: one of patient_id, nhs_number,",
        ),
        (
            "  values:\n",
            "  values:\n    sex:\n      M: male\n",
            "line 20, patients.values.sex: values are read only for online_account and "
            "access_level",
        ),
        ("      Y: true", "      Y: yes please", "line 21, patients.values.online_account.Y:"),
    ],
)
def test_a_mapping_naming_what_is_not_read_is_refused_with_its_line(tmp_path, old, new, message):
    shipped = (MAPPING_DIR / "mapping-tpp.yaml").read_text()
    assert shipped.count(old) == 1
    path = tmp_path / "my-mapping.yaml"
    path.write_text(shipped.replace(old, new))
    with pytest.raises(InputError) as info:
        load_mapping(Supplier.TPP, path)
    (problem,) = info.value.problems
    assert message in problem.message
