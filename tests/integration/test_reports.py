"""Reports of the sample run as their readers get them: content, offline, no patient data."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import load_mapping
from optin_analysis.outgoing.summary import DEFAULT_MODEL_LABELS, LABELS, figure_text
from optin_analysis.reports.render import find_external_resources
from tests.browser import open_offline, require_browser
from tests.disclosure.test_attack import BASE
from tests.system import dpia_pdf, require

MARK = "[c]"
REPORT_SECTIONS = {
    "monthly-report.html": [
        "Headline measures",
        "What the figures say",
        "Protection from automatic access",
        "Action plan",
    ],
    "dpia.html": [
        "Step 1",
        "Step 2",
        "Step 3",
        "Step 4",
        "Step 5",
        "Step 6",
        "Step 7",
    ],
}
ROLLUP_SECTIONS = ["four steps", "Needs attention first", "side by side", "ICB totals"]
MAX_BYTES = 300_000
#: Monthly report sections only an opt-in practice has.
OPT_IN_SECTIONS = ("Protection from automatic access", "Action plan")


def _soup(path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _outgoing_files(run):
    for p in run.config.practices:
        folder = run.folder(p.ods_code)
        names = ["summary.json", *REPORT_SECTIONS, *dpia_pdf()]
        yield p, [folder / name for name in names]


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_every_practice_gets_summary_reports_and_dpia_pdf(sample_run):
    for _profile, files in _outgoing_files(sample_run):
        for path in files:
            assert path.is_file() and path.stat().st_size > 1000, path
    leftovers = list((sample_run.config.reports_dir / sample_run.period).glob(".*"))
    assert leftovers == []  # no staging folders left behind


# --------------------------------------------------------------------------- privacy


def _patient_strings(profile, *summaries: dict) -> set[str]:
    """Identifiers and dates of birth from the input files, as text in any likely form."""
    mapping = load_mapping(Supplier(profile.supplier))
    raw = pd.read_csv(
        profile.patients,
        dtype="str",
        keep_default_na=False,
        skiprows=mapping.patients.skip_rows,
        encoding="cp1252",
    )
    cols = mapping.patients.columns
    ids = set(raw[cols["patient_id"]])
    nhs = {n for n in raw[cols["nhs_number"]] if n}
    dob_text = raw[cols["date_of_birth"]]
    dob = pd.to_datetime(dob_text, format=mapping.patients.date_format)
    # Dates a report shows for other reasons (the profile's dates, the period, the DPIA
    # sign-off and review) may coincide with a birth date; their presence is not a
    # patient's. The roll-up shows every practice's.
    shown = set(re.findall(r"\d{4}-\d{2}-\d{2}", json.dumps(summaries)))
    dobs = set(dob_text) | {d for d in dob.dt.strftime("%Y-%m-%d") if d not in shown}
    return ids | nhs | dobs


def _leak_finder(profile, *summaries: dict):
    needles = _patient_strings(profile, *summaries)
    assert len(needles) > 1000  # the check really looks for thousands of strings
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len)[::-1]))
    return pattern.findall


def test_no_patient_identifier_or_birth_date_in_any_outgoing_file(sample_run):
    period_dir = sample_run.config.reports_dir / sample_run.period
    rollup_files = [period_dir / "icb-rollup.html", period_dir / "rollup.json"]
    practices = list(_outgoing_files(sample_run))
    summaries = [json.loads(files[0].read_text(encoding="utf-8")) for _, files in practices]
    for (profile, files), summary in zip(practices, summaries, strict=True):
        own, everyone = _leak_finder(profile, summary), _leak_finder(profile, *summaries)
        for path in files + rollup_files:  # the roll-up holds every practice's figures
            text = _pdf_text(path) if path.suffix == ".pdf" else path.read_text("utf-8")
            found = (everyone if path in rollup_files else own)(text)
            assert not found, f"{path.name} contains {profile.ods_code}'s {found[:5]}"


def test_the_leak_check_finds_a_planted_identifier(sample_run):
    profile, files = next(_outgoing_files(sample_run))
    leaks = _leak_finder(profile, json.loads(files[0].read_text(encoding="utf-8")))
    html = files[1].read_text(encoding="utf-8")
    planted = html.replace("</table>", "<tr><td>SYN-Y90001-0000042</td></tr></table>", 1)
    assert leaks(html) == []
    assert leaks(planted) == ["SYN-Y90001-0000042"]


def test_summary_json_counts_are_controlled(sample_run):
    for p in sample_run.config.practices:
        summary = json.loads((sample_run.folder(p.ods_code) / "summary.json").read_text())
        if summary["practice"]["model"] == "default":
            continue
        counts = [
            v
            for t in summary["tables"].values()
            for row in t["rows"]
            for k, v in row.items()
            if isinstance(v, int) and not isinstance(v, bool) and k != "over_days"
        ]
        assert counts and all(v == 0 or (v > 7 and v % 5 == 0) for v in counts), p.ods_code
        head = summary["headline"]
        assert all(
            head[k] == MARK or head[k] == 0 or (head[k] > 7 and head[k] % 5 == 0) for k in BASE
        ), p.ods_code


def test_every_exact_count_from_1_to_7_is_shown_as_c(sample_run):
    # the default-model report shows a shorter table (its own test covers it)
    opt_in = {p.ods_code for p in sample_run.config.practices if p.model.value != "default"}
    small = [
        (r, key)
        for r in sample_run.results
        for key in LABELS
        if r.ods_code in opt_in
        and key in BASE
        and isinstance((r.headline or {}).get(key), int)
        and 1 <= r.headline[key] <= 7
    ]
    assert small, "the sample has no small headline count to check"
    for result, key in small:
        soup = _soup(sample_run.folder(result.ods_code) / "monthly-report.html")
        row = next(tr for tr in soup.find_all("tr") if tr.th is None and LABELS[key] in tr.text)
        assert row.find_all("td")[1].get_text(strip=True) == MARK, (result.ods_code, key)
        assert "[c]: not published" in soup.get_text()


def test_default_model_report_shows_the_figures_nhs_england_monitors(sample_run):
    summary = json.loads((sample_run.folder("Y90005") / "summary.json").read_text())
    soup = _soup(sample_run.folder("Y90005") / "monthly-report.html")
    table = soup.find("table")
    rows = [[c.get_text(strip=True) for c in tr.find_all("td")] for tr in table.find_all("tr")]
    rows = [r for r in rows if r]
    assert [r[0] for r in rows] == list(DEFAULT_MODEL_LABELS.values())
    for (key, _), row in zip(DEFAULT_MODEL_LABELS.items(), rows, strict=True):
        assert row[1] == figure_text(key, summary["headline"]), key
    # each share under the count it is worked out from (67.1% = 2,595 / 3,870)
    assert [r[1] for r in rows[:3]] == ["3,870", "2,595", "67.1%"]
    assert [r[1] for r in rows[3:6]] == ["2,680", "2,595", "96.8%"]
    # read as what it is: not an opt-in report, no opt-in placeholders, no coverage gap
    assert soup.h1.get_text() == "Monthly online access report (default model)"
    assert "placeholder codes" not in soup.get_text()
    assert "Protection coverage" not in [h.get_text(strip=True) for h in soup.find_all("h2")]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("name", list(REPORT_SECTIONS))
def test_html_is_small_static_and_has_its_sections(sample_run, name):
    for p in sample_run.config.practices:
        path = sample_run.folder(p.ods_code) / name
        html = path.read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        assert path.stat().st_size < MAX_BYTES, (p.ods_code, path.stat().st_size)
        assert soup.find_all("script") == [] and find_external_resources(html) == []
        assert not soup.select(".jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt")
        assert "import optin_analysis" not in html and "views." not in soup.get_text()
        headings = [h.get_text(strip=True) for h in soup.find_all(["h1", "h2"])]
        for section in REPORT_SECTIONS[name]:
            if p.model.value == "default" and section in OPT_IN_SECTIONS:
                continue  # automatic access is the default model's design: no opt-in steps
            assert any(section in h for h in headings), (section, headings)
        assert p.ods_code in soup.title.get_text() and "2026-10" in soup.title.get_text()
        assert not re.search(r"\bnan\b|NaT|–</td>|\d\.\d{3,}", soup.get_text(" ")), p.ods_code


def test_every_chart_has_a_message_and_a_text_alternative(sample_run):
    soup = _soup(sample_run.folder("Y90001") / "monthly-report.html")
    figures = soup.select("figure.chart-block")
    assert len(figures) >= 3
    for figure in figures:
        title = figure.select_one(".chart-title").get_text(strip=True)
        message = figure.select_one(".chart-description").get_text(strip=True)
        assert title and len(message) > 30, title
        svg = figure.select_one("svg")
        assert svg["role"] == "img"
        assert all(svg.find(id=i) for i in svg["aria-labelledby"].split())
        assert figure.select_one("details table") is not None  # the figures as text
        # text in the chart at least 12 px
        sizes = [float(s) for s in re.findall(r'font-size="?(\d+(?:\.\d+)?)px', str(svg))]
        assert sizes and min(sizes) >= 12, (title, min(sizes))


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\[c\]|\d[\d,]*(?:\.\d+)?%?|\d{4}-\d{2}-\d{2}", text))


def test_commentary_quotes_only_figures_the_page_shows(sample_run):
    for p in sample_run.config.practices:
        soup = _soup(sample_run.folder(p.ods_code) / "monthly-report.html")
        sentences = " ".join(li.get_text() for li in soup.select("ul.commentary li"))
        tables = " ".join(t.get_text(" ") for t in soup.find_all("table"))
        missing = {
            n
            for n in _numbers(sentences) - _numbers(tables)
            if n not in ("6", "16", "28", "90", "180", "50%")  # months, ages and days
        }
        assert not missing, (p.ods_code, missing, sentences)


def test_commentary_names_the_gaps(sample_run):
    soup = _soup(sample_run.folder("Y90001") / "monthly-report.html")
    text = soup.select_one("ul.commentary").get_text(" ")
    assert "not protected from automatic access" in text  # the unprotected without access
    assert "waited more than 28 days" in text
    assert "turning 16" in text and "automatic full access awaiting review" in text


def test_before_go_live_the_report_says_so(sample_run):
    # Y90004 is TPP, due to go live after the extract: not "live"
    soup = _soup(sample_run.folder("Y90004") / "monthly-report.html")
    facts = soup.select_one("header.title-block dl").get_text(" ")
    assert "not yet live on 2026-10-31" in facts


# --------------------------------------------------------------------------- DPIA


def test_dpia_pdf_has_every_step_and_the_practice_figures(sample_run):
    require("pango")
    folder = sample_run.folder("Y90001")
    summary = json.loads((folder / "summary.json").read_text())
    text = _pdf_text(folder / "dpia.pdf").replace("\xa0", " ")
    for step in range(1, 8):
        assert f"Step {step}:" in text, step
    eligible = f"{summary['headline']['eligible']:,}"
    assert eligible in text and "Synthetic Practice 1" in text
    assert "Article 36" in text or not summary["dpia"]["article_36"]


def test_dpia_shows_approval_date_and_sign_off_from_the_configuration(sample_run):
    profile = sample_run.config.practice("Y90001")
    soup = _soup(sample_run.folder("Y90001") / "dpia.html")
    text = soup.get_text(" ")
    assert profile.dpia_approved.isoformat() in text
    assert profile.dpia_sign_off.measures_approved_by.name in text
    assert f"Accepted by {profile.dpia_sign_off.dpo_advice_accepted_by.name}" in text
    assert "Next review" in text


def test_the_sample_dpias_are_finished(sample_run):
    # The sample shows what a DPIA a DPO would file looks like: nothing left to complete.
    for p in sample_run.config.practices:
        text = _soup(sample_run.folder(p.ods_code) / "dpia.html").get_text(" ")
        assert "TO COMPLETE" not in text, p.ods_code


def test_dpia_says_re_approval_is_needed_and_why(sample_run):
    # Y90001 was approved at R2 medium (2023-08-07); its backlog of 175 leaves R2 at its
    # inherent high; and its review was due 2026-08-06, before 2026-10-31.
    folder = sample_run.folder("Y90001")
    again = json.loads((folder / "summary.json").read_text())["dpia"]["reapproval"]
    assert again["needed"] is True
    assert any(re.fullmatch(r"R2 rose from medium to high (in|by) 2026-\d\d", r)
               for r in again["reasons"])  # fmt: skip
    assert "the review due on 2026-08-06 has passed" in again["reasons"]
    alert = _soup(folder / "dpia.html").select_one("p.alert.reapproval").get_text(" ")
    assert alert.startswith("Re-approval needed: R2 rose from medium to high")
    changed = _soup(folder / "dpia.html").select_one("table.changes").get_text(" ")
    assert "Revocation backlog (patients): 175 (target at most 0) ✘ not met" in changed
    rollup = json.loads(
        (sample_run.config.reports_dir / sample_run.period / "rollup.json").read_text()
    )
    row = next(r for r in rollup["practices"] if r["ods_code"] == "Y90001")
    assert row["dpia_reapproval"] == again["reasons"] and "DPIA needs re-approval" in row["flags"]


def test_a_c_is_judged_from_what_it_can_stand_for(sample_run):
    # Y90004 (TPP, not yet live): opt-in uptake [c] of 900 account holders is at most
    # 7/898 = 0.8%, under the 5% target whatever the [c]: R7 is high on that evidence,
    # said in words. R1's counselled share, [c] of a [c] month of provisions, cannot be
    # bounded: cannot tell, so R1 keeps the register's low (its inherent level is medium).
    dpia = json.loads((sample_run.folder("Y90004") / "summary.json").read_text())["dpia"]
    risks = {r["id"]: r for r in dpia["risks"]}
    (uptake,) = risks["R7"]["mitigations"][0]["evidence"]
    assert uptake["figure"] == MARK and uptake["met"] is False
    assert uptake["note"].endswith("the target is missed whatever it is")
    r1 = risks["R1"]["mitigations"][0]
    assert (r1["status"], risks["R1"]["residual"]) == ("cannot tell this month", "low")


ICO_SECTIONS = [
    *(f"Step {n}:" for n in range(1, 8)),
    *("Nature", "Scope", "Context", "Purposes", "Data flows", "Retention", "Processors",
      "Security measures", "International transfers"),
    "Likelihood of harm", "Severity of harm", "Overall risk",
    "Effect on risk", "Residual risk", "Approved",
    "Measures approved by", "Residual risks approved by", "DPO advice provided",
    "Summary of DPO advice", "DPO advice accepted or overruled by",
    "Consultation responses reviewed by", "This DPIA will be kept under review by",
]  # fmt: skip


def test_every_ico_template_section_is_in_every_branch_s_pdf(sample_run):
    require("pango")
    for p in sample_run.config.practices:  # the five branches, the default model among them
        reader = PdfReader(io.BytesIO((sample_run.folder(p.ods_code) / "dpia.pdf").read_bytes()))
        text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
        text = text.replace("\xa0", " ")
        missing = [s for s in ICO_SECTIONS if s not in text]
        assert not missing, (p.ods_code, missing)
        assert reader.metadata.title == (
            f"Data protection impact assessment: {p.name} ({p.ods_code}), {sample_run.period}"
        )
        assert reader.metadata.author == p.name
        assert reader.metadata["/practice"] == p.ods_code
        pages = len(reader.pages)
        assert f"Page 1 of {pages}" in reader.pages[0].extract_text(), p.ods_code
        assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text(), p.ods_code


def test_the_words_of_each_branch_s_dpia_agree_with_its_figures(sample_run):
    for p in sample_run.config.practices:
        folder = sample_run.folder(p.ods_code)
        h = json.loads((folder / "summary.json").read_text())["headline"]
        text = " ".join(_soup(folder / "dpia.html").get_text(" ").split())
        bulk = h["active_104_bulk"]
        if bulk == MARK or bulk > 0:  # bulk 104s on the page: no "individual, not blanket"
            assert "not a blanket rule" not in text and "none of the active 104" not in text
            assert (
                f"{figure_text('active_104_bulk', h)} patients hold a 104 code added in bulk"
                in text
            )
        if p.model.value == "default":  # the default model in every word
            for word in ("opt-in", "opt in", "revoke", "backlog", "counsel"):
                assert word not in text.lower(), (p.ods_code, word)
            continue
        backlog = h["revocation_backlog"]
        if backlog == 0:
            assert "still hold it this month" not in text, p.ods_code
        else:
            assert f"{figure_text('revocation_backlog', h)} patients" in text, p.ods_code
        if p.go_live_status.value != "live":
            assert "being reviewed and revoked" not in text or backlog != 0, p.ods_code
        step = p.supplier_setting_date.isoformat()
        assert f"{step} the practice" in text or f"Since {step}" in text, p.ods_code


# --------------------------------------------------------------------------- roll-up


def test_rollup_step_matrix_matches_each_practice_s_action_plan(sample_run):
    period_dir = sample_run.config.reports_dir / sample_run.period
    soup = _soup(period_dir / "icb-rollup.html")
    headings = [h.get_text(strip=True) for h in soup.find_all("h2")]
    assert all(any(s in h for h in headings) for s in ROLLUP_SECTIONS), headings
    matrix = next(t for t in soup.find_all("table") if "1. Supplier setting" in t.get_text())
    for row in matrix.find_all("tr")[1:]:
        cells = [td.get_text(strip=True) for td in row.find_all("td")]
        code = re.search(r"\((Y9\d{4})\)", cells[0]).group(1)
        plan = json.loads((sample_run.folder(code) / "summary.json").read_text())["action_plan"]
        shown = [c.split(" ", 1)[1] for c in cells[2:]]  # after the mark; step 1 says why
        assert [c.split(":")[0] if c.startswith("in progress") else c for c in shown] == [
            s["status"] for s in plan
        ], code
    assert "`" not in soup.get_text()  # no Markdown in the page


def test_rollup_shows_default_model_shares_with_counts_and_dpia_review(sample_run):
    soup = _soup(sample_run.config.reports_dir / "2026-10" / "icb-rollup.html")
    section = next(s for s in soup.find_all("section")
                   if s.h2.get_text() == "Practices on the default model")  # fmt: skip
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in section.find_all("tr")]
    y90005 = next(r for r in rows if r and "(Y90005)" in r[0])
    # a text table: its cells wrap, so the DPIA's reason is not cut off at the page edge
    assert "text" in section.table["class"]
    # as in its own report: 2,595 / 3,870 = 67.1%, 2,595 / 2,680 = 96.8%
    assert y90005[2:4] == ["67.1% (2,595 of 3,870)", "96.8% (2,595 of 2,680)"]
    # its next DPIA review was 2026-10-18 (config.yaml), before the extract date 2026-10-31
    assert y90005[-1] == "re-approval needed: the review due on 2026-10-18 has passed"


def test_rollup_totals_never_drop_a_suppressed_practice(sample_run):
    rollup = json.loads((sample_run.config.reports_dir / "2026-10" / "rollup.json").read_text())
    for key, total in rollup["totals"].items():
        values = [r[key] for r in rollup["practices"] if r["model"] != "default"]
        if MARK in values:
            assert total["suppressed"] == values.count(MARK) and not total["exact"], key
    soup = _soup(sample_run.config.reports_dir / "2026-10" / "icb-rollup.html")
    text = soup.get_text(" ")
    if any(t["suppressed"] for t in rollup["totals"].values()):
        assert "at least" in text and "suppressed" in text
    assert "default model" in text and "90%" in text


# --------------------------------------------------------------------------- browser


@pytest.mark.parametrize("name", [*REPORT_SECTIONS, "../icb-rollup.html"])
def test_report_reads_with_scripts_disabled_and_every_chart_drawn(sample_run, name, tmp_path):
    require_browser()
    page = open_offline(
        sample_run.folder("Y90001") / name, screenshot=tmp_path / "page.png", javascript=False
    )
    assert page.network_requests == [], page.network_requests
    assert page.console_errors == [] and page.page_errors == []
    assert page.charts_rendered == page.chart_count
    if name != "dpia.html":
        assert page.chart_count >= 1
