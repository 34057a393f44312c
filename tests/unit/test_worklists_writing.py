"""Writing worklists: cells a spreadsheet would run as formulas are neutralised (OWASP),
dates are real dates in XLSX and ISO text in CSV, files are private (0600) and complete."""

from __future__ import annotations

import csv
import datetime as dt
import stat

import openpyxl
import pandas as pd
import pytest

from optin_analysis.practice import worklists as wl

RISKY = ["=1+2", "+44 20", "-3", "@SUM(A1)", "\tx", "\rx"]


def _lists() -> dict[str, pd.DataFrame]:
    ids = [*RISKY, "SYN-1", None]
    n = len(ids)
    return {
        "revoke": pd.DataFrame(
            {
                "patient_id": pd.array(ids, dtype="str"),
                "age": pd.array([30] * (n - 2) + [None, 30], dtype="Int64"),
                "online_account_date": pd.to_datetime(["2024-01-02"] * (n - 1) + [None]).astype(
                    "datetime64[us]"
                ),
            }
        ),
        "empty": pd.DataFrame({"patient_id": pd.array([], dtype="str")}),
    }


def test_neutralise_quotes_only_cells_that_start_like_formulas():
    got = wl.neutralise(pd.Series([*RISKY, "SYN-=1", "", None], dtype="str"))
    assert got.tolist()[: len(RISKY)] == ["'" + v for v in RISKY]
    assert got.tolist()[len(RISKY) : -1] == ["SYN-=1", ""] and pd.isna(got.iloc[-1])


def test_csv_cells_are_neutralised_and_dates_are_iso_text(tmp_path):
    wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    with (tmp_path / "2026-10" / "A81001" / "revoke.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["patient_id"] for r in rows] == ["'" + v for v in RISKY] + ["SYN-1", ""]
    assert rows[0]["online_account_date"] == "2024-01-02" and rows[-2]["age"] == ""


@pytest.mark.parametrize("limit", [wl.IN_MEMORY_CELLS, 0], ids=["in memory", "constant memory"])
def test_xlsx_writes_text_never_formulas_and_real_dates(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(wl, "IN_MEMORY_CELLS", limit)
    wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    book = openpyxl.load_workbook(tmp_path / "2026-10" / "A81001" / "worklists.xlsx")
    sheet = book["revoke"]
    ids = [row[0] for row in sheet.iter_rows(min_row=3)]  # row 1: who acts; 2: headings
    assert all(c.data_type == "s" for c in ids[:-1]) and ids[-1].value is None
    # readable, without the quote (a CR is stored as Excel's escape _x000D_)
    assert [c.value for c in ids[:-1]] == [*RISKY[:-1], "_x000D_x", "SYN-1"]
    assert [c.quotePrefix for c in ids[:-1]] == [True] * len(RISKY) + [False]
    date = sheet.cell(row=3, column=3)
    assert date.is_date and date.value == dt.datetime(2024, 1, 2)
    assert date.number_format == wl.DATE_FORMAT
    assert sheet.cell(row=3, column=2).value == 30 and sheet.cell(row=9, column=2).value is None
    assert [c.value for c in book["empty"][2]] == ["patient_id"]


def test_files_are_private_and_no_temporary_file_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(wl, "IN_MEMORY_CELLS", 0)  # the workbook writer's temporary files too
    paths = wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)
    assert sorted(p.name for p in (tmp_path / "2026-10" / "A81001").iterdir()) == [
        "empty.csv", "revoke.csv", "worklists.xlsx",
    ]  # fmt: skip


def test_a_failure_while_staging_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wl, "_write_sheet", broken)
    with pytest.raises(OSError):
        wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    assert list((tmp_path / "2026-10" / "A81001").iterdir()) == []


def test_staged_files_are_only_in_place_once_committed(tmp_path):
    pending = wl.stage_worklists(_lists(), tmp_path, "A81001", "2026-10")
    folder = tmp_path / "2026-10" / "A81001"
    assert all(p.name.startswith(".") for p in folder.iterdir())  # hidden until committed
    wl.commit_worklists(pending)
    assert {p.name for p in folder.iterdir()} == {"empty.csv", "revoke.csv", "worklists.xlsx"}


def test_a_list_the_run_no_longer_writes_is_removed(tmp_path):
    # a practice moved to the default model and ran the month again: its folder keeps no
    # opt-in list (nor 0.2.0's protect.csv); files that are not its lists stay
    folder = tmp_path / "2026-10" / "A81001"
    wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    for name in ("protect.csv", "requests.csv", "notes.txt"):
        (folder / name).write_text("x")
    frame = _lists()["revoke"]
    wl.write_worklists({"give-access": frame, "codes-104": frame}, tmp_path, "A81001", "2026-10")
    names = {p.name for p in folder.iterdir()}
    assert names == {"give-access.csv", "codes-104.csv", "worklists.xlsx", "notes.txt", "empty.csv"}


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    wl.stage_worklists(_lists(), tmp_path, "A81001", "2026-10")  # never committed
    (tmp_path / "2026-10" / "A81001" / ".worklists.xlsx.abc.tmp").mkdir()  # the writer's folder
    removed = wl.remove_stale_temporaries(tmp_path / "2026-10")
    assert len(removed) == 4
    assert list((tmp_path / "2026-10" / "A81001").iterdir()) == []


