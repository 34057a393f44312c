"""Sections of the ICB roll-up, drawn from the roll-up bundle (aggregate only).

Built for an ICB commissioning manager reading many practices: who reported and who did
not (and why), the guidance's steps practice by practice, who needs attention first,
the figures side by side, ICB totals that never hide a suppressed practice, and trends.
Practices on the default model appear with the figures NHS England monitors for them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML, display

from optin_analysis.outgoing.commentary import clear_words
from optin_analysis.outgoing.disclosure import MARK, hidden, show
from optin_analysis.outgoing.rollup import STEPS
from optin_analysis.reports import charts
from optin_analysis.reports.render import chart_block
from optin_analysis.reports.views import made_by

STATUS_MARK = {
    "done": "✔ done",
    "in progress": "◐ in progress",
    "not started": "✘ not started",
    "on track": "✔ on track",
    "not applicable": "– not applicable",
}
TOTAL_LABELS = {
    "eligible": "Registered patients aged 16+",
    "account_holders_16plus": "16+ with an online account",
    "opt_in_holders": "Access through opt-in",
    "revocation_backlog": "Revocation backlog",
    "dormant_exposure": "Automatic access without a usable account",
    "pending_16_at_risk": "Turning 16 within 6 months, not protected",
    "turned_16_automatic": "Turned 16 this month with automatic access",
    "withheld_pending_opt_in": "16+ without access and not opted out",
    "open_requests": "Open opt-in requests",
    "open_requests_over_28_days": "Open requests waiting over 28 days",
    "open_requests_over_90_days": "... over 90 days",
    "open_requests_over_180_days": "... over 180 days",
}


def marked(status: str) -> str:
    """A step's status with its mark: ✔ done, ◐ in progress (and why), ✘ not started or
    behind, – not applicable."""
    head = status.split(":")[0]
    mark = STATUS_MARK.get(head, "✘ " + head if head == "behind" else head).split(" ")[0]
    return f"{mark} {status}" if mark != head else status


def total_text(total: dict) -> str:
    """An ICB total as the page shows it, the same wherever it appears: the figure, or "at
    least N (K practice(s) shown as [c])" where practices' figures are suppressed."""
    text = show(total["value"])
    k = total["suppressed"]
    if k:
        text = f"at least {text} ({k} practice{'s' * (k > 1)} shown as [c])"
    return text


def load(rollup_path: str | None, config: str | None = None, period: str | None = None) -> dict:
    """The roll-up bundle written by the run, or built from the configuration's reports."""
    if rollup_path:
        return json.loads(Path(rollup_path).read_text(encoding="utf-8"))
    from optin_analysis.config import load_config
    from optin_analysis.outgoing.rollup import build_for_run

    return build_for_run(load_config(config), period)


def _show_html(markup: str) -> None:
    display(HTML(markup))


def _table(frame: pd.DataFrame, text: bool = False) -> str:
    classes = "figures text" if text else "figures"
    return frame.to_html(index=False, escape=True, na_rep=MARK, border=0, classes=classes)


def _section(title: str, body: str) -> None:
    _show_html(f"<section><h2>{html.escape(title)}</h2>{body}</section>")


def _opt_in(bundle: dict) -> list[dict]:
    return [r for r in bundle["practices"] if r["model"] != "default"]


def _default(bundle: dict) -> list[dict]:
    return [r for r in bundle["practices"] if r["model"] == "default"]


def _name(row: dict) -> str:
    return f"{row['name']} ({row['ods_code']})"


