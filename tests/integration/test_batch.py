"""The monthly batch: failure isolation, safe writes, history across periods, roll-up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from optin_analysis.outgoing.history import History
from optin_analysis.run.cli import app
from tests.conftest import SAMPLE_CONFIG
from tests.system import dpia_pdf

runner = CliRunner()
PRACTICES = ("Y90002", "Y90004")  # one TPP, one EMIS: the two smallest runs


def _config(tmp_path: Path, codes=PRACTICES) -> Path:
    """A run configuration over copies of some sample practices, writing into tmp_path."""
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    practices = []
    for p in raw["practices"]:
        if p["ods_code"] in codes:
            folder = tmp_path / "extracts" / p["ods_code"]
            shutil.copytree(SAMPLE_CONFIG.parent / p["ods_code"], folder)
            narrative = SAMPLE_CONFIG.parent / p["dpia_narrative"]  # beside the sample's config
            practices.append({**p, "patients": str(folder / "patients.csv"),
                              "events": str(folder / "events.csv"),
                              "dpia_narrative": str(narrative)})  # fmt: skip
    raw.update(practices=practices, reports_dir="reports", worklists_dir="worklists")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(config: Path, period: str, *extra: str):
    return runner.invoke(app, ["run", "--config", str(config), "--period", period, *extra])


def test_a_broken_practice_fails_alone_and_keeps_its_earlier_reports(tmp_path):
    config = _config(tmp_path)
    assert _run(config, "2026-10", "--jobs", "1").exit_code == 0
    earlier = tmp_path / "reports" / "2026-10" / "Y90004" / "monthly-report.html"
    before = earlier.read_bytes()
    patients = tmp_path / "extracts" / "Y90004" / "patients.csv"
    lines = patients.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(lines[3].split(",")[2], "31-Feb-2001", 1)  # first data row
    patients.write_text("".join(lines), encoding="utf-8")

    result = _run(config, "2026-10", "--jobs", "2")

    assert result.exit_code == 1
    assert "Y90004" in result.output and "not a valid date" in result.output
    assert "1 of 2 practice(s) failed" in result.output
    assert earlier.read_bytes() == before  # the good earlier report is untouched
    other = tmp_path / "reports" / "2026-10" / "Y90002"
    assert {p.name for p in other.iterdir()} == {
        "summary.json", "monthly-report.html", "dpia.html", *dpia_pdf(),
    }  # fmt: skip
    rollup = json.loads((tmp_path / "reports" / "2026-10" / "rollup.json").read_text())
    assert {r["ods_code"] for r in rollup["practices"]} == {"Y90002"}
    # the failed practice is listed with its reason, not silently dropped nor shown stale
    (missing,) = rollup["missing"]
    assert missing["ods_code"] == "Y90004" and "not a valid date" in missing["reason"]


def test_two_periods_build_a_history_the_rollup_and_reports_show(tmp_path):
    config = _config(tmp_path, codes=("Y90002",))
    assert _run(config, "2026-09", "--jobs", "1").exit_code == 0
    assert _run(config, "2026-10", "--jobs", "1").exit_code == 0
    assert _run(config, "2026-10", "--jobs", "1").exit_code == 0  # re-run replaces, not adds

    with History(tmp_path / "reports" / "history.duckdb", read_only=True) as history:
        assert history.periods() == ["2026-09", "2026-10"]
        rows = history.series("Y90002", "2026-10", ["eligible"])
    assert rows["period"].tolist() == ["2026-09", "2026-10"]

    rollup = json.loads((tmp_path / "reports" / "2026-10" / "rollup.json").read_text())
    assert {t["period"] for t in rollup["trends"]} == {"2026-09", "2026-10"}
    html = (tmp_path / "reports" / "2026-10" / "icb-rollup.html").read_text()
    assert "ICB trends across monthly runs" in html and "2026-09" in html
    summary = json.loads((tmp_path / "reports" / "2026-10" / "Y90002" / "summary.json").read_text())
    assert {h["period"] for h in summary["history"]} == {"2026-09", "2026-10"}


def test_resume_skips_complete_practices(tmp_path):
    config = _config(tmp_path, codes=("Y90002",))
    assert _run(config, "2026-10", "--jobs", "1").exit_code == 0
    report = tmp_path / "reports" / "2026-10" / "Y90002" / "monthly-report.html"
    stamp = report.stat().st_mtime_ns
    result = _run(config, "2026-10", "--resume")
    assert result.exit_code == 0 and "skipped" in result.output
    assert report.stat().st_mtime_ns == stamp


def _start_and_kill(config: Path, sig: int, tmp_path: Path) -> Path:
    """Start a run, wait until a report is being staged, send ``sig``; return the period dir."""
    period_dir = tmp_path / "reports" / "2026-10"
    cli = Path(sys.executable).with_name("optin-analysis")
    proc = subprocess.Popen(
        [str(cli), "run", "--config", str(config), "--period", "2026-10", "--jobs", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180  # generous: a loaded 2-core machine starts slowly
    while not list(period_dir.glob(".*partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(period_dir.glob(".*partial-*")), "the run never started staging a report"
    os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
    proc.wait(timeout=60)
    return period_dir


def _visible_reports_are_complete(period_dir: Path) -> None:
    for folder in (p for p in period_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assert {f.name for f in folder.iterdir()} == {
            "summary.json", "monthly-report.html", "dpia.html", *dpia_pdf(),
        }, folder  # fmt: skip


def test_a_terminated_run_leaves_no_partial_report(tmp_path):
    period_dir = _start_and_kill(_config(tmp_path), signal.SIGTERM, tmp_path)
    assert list(period_dir.glob(".*")) == []  # staging removed on the way out
    _visible_reports_are_complete(period_dir)


def test_a_killed_run_leaves_only_hidden_staging_that_the_next_run_removes(tmp_path):
    config = _config(tmp_path, codes=("Y90002",))
    period_dir = _start_and_kill(config, signal.SIGKILL, tmp_path)
    _visible_reports_are_complete(period_dir)
    assert _run(config, "2026-10", "--jobs", "1").exit_code == 0
    assert list(period_dir.glob(".*")) == []


def test_a_killed_worker_costs_a_retry_not_the_batch(tmp_path):
    config = _config(tmp_path)
    cli = Path(sys.executable).with_name("optin-analysis")
    proc = subprocess.Popen(
        [str(cli), "run", "--config", str(config), "--period", "2026-10", "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    workers: list[str] = []
    while not workers and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "spawn_main"],
                               capture_output=True, text=True)  # fmt: skip
        workers = found.stdout.split()
        time.sleep(0.05)
    assert workers, "no worker process started"
    os.kill(int(workers[0]), signal.SIGKILL)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    period_dir = tmp_path / "reports" / "2026-10"
    _visible_reports_are_complete(period_dir)
    assert {p.name for p in period_dir.iterdir() if p.is_dir()} == set(PRACTICES)
    assert list(period_dir.glob(".*")) == []
