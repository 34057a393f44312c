"""The practice dashboard for JupyterLab (practice-internal: exact figures and worklists).

:func:`practice_view` computes everything the dashboard shows for one choice of practice,
reference date, pending-16 horizon and age band; :class:`Dashboard` wires ipywidgets
controls to it and redraws linked Altair charts and tables in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from optin_analysis.config import load_config
from optin_analysis.dates import age_on, as_timestamp
from optin_analysis.ingest.load import PracticeData, load_practice
from optin_analysis.measures.month import month_measures
from optin_analysis.outgoing.summary import headline_rows, trend_start
from optin_analysis.practice.worklists import worklists

#: Age bands (inclusive, at the reference date) the dashboard can restrict to.
AGE_BANDS: dict[str, tuple[int, int]] = {
    "all ages": (0, 200),
    "16+": (16, 200),
    "16-17": (16, 17),
    "18-24": (18, 24),
    "25-64": (25, 64),
    "65+": (65, 200),
}


@dataclass(frozen=True)
class View:
    """What the dashboard shows for one set of choices (exact figures)."""

    headline: pd.DataFrame
    trends: pd.DataFrame
    pending_16: pd.DataFrame
    open_requests: pd.DataFrame
    worklists: dict[str, pd.DataFrame]


def in_band(patients: pd.DataFrame, ref: dt.date, band: str) -> pd.DataFrame:
    """Patients whose age at ``ref`` falls in the named band."""
    low, high = AGE_BANDS[band]
    age = age_on(patients["date_of_birth"], ref)
    return patients[((age >= low) & (age <= high)).fillna(False).to_numpy()]


def practice_view(data: PracticeData, ref: dt.date, horizon: int, band: str) -> View:
    """Measures, trends, cohorts and worklists for one practice at ``ref``.

    The age band restricts every figure except the pending-16 cohorts, which are always
    the under-16s turning 16 within the horizon.
    """
    ref_ts = as_timestamp(ref)
    start = ref_ts.replace(day=1)
    banded = in_band(data.patients, ref, band)
    m = month_measures(
        banded, data.events, data.profile, ref_ts, start, trend_start(data.profile, ref_ts)
    )
    cohorts = month_measures(
        data.patients, data.events, data.profile, ref_ts, start, start, horizon
    ).pending_16
    trends = m.uptake_by_month[["month", "requests", "provisioned"]].merge(
        m.backlog_by_month[["month", "backlog", "revocations"]], on="month"
    )
    rows = headline_rows(m.headline, m.previous)
    table = pd.DataFrame(rows, columns=["Measure", "At reference date", "Month before"])
    lists = worklists(banded, data.events, data.profile, ref_ts, horizon, state=m.state)
    return View(table, trends, cohorts, m.open_requests, lists)


def trend_chart(trends: pd.DataFrame) -> alt.VConcatChart:
    """Backlog and uptake by month, linked: brush months on the top chart to zoom the lower."""
    brush = alt.selection_interval(encodings=["x"])
    base = alt.Chart(trends).encode(x=alt.X("month:O", title="Month"))
    backlog = (
        base.mark_line(point=True, color="#b2182b")
        .encode(y=alt.Y("backlog:Q", title="Revocation backlog"),
                tooltip=["month", "backlog", "revocations"])
        .add_params(brush)
        .properties(width=640, height=160, title="Drag across months to focus the chart below")
    )  # fmt: skip
    uptake = (
        base.transform_fold(["requests", "provisioned"], as_=["stage", "patients"])
        .mark_bar()
        .encode(
            y=alt.Y("patients:Q", title="Opt-in per month"),
            color=alt.Color("stage:N", title=None),
            xOffset="stage:N",
            tooltip=["month", "stage:N", "patients:Q"],
        )
        .transform_filter(brush)
        .properties(width=640, height=160)
    )
    return alt.vconcat(backlog, uptake)


def cohort_chart(cohorts: pd.DataFrame) -> alt.Chart:
    """Pending-16 cohorts by month of birthday, protected vs at risk."""
    long = cohorts.melt("month", ["protected", "at_risk"], var_name="status", value_name="n")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month of 16th birthday"),
            y=alt.Y("n:Q", title="Patients"),
            color=alt.Color("status:N", scale=alt.Scale(range=["#4d9221", "#c51b7d"])),
            tooltip=["month", "status", "n"],
        )
        .properties(width=420, height=180)
    )


class Dashboard:
    """Controls (practice, reference date, horizon, age band) and an output redrawn in place."""

    def __init__(self, config: str | Path, practice: str | None = None, ref_date=None):
        self.cfg = load_config(config)
        first = self.cfg.practice(practice) if practice else self.cfg.practices[0]
        self._data: dict[str, PracticeData] = {}
        options = [(f"{p.ods_code} {p.name}", p.ods_code) for p in self.cfg.practices]
        self.practice = widgets.Dropdown(
            options=options, value=first.ods_code, description="Practice"
        )
        self.ref_date = widgets.DatePicker(
            value=dt.date.fromisoformat(ref_date) if ref_date else first.extract_date,
            description="As of",
        )
        self.horizon = widgets.IntSlider(value=6, min=1, max=12, description="16 within (m)")
        self.band = widgets.Dropdown(options=list(AGE_BANDS), value="16+", description="Age band")
        self.output = widgets.Output()
        for control in (self.practice, self.ref_date, self.horizon, self.band):
            control.observe(lambda _change: self.refresh(), names="value")

    def data(self) -> PracticeData:
        """The chosen practice's validated extracts (loaded once per practice)."""
        code = self.practice.value
        if code not in self._data:
            self._data[code] = load_practice(self.cfg.practice(code))
        return self._data[code]

    def view(self) -> View:
        """The current view for the controls' values."""
        return practice_view(self.data(), self.ref_date.value, self.horizon.value, self.band.value)

    def refresh(self) -> None:
        """Recompute and redraw the output area."""
        v = self.view()
        with self.output:
            self.output.clear_output(wait=True)
            display(v.headline)
            display(trend_chart(v.trends))
            display(cohort_chart(v.pending_16))
            bands = list(dict.fromkeys(v.open_requests["band"]))
            waiting = v.open_requests.pivot(index="band", columns="stage", values="requests")
            display(waiting.reindex(bands))
            for name, frame in v.worklists.items():
                print(f"Worklist '{name}': {len(frame):,} patients (first 10)")
                display(frame.head(10))

    def show(self) -> None:
        """Display the controls and the output, then draw."""
        controls = widgets.HBox([self.practice, self.ref_date, self.horizon, self.band])
        display(widgets.VBox([controls, self.output]))
        self.refresh()