def title_block(bundle: dict) -> None:
    """Title, period, who reported, and every practice that did not, with the reason."""
    n, missing = len(bundle["practices"]), bundle["missing"]
    refused = bundle.get("refused") or []
    counted = {r["ods_code"] for r in (*bundle["practices"], *missing)}
    unused = {r["ods_code"] for r in refused} - counted - {None}
    known = n + len(missing) + len(unused)
    whose = f" ({len(unused)} sent a summary that could not be used: below)" if unused else ""
    facts = [
        ("Period", bundle["period"]),
        ("Practices", f"{n} of {known} reported{whose}"),
        ("Generated", bundle["generated"].replace("T", " ")),
    ]
    rows = "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    warning = ""
    if not n:
        warning = f"<p class='alert'>No practice reported for {html.escape(bundle['period'])}.</p>"
    if missing:
        items = "".join(
            f"<li><strong>{html.escape(m['name'])} ({html.escape(m['ods_code'])})</strong>: "
            f"{html.escape(m['reason'])}</li>"
            for m in missing
        )
        who = f"{len(missing)} practice{'s' * (len(missing) > 1)}"
        warning += (
            f"<div class='alert'><p>{who} did not report this month:</p><ul>{items}</ul></div>"
        )
    if refused:
        items = "".join(
            f"<li><strong>{html.escape(r['where'])}</strong>: {html.escape(r['reason'])}</li>"
            for r in refused
        )
        warning += (
            f"<div class='alert'><p>{len(refused)} summar{'ies' if len(refused) > 1 else 'y'} "
            f"received could not be used:</p><ul>{items}</ul></div>"
        )
    _show_html(
        "<header class='title-block'><h1>ICB roll-up: opt-in model practices</h1>"
        f"<dl>{rows}</dl>{warning}</header>"
    )


def step_matrix(bundle: dict) -> None:
    """Practices by the guidance's four steps: done / in progress / not started / n.a."""
    opt_in = [r for r in bundle["practices"] if r["model"] != "default"]
    if not opt_in:
        return
    rows = []
    for r in opt_in:
        cells = [marked(s) for s in r["steps"]]
        rows.append([_name(r), f"{r['supplier'].upper()}: {r['go_live']}", *cells])
    steps = [f"{i}. {s}" for i, s in enumerate(STEPS, start=1)]
    frame = pd.DataFrame(rows, columns=["Practice", "System and go-live", *steps])
    note = (
        "<p class='note'>Step 2 is a continuing duty: on track while no opt-in request has "
        "waited more than 28 days, behind otherwise. Practices on the default model have "
        "no opt-in steps: they are in their own table.</p>"
    )
    _section("The guidance's four steps, practice by practice", note + _table(frame, text=True))


def attention(bundle: dict) -> None:
    """Every opt-in practice that needs attention, most urgent first: how many patients
    its figures say are affected, and why (each reason with its figure)."""
    flagged = [r for r in _opt_in(bundle) if r["flags"]]
    if not bundle["practices"]:
        return
    if not flagged:
        _section("Needs attention first", "<p>No opt-in practice is flagged this month.</p>")
        return
    pcn = any(r.get("pcn") for r in flagged)
    rows = [
        {
            "Practice": f"{i}. {_name(r)}",
            **({"PCN": r.get("pcn") or ""} if pcn else {}),
            "Patients affected (at least)": f"{r['patients_affected']:,}",
            "Why": "; ".join(r["flags"]),
        }
        for i, r in enumerate(flagged, start=1)
    ]
    note = (
        f"<p class='note'>{len(flagged)} of {len(_opt_in(bundle))} opt-in practices, most "
        "urgent first: patients affected are those waiting over 28 days, turning 16 not "
        "protected, turned 16 with automatic access, and a revocation backlog that will not "
        f"clear within {bundle['references'].get('far_months', 12)} months ([c] counted as 1); "
        "then the longest waits.</p>"
    )
    _section("Needs attention first", note + _table(pd.DataFrame(rows), text=True))


def _clear(row: dict) -> str:
    return clear_words(row)


def _work_row(r: dict) -> dict:
    return {
        "Practice": _name(r),
        "Revocation backlog": show(r["revocation_backlog"]),
        "Backlog clears": _clear(r),
        "Open requests": show(r["open_requests"]),
        "Waiting over 28 days": show(r["open_requests_over_28_days"]),
        "over 90": show(r.get("open_requests_over_90_days")),
        "over 180": show(r.get("open_requests_over_180_days")),
    }


