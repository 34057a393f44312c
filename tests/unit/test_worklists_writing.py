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
    ids = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in ids[:-1]) and ids[-1].value is None
    # readable, without the quote (a CR is stored as Excel's escape _x000D_)
    assert [c.value for c in ids[:-1]] == [*RISKY[:-1], "_x000D_x", "SYN-1"]
    assert [c.quotePrefix for c in ids[:-1]] == [True] * len(RISKY) + [False]
    date = sheet.cell(row=2, column=3)
    assert date.is_date and date.value == dt.datetime(2024, 1, 2)
    assert date.number_format == wl.DATE_FORMAT
    assert sheet.cell(row=2, column=2).value == 30 and sheet.cell(row=8, column=2).value is None
    assert [c.value for c in book["empty"][1]] == ["patient_id"]


def test_files_are_private_and_no_temporary_file_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(wl, "IN_MEMORY_CELLS", 0)  # xlsxwriter's temporary files too
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


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    wl.stage_worklists(_lists(), tmp_path, "A81001", "2026-10")  # never committed
    (tmp_path / "2026-10" / "A81001" / ".worklists.xlsx.abc.tmp").mkdir()  # xlsxwriter's
    removed = wl.remove_stale_temporaries(tmp_path / "2026-10")
    assert len(removed) == 4
    assert list((tmp_path / "2026-10" / "A81001").iterdir()) == []
