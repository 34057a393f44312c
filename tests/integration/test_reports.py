"""Outgoing reports of the sample: structure, offline, disclosure control, no patient data."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import load_mapping
from optin_analysis.outgoing.summary import COUNT_KEYS, LABELS
from optin_analysis.reports.render import find_external_resources, vega_bundle
from tests.browser import open_offline, require_browser

ROLLUP_SECTIONS = ["Needs attention first", "Practices side by side", "ICB totals"]
REPORT_SECTIONS = {
    "monthly-report.html": [
        "Headline measures", "Commentary", "Protection coverage", "Action plan",
    ],
    "dpia-evidence.html": ["Risks, mitigations and evidence", "Sign-off"],
}  # fmt: skip


def _outgoing_files(run):
    for p in run.config.practices:
        folder = run.folder(p.ods_code)
        yield p, [folder / "summary.json", *(folder / name for name in REPORT_SECTIONS)]


def test_every_practice_gets_summary_and_both_reports(sample_run):
    for _profile, files in _outgoing_files(sample_run):
        for path in files:
            assert path.is_file() and path.stat().st_size > 1000, path
    leftovers = list((sample_run.config.reports_dir / sample_run.period).glob(".*"))
    assert leftovers == []  # no staging folders left behind


def _patient_strings(profile, summary: dict) -> set[str]:
    """Identifiers and dates of birth from the input files, as text in any likely form."""
    mapping = load_mapping(Supplier(profile.supplier))
    raw = pd.read_csv(
        profile.patients, dtype="str", keep_default_na=False,
        skiprows=mapping.patients.skip_rows, encoding="cp1252",
    )  # fmt: skip
    cols = mapping.patients.columns
    ids = set(raw[cols["patient_id"]])
    nhs = {n for n in raw[cols["nhs_number"]] if n}
    dob_text = raw[cols["date_of_birth"]]
    dob = pd.to_datetime(dob_text, format=mapping.patients.date_format)
    # Report dates that a birth date may coincide with (a newborn born on the go-live date,
    # say): their presence is explained by the profile, not by a patient.
    report_dates = {
        d.isoformat()
        for d in (
            profile.go_live_date,
            profile.extract_date,
            profile.supplier_setting_date,
            profile.website_updated,
            profile.icb_informed,
        )
        if d
    } | {summary["ref_date"], summary["period_start"], summary["generated"][:10]}
    for figures in (summary["headline"], summary["previous"] or {}):
        report_dates |= {str(v) for k, v in figures.items() if "date" in k or k == "period_start"}
    dobs = set(dob_text) | {d for d in dob.dt.strftime("%Y-%m-%d") if d not in report_dates}
    # Dates of birth as a reader would see them are only a risk with the year: all are.
    return ids | nhs | dobs


def _leak_finder(profile, summary: dict):
    needles = _patient_strings(profile, summary)
    assert len(needles) > 1000  # the check really looks for thousands of strings
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len)[::-1]))
    # The Vega library itself (identical in every report) is not report content.
    return lambda text: pattern.findall(text.replace(vega_bundle(), ""))


def test_no_patient_identifier_or_birth_date_in_any_outgoing_file(sample_run):
    period_dir = sample_run.config.reports_dir / sample_run.period
    rollup_files = [period_dir / "icb-rollup.html", period_dir / "rollup.json"]
    for profile, files in _outgoing_files(sample_run):
        leaks = _leak_finder(profile, json.loads(files[0].read_text(encoding="utf-8")))
        for path in files + rollup_files:  # the roll-up holds every practice's figures
            found = leaks(path.read_text(encoding="utf-8"))
            assert not found, f"{path.name} contains {profile.ods_code}'s {found[:5]}"


def test_the_leak_check_finds_a_planted_identifier(sample_run):
    profile, files = next(_outgoing_files(sample_run))
    leaks = _leak_finder(profile, json.loads(files[0].read_text(encoding="utf-8")))
    html = files[1].read_text(encoding="utf-8")
    planted = html.replace("</table>", "<tr><td>SYN-Y90001-0000042</td></tr></table>", 1)
    assert leaks(html) == []
    assert leaks(planted) == ["SYN-Y90001-0000042"]


def test_summary_json_is_aggregate_and_controlled(sample_run):
    summary = json.loads((sample_run.folder("Y90001") / "summary.json").read_text())
    rule = summary["disclosure"]
    assert rule["enabled"] and rule["redact_at_or_below"] == 7
    counts = [v for t in summary["tables"].values() for row in t for v in row.values()
              if isinstance(v, int) and not isinstance(v, bool)]  # fmt: skip
    assert counts and all(v == 0 or (v > 7 and v % 5 == 0) for v in counts)
    head = summary["headline"]
    assert all(head[k] is None or head[k] == 0 or head[k] % 5 == 0
               for k in ("eligible", "revocation_backlog", "open_requests"))  # fmt: skip


@pytest.mark.parametrize("name", list(REPORT_SECTIONS))
def test_html_has_no_code_no_prompts_no_external_urls(sample_run, name):
    html = (sample_run.folder("Y90002") / name).read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.select(".jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt")
    assert "import optin_analysis" not in html and "views." not in soup.get_text()
    assert find_external_resources(html) == []
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for el in soup.find_all(tag):
            assert not str(el.get(attr, "")).startswith(("http:", "https:", "//")), el
    headings = [h.get_text(strip=True) for h in soup.find_all(["h1", "h2"])]
    for section in REPORT_SECTIONS[name]:
        assert any(section in h for h in headings), (section, headings)
    assert "Y90002" in soup.title.get_text() and "2026-10" in soup.title.get_text()


def test_small_counts_are_suppressed_in_the_report(sample_run):
    # every headline count from 1 to 7 (exact, from the run) is printed as [c], never as is
    small = [
        (r, key)
        for r in sample_run.results
        for key in LABELS
        if key in COUNT_KEYS and 1 <= (r.headline or {}).get(key, 0) <= 7
    ]
    assert small, "the sample has no small headline count to check"
    for result, key in small:
        html = (sample_run.folder(result.ods_code) / "monthly-report.html").read_text("utf-8")
        soup = BeautifulSoup(html, "html.parser")
        row = next(tr for tr in soup.find_all("tr") if tr.th is None and LABELS[key] in tr.text)
        assert row.find_all("td")[1].get_text(strip=True) == "[c]", (result.ods_code, key)
        assert "are suppressed ([c])" in soup.get_text()


@pytest.mark.parametrize("name", [*REPORT_SECTIONS, "../icb-rollup.html"])
def test_report_opens_offline_with_every_chart_drawn(sample_run, name, tmp_path):
    require_browser()
    page = open_offline(sample_run.folder("Y90001") / name, screenshot=tmp_path / "page.png")
    assert page.network_requests == [], page.network_requests
    assert page.console_errors == [] and page.page_errors == []
    assert page.chart_count >= 1
    assert page.charts_rendered == page.chart_count


def test_rollup_has_every_practice_and_no_code(sample_run):
    html = (sample_run.config.reports_dir / sample_run.period / "icb-rollup.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.select(".jp-InputArea") and find_external_resources(html) == []
    headings = [h.get_text(strip=True) for h in soup.find_all("h2")]
    assert all(any(s in h for h in headings) for s in ROLLUP_SECTIONS), headings
    table = next(t for t in soup.find_all("table") if "Backlog" in t.get_text())
    rows = table.find_all("tr")[1:]
    assert sorted(r.find("td").get_text() for r in rows) == [
        f"Synthetic Practice {i} (Y9000{i})" for i in range(1, 6)
    ]