def test_each_sheet_says_who_acts_then_frozen_filtered_headings_wide_enough(tmp_path):
    lists = wl.Worklists(
        {
            "revoke": pd.DataFrame(
                {
                    "patient_id": pd.array(["SYN-Y90001-0000001", "p2"], dtype="str"),
                    "nhs_number": pd.array(["9434765919", None], dtype="str"),
                    "online_account": [True, False],
                    "online_account_date": pd.to_datetime(["2024-01-02", None]).astype(
                        "datetime64[us]"
                    ),
                    "reason": pd.array(["x" * 200, "short"], dtype="str"),
                }
            )
        },
        {"revoke": "Who: the online-access lead. How: switch access off."},
    )
    wl.write_worklists(lists, tmp_path, "A81001", "2026-10")
    sheet = openpyxl.load_workbook(tmp_path / "2026-10" / "A81001" / "worklists.xlsx")["revoke"]
    # row 1: the note, merged across the five columns; row 2: the headings, frozen with
    # the patient id column, and filtered down to the last row
    assert sheet["A1"].value == "Who: the online-access lead. How: switch access off."
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:E1"]
    assert sheet["A1"].alignment.wrap_text
    assert [c.value for c in sheet[2]] == [
        "patient_id", "nhs_number", "online_account", "online_account_date", "reason",
    ]  # fmt: skip
    assert sheet.freeze_panes == "B3"
    assert sheet.auto_filter.ref == "A2:E4"
    # widths: the longer of heading and values, plus 2 characters (the writer stores
    # 0.71 more): the 18-character id 20; the 10-digit NHS number under a 10-character
    # heading 12; yes/no under a 14-character heading 16; dates (10) under a
    # 19-character heading 21; the 200-character reason capped at 80
    widths = [sheet.column_dimensions[c].width for c in "ABCDE"]
    assert [round(w) for w in widths] == [21, 13, 17, 22, 81]
    assert [c.value for c in sheet[3]][:3] == ["SYN-Y90001-0000001", "9434765919", "yes"]
    assert sheet["C4"].value == "no"
    # printed: landscape, one page wide, the note and headings on every page
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToHeight == 0  # as many pages long as needed, one wide
    assert sheet.print_title_rows == "$1:$2"


def test_layout_note_lines_follow_the_sheet_width():
    # 5 columns of 20 characters: 100 characters a line; a 250-character note takes 3
    layout = wl.SheetLayout("n" * 250, (20,) * 5, data_rows=0)
    assert layout.note_lines == 3
    assert layout.filter_range == (1, 0, 1, 4)  # the headings alone when there is no row


def test_a_date_a_spreadsheet_cannot_hold_is_written_as_typed_in_both_files(tmp_path):
    # 1019 for 2019, a typing error in an extract: the workbook writer refuses dates
    # before 1900, so that column is ISO text in both files, and the practice goes on
    dates = pd.to_datetime(["1019-05-01", "2024-01-02", None]).astype("datetime64[us]")
    frame = pd.DataFrame({"patient_id": pd.array(["a", "b", "c"], dtype="str"),
                          "access_start_date": dates})  # fmt: skip
    wl.write_worklists({"revoke": frame}, tmp_path, "A81001", "2026-10")
    folder = tmp_path / "2026-10" / "A81001"
    with open(folder / "revoke.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [r[1] for r in rows[1:]] == ["1019-05-01", "2024-01-02", ""]
    sheet = openpyxl.load_workbook(folder / "worklists.xlsx")["revoke"]
    assert [sheet.cell(row, 2).value for row in (3, 4, 5)] == ["1019-05-01", "2024-01-02", None]


def test_a_panic_of_the_workbook_writer_is_an_ordinary_error(tmp_path, monkeypatch):
    # pyo3 raises a Rust panic as PanicException, a BaseException: left as it is, it would
    # pass every `except Exception` and stop the whole batch
    class PanicException(BaseException):
        pass

    def panic(book, path):
        raise PanicException("called `Result::unwrap()` on an `Err` value")

    monkeypatch.setattr(wl, "_save", panic)
    with pytest.raises(RuntimeError, match="the workbook writer failed"):
        wl.write_worklists(_lists(), tmp_path, "A81001", "2026-10")
    assert list((tmp_path / "2026-10" / "A81001").iterdir()) == []
