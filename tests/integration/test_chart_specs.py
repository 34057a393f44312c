"""Every chart of every report is a valid Vega-Lite spec.

Reports render charts without Altair's schema validation (it costs more than drawing
them); this test validates each one instead, for every sample practice and the roll-up.
"""

from __future__ import annotations

import json

import pytest

from optin_analysis.reports import render, rollup_views, views

MONTHLY = ("uptake_chart", "backlog_chart", "pending_16_chart", "open_requests_chart",
           "history_chart")  # fmt: skip


@pytest.fixture
def drawn(monkeypatch):
    """The charts the views hand to chart_block, kept instead of drawn."""
    charts = []
    monkeypatch.setattr(render, "_figure_html", lambda chart, *a, **k: charts.append(chart) or "")
    return charts


def test_every_report_chart_validates_against_the_schema(sample_run, drawn):
    for p in sample_run.config.practices:
        bundle = json.loads((sample_run.folder(p.ods_code) / "summary.json").read_text())
        for name in MONTHLY:
            getattr(views, name)(bundle)
    rollup = json.loads((sample_run.config.reports_dir / "2026-10" / "rollup.json").read_text())
    rollup_views.coverage_chart(rollup)
    rollup_views.trends(rollup)
    assert len(drawn) >= 10  # the sample draws charts for most practices
    for chart in drawn:
        chart.to_dict(validate=True)  # raises SchemaValidationError when invalid
