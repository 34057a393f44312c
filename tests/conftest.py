"""Shared fixtures: one real run of the committed sample, reused by the report tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from optin_analysis.config import RunConfig, load_config
from optin_analysis.run.batch import PracticeResult, close, run_batch, write_rollup

SAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "data" / "sample" / "config.yaml"
SAMPLE_PERIOD = "2026-10"


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
    results = run_batch(cfg, list(cfg.practices), SAMPLE_PERIOD)
    failed = [f"{r.ods_code}: {r.problem}" for r in results if r.status != "ok"]
    assert not failed, failed
    write_rollup(cfg, SAMPLE_PERIOD)
    close()
    return SampleRun(cfg, SAMPLE_PERIOD, results)
