"""The reports as their readers open them: Chromium, offline, scripts off.

The monthly report, the DPIA and the ICB roll-up of the committed sample must show every
chart with the network blocked and JavaScript disabled (as in a mail preview or a
document viewer): the charts are inline SVG, nothing is fetched, nothing runs.

Skips without Playwright + Chromium unless OPTIN_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

import pytest

from tests.browser import open_offline, require_browser


def test_browser_check_sees_network_fetches_and_errors(tmp_path):
    """Negative control: the checker must flag a page that is not offline-safe."""
    require_browser()
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!DOCTYPE html><html><head><script src="https://cdn.example.org/vega.js"></script>'
        '<link rel="stylesheet" href="https://fonts.example.org/f.css"></head><body>'
        '<div class="chart" id="c"></div><img src="https://img.example.org/x.png" alt="">'
        "<script>fetch('https://beacon.example.org/');vegaEmbed('#c', {});</script>"
        "</body></html>",
        encoding="utf-8",
    )
    report = open_offline(page, javascript=True)
    assert len(report.network_requests) == 4, report.network_requests
    assert all("example.org" in url for url in report.network_requests)
    assert any("vegaEmbed" in err for err in report.page_errors)
    assert (report.chart_count, report.charts_rendered) == (1, 0)
    assert not report.ok


@pytest.mark.parametrize(
    ("where", "minimum_charts"),
    [
        ("Y90001/monthly-report.html", 3),
        ("Y90001/dpia.html", 0),
        ("icb-rollup.html", 1),
    ],
)
def test_report_shows_every_chart_offline_without_scripts(
    sample_run, tmp_path, where, minimum_charts
):
    require_browser()
    path = sample_run.config.reports_dir / "2026-10" / where
    screenshot = tmp_path / "page.png"
    report = open_offline(path, screenshot=screenshot)

    assert report.network_requests == [] and report.failed_requests == []
    assert report.console_errors == [] and report.page_errors == []
    assert report.chart_count >= minimum_charts
    assert report.charts_rendered == report.chart_count  # every chart is there as SVG
    assert report.ok
    assert screenshot.stat().st_size > 20_000  # a page with content, not a blank one
