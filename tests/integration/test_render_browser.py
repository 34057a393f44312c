"""End to end: Papermill runs a report notebook, nbconvert makes HTML, Chromium opens it offline.

Skips without Playwright + Chromium unless OPTIN_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from optin_analysis.reports.render import notebook_to_html, write_html_atomically
from tests.browser import open_offline, require_browser

CELLS = [
    ("markdown", "# Online access opt-in report\nSynthetic figures.", []),
    ("code", 'practice = "A81001"', ["parameters"]),
    ("code", 'from IPython.display import Markdown\nMarkdown(f"Practice **{practice}**")', []),
    (
        "code",
        """
        import sys
        from pathlib import Path
        import altair as alt
        import pandas as pd
        from optin_analysis.reports.render import chart_block, use_offline_charts
        use_offline_charts()
        Path("kernel_prefix.txt").write_text(sys.prefix)
        monthly = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"],
                                "requests": [12, 30, 25]})
        by_age = pd.DataFrame({"age_band": ["16-17", "18-64", "65+"], "opted_in": [40, 910, 355]})
        by_status = pd.DataFrame({"status": ["granted", "awaiting counselling", "declined"],
                                  "patients": [820, 35, 10]})
        """,
        [],
    ),
    (
        "code",
        """
        chart_block(
            alt.Chart(monthly).mark_bar().encode(
                x="month:N", y="requests:Q", tooltip=["month:N", "requests:Q"]),
            monthly, "Requests per month", "Requests peaked in September.")
        """,
        [],
    ),
    (
        "code",
        """
        chart_block(
            alt.Chart(by_age).mark_line(point=True).encode(x="age_band:N", y="opted_in:Q"),
            by_age, "Opted in by age band", "Most opt-ins are aged 18 to 64.")
        """,
        [],
    ),
    (
        "code",
        """
        chart_block(
            alt.Chart(by_status).mark_arc().encode(theta="patients:Q", color="status:N"),
            by_status, "Requests by status", "Nearly all requests were granted.")
        """,
        [],
    ),
]


def build_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source, tags in CELLS:
        source = textwrap.dedent(source).strip()
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(
            source
        )
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)


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
    report = open_offline(page)
    assert len(report.network_requests) == 4, report.network_requests
    assert all("example.org" in url for url in report.network_requests)
    assert any("vegaEmbed" in err for err in report.page_errors)
    assert (report.chart_count, report.charts_rendered) == (1, 0)
    assert not report.ok


def test_report_notebook_renders_offline_in_chromium(tmp_path):
    require_browser()
    papermill = pytest.importorskip("papermill")
    source, executed = tmp_path / "report.ipynb", tmp_path / "report-out.ipynb"
    build_notebook(source)

    nb = papermill.execute_notebook(
        str(source),
        str(executed),
        parameters={"practice": "B82002"},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    # The kernel is this virtualenv's Python (the package under test, same versions).
    assert (tmp_path / "kernel_prefix.txt").read_text() == sys.prefix

    html = notebook_to_html(nb, "Opt-in report B82002, October 2026")
    out = write_html_atomically(html, tmp_path / "report.html")
    screenshot = tmp_path / "render-check.png"  # under pytest's tmp_path: no shared fixed file
    report = open_offline(out, screenshot=screenshot, hover_selector=".chart svg path[role]")

    assert report.console_errors == []
    assert report.page_errors == []
    assert report.network_requests == []
    assert report.failed_requests == []
    assert report.chart_count == 3
    assert report.charts_rendered == 3
    assert report.tooltip_text is not None and "2026-" in report.tooltip_text  # tooltips work
    assert report.ok
    assert report.screenshot == screenshot and screenshot.stat().st_size > 10_000
    assert "Practice <strong>B82002</strong>" in html  # the injected parameter was used
