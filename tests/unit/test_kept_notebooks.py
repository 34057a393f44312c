"""A report notebook kept by ``--keep-notebooks`` reads the same when opened again."""

from __future__ import annotations

import base64
import re

import altair as alt
import nbformat
import pandas as pd

from optin_analysis.reports.notebooks import reopenable
from optin_analysis.reports.render import _figure_html, charts_as_images


def _figure() -> str:
    table = pd.DataFrame({"month": ["2026-09", "2026-10"], "requests": [3, 5]})
    chart = alt.Chart(table).mark_bar().encode(x="month:N", y="requests:Q")
    return _figure_html(chart, table, "Requests <by> month", "More asked in October", "")


def test_a_chart_becomes_an_image_of_the_same_svg():
    page = _figure()
    svg = re.search(r"<svg\b.*</svg>", page, re.S).group(0)
    got = charts_as_images(page)
    assert "<svg" not in got  # JupyterLab strips inline SVG from an untrusted notebook
    [src] = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', got)
    assert base64.b64decode(src).decode("utf-8") == svg
    # the alternative text is the chart's title and description, escaped
    assert 'alt="Requests &lt;by&gt; month: More asked in October"' in got
    # the caption and the figures as a table stay as they were
    assert got.replace(got[got.index("<img") : got.index(">", got.index("<img")) + 1], svg) == page


def test_a_kept_notebook_points_at_the_published_summary():
    cells = [
        nbformat.v4.new_code_cell("summary_path = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            'summary_path = "/r/.Y90001.partial-x/summary.json"',
            metadata={"tags": ["injected-parameters"]},
        ),
        nbformat.v4.new_code_cell("views.uptake_chart(bundle)"),
    ]
    cells[2].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": _figure(), "text/plain": "x"})
    ]
    executed = nbformat.v4.new_notebook(cells=cells, metadata={"papermill": {"parameters": {}}})
    kept = reopenable(executed, {"practice": "Y90001", "summary_path": "/r/Y90001/summary.json"})
    assert kept.cells[1].source == (
        '# Parameters\npractice = "Y90001"\nsummary_path = "/r/Y90001/summary.json"\n'
    )
    assert kept.metadata.papermill.parameters["summary_path"] == "/r/Y90001/summary.json"
    html = kept.cells[2].outputs[0]["data"]["text/html"]
    assert "<svg" not in html and 'src="data:image/svg+xml;base64,' in html
    assert kept.cells[0].source == "summary_path = None"  # the notebook's own cell stays
    assert "<svg" in executed.cells[2].outputs[0]["data"]["text/html"]  # not modified
