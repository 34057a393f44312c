"""The practice dashboard for JupyterLab (practice-internal: exact figures and worklists).

:func:`practice_view` computes everything the dashboard shows for one choice of practice,
reference date, pending-16 horizon and age band; :func:`tables` lays out a month's
measures as display tables; :class:`Dashboard` wires ipywidgets controls to them and
redraws its tables and offline Altair charts in place.

What the age band (age on the reference date) filters is :data:`BAND_NOTE`.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import display

from optin_analysis.config import load_config
from optin_analysis.dates import age_on, as_timestamp
from optin_analysis.ingest.load import PracticeData, load_practice
from optin_analysis.measures.month import MonthMeasures, month_measures
from optin_analysis.outgoing.summary import LABELS, PracticeMonth, headline_rows, trend_start
from optin_analysis.practice.charts import cohort_chart, live_chart, trend_chart
from optin_analysis.practice.worklists import worklists
from optin_analysis.problems import InputError

#: Age bands (inclusive, age on the reference date); None: no filter.
AGE_BANDS: dict[str, tuple[int, int] | None] = {
    "all ages": None,
    "16+": (16, 200),
    "16-17": (16, 17),
    "18-24": (18, 24),
    "25-64": (25, 64),
    "65+": (65, 200),
}
DEFAULT_BAND = "16+"
#: Headline rows always shown for the whole practice, whatever the band.
WHOLE_PRACTICE = "(whole practice)"
#: What the age band means for each table (shown under the controls).
BAND_NOTE = (
    "<b>Age band</b> (age on the <i>As of</i> date) filters the figures about patients in "
    "the band: the headline table, both trend charts, the open requests, and the "
    "worklists of 16+ patients. "
    "<b>Not filtered</b>, always the whole practice: everything about patients turning 16 "
    "(the chart, the <i>Turning 16</i> row and the <i>protect-16</i> worklist: they are "
    "under 16, so a band would hide them) and <i>Active 104 codes added in bulk</i> (bulk "
    "means 50+ patients of the practice coded on one day)."
)
PREVIEW_ROWS = 10
#: Scoped CSS: readable line height, tables left-aligned with their labels on the left.
STYLE = """<style>
.optin-dashboard .widget-html-content { line-height: 1.4; }
.optin-dashboard .optin-note { font-size: 12px; color: var(--jp-ui-font-color2); }
.optin-dashboard .optin-table { margin-left: 0; }
.optin-dashboard .optin-table th:first-child,
.optin-dashboard .optin-table td:first-child { text-align: left; }
</style>"""


@dataclass(frozen=True)
class View:
    """What the dashboard shows for one set of choices (exact figures, display-ready)."""

    headline: pd.DataFrame  #: Measure, At reference date, Month before
    trends: pd.DataFrame  #: month, requests, provisioned, backlog, revocations
    pending_16: pd.DataFrame  #: month, cohort, protected, at_risk (whole practice)
    open_requests: pd.DataFrame  #: Days waiting, then one column per stage
    worklists: dict[str, pd.DataFrame]


# --------------------------------------------------------------------------- tables


def in_band(patients: pd.DataFrame, ref: dt.date, band: str) -> pd.DataFrame:
    """Patients whose age at ``ref`` falls in the named band (all of them for "all ages")."""
    bounds = AGE_BANDS[band]
    if bounds is None:
        return patients
    low, high = bounds
    age = age_on(patients["date_of_birth"], ref)
    return patients[((age >= low) & (age <= high)).fillna(False).to_numpy()]


def headline_table(headline: dict, previous: dict | None = None) -> pd.DataFrame:
    """The headline figures as a table: Measure, At reference date, Month before."""
    rows = headline_rows(headline, previous, reasons=True)
    return pd.DataFrame(rows, columns=["Measure", "At reference date", "Month before"])


def trends_table(measures: MonthMeasures) -> pd.DataFrame:
    """Opt-in and backlog by month in one frame (what :func:`trend_chart` draws)."""
    uptake = measures.uptake_by_month[["month", "requests", "provisioned"]]
    return uptake.merge(measures.backlog_by_month[["month", "backlog", "revocations"]], on="month")


def waiting_table(open_requests: pd.DataFrame) -> pd.DataFrame:
    """Open requests as days-waiting bands (rows, in order) by stage (columns)."""
    bands = list(dict.fromkeys(open_requests["band"]))
    wide = open_requests.pivot(index="band", columns="stage", values="requests").reindex(bands)
    wide.columns.name = None
    return wide.reset_index().rename(columns={"band": "Days waiting"})


def tables(month: PracticeMonth | MonthMeasures) -> dict[str, pd.DataFrame]:
    """A month's measures as tables (exact figures, practice-internal).

    Takes what :func:`~optin_analysis.outgoing.summary.compute` or
    :func:`~optin_analysis.measures.definitions.month_measures` returns. Keys:
    ``headline`` (Measure, At reference date, Month before), ``trends`` (for
    :func:`~optin_analysis.practice.charts.trend_chart`), ``uptake_by_month``,
    ``backlog_by_month``, ``pending_16`` (for
    :func:`~optin_analysis.practice.charts.cohort_chart`), ``open_requests`` (days
    waiting by stage) and, from ``compute``, ``action_plan``.
    """
    m = month.measures if isinstance(month, PracticeMonth) else month
    out = {
        "headline": headline_table(m.headline, m.previous),
        "trends": trends_table(m),
        "uptake_by_month": m.uptake_by_month,
        "backlog_by_month": m.backlog_by_month,
        "pending_16": m.pending_16,
        "open_requests": waiting_table(m.open_requests),
    }
    if isinstance(month, PracticeMonth):
        out["action_plan"] = month.action_plan
    return out


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD and missing values as blank (never NaT, NaN or <NA>)."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.dt.strftime("%Y-%m-%d")
        out[name] = column.astype(object).where(column.notna(), "")
    return pd.DataFrame(out, columns=frame.columns)


def table_html(frame: pd.DataFrame, rows: int | None = None) -> str:
    """An HTML table without the index (text escaped), first ``rows`` rows when given."""
    shown = frame if rows is None else frame.head(rows)
    body = for_display(shown).to_html(index=False, border=0, classes="optin-table")
    return f'<div class="jp-RenderedHTMLCommon">{body}</div>'


# --------------------------------------------------------------------------- the view


def _at_risk_before(data: PracticeData, ref: pd.Timestamp, horizon: int) -> int | None:
    """Pending-16 at risk at the end of the month before ``ref``'s, for ``horizon`` months."""
    prev_end = ref.replace(day=1) - pd.Timedelta(days=1)
    prev_start = prev_end.replace(day=1)
    m = month_measures(
        data.patients, data.events, data.profile, prev_end, prev_start, prev_start, horizon
    )
    return int(m.pending_16["at_risk"].sum())


