"""Sections of the monthly report, drawn from a practice-month bundle (aggregate only).

The report notebook calls these in order; each displays HTML, or an accessible static
chart (:func:`optin_analysis.reports.render.chart_block`). Nothing here computes a
measure: every figure comes from the bundle :func:`optin_analysis.outgoing.summary.outgoing`
published, and is shown with :func:`optin_analysis.outgoing.disclosure.show` ("[c]" when
suppressed). A practice on the default model gets the figures NHS England monitors.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
from IPython.display import HTML, display

from optin_analysis.measures.definitions import band_words
from optin_analysis.outgoing.commentary import clear_words
from optin_analysis.outgoing.disclosure import MARK, hidden, show
from optin_analysis.outgoing.summary import (
    DEFAULT_MODEL_LABELS,
    INTERNAL_MARK,
    LABELS,
    PRACTICE,
    bundle_for,
    headline_rows,
)
from optin_analysis.reports import charts
from optin_analysis.reports.render import chart_block

STATUS_MARK = {
    "done": "✔ done",
    "in progress": "◐ in progress",
    "not started": "✘ not started",
    "on track": "✔ on track",
    "not applicable": "– not applicable",
}
TREND_LABELS = {
    "revocation_backlog": "Revocation backlog",
    "opt_in_holders": "Access through opt-in",
    "open_requests": "Open requests",
    "pending_16_at_risk": "Turning 16, not protected",
    "withheld_pending_opt_in": "16+ without access, not opted out",
    "protection_coverage_share": "Protection coverage",
}


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


def _default(bundle: dict) -> bool:
    return bundle["practice"]["model"] == "default"


def _show_html(markup: str) -> None:
    display(HTML(markup))


def _table(frame: pd.DataFrame, text: bool = False) -> str:
    classes = "figures text" if text else "figures"
    return frame.to_html(index=False, escape=True, na_rep=MARK, border=0, classes=classes)


def _section(title: str, body: str) -> None:
    _show_html(f"<section><h2>{html.escape(title)}</h2>{body}</section>")


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


# --------------------------------------------------------------------------- top


def title_block(bundle: dict, title: str) -> None:
    """Title, the practice and where it stood on the reference date, the dates behind it."""
    p, status = bundle["practice"], bundle["status"]
    facts = [
        ("Practice", f"{p['name']} ({p['ods_code']})"),
        ("Period", f"{bundle['period']} (figures as of {bundle['ref_date']})"),
        ("Supplier / model", f"{p['supplier'].upper()} / {p['model'].replace('_', '-')}"),
        ("Go-live", status["go_live"]),
        ("Data extract date", p["extract_date"]),
        ("Generated", bundle["generated"].replace("T", " ")),
    ]
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    banner = ""
    if bundle.get("audience") == PRACTICE:
        banner = f"<p class='internal'>{html.escape(INTERNAL_MARK)}.</p>"
    placeholders = "" if _default(bundle) else _placeholder_note(bundle)  # no opt-in figures
    notes = "".join(_note(n) for n in [status.get("note"), placeholders] if n)
    if _default(bundle):
        title = title.replace("opt-in model", "online access") + " (default model)"
    _show_html(
        f"<header class='title-block'>{banner}<h1>{html.escape(title)}</h1>"
        f"<dl>{rows}</dl>{notes}</header>"
    )


#: Opt-in events in words, for the note on placeholder codes.
EVENT_WORDS = {
    "opt_in_requested": "opt-in requests",
    "counselled": "counselling",
    "access_granted": "provisioning",
    "access_revoked": "revocations",
    "opt_in_declined": "declined requests",
}


def _placeholder_note(bundle: dict) -> str:
    kinds = bundle.get("placeholder_codes") or []
    if not kinds:
        return ""
    words = ", ".join(EVENT_WORDS.get(k, k.replace("_", " ")) for k in kinds)
    return (
        "The opt-in figures rest on placeholder codes: the practice has not yet put its own "
        f"local codes for {words} in its codelist (optin-analysis init lists them)."
    )


def headline_table(bundle: dict) -> None:
    """Headline measures with last month's figures beside them."""
    labels = DEFAULT_MODEL_LABELS if _default(bundle) else LABELS
    own = bundle.get("audience") == "practice"  # the practice's copy: say why n/a
    rows = headline_rows(bundle["headline"], bundle.get("previous"), labels, reasons=own)
    last = "Last month" if bundle.get("previous") else "Last month (no figure before go-live)"
    frame = pd.DataFrame(rows, columns=["Measure", "This month", last])
    _section("Headline measures", _table(frame))


