"""Two runs on one reports folder (two cron jobs, or cron and a person): one goes ahead,
the other stops with exit 2, naming the run that has the folder, and touches nothing. The
history commands, during a run, stop the same way."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from optin_analysis.run.cli import app
from optin_analysis.run.lock import LOCK_FILE
from tests.fault.helpers import (
    PERIOD,
    codes,
    finish,
    leftovers,
    make_sample,
    published,
    recorded,
    staging,
    start,
    stderr_of,
    tree,
    wait_for,
)

runner = CliRunner()


def test_a_second_run_stops_and_leaves_the_first_to_finish(tmp_path):
    config = make_sample(tmp_path / "sample")
    first = start(config, tmp_path / "first", "--jobs", "1")
    wait_for(lambda: staging(config), "the first run to stage a report")

    second = start(config, tmp_path / "second", "--jobs", "1")
    assert second.wait(timeout=120) == 2
    message = stderr_of(tmp_path / "second").lower()
    assert f"another run (pid {first.pid}, started " in message
    assert f"is writing {config.parent / 'reports'}".lower() in message
    assert "Traceback" not in message

    assert first.wait(timeout=300) == 0, stderr_of(tmp_path / "first")
    assert set(published(config)) == set(codes(config))  # none lost to the second run
    assert recorded(config) == set(codes(config))
    assert leftovers(config) == []


def test_runs_started_together_one_goes_ahead_and_the_other_exits_2(tmp_path):
    config = make_sample(tmp_path / "sample", practices=2, patients=400)
    runs = [start(config, tmp_path / name, "--jobs", "1") for name in ("a", "b")]
    processes = [p for run in runs for p in tree(run.pid)]
    codes_ = sorted(run.wait(timeout=300) for run in runs)
    finish(processes)

    assert codes_ == [0, 2]
    logs = [stderr_of(tmp_path / name) for name in ("a", "b")]
    assert all("Traceback" not in log for log in logs), logs
    assert sum("another run (pid " in log.lower() for log in logs) == 1
    assert set(published(config)) == set(codes(config))


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_file = config.parent / "reports" / LOCK_FILE
    lock_file.parent.mkdir()
    lock_file.write_text(json.dumps({"pid": dead.pid, "started": "2026-11-01T02:00:00"}))

    result = runner.invoke(app, ["worklists", "--config", str(config), "--period", PERIOD])

    assert result.exit_code == 0, result.output
    assert json.loads(lock_file.read_text())["pid"] != dead.pid  # now this run's


def test_a_lock_held_by_a_live_process_stops_even_a_worklists_run(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from optin_analysis.run import lock; "
         "lock.acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(120)",
         str(config.parent / "reports")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        result = runner.invoke(app, ["worklists", "--config", str(config), "--period", PERIOD])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert f"another run (pid {holder.pid}, started " in result.output.lower()
    assert not (config.parent / "worklists").exists()  # touched nothing


#: Holds a reports folder as a run does: its run lock, and the history store open to write.
RUN_HOLDING = (
    "import sys, time; from pathlib import Path; from optin_analysis.run import lock; "
    "from optin_analysis.outgoing.history import History; "
    "lock.acquire(Path(sys.argv[1])); h = History(Path(sys.argv[1]) / 'history.duckdb'); "
    "print('held', flush=True); time.sleep(120)"
)
#: Holds only the history store open (a notebook or a DuckDB shell).
STORE_HOLDING = (
    "import duckdb, sys, time; from pathlib import Path; Path(sys.argv[1]).mkdir(); "
    "c = duckdb.connect(sys.argv[1] + '/history.duckdb'); print('held', flush=True); "
    "time.sleep(120)"
)
HISTORY_COMMANDS = [["history", "list"], ["history", "remove", "--period", PERIOD]]


def _holding(script: str, reports) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", script, str(reports)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.parametrize("command", HISTORY_COMMANDS, ids=["list", "remove"])
def test_history_commands_during_a_run_stop_naming_the_run(tmp_path, command):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    holder = _holding(RUN_HOLDING, config.parent / "reports")
    try:
        result = runner.invoke(app, [*command, "--config", str(config)])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"another run (pid {holder.pid}, started " in result.output.lower()
    assert "wait for it to finish" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback


@pytest.mark.parametrize("command", HISTORY_COMMANDS, ids=["list", "remove"])
def test_history_commands_name_another_program_holding_the_store(tmp_path, command):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    holder = _holding(STORE_HOLDING, config.parent / "reports")
    try:
        result = runner.invoke(app, [*command, "--config", str(config)])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"it is open in another program (pid {holder.pid})" in result.output
    assert isinstance(result.exception, SystemExit)
