"""Offline HTML reports: optin_analysis.reports.render without a kernel or a browser.

Outputs are captured from the real public functions (``use_offline_charts``,
``chart_block``, Altair's own display path) by replacing ``IPython.display.display``,
then wrapped in nbformat outputs exactly as a kernel would store them.
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


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    """Each test starts like a fresh kernel; Altair's renderer is restored afterwards."""
    monkeypatch.setattr(render, "_issued_ids", {})
    monkeypatch.setattr(render, "_live_bundle_shown", False)
    previous = alt.renderers.active
    yield
    alt.renderers.enable(previous)


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
        {"month": [f"2026-{m:02d}" for m in range(1, n + 1)], "requests": range(10, 10 + n)}
    )


def bar(df: pd.DataFrame | None = None) -> alt.Chart:
    df = counts() if df is None else df
    return alt.Chart(df).mark_bar().encode(x="month:N", y="requests:Q", tooltip=["month"])


def notebook_with(outputs, markdown: str = "# Monthly report\nIntro.") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    cell = nbformat.v4.new_code_cell(SOURCE_MARKER, execution_count=3)
    cell.outputs = list(outputs)
    nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def three_chart_report(shown) -> nbformat.NotebookNode:
    render.use_offline_charts()
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
    assert "'done'" in html  # ordinary outputs are kept
    assert soup.find("h1").get_text(strip=True) == "Monthly report"  # markdown kept


def test_report_fetches_nothing_from_outside_the_file(shown):
    soup = soup_of(render.notebook_to_html(three_chart_report(shown), "Report"))
    srcs = [t["src"] for t in soup.find_all(["script", "img"]) if t.has_attr("src")]
    hrefs = [t["href"] for t in soup.find_all("link") if t.has_attr("href")]
    assert all(v.startswith("data:") for v in srcs + hrefs), srcs + hrefs
    styles = " ".join(s.get_text() for s in soup.find_all("style"))
    assert not re.search(r"url\(\s*['\"]?(?!data:)", styles)
    assert "@import" not in styles
    text = str(soup).lower()
    for cdn_script in ("require.js", "require.min.js", "mathjax", "mermaid", "html-manager"):
        assert cdn_script not in text.replace(render.vega_bundle().lower(), "")


def test_vega_bundle_appears_once_in_head_with_three_charts(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Report")
    soup = soup_of(html)
    bundles = soup.select('script[data-optin-role="vega-bundle"]')
    assert len(bundles) == 1
    assert bundles[0].find_parent("head") is not None
    assert html.count("window.vegaEmbed=") == 1  # the bundle's own assignment
    charts = soup.select("div.chart")
    assert len(charts) == 3
    assert len({c["id"] for c in charts}) == 3
    for chart in charts:
        script = chart.find_next_sibling("script")
        assert "vegaEmbed(el" in script.get_text()
        assert '"actions":false' in script.get_text()
        assert '"renderer":"svg"' in script.get_text()


def test_page_without_charts_has_no_bundle():
    out = nbformat.v4.new_output("display_data", data={"text/html": "<p>Counts only</p>"})
    html = render.notebook_to_html(notebook_with([out]), "Report")
    assert "Counts only" in html
    assert "window.vegaEmbed=" not in html


def test_title_is_set_and_escaped(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Practice <A> & B")
    assert soup_of(html).title.get_text() == "Practice <A> & B"
    assert "<A>" not in html.split("</title>")[0]
    with pytest.raises(ValueError, match="title"):
        render.notebook_to_html(three_chart_report(shown), "  ")


def test_stylesheet_is_print_friendly_and_small(shown):
    html = render.notebook_to_html(three_chart_report(shown), "Report")
    css = " ".join(s.get_text() for s in soup_of(html).find_all("style"))
    assert "size: A4" in css
    assert "max-width" in css
    assert re.search(r"@media print\s*{[^@]*figure[^{]*{[^}]*break-inside:\s*avoid", css)
    assert re.search(r"th, td\s*{[^}]*border:", css)
    # Everything except the Vega bundle stays small (lab's theme CSS alone is ~250 kB).
    assert len(html) - len(render.vega_bundle()) < 40_000


def test_input_notebook_is_not_modified(shown):
    nb = three_chart_report(shown)
    before = nbformat.writes(nb)
    render.notebook_to_html(nb, "Report")
    assert nbformat.writes(nb) == before


# --------------------------------------------------------------------------- charts


def test_renderer_emits_div_and_script_only(shown):
    render.use_offline_charts()
    assert alt.renderers.active == render.RENDERER_NAME
    bundle = bar()._repr_mimebundle_()
    html = bundle["text/html"]
    assert html.startswith('<div class="chart" id="chart-')
    assert html.count("<script") == 1
    assert len(html) < 5_000  # the 0.9 MB library is not in the chart output
    # the live-JupyterLab copy of the bundle is displayed once and marked live-only
    assert len(shown) == 1
    assert shown[0].metadata["optin_analysis"]["live_only"] is True


def test_outside_ipython_only_text_is_printed(capsys):
    render.use_offline_charts()
    render.chart_block(bar(), counts(), "Requests by month", "Requests rose in March.")
    printed = capsys.readouterr().out
    assert printed.startswith("Requests by month: Requests rose in March.")
    assert "vegaEmbed" not in printed


def test_chart_ids_are_stable_across_runs(monkeypatch):
    first_run = [render._chart_html(bar().to_dict()) for _ in range(2)]
    monkeypatch.setattr(render, "_issued_ids", {})  # a new kernel
    second_run = [render._chart_html(bar().to_dict()) for _ in range(2)]
    ids = [re.search(r'id="([^"]+)"', h).group(1) for h in first_run]
    assert first_run == second_run
    assert ids[1] == ids[0] + "-2"


def test_chart_data_cannot_break_out_of_the_script(shown):
    df = pd.DataFrame({"month": ["</script><script>alert(1)</script>"], "requests": [5]})
    render.use_offline_charts()
    render.chart_block(bar(df), df, "Escaping", "A label that looks like markup.")
    html = render.notebook_to_html(notebook_with(shown), "Report")
    assert "<script>alert(1)" not in html
    assert "\\u003c/script>" in html  # still in the spec, as a JSON escape


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
    assert figure.select_one("div.chart") is not None
    details = figure.select_one("details")
    assert details.summary.get_text() == "Figures as a table"
    cells = [td.get_text() for td in details.select("td")]
    assert cells[:2] == ["2026-01", "10"]


def test_renderer_withholds_patient_level_chart_and_export_refuses(shown):
    render.use_offline_charts()
    df = counts().assign(nhs_number="9434765919")
    bundle = alt.Chart(df).mark_bar().encode(x="month:N", y="requests:Q")._repr_mimebundle_()
    assert "vegaEmbed" not in bundle["text/html"]
    assert "9434765919" not in bundle["text/html"]
    out = nbformat.v4.new_output("display_data", data=bundle)
    with pytest.raises(ValueError, match="withheld"):
        render.notebook_to_html(notebook_with([out]), "Report")


def test_charts_not_drawn_offline_are_refused():
    alt.renderers.enable("html")  # Altair's default: loads Vega from a CDN at run time
    cdn = nbformat.v4.new_output("display_data", data=bar()._repr_mimebundle_())
    with pytest.raises(ValueError, match="network"):
        render.notebook_to_html(notebook_with([cdn]), "Report")
    spec_only = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.vegalite.v6+json": bar().to_dict(), "text/plain": "chart"},
    )
    with pytest.raises(ValueError, match="use_offline_charts"):
        render.notebook_to_html(notebook_with([spec_only]), "Report")


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
