"""The reports' charts, drawn from published tables only (aggregates under disclosure control).

Every chart is readable by the people who get it: text at least 12 px, series told apart
by position, shape or dash as well as colour (Okabe-Ito colours), small series on their
own scale (a panel of their own), and a suppressed figure drawn as a "[c]" mark on the
axis with a gap in the line, never as a zero or a line that stops. Months are on a time
axis, so a month missing from the history store shows as a gap.
"""

from __future__ import annotations

import hashlib
import json
import re

import altair as alt
import pandas as pd

from optin_analysis.outgoing.disclosure import hidden
from optin_analysis.reports import fonts

FONT = 13  #: px: axis labels, legends, titles and marks
WIDTH = 620
#: Okabe-Ito colour-blind-safe palette.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
SHAPES = ("circle", "square", "triangle-up", "diamond")
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3])
SUPPRESSED = "[c]"


#: The reports' chart settings, set on each top-level chart as it is (copying a chart
#: per ``configure_*`` call costs more than drawing it).
CONFIG = alt.Config(
    font=fonts.FAMILY,
    axis=alt.AxisConfig(labelFontSize=FONT, titleFontSize=FONT, labelLimit=220),
    legend=alt.LegendConfig(labelFontSize=FONT, titleFontSize=FONT, symbolSize=120),
    header=alt.HeaderConfig(labelFontSize=FONT + 1, titleFontSize=FONT, labelFontWeight="bold"),
    title=alt.TitleConfig(fontSize=FONT + 1),
    view=alt.ViewConfig(stroke=None),
)


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    chart.config = CONFIG
    return chart


def _layered(layers: list[alt.Chart], data: alt.NamedData, **props: object) -> alt.LayerChart:
    """Layers on one panel sharing ``data``: as ``alt.LayerChart(layer=..., ...)`` makes
    it for layers without data, params, names or sizes of their own (all of ours), without
    the deep copy of every layer its constructor makes (most of a report's chart time)."""
    chart = alt.LayerChart(data=data, **props)
    chart.layer = layers
    return chart


def _stacked(charts: list[alt.TopLevelMixin], **props: object) -> alt.VConcatChart:
    """Charts one above the other, as ``alt.vconcat`` makes them for charts without params
    (all of ours), without copying each one."""
    chart = alt.VConcatChart(**props)
    chart.vconcat = charts
    return chart


def _side_by_side(charts: list[alt.TopLevelMixin]) -> alt.HConcatChart:
    """Charts side by side, as ``alt.hconcat`` makes them, without copying each one."""
    chart = alt.HConcatChart()
    chart.hconcat = charts
    return chart


#: Rows of the named datasets charts refer to, until :func:`attach_datasets` takes them.
_ROWS: dict[str, list[dict]] = {}


def named(frame: pd.DataFrame) -> alt.NamedData:
    """``frame`` as a dataset charts refer to by name.

    Altair copies every sub-chart, rows included, each time it combines charts, and
    converts each DataFrame again when it writes the spec: most of the time a report's
    charts took. Named, the rows are converted once (JSON: missing values as null, dates
    as ISO text) and put into the finished spec by :func:`attach_datasets`.
    """
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))
    name = "data-" + hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    _ROWS[name] = rows
    return alt.NamedData(name=name)


def attach_datasets(spec: dict) -> dict:
    """Put the rows of every named dataset ``spec`` refers to into its ``datasets``."""
    names = set(re.findall(r'"name": "(data-[0-9a-f]{16})"', json.dumps(spec)))
    found = {n: _ROWS.pop(n) for n in names if n in _ROWS}
    if found:
        spec["datasets"] = {**spec.get("datasets", {}), **found}
    return spec


def numeric(values: pd.Series) -> pd.Series:
    """Published values as numbers: "[c]" becomes missing (drawn as a gap)."""
    return pd.to_numeric(values.map(lambda v: None if hidden(v) else v), errors="coerce")


def _marks(frame: pd.DataFrame, x: alt.X, suppressed: pd.Series) -> alt.Chart:
    """A "[c]" text on the axis at each row of ``frame`` where ``suppressed``."""
    where = frame[suppressed.to_numpy(dtype=bool)]
    return (
        alt.Chart(named(where.assign(mark=SUPPRESSED, zero=0)))
        .mark_text(fontSize=FONT, dy=-8, color="#4c6272")
        .encode(x=x, y=alt.Y("zero:Q"), text=alt.Text("mark:N"))
    )


