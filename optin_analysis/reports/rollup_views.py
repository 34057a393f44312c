"""Pieces of the ICB roll-up report, drawn from the roll-up bundle (aggregate only)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML, display

from optin_analysis.outgoing.disclosure import MARK, show
from optin_analysis.reports.render import chart_block

COLUMNS = {
    "practice": "Practice", "setup": "System · model · go-live",
    "revocation_backlog": "Backlog", "projected_clear": "Clears by",
    "opt_in_share_of_account_holders": "Opt-in uptake (account holders)",
    "protection_coverage_share": "Protection coverage",
    "pending_16_at_risk": "Pending-16 at risk", "turned_16_automatic": "Turned 16 automatic",
    "withheld_pending_opt_in": "Withheld pending opt-in", "steps_done": "Action plan (of 4)",
}  # fmt: skip
MEASURE_LABELS = {
    "revocation_backlog": "Revocation backlog", "opt_in_holders": "Access through opt-in",
    "withheld_pending_opt_in": "Withheld pending opt-in",
}  # fmt: skip
SHARES = {"opt_in_share_of_account_holders", "protection_coverage_share"}


def load(rollup_path: str | None, config: str | None = None, period: str | None = None) -> dict:
    """The roll-up bundle written by the run, or built from the configuration's reports."""
    if rollup_path:
        return json.loads(Path(rollup_path).read_text(encoding="utf-8"))
    from optin_analysis.config import load_config
    from optin_analysis.outgoing.rollup import build

    return build(load_config(config), period)


def title_block(bundle: dict) -> None:
    """Title, period, number of practices and generation time."""
    n = len(bundle["practices"])
    missing = len(bundle["missing"])
    facts = [
        ("Period", bundle["period"]),
        ("Practices", f"{n} reported" + (f", {missing} missing" if missing else "")),
        ("Generated", bundle["generated"].replace("T", " ")),
    ]
    rows = "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    display(HTML(f"<header class='title-block'><h1>ICB roll-up: opt-in model practices"
                 f"</h1><dl>{rows}</dl></header>"))  # fmt: skip


def _cell(row: dict, key: str) -> str:
    if key == "practice":
        return f"{row['name']} ({row['ods_code']})"
    if key == "setup":
        parts = (row["supplier"].upper(), row["model"], row["go_live"])
        return " · ".join(p.replace("_", "-") for p in parts)
    if key in SHARES:
        return show(row[key], percent=True)
    if key == "projected_clear":
        return "" if row[key] is None else str(row[key])
    return show(row[key])


def practice_table(bundle: dict) -> None:
    """All practices side by side, those needing attention first."""
    if not bundle["practices"]:
        display(HTML("<h2>Practices side by side</h2><p class='note'>No practice report "
                     "for this period yet: run `optin-analysis run` first.</p>"))  # fmt: skip
        return
    rows = [{label: _cell(r, k) for k, label in COLUMNS.items()} for r in bundle["practices"]]
    frame = pd.DataFrame(rows, columns=list(COLUMNS.values()))
    body = frame.to_html(index=False, escape=True, na_rep=MARK, border=0, classes="figures")
    display(HTML("<h2>Practices side by side</h2>" + body))


def attention(bundle: dict, top: int = 10) -> None:
    """The practices that need attention first, with their reasons."""
    items = [r for r in bundle["practices"] if r["flags"]][:top]
    if not items:
        display(HTML("<h2>Needs attention first</h2><p>No practice is flagged this month.</p>"))
        return
    lis = "".join(
        f"<li><strong>{html.escape(r['name'])} ({r['ods_code']})</strong>: "
        f"{html.escape('; '.join(r['flags']))}</li>"
        for r in items
    )
    display(HTML(f"<h2>Needs attention first</h2><ol>{lis}</ol>"))
    if bundle["missing"]:
        missing = ", ".join(html.escape(m) for m in bundle["missing"])
        display(HTML(f"<p class='note'>No report this month for: {missing}.</p>"))


def totals_table(bundle: dict) -> None:
    """ICB totals (sums of controlled counts)."""
    labels = {
        "eligible": "Registered patients 16+", "account_holders_16plus": "16+ account holders",
        "opt_in_holders": "Access through opt-in", "revocation_backlog": "Revocation backlog",
        "pending_16_at_risk": "Pending-16 at risk", "turned_16_automatic": "Turned 16 automatic",
        "withheld_pending_opt_in": "Withheld pending opt-in", "open_requests": "Open requests",
    }  # fmt: skip
    frame = pd.DataFrame(
        [(labels[k], show(v)) for k, v in bundle["totals"].items()], columns=["Measure", "ICB"]
    )
    display(HTML("<h2>ICB totals</h2>" + frame.to_html(index=False, border=0, classes="figures")))


def trends_chart(bundle: dict) -> None:
    """ICB totals by month from the history store."""
    frame = pd.DataFrame(bundle["trends"], columns=["period", "measure", "value"])
    if frame.empty:
        return
    keep = ["revocation_backlog", "opt_in_holders", "withheld_pending_opt_in"]
    frame = frame[frame["measure"].isin(keep)].assign(
        measure=lambda f: f["measure"].map(MEASURE_LABELS)
    )
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="Month"), y=alt.Y("value:Q", title="Patients"),
            color=alt.Color("measure:N", title=None), tooltip=["period", "measure", "value"],
        )
        .properties(width=620, height=220)
    )  # fmt: skip
    table = frame.pivot(index="period", columns="measure", values="value").reset_index()
    chart_block(chart, table, "ICB trends across monthly runs",
                "Totals over all practices by month, from the history store.")  # fmt: skip


def access_chart(bundle: dict) -> None:
    """Share of 16+ account holders with full prospective access, against NHS England's 90%."""
    frame = pd.DataFrame(
        [{"practice": r["ods_code"], "share": r["access_share_of_account_holders"]}
         for r in bundle["practices"]]
    )  # fmt: skip
    ref = bundle["references"]["access"]
    if frame.empty:
        return
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("practice:N", sort="-y", title="Practice"),
        y=alt.Y("share:Q", title="Share with access", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["practice", alt.Tooltip("share:Q", format=".0%")],
    )  # fmt: skip
    rule = (
        alt.Chart(pd.DataFrame({"y": [ref]}))
        .mark_rule(color="#d5281b", strokeDash=[4, 3])
        .encode(y="y:Q")
    )
    table = frame.assign(share=frame["share"].map(lambda v: show(v, percent=True)))
    chart_block(
        (bars + rule).properties(width=620, height=220), table,
        "Account holders with full prospective access",
        f"Share of 16+ online account holders holding access (automatic or opt-in); the "
        f"dashed line is NHS England's {ref:.0%} reference for prospective access.",
    )  # fmt: skip


def footnote(bundle: dict) -> None:
    """Disclosure control and sources."""
    display(HTML(
        f"<footer class='footnote'><p>{html.escape(bundle['disclosure']['footnote'])} ICB "
        "totals add the practices' controlled counts.</p><p>Built from the practices' "
        "aggregate summaries and the history store only: no patient-level data.</p></footer>"
    ))  # fmt: skip