def _protection_row(r: dict) -> dict:
    return {
        "Practice": _name(r),
        "Opt-in uptake (16+ account holders)": show(r["opt_in_share_of_account_holders"], "share"),
        "Protection coverage (target 95%)": show(r["protection_coverage_share"], "share"),
        "Turning 16 within 6 months, not protected": show(r["pending_16_at_risk"]),
        "Turned 16 with automatic access": show(r["turned_16_automatic"]),
        "16+ without access, not opted out": show(r["withheld_pending_opt_in"]),
    }


def _by_pcn(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """Rows grouped by PCN (in the order of the first of each, "PCN not known" last); one
    group with no heading where no PCN is known."""
    if not any(r.get("pcn") for r in rows):
        return [("", rows)]
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r.get("pcn") is None):
        groups.setdefault(r.get("pcn") or "PCN not known", []).append(r)
    return list(groups.items())


def practice_table(bundle: dict) -> None:
    """The opt-in practices side by side, by PCN where known (those needing attention
    first within each): the backlog and requests in one table, protection and turning 16
    in another."""
    rows = _opt_in(bundle)
    if not rows:
        return
    body = ""
    for title, make in (
        ("Revocation backlog and opt-in requests", _work_row),
        ("Protection and patients turning 16", _protection_row),
    ):
        body += f"<h3>{title}</h3>"
        for pcn, group in _by_pcn(rows):
            heading = f"<h4>{html.escape(pcn)}</h4>" if pcn else ""
            body += heading + _table(pd.DataFrame([make(r) for r in group]))
    _section("Opt-in practices side by side", body)


def _share_of(row: dict, share: str, part: str, whole: str) -> str:
    """A share with the published counts it is worked out from: "67.1% (2,595 of 3,870)"."""
    return f"{show(row[share], 'share')} ({show(row[part])} of {show(row[whole])})"


def _default_row(r: dict, ref: dict) -> dict:
    """A default-model practice's row: NHS England's lines, each share with its counts,
    and whether its DPIA needs re-approval."""
    holders = f"16+ account holders with access (NHS England: {ref['access']:.0%} or more)"
    active_104 = f"16+ with an active 104 (action plan above {ref['exclusion']:.0%})"
    again = r["dpia_reapproval"]
    return {
        "Practice": _name(r),
        "Below NHS England's lines": "; ".join(r["flags"]) or "no",
        "16+ with full prospective access": _share_of(
            r, "access_share_of_eligible", "with_access", "eligible"
        ),
        holders: _share_of(r, "access_share_of_account_holders",
                           "account_holders_with_access", "account_holders_16plus"),
        active_104: show(r["active_104_share"], "share"),
        "DPIA": f"re-approval needed: {'; '.join(again)}" if again else "no re-approval needed",
    }  # fmt: skip


def default_model_table(bundle: dict) -> None:
    """Practices on the default model, with the figures NHS England monitors for them."""
    rows = _default(bundle)
    if not rows:
        return
    table = pd.DataFrame([_default_row(r, bundle["references"]) for r in rows])
    note = (
        "<p class='note'>NHS England's dashboard expects 90% or more of online account "
        "holders to have prospective access, and asks practices excluding more than 50% "
        "of patients with 104 codes for an action plan. These lines are for practices on "
        "the default model; opt-in practices are judged against their own targets "
        "above.</p>"
    )
    _section("Practices on the default model", note + _table(table, text=True))


def totals_table(bundle: dict) -> None:
    """ICB totals over the opt-in practices: exact where safe, never a sum that hides a
    suppressed practice."""
    if not bundle["totals"]:
        return
    rows = [(label, total_text(bundle["totals"][key])) for key, label in TOTAL_LABELS.items()]
    n = len(_opt_in(bundle))
    note = (
        f"<p class='note'>Over the {n} opt-in practices that reported. A practice's "
        "suppressed figure counts as 1 in an 'at least' total.</p>"
    )
    _section("ICB totals", note + _table(pd.DataFrame(rows, columns=["Measure", "ICB"])))