def _months_axis(dates: pd.Series, width: int) -> alt.Axis:
    """A time axis of months with a tick every 1, 2, 3, 6 or 12 months, the fewest that
    fit ``width`` (Vega's own ticks for a short series fall inside one month, each
    labelled with it)."""
    months = pd.to_datetime(dates).dt.to_period("M")
    span = (months.max() - months.min()).n + 1
    fits = max(1, width // 60)
    step = next((s for s in (1, 2, 3, 6) if span <= s * fits), 12)
    return alt.Axis(format="%b %Y", labelAngle=-40, tickCount={"interval": "month", "step": step})


def bars(
    frame: pd.DataFrame,
    x: str,
    column: str,
    title: str,
    colour: str = COLOURS[0],
    height: int = 110,
    x_title: str | None = None,
    label: str | None = None,
) -> alt.LayerChart:
    """Bars of one published series with "[c]" marks, value labels on the bars (the text
    of column ``label`` where given)."""
    data = frame.assign(value=numeric(frame[column]))
    order = list(dict.fromkeys(frame[x]))
    axis_x = alt.X(f"{x}:O", sort=order, title=x_title, axis=alt.Axis(labelAngle=-40))
    y = alt.Y("value:Q", title=title, axis=alt.Axis(format=",.0f"))
    drawn = alt.Chart().mark_bar(color=colour).encode(x=axis_x, y=y)
    labels = (
        alt.Chart()
        .mark_text(dy=-7, fontSize=FONT - 1)
        .encode(
            x=axis_x,
            y=alt.Y("value:Q"),
            text=alt.Text(f"{label}:N") if label else alt.Text("value:Q", format=",.0f"),
        )
    )
    marks = _marks(data, axis_x, frame[column].map(hidden))
    return _layered([drawn, labels, marks], named(data), width=WIDTH, height=height)


#: Up to this many bars a chart labels every bar; beyond, only bars of several months.
LABEL_ALL_BARS = 24


def period_bars(
    frame: pd.DataFrame,
    column: str,
    title: str,
    colour: str = COLOURS[0],
    height: int = 100,
    label: str | None = None,
) -> alt.LayerChart:
    """Bars of a series published by periods of one or more months (rows with ``from``
    and ``to`` months) on a time axis: each bar spans its months, its height the monthly
    average, labelled with column ``label`` (the period's total); "[c]" where suppressed."""
    starts = pd.to_datetime(frame["from"])
    ends = pd.to_datetime(frame["to"]) + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)
    months = (ends.dt.to_period("M") - starts.dt.to_period("M")).map(lambda d: d.n)
    values = numeric(frame[column])
    shown = (months > 1) | (len(frame) <= LABEL_ALL_BARS) | (values == 0)  # 0 has no bar
    data = frame.assign(
        start=starts, end=ends, value=values / months, mid=starts + (ends - starts) / 2,
        text=(frame[label] if label else frame[column].map(str)).where(shown & values.notna(), ""),
    )  # fmt: skip
    x = alt.X("start:T", title=None, axis=_months_axis(pd.concat([starts, ends]), WIDTH))
    y = alt.Y("value:Q", title=title, axis=alt.Axis(format=",.0f"))
    drawn = (
        alt.Chart()
        .mark_bar(color=colour, stroke="white", strokeWidth=1)
        .encode(x=x, x2="end:T", y=y, y2=alt.datum(0))
    )
    labels = (
        alt.Chart()
        .mark_text(dy=-7, fontSize=FONT - 1)
        .encode(x=alt.X("mid:T"), y=alt.Y("value:Q"), text=alt.Text("text:N"))
    )
    marks = _marks(data.assign(start=data["mid"]), alt.X("start:T"), frame[column].map(hidden))
    return _layered([drawn, labels, marks], named(data), width=WIDTH, height=height)


def panels(charts: list[alt.TopLevelMixin]) -> alt.TopLevelMixin:
    """Charts one above the other, each on its own scale; configured for the reports."""
    return _config(_stacked(charts, spacing=18))


def single(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """One chart, configured for the reports."""
    return _config(chart)


def month_line(
    frame: pd.DataFrame,
    column: str,
    title: str,
    colour: str = COLOURS[1],
    height: int = 170,
    percent: bool = False,
    width: int = WIDTH,
) -> alt.LayerChart:
    """A month-end series on a time axis: points joined by a line, gaps where suppressed or
    missing, "[c]" on the axis where suppressed."""
    data = frame.assign(value=numeric(frame[column]), date=pd.to_datetime(frame["period"]))
    x = alt.X("yearmonth(date):T", title=None, axis=_months_axis(data["date"], width))
    y = alt.Y("value:Q", title=title, axis=alt.Axis(format=".0%" if percent else ",.0f"))
    line = alt.Chart().mark_line(color=colour, strokeWidth=2.5, invalid="break-paths-show-domains")
    points = alt.Chart().mark_point(color=colour, filled=True, size=60, shape="circle")
    marks = _marks(data, x, frame[column].map(hidden))
    layer = [line.encode(x=x, y=y), points.encode(x=x, y=y), marks]
    return _layered(layer, named(data), width=width, height=height)


def facet_lines(
    frame: pd.DataFrame,
    label_col: str,
    title: str,
    columns: int = 3,
    percent_labels: tuple[str, ...] = (),
) -> alt.TopLevelMixin:
    """Small multiples, one measure a panel with its own scale, months on a time axis."""
    charts = []
    for i, (label, rows) in enumerate(frame.groupby(label_col, sort=False)):
        chart = month_line(
            rows,
            "value",
            "",
            COLOURS[i % len(COLOURS)],
            height=110,
            percent=label in percent_labels,
            width=190,
        )
        chart.title = label  # set in place: properties() copies
        charts.append(chart)
    rows_of = [_side_by_side(charts[i : i + columns]) for i in range(0, len(charts), columns)]
    return _config(_stacked(rows_of, spacing=12, title=title))