def commentary(bundle: dict) -> None:
    """What the figures say, gap by gap."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in bundle["commentary"])
    _section("What the figures say", f"<ul class='commentary'>{items}</ul>")


# --------------------------------------------------------------------------- charts


def _rows(bundle: dict, name: str) -> pd.DataFrame:
    return pd.DataFrame(bundle["tables"][name]["rows"])


def _level(bundle: dict, name: str) -> str:
    return bundle["tables"][name]["level"]


def _people(frame: pd.DataFrame, labels: dict[str, str], counts: list[str]) -> pd.DataFrame:
    """Columns renamed by ``labels``, the ``counts`` among them shown for people ("[c]"
    where suppressed, thousands separators)."""
    out = frame[list(labels)].copy()
    for name in counts:
        out[name] = out[name].map(show)
    return out.rename(columns=labels)


def at_least_words(total: object, parts: list[object]) -> str:
    """A total shown beside its parts: where a part is "[c]" (so the total is too), "at
    least N" from the parts, so a suppressed total never reads smaller than a part shown."""
    if not hidden(total):
        return show(total)
    known = sum(int(p) for p in parts if p is not None and not hidden(p))
    return f"at least {known + sum(hidden(p) for p in parts):,}"


def _total_words(values: pd.Series, unit: str) -> str:
    """The sum of the published figures, saying how many were suppressed ("[c]")."""
    known = sum(int(v) for v in values if not hidden(v))
    hidden_n = sum(hidden(v) for v in values)
    if not hidden_n:
        return f"{known:,}"
    return f"{known:,} (plus {hidden_n} {unit}{'s' if hidden_n > 1 else ''} shown as [c])"


#: How a period's total is labelled on a bar of monthly averages.
PER = {"month": "", "quarter": "/qtr", "year": "/yr"}


