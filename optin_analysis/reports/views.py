"""Pieces of the outgoing reports, drawn from a practice-month bundle (aggregate only).

The report notebooks call these in order; each displays HTML or an accessible chart
(:func:`optin_analysis.reports.render.chart_block`). Nothing here computes a measure: figures come
from the bundle that :func:`optin_analysis.outgoing.summary.outgoing` made safe to leave.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML, display

from optin_analysis.outgoing.disclosure import MARK, show
from optin_analysis.outgoing.summary import bundle_for, headline_rows
from optin_analysis.reports.render import chart_block

STATUS_MARK = {"done": "✔ done", "in progress": "◐ in progress", "not started": "✘ not started"}


def load_bundle(
    summary_path: str | None = None,
    config: str | None = None,
    practice: str | None = None,
    period: str | None = None,
) -> dict:
    """The bundle from ``summary_path``, or computed from the configuration when not given."""
    if summary_path:
        return json.loads(Path(summary_path).read_text(encoding="utf-8"))
    if not (config and practice and period):
        raise ValueError("give summary_path, or config, practice and period")
    return bundle_for(Path(config), practice, period)


def _table(frame: pd.DataFrame, caption: str = "", text: bool = False) -> str:
    classes = "figures text" if text else "figures"
    body = frame.to_html(index=False, escape=True, na_rep=MARK, border=0, classes=classes)
    if caption:
        body = body.replace(">\n", f">\n<caption>{html.escape(caption)}</caption>\n", 1)
    return body


def title_block(bundle: dict, title: str) -> None:
    """Report title with practice, period, reference, extract and generation dates."""
    p = bundle["practice"]
    go_live = p["go_live_date"] or "no date"
    facts = [
        ("Practice", f"{p['name']} ({p['ods_code']})"),
        ("Period", f"{bundle['period']} (figures as of {bundle['ref_date']})"),
        ("Data extract date", p["extract_date"]),
        ("Supplier / model", f"{p['supplier'].upper()} / {p['model'].replace('_', '-')}"),
        ("Go-live", f"{p['go_live_status'].replace('_', ' ')} ({go_live})"),
        ("Generated", bundle["generated"].replace("T", " ")),
    ]
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    display(
        HTML(f'<header class="title-block"><h1>{html.escape(title)}</h1><dl>{rows}</dl></header>')
    )


def headline_table(bundle: dict) -> None:
    """Headline measures with last month's figures beside them."""
    rows = headline_rows(bundle["headline"], bundle.get("previous"))
    frame = pd.DataFrame(rows, columns=["Measure", "This month", "Last month"])
    display(HTML("<h2>Headline measures</h2>" + _table(frame)))