def _headline(
    banded: MonthMeasures, whole: MonthMeasures, data: PracticeData, ref: pd.Timestamp,
    horizon: int,
) -> pd.DataFrame:  # fmt: skip
    """The banded headline with the whole-practice rows (pending-16, bulk 104s) put back."""
    now = {**banded.headline, "active_104_bulk": whole.headline["active_104_bulk"]}
    now["pending_16_at_risk"] = int(whole.pending_16["at_risk"].sum())
    before = None
    if banded.previous is not None and whole.previous is not None:
        before = {**banded.previous, "active_104_bulk": whole.previous["active_104_bulk"]}
        before["pending_16_at_risk"] = _at_risk_before(data, ref, horizon)
    table = headline_table(now, before)
    labels = dict(zip(LABELS, table["Measure"], strict=True))
    labels["pending_16_at_risk"] = f"Turning 16 within {horizon} months, not protected"
    for key in ("pending_16_at_risk", "active_104_bulk"):
        labels[key] = f"{labels[key]} {WHOLE_PRACTICE}"
    return table.assign(Measure=list(labels.values()))


#: Worklists about patients under 16, never filtered by the age band.
UNDER_16_LISTS = ("protect-16",)


def _banded_lists(lists: dict[str, pd.DataFrame], banded_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """Worklists restricted to the band, keeping every list about patients turning 16."""
    out = {}
    for name, frame in lists.items():
        keep = np.ones(len(frame), dtype=bool)
        if name not in UNDER_16_LISTS:
            keep = frame["patient_id"].isin(banded_ids).to_numpy()
        out[name] = frame[keep].reset_index(drop=True)
    return out


def practice_view(data: PracticeData, ref: dt.date, horizon: int, band: str) -> View:
    """Measures, trends, cohorts and worklists for one practice at ``ref``.

    The age band filters what :data:`BAND_NOTE` says; everything about patients turning
    16 within ``horizon`` months, and the bulk 104 count, is for the whole practice.
    """
    ref_ts = as_timestamp(ref)
    start, trends_from = ref_ts.replace(day=1), trend_start(data.profile, ref_ts)
    whole = month_measures(
        data.patients, data.events, data.profile, ref_ts, start, trends_from, horizon
    )
    banded_patients = in_band(data.patients, ref, band)
    banded = whole
    if AGE_BANDS[band] is not None:
        banded = month_measures(
            banded_patients, data.events, data.profile, ref_ts, start, trends_from, horizon
        )
    lists = worklists(data.patients, data.events, data.profile, ref_ts, horizon, whole.state)
    return View(
        headline=_headline(banded, whole, data, ref_ts, horizon),
        trends=trends_table(banded),
        pending_16=whole.pending_16,
        open_requests=waiting_table(banded.open_requests),
        worklists=_banded_lists(lists, banded_patients["patient_id"]),
    )


# --------------------------------------------------------------------------- the widgets


def _lists_html(lists: dict[str, pd.DataFrame]) -> str:
    parts = []
    for name, frame in lists.items():
        shown = min(len(frame), PREVIEW_ROWS)
        title = f"Worklist <i>{html.escape(name)}</i>: {len(frame):,} patients"
        if shown:
            title += f" (first {shown})"
        parts.append(f"<h4>{title}</h4>" + (table_html(frame, PREVIEW_ROWS) if shown else ""))
    return "".join(parts)


class Dashboard:
    """Controls (practice, reference date, horizon, age band) and outputs redrawn in place.

    The charts are offline ``JupyterChart`` widgets kept for the dashboard's life: a
    change of control sends new specs and tables, never the chart library again.
    """

    def __init__(
        self, config: str | Path, practice: str | None = None, ref_date: str | None = None
    ):
        self.cfg = load_config(config)
        first = self.cfg.practice(practice) if practice else self.cfg.practices[0]
        self._data: dict[str, PracticeData] = {}
        self.last_refresh_seconds: float | None = None
        wide = {"description_width": "initial"}
        self.practice = widgets.Dropdown(
            options=[(f"{p.ods_code} {p.name}", p.ods_code) for p in self.cfg.practices],
            value=first.ods_code, description="Practice", style=wide,
        )  # fmt: skip
        self.ref_date = widgets.DatePicker(
            value=dt.date.fromisoformat(ref_date) if ref_date else first.extract_date,
            description="As of", style=wide,
        )  # fmt: skip
        self.horizon = widgets.IntSlider(
            value=6, min=1, max=12, description="Turning 16 within (months)", style=wide,
            layout=widgets.Layout(width="360px"),
        )  # fmt: skip
        self.band = widgets.Dropdown(
            options=list(AGE_BANDS), value=DEFAULT_BAND, description="Age band", style=wide,
            layout=widgets.Layout(width="180px"),
        )  # fmt: skip
        self.status = widgets.HTML()
        self.headline = widgets.HTML()
        self.trends = live_chart()
        self.cohorts = live_chart()
        self.waiting = widgets.HTML()
        self.lists = widgets.HTML()
        self.widget = self._layout()
        for control in (self.practice, self.ref_date, self.horizon, self.band):
            control.observe(lambda _change: self.refresh(), names="value")

    def _layout(self) -> widgets.VBox:
        controls = widgets.HBox([self.practice, self.ref_date, self.horizon, self.band])
        controls.layout.flex_flow = "row wrap"
        parts = {
            "style": widgets.HTML(STYLE), "controls": controls, "note": widgets.HTML(BAND_NOTE),
            "status": self.status, "headline": self.headline, "trends": self.trends,
            "cohorts": self.cohorts, "waiting": self.waiting, "lists": self.lists,
        }  # fmt: skip
        for name, part in parts.items():
            part.add_class(f"optin-{name}")
        for chart in (self.trends, self.cohorts):
            chart.add_class("optin-chart")
        board = widgets.VBox(list(parts.values()))
        board.add_class("optin-dashboard")
        return board

    def data(self) -> PracticeData:
        """The chosen practice's validated extracts (loaded once per practice)."""
        code = self.practice.value
        if code not in self._data:
            self._data[code] = load_practice(self.cfg.practice(code))
        return self._data[code]

    def problem(self) -> str | None:
        """Why the current choices cannot be shown, or None."""
        ref, extract = self.ref_date.value, self.cfg.practice(self.practice.value).extract_date
        if ref is None:
            return "Pick an <i>As of</i> date."
        if ref > extract:
            return f"Pick an <i>As of</i> date on or before the extract date, {extract}."
        return None

    def view(self) -> View:
        """The current view for the controls' values."""
        return practice_view(self.data(), self.ref_date.value, self.horizon.value, self.band.value)

    def refresh(self) -> None:
        """Recompute and redraw; problems are shown in the status line, never raised."""
        started = time.perf_counter()
        problem, view = self.problem(), None
        if problem is None:
            try:
                view = self.view()
            except InputError as exc:
                problem = f"Cannot load {self.practice.value}: {html.escape(str(exc))}"
        self.last_refresh_seconds = time.perf_counter() - started
        self.status.value = (
            f'<span style="color:#b2182b">{problem}</span>' if problem else self._describe()
        )
        if view is not None:
            self._draw(view)

    def _describe(self) -> str:
        profile = self.cfg.practice(self.practice.value)
        return (
            f"<b>{html.escape(profile.ods_code)} {html.escape(profile.name)}</b> as of "
            f"{self.ref_date.value}, age band {self.band.value}: exact figures, "
            f"practice-internal (computed in {self.last_refresh_seconds:.2f} s)"
        )

    def _draw(self, v: View) -> None:
        self.headline.value = table_html(v.headline)
        self.trends.chart = trend_chart(v.trends)
        self.cohorts.chart = cohort_chart(v.pending_16)
        self.waiting.value = "<h4>Open opt-in requests by days waiting</h4>" + table_html(
            v.open_requests
        )
        self.lists.value = _lists_html(v.worklists)

    def show(self) -> None:
        """Draw, then display the controls and outputs."""
        self.refresh()
        display(self.widget)
