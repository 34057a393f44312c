"""``run`` counts the warnings ``validate`` lists: the same warnings, from one place."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from optin_analysis.config import load_config
from optin_analysis.run.batch import Options, run_practice
from optin_analysis.run.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_run_and_validate_count_the_same_warnings(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, tmp_path / "sample")
    config = tmp_path / "sample" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    # a checklist date after the extract date (2026-10-31) at the second practice
    config.write_text(text.replace("website_updated: 2023-12-07", "website_updated: 2027-05-01"),
                      encoding="utf-8")  # fmt: skip
    listed = CliRunner().invoke(app, ["validate", str(config)]).output
    said = dict(re.findall(r"✓ (Y9\d{4}) .*?(\d+) warning\(s\)", listed))
    cfg = load_config(config)
    counted = {
        p.ods_code: str(len(run_practice(cfg, p, "2026-10", Options(reports=False, lists=False))
                            .warnings))
        for p in cfg.practices
    }  # fmt: skip
    assert said == counted
    # the sample's first practice: two encoding warnings and its disagreements; the
    # second: its disagreements and the website date
    assert said["Y90001"] == "3" and said["Y90002"] == "2"
