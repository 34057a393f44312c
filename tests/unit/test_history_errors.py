"""The history store fails with a message naming the file and what to do, never with a
DuckDB traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from optin_analysis.outgoing.history import History, HistoryError


def test_a_store_open_in_another_program_names_that_program(tmp_path):
    store = tmp_path / "history.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True);"
         " time.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        for read_only in (False, True):
            with pytest.raises(HistoryError) as info:
                History(store, read_only=read_only)
            assert str(info.value).startswith("cannot ") and str(store) in str(info.value)
            assert f"open in another program (pid {holder.pid})" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_file_that_is_not_a_store(tmp_path):
    store = tmp_path / "history.duckdb"
    store.write_text("not a database")
    with pytest.raises(HistoryError, match=f"cannot open for writing the history store {store}"):
        History(store)


def test_a_store_in_a_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(HistoryError, match="history store"):
        History(tmp_path / "file" / "history.duckdb")
