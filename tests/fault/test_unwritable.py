"""Folders and stores that cannot be written: read-only, in use, or a full disk (ENOSPC,
simulated, also without a file name or wrapped by a library). Each gives a clear message
naming the file and an exit code, never a traceback nor an errno, and leaves earlier
output intact with no half-written file."""

from __future__ import annotations

import errno
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from optin_analysis.outgoing import history as history_module
from optin_analysis.practice import worklists as worklists_module
from optin_analysis.reports import notebooks
from optin_analysis.run import batch
from optin_analysis.run.cli import app
from tests.fault.helpers import (
    CLI,
    PERIOD,
    leftovers,
    make_sample,
    published,
    recorded,
    without_root_override,
)

runner = CliRunner()


def _run_unprivileged(config, *args: str) -> subprocess.CompletedProcess:
    argv = [str(CLI), "run", "--config", str(config), "--period", PERIOD, "--jobs", "1", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, preexec_fn=without_root_override
    )


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "summary.json")


def test_a_read_only_reports_folder_stops_the_run_before_anything(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    reports = config.parent / "reports"
    reports.mkdir()
    reports.chmod(0o555)
    try:
        done = _run_unprivileged(config)
    finally:
        reports.chmod(0o755)
    assert done.returncode == 2
    assert f"cannot write in the reports folder {reports}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert list(reports.iterdir()) == []
    assert not (config.parent / "worklists").exists()


def test_an_unwritable_history_store_stops_the_run_before_anything(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    config = make_sample(
        tmp_path / "sample", practices=1, patients=200,
        history_db=str(locked / "history" / "history.duckdb"),
    )  # fmt: skip
    locked.chmod(0o555)
    try:
        done = _run_unprivileged(config)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2
    assert f"the history store {locked / 'history' / 'history.duckdb'}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert published(config) == {}


def test_a_history_store_open_in_another_program_is_named(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    store = config.parent / "reports" / "history.duckdb"
    store.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(120)", str(store)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        result = runner.invoke(app, ["report", "-c", str(config), "-p", PERIOD, "--jobs", "1"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"it is open in another program (pid {holder.pid})" in result.output
    assert published(config) == {}


def test_a_full_disk_while_staging_a_report_fails_the_practice_with_a_clear_message(
    tmp_path, monkeypatch
):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    monkeypatch.setattr(notebooks, "write_json", _no_space)
    result = runner.invoke(app, ["report", "-c", str(config), "-p", PERIOD, "--jobs", "1"])
    assert result.exit_code == 1
    folder = config.parent / "reports" / PERIOD / "Y90001"  # its files were staged elsewhere
    assert f"cannot write {folder}: no space left on the disk" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert published(config) == {} and leftovers(config) == []
    assert recorded(config) == set()


class _FullDisk:
    """A DuckDB connection on a disk that fills up: every INSERT fails as DuckDB's does."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql.lstrip().startswith("INSERT"):
            raise duckdb.IOException(
                'IO Error: Could not write file "history.duckdb.wal": No space left on device'
            )
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_a_full_disk_while_recording_history_stops_the_run_naming_the_practice(
    tmp_path, monkeypatch
):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    connect = duckdb.connect
    full = lambda *args, **kwargs: _FullDisk(connect(*args, **kwargs))  # noqa: E731
    monkeypatch.setattr(history_module.duckdb, "connect", full)
    result = runner.invoke(app, ["report", "-c", str(config), "-p", PERIOD, "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert "cannot record Y90001 2026-10 in the history store" in result.output
    assert "No space left on device" in result.output and "--resume" in result.output
    assert isinstance(result.exception, SystemExit)
    assert leftovers(config) == []


def test_a_full_disk_while_writing_worklists_keeps_the_earlier_ones(tmp_path, monkeypatch):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    args = ["worklists", "-c", str(config), "-p", PERIOD]
    assert runner.invoke(app, args).exit_code == 0
    folder = config.parent / "worklists" / PERIOD / "Y90001"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    monkeypatch.setattr(worklists_module, "_write_xlsx", _no_space)
    result = runner.invoke(app, args)

    assert result.exit_code == 1
    assert "no space left on the disk" in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing else there


def _no_space_unnamed(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")  # as pyarrow and Python give it


def _assert_in_words(output: str) -> None:
    assert "no space left on the disk" in output
    assert all(raw not in output for raw in ("Errno", "FileCreateError", "unexpected")), output


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_a_full_disk_while_writing_a_worklist_names_the_file(tmp_path, monkeypatch, writer):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    if writer == "csv":
        monkeypatch.setattr(worklists_module, "_write_csv", _no_space_unnamed)
        first = "revoke.csv"
    else:  # the workbook's bytes, written into the file
        monkeypatch.setattr(worklists_module, "_save", _no_space_unnamed)
        first = "worklists.xlsx"

    result = runner.invoke(app, ["worklists", "-c", str(config), "-p", PERIOD])

    assert result.exit_code == 1, result.output
    folder = config.parent / "worklists" / PERIOD / "Y90001"
    assert f"cannot write {folder / first}: no space left on the disk" in result.output
    _assert_in_words(result.output)


def test_a_full_disk_while_writing_the_rollup_reads_in_words(tmp_path, monkeypatch):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    monkeypatch.setattr(batch, "write_json", _no_space_unnamed)  # the roll-up's rollup.json

    result = runner.invoke(app, ["run", "-c", str(config), "-p", PERIOD, "--jobs", "1",
                                 "--no-pdf"])  # fmt: skip

    assert result.exit_code == 1, result.output
    rollup = config.parent / "reports" / PERIOD / "rollup.json"
    assert f"ICB roll-up failed: cannot write {rollup}: no space left on the disk" in (
        result.output
    )
    _assert_in_words(result.output)
