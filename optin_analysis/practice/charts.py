"""Charts for the practice workbench (JupyterLab), drawn with nothing fetched from the network.

Altair's default renderer emits HTML that loads Vega from a CDN, which practice and ICB
networks often block. Here charts are shown as Altair's ``JupyterChart`` widget in its
offline mode: the widget's JavaScript (Vega, Vega-Lite, vega-embed) is the bundle that
vl-convert builds locally, sent to the browser through the kernel, so a chart draws on
a machine with no network and keeps its interactions (the linked brush).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

#: vega-embed options: SVG output; of the action menu only export (SVG/PNG), not "Open in
#: Vega Editor", which would send the chart's data to a web site.
EMBED_OPTIONS: dict[str, Any] = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}
BACKLOG_COLOUR = "#b2182b"
COHORT_COLOURS = ["#4d9221", "#c51b7d"]  # protected, at risk
AT_RISK = "not protected"


def enable_offline_charts() -> None:
    """Make every Altair chart displayed in this kernel draw offline in JupyterLab.

    Switches Altair to its ``jupyter`` renderer with ``offline=True``: each chart becomes
    a ``JupyterChart`` widget whose JavaScript comes from vl-convert, not from a CDN.
    Needs the ``anywidget`` package and a live kernel (widgets do not draw in exported
    HTML; outgoing reports draw static SVG instead).
    """
    alt.JupyterChart.enable_offline()
    alt.renderers.enable("jupyter", offline=True, embed_options=EMBED_OPTIONS)


def live_chart(chart: alt.TopLevelMixin | None = None) -> alt.JupyterChart:
    """An offline ``JupyterChart`` widget; give it a new chart with ``widget.chart = ...``.

    Reassigning ``.chart`` sends only the new spec to the browser, not the ~0.9 MB bundle
    again, so a dashboard keeps one widget per chart and redraws it in place.
    """
    alt.JupyterChart.enable_offline()
    return alt.JupyterChart(chart, embed_options=EMBED_OPTIONS)


def trend_chart(trends: pd.DataFrame) -> alt.VConcatChart:
    """Backlog and opt-in by month, linked: brush months on the upper chart to focus the lower.

    ``trends`` has one row per month: ``month`` (YYYY-MM), ``backlog``, ``revocations``,
    ``requests`` and ``provisioned``.
    """
    brush = alt.selection_interval(encodings=["x"], name="months")
    base = alt.Chart(trends).encode(x=alt.X("month:O", title="Month"))
    backlog = (
        base.mark_line(point=True, color=BACKLOG_COLOUR)
        .encode(
            y=alt.Y("backlog:Q", title="Revocation backlog"),
            tooltip=["month", "backlog", "revocations"],
        )
        .add_params(brush)
        .properties(
            width=640, height=160, title="Revocation backlog (drag across months to focus below)"
        )
    )
    uptake = (
        base.transform_fold(["requests", "provisioned"], as_=["stage", "patients"])
        .mark_bar()
        .encode(
            y=alt.Y("patients:Q", title="Opt-in per month"),
            color=alt.Color(
                "stage:N",
                title=None,
                sort=["requests", "provisioned"],
                legend=alt.Legend(orient="bottom"),
            ),
            xOffset=alt.XOffset("stage:N", sort=["requests", "provisioned"]),
            tooltip=["month", "stage:N", "patients:Q"],
        )
        .transform_filter(brush)
        .properties(width=640, height=160, title="Opt-in requests and access provisioned")
    )
    return alt.vconcat(backlog, uptake)


def cohort_chart(cohorts: pd.DataFrame) -> alt.Chart:
    """Patients turning 16, by month of their 16th birthday: protected vs at risk.

    ``cohorts`` is the ``pending_16`` table: ``month``, ``protected``, ``at_risk``.
    """
    named = cohorts.rename(columns={"at_risk": AT_RISK})
    long = named.melt("month", ["protected", AT_RISK], var_name="status", value_name="n")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month of 16th birthday"),
            y=alt.Y("n:Q", title="Patients"),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(domain=["protected", AT_RISK], range=COHORT_COLOURS),
            ),
            tooltip=["month", "status", "n"],
        )
        .properties(width=420, height=180, title="Turning 16: protected and at risk")
    )
