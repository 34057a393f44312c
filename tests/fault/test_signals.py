"""Stopping a monthly run: SIGTERM, Ctrl-C and ``kill -9`` of the parent.

Whatever stops it, nothing is published after the stop, the history store holds exactly
the practices that were published, no worker or kernel outlives the run, and the next run
says that the roll-up it rebuilds was older than some practice's reports.
"""

from __future__ import annotations

import os
import signal

import pytest
from typer.testing import CliRunner

from optin_analysis.run.cli import app
from tests.fault.helpers import (
    PERIOD,
    finish,
    kernels,
    leftovers,
    make_sample,
    published,
    quiet,
    recorded,
    start,
    stderr_of,
    tree,
    wait_for,
    worklist_practices,
)

runner = CliRunner()


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],  # SIGINT as Ctrl-C: the whole group
    ids=["SIGTERM", "Ctrl-C"],
)
def test_a_stopped_run_publishes_nothing_after_the_signal(tmp_path, signum, to_group):
    config = make_sample(tmp_path / "sample")
    logs = tmp_path / "run"
    proc = start(config, logs, "--jobs", "2")
    wait_for(lambda: published(config) and quiet(config), "a first practice published")
    processes = tree(proc.pid)

    os.killpg(proc.pid, signum) if to_group else proc.send_signal(signum)
    at_signal = published(config)
    proc.wait(timeout=120)

    assert proc.returncode == 128 + signum
    assert published(config) == at_signal  # nothing new, nothing replaced
    assert recorded(config) == set(at_signal)  # the history matches what is published
    assert worklist_practices(config) == set(at_signal)
    assert leftovers(config) == []  # staging and temporary files removed
    log = stderr_of(logs)
    assert "Traceback" not in log and "Task exception" not in log, log
    assert f"Stopped by {signal.Signals(signum).name}" in log
    assert finish(processes) == []  # no worker or kernel left
    log = stderr_of(logs)  # with what the resource tracker said at its end, if anything
    assert "leaked semaphore" not in log and "resource_tracker" not in log, log


def test_kill_9_of_the_parent_leaves_no_process_and_publishes_nothing_more(tmp_path):
    config = make_sample(tmp_path / "sample")
    proc = start(config, tmp_path / "run", "--jobs", "2")
    wait_for(lambda: kernels(proc.pid) >= 2 and quiet(config), "both workers running a kernel")
    processes = tree(proc.pid)  # parent, workers, their kernels, multiprocessing helpers

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    at_kill = published(config)

    alive = finish(processes, timeout=30)  # a safety net: they go within a second or two
    assert alive == [], f"left running after the parent was killed: {alive}"
    assert published(config) == at_kill  # checked once nothing that could publish is left
    assert worklist_practices(config) <= set(at_kill)
    if at_kill:
        assert recorded(config) == set(at_kill)


def test_a_rollup_older_than_a_practices_reports_is_named_by_the_next_run(tmp_path):
    config = make_sample(tmp_path / "sample", practices=2, patients=400)
    run = ["run", "-c", str(config), "-p", PERIOD, "--jobs", "1", "--no-pdf"]
    assert runner.invoke(app, run).exit_code == 0
    folder = config.parent / "reports" / PERIOD
    rollup, summary = folder / "icb-rollup.html", folder / "Y90002" / "summary.json"
    # What a run killed (kill -9) after publishing Y90002 leaves: its reports newer than
    # the roll-up (tests/fault/test_signals.py kills runs for real).
    before = summary.stat().st_mtime - 60  # the roll-up before Y90002's, Y90001's before it
    os.utime(rollup, (before, before))
    os.utime(folder / "Y90001" / "summary.json", (before - 60, before - 60))

    result = runner.invoke(app, [*run, "--resume"])

    assert result.exit_code == 0, result.output
    assert (
        f"The ICB roll-up of {PERIOD} does not include the latest reports of Y90002 (a run "
        "stopped before it rebuilt the roll-up, or `report` ran since): this run rebuilds it."
        in result.output
    )
    assert rollup.stat().st_mtime > summary.stat().st_mtime  # rebuilt
