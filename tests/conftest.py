"""Shared fixtures: one real run of the committed sample, reused by the report tests.

Also, before any test runs: the tests see no time zone, locale or font of the machine
(TZ=UTC, LC_ALL=C.UTF-8, and a fontconfig that knows only the fonts shipped with the
package, for WeasyPrint, Chromium and every process the tests start); the Hypothesis
profile is chosen; and a run ends with one line naming the tests skipped for want of a
system part (Chromium, Pango) and the command that installs it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from optin_analysis.config import RunConfig, load_config
from optin_analysis.reports.fonts import FONT_DIR
from optin_analysis.run.batch import Options, PracticeResult, close, run_batch, write_rollup
from tests.system import SKIP_PREFIX, dpia_pdf, skipped_line

FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{cache}</cachedir></fontconfig>
"""


def _machine_independent() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["LC_ALL"] = os.environ["LANG"] = "C.UTF-8"
    folder = Path(tempfile.mkdtemp(prefix="optin-tests-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "fonts.conf").write_text(FONTS_CONF.format(fonts=FONT_DIR, cache=folder / "cache"))
    os.environ["FONTCONFIG_FILE"] = str(folder / "fonts.conf")


_machine_independent()

SAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "data" / "sample" / "config.yaml"
SAMPLE_PERIOD = "2026-10"

# Hypothesis profiles. "fixed" is the default everywhere (`make test` here, in CI, on a fresh
# clone): derandomize=True draws the same 100 examples per property on every run and machine
# (for the locked Hypothesis version and the test's own code), no example database, so a
# red or green suite does not depend on luck. It is loaded explicitly, so Hypothesis' own
# CI-detected "ci" profile never makes CI differ from a developer's run.
# HYPOTHESIS_PROFILE=explore opts in to exploring: fresh random examples each run, 1,000 per
# property, and failures kept in .hypothesis/ (ignored by git) to replay; run it when
# changing measures, e.g. `HYPOTHESIS_PROFILE=explore .venv/bin/pytest tests/property`.
# Tests set only what they need (deadline, health checks), never the example count here.
settings.register_profile("fixed", derandomize=True, max_examples=100, database=None)
settings.register_profile("explore", derandomize=False, max_examples=1_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


@dataclass
class SampleRun:
    config: RunConfig
    period: str
    results: list[PracticeResult]

    def folder(self, ods: str) -> Path:
        return self.config.reports_dir / self.period / ods


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> SampleRun:
    """The monthly run over the whole sample, into a temporary reports/worklists folder."""
    out = tmp_path_factory.mktemp("sample-run")
    cfg = load_config(SAMPLE_CONFIG).model_copy(
        update={"reports_dir": out / "reports", "worklists_dir": out / "worklists"}
    )
    pdf = bool(dpia_pdf())  # without Pango the run writes no PDF, as `run` does
    results = run_batch(cfg, list(cfg.practices), SAMPLE_PERIOD, Options(pdf=pdf))
    failed = [f"{r.ods_code}: {r.problem}" for r in results if r.status != "ok"]
    assert not failed, failed
    write_rollup(cfg, SAMPLE_PERIOD)
    close()
    return SampleRun(cfg, SAMPLE_PERIOD, results)


def pytest_terminal_summary(terminalreporter) -> None:
    """One line for the tests skipped because a system part is missing; others in full."""
    reasons = [str(r.longrepr[2]) for r in terminalreporter.stats.get("skipped", [])]
    if line := skipped_line(reasons):
        terminalreporter.write_line(line, yellow=True, bold=True)
    for reason in sorted({r for r in reasons if SKIP_PREFIX not in r}):
        terminalreporter.write_line(f"Skipped: {reason}", yellow=True)