def commentary(bundle: dict) -> None:
    """The plain-English commentary."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in bundle["commentary"])
    display(HTML(f"<h2>Commentary</h2><ul class='commentary'>{items}</ul>"))


def _frame(bundle: dict, name: str) -> pd.DataFrame:
    return pd.DataFrame(bundle["tables"][name])


def uptake_chart(bundle: dict) -> None:
    """Opt-in requests and provisioning per month."""
    frame = _frame(bundle, "uptake_by_month")[["month", "requests", "counselled", "provisioned"]]
    long = frame.melt("month", var_name="stage", value_name="patients")
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title="Month"),
            y=alt.Y("patients:Q", title="Patients"),
            color=alt.Color("stage:N", title=None, sort=["requests", "counselled", "provisioned"]),
            tooltip=["month", "stage", "patients"],
        )
        .properties(width=620, height=220)
    )
    chart_block(
        chart,
        frame.rename(columns=str.capitalize),
        "Opt-in uptake by month",
        "Opt-in requests, counselling and provisioning each month since go-live.",
    )


def backlog_chart(bundle: dict) -> None:
    """Revocation backlog at each month end, with revocations made in the month."""
    frame = _frame(bundle, "backlog_by_month")[["month", "backlog", "revocations"]]
    base = alt.Chart(frame).encode(x=alt.X("month:O", title="Month"))
    line = base.mark_line(point=True, color="#b2182b").encode(
        y=alt.Y("backlog:Q", title="Patients"), tooltip=["month", "backlog", "revocations"]
    )
    bars = base.mark_bar(opacity=0.35, color="#2166ac").encode(
        y="revocations:Q", tooltip=["month", "backlog", "revocations"]
    )
    chart_block(
        (bars + line).properties(width=620, height=220),
        frame.rename(columns=str.capitalize),
        "Revocation backlog",
        "Account holders 16+ still holding automatic access at each month end (line) and "
        "revocations made in the month (bars).",
    )


def _nothing_to_draw(frame: pd.DataFrame, columns: list[str]) -> bool:
    """True when no published figure is above zero (all zero or suppressed)."""
    return not bool((frame[columns].fillna(0) > 0).any().any())


def pending_16_chart(bundle: dict) -> None:
    """Patients turning 16 by month of birthday: protected or at risk."""
    frame = _frame(bundle, "pending_16")[["month", "protected", "at_risk"]]
    if _nothing_to_draw(frame, ["protected", "at_risk"]):
        h = bundle["headline"]
        display(
            HTML(
                "<h3>Turning 16 in the next six months</h3><p class='note'>Monthly figures are "
                "zero or too small to publish. Over the six months: "
                f"{show(h['pending_16_cohort'])} turning 16, "
                f"{show(h['pending_16_protected'])} protected, "
                f"{show(h['pending_16_at_risk'])} at risk.</p>"
            )
        )
        return
    long = frame.rename(columns={"at_risk": "at risk"}).melt(
        "month", var_name="status", value_name="patients"
    )
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month of 16th birthday"),
            y=alt.Y("patients:Q", title="Patients", stack=True),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(domain=["protected", "at risk"], range=["#4d9221", "#c51b7d"]),
            ),
            tooltip=["month", "status", "patients"],
        )
        .properties(width=620, height=200)
    )
    chart_block(
        chart,
        _frame(bundle, "pending_16").rename(columns=lambda c: c.replace("_", " ").capitalize()),
        "Turning 16 in the next six months",
        "Patients turning 16, by month of birthday, split into protected from automatic "
        "access and at risk of receiving it.",
    )


def open_requests_chart(bundle: dict) -> None:
    """Open opt-in requests by stage and how long they have waited."""
    frame = _frame(bundle, "open_requests")
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("band:O", title="Days waiting", sort=list(dict.fromkeys(frame["band"]))),
            y=alt.Y("requests:Q", title="Requests", stack=True),
            color=alt.Color("stage:N", title=None),
            tooltip=["stage", "band", "requests"],
        )
        .properties(width=420, height=200)
    )
    chart_block(
        chart,
        frame.rename(columns=str.capitalize),
        "Open opt-in requests by waiting time",
        "Requests not yet provisioned or closed, by stage and days since the request.",
    )


def coverage_section(bundle: dict) -> None:
    """Protection coverage and the patients withheld pending opt-in, in words and a table."""
    h = bundle["headline"]
    frame = pd.DataFrame(
        [
            ("16+ without access, not opted out, no request",
             show(h["protection_coverage_denominator"])),
            ("... of whom protected from automatic access",
             show(h["protection_coverage_numerator"])),
            ("Protection coverage", show(h["protection_coverage_share"], percent=True)),
            ("16+ with neither access nor an opt-out", show(h["withheld_pending_opt_in"])),
            ("Active 104 codes added in bulk / individually",
             f"{show(h['active_104_bulk'])} / {show(h['active_104_individual'])}"),
        ],
        columns=["Measure", "This month"],
    )  # fmt: skip
    display(HTML("<h2>Protection coverage</h2>" + _table(frame)))


def action_plan_table(bundle: dict) -> None:
    """The guidance's four steps for this practice, with status and evidence."""
    frame = pd.DataFrame(bundle["action_plan"])
    frame["status"] = frame["status"].map(lambda s: STATUS_MARK.get(s, s))
    frame.columns = [c.capitalize() for c in frame.columns]
    display(HTML("<h2>Action plan (NHS England guidance)</h2>" + _table(frame, text=True)))