def _with_labels(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with a ``<column>_label`` per column: the period's published total, "10"
    for a month, "10/qtr", "25/yr"."""
    per = frame.get("level", pd.Series("month", index=frame.index)).map(PER)
    if "from" in frame:  # a quarter or year holding one month only: no "/qtr" on its total
        per = per.where(frame["from"] != frame["to"], "")
    labels = {f"{c}_label": [show(v) + p for v, p in zip(frame[c], per, strict=True)]
              for c in columns}  # fmt: skip
    return frame.assign(**labels)


def _waiting_note(frame: pd.DataFrame, bundle: dict) -> str:
    """The report's latest months not yet in a grouped series, where there are any."""
    if frame.empty or "to" not in frame:
        return ""
    last, period = pd.Period(frame["to"].iloc[-1], "M"), pd.Period(bundle["period"], "M")
    if last >= period:
        return ""
    months = str(period) if last + 1 == period else f"{last + 1} to {period}"
    unit = frame["level"].iloc[-1]
    return f" {months}: published when the {unit} is complete."


def _grouping_note(frame: pd.DataFrame) -> str:
    """What the grouping of a series means, where it is not all by month."""
    if set(frame.get("level", ["month"])) <= {"month"}:
        return ""
    return (
        " Periods too small to publish by month are shown by quarter or year (charted as "
        "their monthly average); a period keeps the grouping it was first published at, "
        "so no two reports can be set against each other."
    )


def uptake_chart(bundle: dict) -> None:
    """New opt-in requests, counselling and provisioning per period, each on its own scale."""
    if _default(bundle):
        return
    frame = _rows(bundle, "uptake")
    columns = ["requests", "counselled", "provisioned"]
    if frame.empty:
        _section("Opt-in uptake", _note("Nothing published yet: the months so far wait for "
                                        "their quarter to be complete."))  # fmt: skip
        return
    table = _people(
        frame,
        {"period": "Period", "requests": "New requests", "counselled": "Counselled",
         "provisioned": "Provisioned"},
        columns,
    )  # fmt: skip
    series = [("requests", "New requests", 0), ("counselled", "Counselled", 4),
              ("provisioned", "Provisioned", 2)]  # fmt: skip
    first, last = frame["period"].iloc[0], frame["period"].iloc[-1]
    span = f"in {first}" if first == last else f"from {first} to {last}"
    if all(_all_zero(frame[c]) for c in columns):
        none = f"No opt-in requests, counselling or provisions {span}."
        _section("Opt-in uptake", _note(none + _waiting_note(frame, bundle)))
        return
    labelled = _with_labels(frame, columns)
    chart = charts.panels(
        [
            charts.period_bars(labelled, c, f"{t} a month", charts.COLOURS[i], 95, f"{c}_label")
            for c, t, i in series
        ]
    )
    totals = (
        f"{_total_words(frame['requests'], 'period')} new requests and "
        f"{_total_words(frame['provisioned'], 'period')} provisions {span}."
    )
    message = totals + _waiting_note(frame, bundle) + _grouping_note(frame)
    chart_block(
        chart,
        table,
        "Opt-in uptake",
        message,
        "Three bar charts by period: new opt-in requests, counselling and provisions a "
        "month. " + message,
    )


def backlog_chart(bundle: dict) -> None:
    """The revocation backlog at each month end, and revocations of automatic access."""
    if _default(bundle):
        return
    backlog, revoked = _rows(bundle, "backlog"), _rows(bundle, "revocations")
    level = _level(bundle, "revocations")
    h = bundle["headline"]
    if _mostly_hidden(backlog["backlog"]):
        _section(
            "Revocation backlog",
            _note(
                f"Most month-end figures are too small to publish ([c]); at the end of "
                f"{backlog['period'].iloc[-1]}: {show(h['revocation_backlog'])}; projected to "
                f"clear: {clear_words(h, in_a_sentence=True)}."
            ),
        )
        return
    first, last = backlog.iloc[0], backlog.iloc[-1]
    if _all_zero(backlog["backlog"]) and _all_zero(revoked.get("revocations", pd.Series())):
        _section(
            "Revocation backlog",
            _note(
                "No patient held automatic full access awaiting review at any month end "
                f"from {first['period']} to {last['period']}, and none was revoked: "
                "nothing to clear."
            ),
        )
        return
    message = (
        f"The backlog went from {show(first['backlog'])} at the end of {first['period']} to "
        f"{show(last['backlog'])} at the end of {last['period']}; projected to clear: "
        f"{clear_words(h, in_a_sentence=True)}."
    )
    panels = [charts.month_line(backlog, "backlog", "Backlog (patients)")]
    if not revoked.empty:
        labelled = _with_labels(revoked, ["revocations"])
        bars = charts.period_bars(labelled, "revocations", "Revocations a month",
                                  charts.COLOURS[0], 100, "revocations_label")  # fmt: skip
        panels.append(bars)
    chart = charts.panels(panels)
    columns = {"period": "Month", "backlog": "Backlog"}
    if level == "month":
        backlog = backlog.merge(revoked[["period", "revocations"]], on="period", how="left")
        columns["revocations"] = "Revocations"
    else:
        message += _waiting_note(revoked, bundle) + _grouping_note(revoked)
    people = _people(backlog, columns, [c for c in columns if c != "period"])
    chart_block(
        chart,
        people,
        "Revocation backlog",
        message,
        "A line chart of the backlog at each month end, and a bar chart of "
        f"revocations of automatic access a month. {message}",
    )


def _all_zero(values: pd.Series) -> bool:
    """Every published value is 0 (none suppressed or missing): a chart would be empty."""
    return bool(charts.numeric(values).eq(0).all())


def _mostly_hidden(values: pd.Series) -> bool:
    """More than half the published values are suppressed: a chart would be mostly gaps."""
    return 2 * int(values.map(hidden).sum()) > len(values)


def pending_16_chart(bundle: dict) -> None:
    """Patients turning 16 soon: protected or not, by period of their birthday."""
    if _default(bundle):
        return
    frame, level = _rows(bundle, "pending_16"), _level(bundle, "pending_16")
    h = bundle["headline"]
    months = h.get("pending_16_horizon_months", 6)
    cohort = at_least_words(h["pending_16_cohort"], [h["pending_16_protected"],
                                                     h["pending_16_at_risk"]])  # fmt: skip
    summary = (
        f"Over the next {months} months: {cohort} turning 16, "
        f"{show(h['pending_16_protected'])} protected, {show(h['pending_16_at_risk'])} "
        "not protected."
    )
    if level != "month" and len(frame) == 1:
        _section(
            "Turning 16 in the next six months",
            _note(summary + " Monthly figures are too small to publish."),
        )
        return
    panels = [charts.bars(frame, "period", "protected", "Protected", charts.COLOURS[2], 90)]
    shown = "protected"
    if not _all_zero(frame["at_risk"]):  # else the summary says it: 0 not protected
        panels.insert(0, charts.bars(frame, "period", "at_risk", "Not protected",
                                     charts.COLOURS[1], 90))  # fmt: skip
        shown = "not protected from automatic access, and patients protected"
    chart = charts.panels(panels)
    table = _people(
        frame,
        {
            "period": "Birthday month" if level == "month" else "Birthdays",
            "protected": "Protected",
            "at_risk": "Not protected",
            "cohort": "Turning 16",
        },
        ["protected", "at_risk", "cohort"],
    )
    chart_block(
        chart,
        table,
        "Turning 16 in the next six months",
        summary,
        f"Bar charts by month of the 16th birthday: patients {shown}. {summary}",
    )


def open_requests_chart(bundle: dict) -> None:
    """Open opt-in requests, those not yet counselled, and how many have waited more than
    7 ... 180 days: nested counts, each published on its own."""
    if _default(bundle):
        return
    h = bundle["headline"]
    message = (
        f"{show(h['open_requests'])} requests open, "
        f"{show(h.get('open_requests_awaiting_counselling'))} of them awaiting counselling; "
        f"waiting more than 28 days: "
        f"{show(h['open_requests_over_28_days'])}, more than 90: "
        f"{show(h['open_requests_over_90_days'])}, more than 180: "
        f"{show(h['open_requests_over_180_days'])}. The longest "
        f"{band_words(h.get('longest_wait_band'))}."
    )
    if hidden(h["open_requests"]) or not int(h["open_requests"]):
        _section("Open opt-in requests and how long they have waited", _note(message))
        return
    stages = pd.DataFrame({
        "label": ["All open", "Awaiting counselling"],
        "requests": [h["open_requests"], h.get("open_requests_awaiting_counselling")],
    })  # fmt: skip
    waits = _rows(bundle, "waits").assign(label=lambda f: "more than " + f["over_days"].astype(str))
    panels = [charts.bars(stages, "label", "requests", "Open requests", charts.COLOURS[0], 80)]
    described = "A bar chart of open opt-in requests and those awaiting counselling"
    if not _mostly_hidden(waits["requests"]):  # else the message says it: [c] after [c]
        panels.append(charts.bars(waits, "label", "requests", "Requests", charts.COLOURS[1],
                                  100, "Days waited"))  # fmt: skip
        described += (", and one of the requests waiting more than 7, 14, 28, 56, 90 and "
                      "180 days (each counted on its own)")  # fmt: skip
    chart = charts.panels(panels)
    table = pd.concat(
        [
            stages.assign(what=["Open", "Open, awaiting counselling"]),
            waits.assign(what="Waiting " + waits["label"] + " days"),
        ]
    )
    chart_block(
        chart,
        _people(table, {"what": "Open requests", "requests": "Requests"}, ["requests"]),
        "Open opt-in requests and how long they have waited",
        message,
        f"{described}. {message}",
    )


def history_chart(bundle: dict) -> None:
    """Month-by-month figures recorded by each monthly run (history store), on a time axis."""
    frame = pd.DataFrame(bundle.get("history") or [], columns=["period", "measure", "value"])
    periods = sorted(frame["period"].unique())
    if len(periods) < 2:
        _section(
            "Trends across monthly runs",
            _note(
                "The history store has no earlier month for this practice yet: trends of "
                "coverage, cohorts and requests start with this report."
            ),
        )
        return
    months = pd.period_range(periods[0], periods[-1], freq="M").astype(str)
    full = pd.MultiIndex.from_product([list(TREND_LABELS), months], names=["measure", "period"])
    frame = frame.set_index(["measure", "period"]).reindex(full).reset_index()
    frame = frame.assign(label=frame["measure"].map(TREND_LABELS))
    has_figures = frame.groupby("measure")["value"].transform(
        lambda v: charts.numeric(v).notna().any()
    )
    frame = frame[has_figures.astype(bool)]
    if frame.empty:
        _section(
            "Trends across monthly runs",
            _note(
                "Every figure the history store holds for this practice is too small to publish."
            ),
        )
        return
    missing = [m for m in months if m not in periods]
    chart = charts.facet_lines(frame, "label", "", percent_labels=("Protection coverage",))
    table = frame.pivot(index="period", columns="label", values="value")
    table = table.rename_axis(columns=None).reset_index()
    shown = table.assign(
        **{
            c: table[c].map(
                lambda v, c=c: (
                    show(v, "share" if c == "Protection coverage" else "count")
                    if v is not None and v == v
                    else "not run"
                )
            )
            for c in table.columns
            if c != "period"
        }
    ).rename(columns={"period": "Month"})
    gap = f" No run recorded for {', '.join(missing)}: the gap is left open." if missing else ""
    message = f"Figures recorded by each monthly run from {periods[0]} to {periods[-1]}.{gap}"
    chart_block(
        chart,
        shown,
        "Trends across monthly runs",
        message,
        f"Small line charts, one a measure, of the figures each monthly run recorded. {message}",
    )


# --------------------------------------------------------------------------- tables


def coverage_section(bundle: dict) -> None:
    """Protection coverage and the patients withheld pending opt-in, as a table (not for
    the default model, where access is automatic by design: its 104 share is above)."""
    if _default(bundle):
        return
    h = bundle["headline"]
    rows = [
        (
            "16+ without access, an opt-out or an opt-in request",
            show(h["protection_coverage_denominator"]),
        ),
        ("... of whom not protected from automatic access", show(h["unprotected"])),
        ("Protection coverage", show(h["protection_coverage_share"], "share")),
        ("16+ with neither access nor an opt-out", show(h["withheld_pending_opt_in"])),
        (
            "Active 104 codes added in bulk / individually",
            f"{show(h['active_104_bulk'])} / {show(h['active_104_individual'])}",
        ),
        ("16+ with an active 104 code", show(h["active_104_16plus"])),
        ("... as a share of registered patients aged 16+", show(h["active_104_share"], "share")),
    ]
    frame = pd.DataFrame(rows, columns=["Measure", "This month"])
    _section("Protection from automatic access", _table(frame))


def action_plan_table(bundle: dict) -> None:
    """The guidance's four steps for this practice's branch, with status and evidence (none
    on the default model: its figures are NHS England's, above)."""
    if _default(bundle):
        return
    frame = pd.DataFrame(bundle["action_plan"])
    frame["status"] = frame["status"].map(
        lambda s: STATUS_MARK.get(s, f"✘ {s}" if s.startswith("behind") else s)
    )
    frame.columns = [c.capitalize() for c in frame.columns]
    intro = _note(
        "Step 2 is a continuing duty: on track while no opt-in request has waited "
        "more than 28 days."
    )
    _section("Action plan (NHS England guidance)", intro + _table(frame, text=True))


def footnote(bundle: dict) -> None:
    """The disclosure-control footnote and the data source."""
    text = bundle["disclosure"]["footnote"]
    _show_html(
        f"<footer class='footnote'><p>{html.escape(text)}</p><p>Aggregate figures only: "
        "this report contains no patient-level data. Source: the practice's clinical "
        f"system extract, processed by {html.escape(made_by(bundle))}.</p></footer>"
    )


def made_by(bundle: dict) -> str:
    """The software and version that made ``bundle``, and when."""
    when = bundle["generated"].replace("T", " ")
    return f"{bundle.get('software', 'optin-analysis')} on {when}"
