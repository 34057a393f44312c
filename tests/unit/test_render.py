"""Offline HTML reports: optin_analysis.reports.render without a kernel or a browser.

Outputs are captured from the real public function (``chart_block``) by replacing
``IPython.display.display``, then wrapped in nbformat outputs exactly as a kernel would
store them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import altair as alt
import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from optin_analysis.reports import render

SOURCE_MARKER = "SECRET_SOURCE_LINE = 42"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def shown(monkeypatch) -> list[nbformat.NotebookNode]:
    """Outputs displayed via IPython.display.display, as nbformat display_data outputs."""
    outputs: list[nbformat.NotebookNode] = []

    def fake_display(obj, raw=False, metadata=None, **_):
        assert raw, "render should display raw mimebundles"
        outputs.append(nbformat.v4.new_output("display_data", data=obj, metadata=metadata or {}))

    monkeypatch.setattr("IPython.display.display", fake_display)
    monkeypatch.setattr("IPython.get_ipython", lambda: object())  # as if in a kernel
    return outputs


def counts(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {"month": [f"2026-{m % 12 + 1:02d}" for m in range(n)], "requests": range(10, 10 + n)}
    )


def bar(df: pd.DataFrame | None = None) -> alt.Chart:
    df = counts() if df is None else df
    return alt.Chart(df).mark_bar().encode(x="month:N", y="requests:Q")


def notebook_with(outputs, markdown: str = "# Monthly report\nIntro.") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    cell = nbformat.v4.new_code_cell(SOURCE_MARKER, execution_count=3)
    cell.outputs = list(outputs)
    nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def three_chart_report(shown) -> nbformat.NotebookNode:
    for i in range(3):
        render.chart_block(bar(), counts(), f"Chart {i}", f"Requests per month, view {i}.")
    result = nbformat.v4.new_output(
        "execute_result", data={"text/plain": "'done'"}, execution_count=3
    )
    stderr = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: internal\n")
    return notebook_with([*shown, result, stderr])


def soup_of(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


# --------------------------------------------------------------------------- the page


def test_report_has_no_code_prompts_or_stderr(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Practice A, October 2026")
    soup = soup_of(html)
    assert SOURCE_MARKER not in html
    code_parts = ".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt, .jp-Editor"
    assert len(soup.select(".jp-CodeCell")) == 1
    assert not soup.select(code_parts)
    assert not re.search(r"(In|Out)\s*(&nbsp;|\s)*\[\s*\d*\s*\]", soup.get_text())
    assert "UserWarning: internal" not in html
    assert "'done'" in soup.get_text()  # ordinary outputs are kept
    assert soup.find("h1").get_text(strip=True) == "Monthly report"  # markdown kept


def test_report_has_no_script_and_fetches_nothing_from_outside_the_file(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Report")
    soup = soup_of(html)
    assert soup.find_all("script") == []
    assert render.find_external_resources(html) == []
    # every chart is drawn already: an SVG inside each figure
    figures = soup.select("figure.chart-block")
    assert len(figures) == 3 and all(f.select_one("div.chart > svg") for f in figures)


def test_charts_are_static_svg_labelled_for_screen_readers(shown):
    render.chart_block(
        bar(),
        counts(),
        "Requests by month",
        "Requests rose in March.",
        "A bar chart of requests per month; they rose in March.",
    )
    html = render.notebook_to_html(notebook_with(shown), "Report")
    svg = soup_of(html).select_one("figure.chart-block svg")
    assert svg["role"] == "img"
    title_id, desc_id = svg["aria-labelledby"].split()
    assert svg.find(id=title_id).get_text() == "Requests by month"
    assert "rose in March" in svg.find(id=desc_id).get_text()
    assert "vegaEmbed" not in html


def test_title_is_set_and_escaped(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Practice <A> & B")
    assert "<title>Practice &lt;A&gt; &amp; B</title>" in html
    with pytest.raises(ValueError, match="title"):
        render.notebook_to_html(three_chart_report(shown), "  ")


def test_stylesheet_is_print_friendly_and_small(shown):
    html = render.notebook_to_html(notebook_with([]), "Report")
    assert "@page" in html and "A4" in html
    assert len(html) < 20_000  # no 250 kB lab theme


def test_input_notebook_is_not_modified(shown):
    nb = three_chart_report(shown)
    before = nbformat.writes(nb)
    render.notebook_to_html(nb, "Report")
    assert nbformat.writes(nb) == before


def test_outside_ipython_only_text_is_printed(capsys, monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    render.chart_block(bar(), counts(), "Requests by month", "Requests rose in March.")
    printed = capsys.readouterr().out
    assert printed.startswith("Requests by month: Requests rose in March.")
    assert "<svg" not in printed


def test_chart_labels_cannot_inject_markup(shown):
    df = pd.DataFrame({"month": ["</svg><script>alert(1)</script>"], "requests": [5]})
    render.chart_block(bar(df), df, "Escaping <b>", "A label that looks like markup.")
    html = render.notebook_to_html(notebook_with(shown), "Report")
    assert "<script>alert(1)" not in html and "<b>" not in html


@pytest.mark.parametrize("column", ["patient_id", "NHS Number", "date-of-birth", "nhsnumber"])
def test_chart_block_refuses_patient_level_columns(shown, column):
    df = counts().assign(**{column: "x"})
    chart = alt.Chart(df).mark_bar().encode(x="month:N", y="requests:Q")
    with pytest.raises(ValueError, match="patient-level"):
        render.chart_block(chart, counts(), "T", "D.")
    with pytest.raises(ValueError, match="patient-level"):  # the table is checked too
        render.chart_block(bar(), df, "T", "D.")
    assert not [o for o in shown if "chart-block" in o.data.get("text/html", "")]


def test_chart_block_refuses_more_than_500_rows(shown):
    render.chart_block(bar(counts(500)), counts(500), "Largest allowed", "500 rows.")
    with pytest.raises(ValueError, match="501 rows"):
        render.chart_block(bar(counts(501)), counts(3), "Too big", "501 rows.")
    with pytest.raises(ValueError, match="501 rows"):
        render.chart_block(bar(), counts(501), "Too big", "Table of 501 rows.")


def test_chart_block_refuses_url_data_and_bad_arguments(shown):
    chart = alt.Chart("https://example.org/rows.csv").mark_bar().encode(x="a:N", y="b:Q")
    with pytest.raises(ValueError, match="URL"):
        render.chart_block(chart, counts(), "T", "D.")
    with pytest.raises(TypeError):
        render.chart_block(bar(), counts().to_dict(), "T", "D.")
    with pytest.raises(ValueError, match="title"):
        render.chart_block(bar(), counts(), "", "D.")


def test_chart_block_figure_has_caption_chart_and_table(shown):
    render.chart_block(bar(), counts(), "Requests by month", "Requests rose in March.")
    html = render.notebook_to_html(notebook_with(shown), "Report")
    figure = soup_of(html).select_one("figure.chart-block")
    assert "Requests by month" in figure.figcaption.get_text()
    assert "Requests rose in March." in figure.figcaption.get_text()
    assert figure.select_one("div.chart svg") is not None
    details = figure.select_one("details")
    assert details.summary.get_text() == "Figures as a table"
    cells = [td.get_text() for td in details.select("td")]
    assert cells[:2] == ["2026-01", "10"]


def test_interactive_charts_and_scripts_are_refused(shown):
    spec_only = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.vegalite.v6+json": bar().to_dict(), "text/plain": "chart"},
    )
    with pytest.raises(ValueError, match="interactive chart"):
        render.notebook_to_html(notebook_with([spec_only]), "Report")
    script = nbformat.v4.new_output(
        "display_data", data={"text/html": "<div></div><script>1</script>", "text/plain": "x"}
    )
    with pytest.raises(ValueError, match="script"):
        render.notebook_to_html(notebook_with([script]), "Report")


def test_error_and_widget_outputs_are_refused():
    error = nbformat.v4.new_output("error", ename="KeyError", evalue="x", traceback=[])
    with pytest.raises(ValueError, match="error"):
        render.notebook_to_html(notebook_with([error]), "Report")
    widget = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.jupyter.widget-view+json": {"model_id": "1", "version_major": 2}},
    )
    with pytest.raises(ValueError, match="widget"):
        render.notebook_to_html(notebook_with([widget]), "Report")


def test_remote_markdown_image_is_refused():
    nb = notebook_with([], markdown="# R\n![logo](https://example.org/logo.png)")
    with pytest.raises(ValueError, match="example.org/logo.png"):
        render.notebook_to_html(nb, "Report")


def test_find_external_resources():
    html = """<html><head>
      <script src="https://cdn.example/vega.js"></script><script src=""></script>
      <link rel="stylesheet" href="//fonts.example/css">
      <style>@import "x.css"; body { background: url('https://img.example/b.png') }
             .ok { background: url(data:image/png;base64,AAAA) }</style></head>
      <body><img src="chart.png"><img src="data:image/png;base64,AAAA">
      <div style="background:url(http://x.example/y.png)"></div>
      <a href="https://www.nhs.uk/">a link is not a fetch</a></body></html>"""
    found = render.find_external_resources(html)
    joined = " ".join(found)
    for url in ("cdn.example", "fonts.example", "x.css", "img.example", "chart.png", "x.example"):
        assert url in joined
    assert "src=''" in joined  # empty src re-requests the page
    assert "nhs.uk" not in joined
    assert "data:" not in joined
    assert len(found) == 7


# --------------------------------------------------------------------------- atomic write


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_html_atomically_writes_and_replaces(tmp_path):
    target = tmp_path / "reports" / "2026-10" / "A81001.html"
    assert render.write_html_atomically("<p>first</p>", target) == target
    assert target.read_text(encoding="utf-8") == "<p>first</p>"
    target.chmod(0o640)
    render.write_html_atomically("<p>second – £5</p>", target)
    assert target.read_text(encoding="utf-8") == "<p>second – £5</p>"
    assert target.stat().st_mode & 0o777 == 0o640
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_write_html_atomically_keeps_old_file_on_failure(tmp_path, monkeypatch, failing):
    target = tmp_path / "report.html"
    target.write_text("<p>old, complete</p>", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="disk full"):
        render.write_html_atomically("<p>new</p>" * 1000, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "<p>old, complete</p>"
    assert leftovers(tmp_path) == []