def _figure(row: dict) -> str:
    value = row["figure"]
    if row["kind"] == "share":
        return show(value, percent=True)
    if row["kind"] == "days":
        return MARK if value is None else f"{value:g} days"
    return show(None if value is None else int(value))


def risk_register(bundle: dict) -> None:
    """Risks with their ICO score, and each mitigation's evidence against its target."""
    rows = bundle["dpia"]["evidence"]
    frame = pd.DataFrame(
        {
            "Risk": [f"{r['risk']}: {r['title']}" for r in rows],
            "Inherent risk": [r["inherent"] for r in rows],
            "Mitigation": [r["action"] for r in rows],
            "Measure": [r["measure"] for r in rows],
            "Target": [r["target"] for r in rows],
            "This month": [_figure(r) for r in rows],
            "Met": [{True: "✔ met", False: "✘ not met"}.get(r["met"], "no figure") for r in rows],
            "Effect / residual risk": [f"{r['effect']} / {r['residual']}" for r in rows],
            "Approved": ["yes" if r["approved"] else "no" for r in rows],
        }
    )
    display(HTML("<h2>Risks, mitigations and evidence</h2>" + _table(frame, text=True)))


def sign_off(bundle: dict) -> None:
    """Sign-off fields (blank lines where the register has no entry yet)."""
    s = bundle["dpia"]["sign_off"]
    blank = "_" * 30
    fields = [
        ("DPO advice", s.get("dpo_advice") or blank),
        ("Approved by", s.get("approved_by") or blank),
        ("Date approved", s.get("approved_on") or blank),
        ("Next review", s.get("next_review") or blank),
    ]
    rows = "".join(f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in fields)
    display(HTML(f"<h2>Sign-off</h2><dl class='sign-off'>{rows}</dl>"))


def footnote(bundle: dict) -> None:
    """The disclosure-control footnote and the data source."""
    text = bundle["disclosure"]["footnote"]
    display(
        HTML(
            f"<footer class='footnote'><p>{html.escape(text)}</p><p>Aggregate figures only: "
            "this report contains no patient-level data. Source: the practice's clinical "
            "system extract, processed by optin-analysis.</p></footer>"
        )
    )


TREND_LABELS = {
    "revocation_backlog": "Revocation backlog",
    "opt_in_holders": "Access through opt-in",
    "open_requests": "Open requests",
    "pending_16_at_risk": "Turning 16, not protected",
    "withheld_pending_opt_in": "16+ without access, not opted out",
    "protection_coverage_share": "Protection coverage",
}


def history_chart(bundle: dict) -> None:
    """Month-by-month figures from the history store (one small chart per measure)."""
    frame = pd.DataFrame(bundle.get("history") or [], columns=["period", "measure", "value"])
    periods = sorted(frame["period"].unique())
    if len(periods) < 2:
        display(
            HTML(
                "<h3>Trends across monthly runs</h3><p class='note'>The history store has "
                "no earlier month for this practice yet: trends of coverage, cohorts and "
                "requests start with this report.</p>"
            )
        )
        return
    frame["label"] = frame["measure"].map(TREND_LABELS)
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="Month"),
            y=alt.Y("value:Q", title=None),
            tooltip=["label", "period", "value"],
        )
        .properties(width=190, height=110)
        .facet(facet=alt.Facet("label:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )
    table = frame.pivot(index="period", columns="label", values="value").reset_index()
    chart_block(
        chart,
        table,
        "Trends across monthly runs",
        "Figures recorded by each month's run (history store), including states that an "
        "extract only gives as of its own date.",
    )
