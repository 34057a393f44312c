"""Worklists: who is on which list, and how they are written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from optin_analysis.config import Supplier
from optin_analysis.ingest.schema import empty_events, empty_patients
from optin_analysis.practice import worklists as wl
from tests.builders import day, make_events, make_patients, make_profile

D = "2025-03-31"
PROFILE = make_profile()
FULL = {"online_account": True, "access_level": "full_prospective"}
LIST_FILES = [f"{name}.csv" for name in wl.OPT_IN_LISTS] + ["worklists.xlsx"]


def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    patients = make_patients(
        [
            {
                "patient_id": "auto2",
                "nhs_number": "9434765919",
                **FULL,
                "online_account_date": "2023-02-01",
            },
            {"patient_id": "auto1", **FULL, "online_account_date": "2022-01-01"},
            {"patient_id": "bare"},  # 16+, nothing: protect
            {"patient_id": "coded"},  # has a 104: not on protect
            {"patient_id": "out"},  # opted out: not on protect
            {"patient_id": "soon", "date_of_birth": "2009-06-01"},  # 16 on 1 Jun 2025
            {"patient_id": "soon_coded", "date_of_birth": "2009-05-01"},
            {"patient_id": "old_req"},
            {"patient_id": "new_req"},
            {"patient_id": "dormant", "access_level": "full_prospective"},  # no account
            {"patient_id": "not_given", "online_account": True},  # grant coded, not made
        ]
    )
    events = make_events(
        [
            ("coded", "enhanced_review_added", "2024-01-10"),
            ("soon_coded", "enhanced_review_added", "2024-01-10"),
            ("out", "opt_out", "2024-01-10"),
            ("old_req", "opt_in_requested", "2025-01-31"),  # 59 days
            ("old_req", "counselled", "2025-02-10"),
            ("new_req", "opt_in_requested", "2025-03-21"),  # 10 days
            ("not_given", "access_granted", "2025-02-01"),
        ]
    )
    return patients, events


def test_revoke_list() -> None:
    got = wl.worklists(*practice(), PROFILE, D)["revoke"]
    # EMIS backlog: the two automatic account holders, earliest account first; then the
    # patient holding automatic access without an account (dormant exposure)
    assert got["patient_id"].tolist() == ["auto1", "auto2", "dormant"]
    assert got["reason"].tolist() == [wl.REASON_BACKLOG] * 2 + [wl.REASON_DORMANT]
    assert list(got.columns) == wl.REVOKE_COLUMNS
    assert got["nhs_number"].iloc[1] == "9434765919"
    assert got["age"].tolist() == [44, 44, 44]  # born 15 Jun 1980
    # at a TPP practice the dormant patient is in the backlog itself
    tpp = wl.worklists(*practice(), make_profile(supplier=Supplier.TPP), D)["revoke"]
    assert tpp["reason"].tolist() == [wl.REASON_BACKLOG] * 3


def test_disagreements_list() -> None:
    got = wl.worklists(*practice(), PROFILE, D)["disagreements"]
    # only 'not_given': its grant is coded but the extract shows no full access
    assert got["patient_id"].tolist() == ["not_given"]
    assert got["access_level"].tolist() == ["none"]
    assert got["disagreement"].str.contains("grant coded").all()


def test_protect_lists() -> None:
    lists = wl.worklists(*practice(), PROFILE, D)
    # soon turns 16 within 6 months with no 104; then 16+ patients with nothing
    # ('not_given' has no access: the extract wins over its grant code)
    soon = lists["protect-16"]
    assert soon["patient_id"].tolist() == ["soon"]
    assert soon["reason"].tolist() == ["turns 16 on 2025-06-01"]
    assert soon["sixteenth_birthday"].iloc[0] == day("2025-06-01")
    adults = lists["protect-adults"]
    assert adults["patient_id"].tolist() == ["bare", "not_given"]
    assert adults["reason"].tolist() == [wl.REASON_NO_CODE] * 2
    assert adults["online_account"].tolist() == [False, True]


def test_protect_lists_empty_when_tpp_preference_unticked() -> None:
    tpp = make_profile(supplier=Supplier.TPP, supplier_setting_date=dt.date(2024, 1, 1))
    lists = wl.worklists(*practice(), tpp, D)
    assert lists["protect-16"].empty and lists["protect-adults"].empty
    assert lists.notes["protect-adults"].startswith(
        "Nobody: the supplier setting made on 2024-01-01"
    )


def test_requests_list_oldest_first() -> None:
    got = wl.worklists(*practice(), PROFILE, D)["requests"]
    assert got["patient_id"].tolist() == ["old_req", "new_req"]
    assert got["stage"].tolist() == ["awaiting provisioning", "awaiting counselling"]
    # 31 Jan -> 31 Mar = 59 days; 21 Mar -> 31 Mar = 10 days
    assert got["wait_days"].tolist() == [59, 10]


def test_write_worklists_csv_and_xlsx(tmp_path: Path) -> None:
    lists = wl.worklists(*practice(), PROFILE, D)
    paths = wl.write_worklists(lists, tmp_path, "A81001", "2025-03")
    folder = tmp_path / "2025-03" / "A81001"
    assert sorted(p.name for p in folder.iterdir()) == sorted(LIST_FILES)
    assert set(paths) == set(folder.iterdir())
    requests = pd.read_csv(folder / "requests.csv", dtype=str)
    assert requests["request_date"].tolist() == ["2025-01-31", "2025-03-21"]
    book = openpyxl.load_workbook(folder / "worklists.xlsx")
    assert book.sheetnames == list(wl.OPT_IN_LISTS)
    # who acts and how, then the headings, then 3 rows on the revoke sheet
    revoke = book["revoke"]
    assert revoke["A1"].value == lists.notes["revoke"]
    assert revoke["A1"].value.startswith("Who: the online-access lead.")
    assert [c.value for c in revoke[2]] == wl.REVOKE_COLUMNS
    assert revoke.max_row == 5 and revoke["A3"].value == "auto1"


def test_write_worklists_failure_leaves_earlier_files(tmp_path: Path, monkeypatch) -> None:
    lists = wl.worklists(*practice(), PROFILE, D)
    folder = tmp_path / "2025-03" / "A81001"
    wl.write_worklists(lists, tmp_path, "A81001", "2025-03")
    before = (folder / "revoke.csv").read_bytes()

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(wl, "_write_xlsx", broken)
    empty = {name: frame.iloc[:0] for name, frame in lists.items()}
    with pytest.raises(OSError, match="disk full"):
        wl.write_worklists(empty, tmp_path, "A81001", "2025-03")
    # the earlier CSV is untouched and no temporary file is left behind
    assert (folder / "revoke.csv").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(LIST_FILES)


@pytest.mark.parametrize("period", ["..", "2025/03", ""])
def test_write_worklists_refuses_unsafe_folder_names(tmp_path: Path, period: str) -> None:
    with pytest.raises(ValueError, match="folder name"):
        wl.write_worklists({}, tmp_path, "A81001", period)


def test_empty_practice_worklists(tmp_path: Path) -> None:
    lists = wl.worklists(empty_patients(), empty_events(), PROFILE, D)
    assert all(frame.empty for frame in lists.values())
    assert list(lists["requests"].columns) == wl.REQUEST_COLUMNS
    wl.write_worklists(lists, tmp_path, "A81001", "2025-03")
    assert (tmp_path / "2025-03" / "A81001" / "worklists.xlsx").exists()


def test_the_samples_default_model_practice_gets_no_opt_in_list(tmp_path: Path) -> None:
    from optin_analysis.config import load_config
    from optin_analysis.ingest.load import load_practice

    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "config.yaml"
    profile = load_config(sample).practice("Y90005")  # model: default
    data = load_practice(profile)
    lists = wl.worklists(data.patients, data.events, profile, "2026-10-31")
    wl.write_worklists(lists, tmp_path, "Y90005", "2026-10")
    written = sorted(p.name for p in (tmp_path / "2026-10" / "Y90005").iterdir())
    assert written == ["codes-104.csv", "disagreements.csv", "give-access.csv", "worklists.xlsx"]
    assert len(lists["give-access"]) > 1000  # 16+ without access and not opted out
    text = " ".join(lists.notes.values()).lower()
    assert "opt" not in text.replace("opted out", "") and "revoke" not in text