def coverage_chart(bundle: dict) -> None:
    """Protection coverage of each opt-in practice against the 95% target."""
    rows = _opt_in(bundle)
    if not rows:
        return
    target = bundle["references"]["coverage"]
    data = pd.DataFrame(
        {
            "practice": [r["ods_code"] for r in rows],
            "coverage": [r["protection_coverage_share"] for r in rows],
        }
    )
    table = pd.DataFrame(
        {
            "Practice": [_name(r) for r in rows],
            "Protection coverage": [show(r["protection_coverage_share"], "share") for r in rows],
        }
    )
    shown = data.assign(value=charts.numeric(data["coverage"])).sort_values(
        "value", kind="stable"
    )  # lowest first, so the target's label sits above the lowest bars
    many = len(shown) > LABEL_PRACTICES
    x = alt.X(
        "practice:N",
        sort=None,
        title="Practices, lowest coverage first (names in the table)" if many else "Practice",
        axis=alt.Axis(labels=not many, ticks=not many),
    )
    bars = (
        alt.Chart(shown)
        .mark_bar(color=charts.COLOURS[0])
        .encode(
            x=x,
            y=alt.Y(
                "value:Q",
                title="Protection coverage",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
        )
    )
    rule = alt.Chart(pd.DataFrame({"y": [target], "label": [f"target {target:.0%}"]}))
    line = rule.mark_rule(strokeDash=[6, 3], color=charts.COLOURS[1], size=2).encode(y="y:Q")
    label = rule.mark_text(
        align="left", dx=4, dy=-6, fontSize=charts.FONT, color=charts.COLOURS[1]
    ).encode(y="y:Q", text="label:N", x=alt.value(0))
    below = [
        r["ods_code"]
        for r in rows
        if not hidden(r["protection_coverage_share"])
        and r["protection_coverage_share"] is not None
        and r["protection_coverage_share"] < target
    ]
    message = f"{len(below)} of {len(rows)} opt-in practices are below the {target:.0%} target" + (
        f": {', '.join(below)}." if below else "."
    )
    chart = charts.single((bars + line + label).properties(width=charts.WIDTH, height=200))
    chart_block(
        chart,
        table,
        "Protection coverage against the target",
        message,
        "A bar chart of each opt-in practice's protection coverage with the target "
        f"line. {message}",
    )


#: Beyond this many practices, a chart's bars are not labelled one by one (they would
#: overlap); the table beside it names each practice.
LABEL_PRACTICES = 30


def trends(bundle: dict) -> None:
    """ICB totals month by month from the history store: a table and small charts."""
    frame = pd.DataFrame(bundle["trends"])
    if frame.empty or frame["period"].nunique() < 2:
        _section(
            "ICB trends across monthly runs",
            "<p class='note'>The history store holds "
            "no earlier month yet: trends start with this roll-up.</p>",
        )
        return
    keep = ["revocation_backlog", "opt_in_holders", "withheld_pending_opt_in", "open_requests"]
    frame = frame[frame["measure"].isin(keep)]
    frame = frame.assign(label=frame["measure"].map(TOTAL_LABELS))
    frame["text"] = [
        total_text({"value": v, "suppressed": s})
        for v, s in zip(frame["value"], frame["suppressed"], strict=True)
    ]
    table = frame.pivot(index="period", columns="label", values="text").reset_index()
    table = table.rename(columns={"period": "Month"}).rename_axis(columns=None)
    chart = charts.facet_lines(frame[["period", "label", "value"]], "label", "", columns=2)
    months = sorted(frame["period"].unique())
    message = (
        f"ICB totals over the opt-in practices, {months[0]} to {months[-1]}; where a "
        "practice's figure was suppressed the total is a lower bound."
    )
    chart_block(
        chart,
        table,
        "ICB trends across monthly runs",
        message,
        "Small line charts of ICB totals by month. " + message,
    )


def footnote(bundle: dict) -> None:
    """Disclosure control and sources."""
    _show_html(
        f"<footer class='footnote'><p>{html.escape(bundle['disclosure']['footnote'])} ICB "
        "totals add the practices' published figures; where the run held every practice's "
        "exact figures and it was safe, the exact total is rounded instead.</p><p>Built "
        "from the practices' aggregate summaries and the history store only: no "
        f"patient-level data. Made by {html.escape(made_by(bundle))}.</p></footer>"
    )
