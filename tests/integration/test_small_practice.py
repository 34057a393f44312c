"""Every report type of practices where nearly everything is small (about 30 patients).

Every suppressed figure reads "[c]" (never a blank, a dash, a 0 or "no figure"), and no
chart is drawn empty: a chart with nothing publishable is replaced by a sentence.
"""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup

from optin_analysis.config import GoLiveStatus, Model, Practice, RunConfig, Supplier
from optin_analysis.generate import Branch, generate, write_sample
from optin_analysis.outgoing.summary import LABELS, figure_text
from optin_analysis.run.batch import Options, close, run_batch, write_rollup
from tests.system import dpia_pdf

MARK = "[c]"
PERIOD = "2026-10"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    branches = (Branch(Supplier.EMIS, GoLiveStatus.LIVE), Branch(Supplier.TPP, GoLiveStatus.LIVE))
    synth = generate(2, 60, seed=3, branches=branches)
    write_sample(synth, out / "extracts", seed=3)
    practices = [
        Practice(
            **{
                **p,
                "patients": out / "extracts" / p["patients"],
                "events": out / "extracts" / p["events"],
            }
        )
        for p in synth.profiles
    ]
    assert all(p.model is Model.OPT_IN for p in practices)
    cfg = RunConfig(
        practices=practices, reports_dir=out / "reports", worklists_dir=out / "worklists"
    )
    results = run_batch(cfg, practices, PERIOD, Options(pdf=bool(dpia_pdf())))
    assert all(r.status == "ok" for r in results), [r.problem for r in results]
    write_rollup(cfg, PERIOD, results=results)
    close()
    return cfg


def _page(path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _drawn(svg) -> bool:
    """Whether an SVG chart draws any data mark (bars, points, lines, not just text)."""
    marks = svg.select("g.role-mark")
    return any(
        "mark-text" not in " ".join(g.get("class", [])) and g.find(["path", "line"]) for g in marks
    )


def test_every_suppressed_headline_figure_reads_c(small_run):
    checked = 0
    for p in small_run.practices:
        folder = small_run.reports_dir / PERIOD / p.ods_code
        summary = json.loads((folder / "summary.json").read_text())
        page = _page(folder / "monthly-report.html")
        rows = {
            tr.td.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
            for tr in page.find_all("tr")
            if tr.td is not None
        }
        for key, label in LABELS.items():
            if summary["headline"].get(key) == MARK:
                assert rows[label][1] == MARK, (p.ods_code, label, rows[label])
                checked += 1
            assert rows[label][1] == figure_text(key, summary["headline"])
    assert checked >= 5  # nearly everything is small


@pytest.mark.parametrize("name", ["monthly-report.html", "dpia.html"])
def test_no_dash_blank_or_nan_where_a_figure_belongs(small_run, name):
    for p in small_run.practices:
        page = _page(small_run.reports_dir / PERIOD / p.ods_code / name)
        cells = [td.get_text(strip=True) for td in page.find_all("td")]
        assert "" not in cells and "–" not in cells and "-" not in cells, p.ods_code
        text = page.get_text(" ")
        assert not re.search(r"\bnan\b|\bNaT\b|None|no figure", text), p.ods_code
        assert MARK in text


def test_no_chart_is_empty_in_any_report(small_run):
    pages = [
        small_run.reports_dir / PERIOD / p.ods_code / name
        for p in small_run.practices
        for name in ("monthly-report.html", "dpia.html")
    ]
    pages.append(small_run.reports_dir / PERIOD / "icb-rollup.html")
    for path in pages:
        for figure in _page(path).select("figure.chart-block"):
            title = figure.select_one(".chart-title").get_text()
            assert _drawn(figure.select_one("svg")), f"{path.name}: {title} is empty"


def test_rollup_totals_with_suppressed_practices_say_at_least(small_run):
    rollup = json.loads((small_run.reports_dir / PERIOD / "rollup.json").read_text())
    page = _page(small_run.reports_dir / PERIOD / "icb-rollup.html").get_text(" ")
    hidden = [k for k, t in rollup["totals"].items() if t["suppressed"]]
    assert hidden, "nothing was suppressed: the practices are not small enough"
    assert page.count("at least") >= len(hidden)
