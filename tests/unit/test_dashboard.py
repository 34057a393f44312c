"""The practice dashboard's logic: what the age band filters, tables as shown, the widgets."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import pytest

from optin_analysis.config import load_config
from optin_analysis.dates import age_on
from optin_analysis.ingest.load import PracticeData, load_practice
from optin_analysis.measures.month import month_measures
from optin_analysis.practice import charts
from optin_analysis.practice import dashboard as db
from tests.conftest import SAMPLE_CONFIG

TURNING_16 = "Turning 16 within {} months, not protected (whole practice)"
BULK = "Active 104 codes added in bulk (whole practice)"


@pytest.fixture(scope="module")
def sample() -> PracticeData:
    cfg = load_config(SAMPLE_CONFIG)
    return load_practice(cfg.practice("Y90001"))


@pytest.fixture(scope="module")
def views(sample: PracticeData) -> dict[str, db.View]:
    return {band: db.practice_view(sample, REF, 6, band) for band in db.AGE_BANDS}


REF = dt.date(2026, 10, 31)


def row(view: db.View, measure: str) -> tuple[str, str]:
    found = view.headline[view.headline["Measure"] == measure]
    assert len(found) == 1, (measure, list(view.headline["Measure"]))
    return tuple(found.iloc[0, 1:])


def whole_at_risk(data: PracticeData, ref: pd.Timestamp, horizon: int) -> int:
    start = ref.replace(day=1)
    m = month_measures(data.patients, data.events, data.profile, ref, start, start, horizon)
    return int(m.pending_16["at_risk"].sum())


# --------------------------------------------------------------------------- the age band


def test_no_band_zeroes_the_pending_16_figures(sample, views) -> None:
    expected = whole_at_risk(sample, pd.Timestamp(REF), 6)
    before = whole_at_risk(sample, pd.Timestamp("2026-09-30"), 6)
    assert expected > 0 and before > 0  # the sample has patients turning 16 at risk
    for band, view in views.items():
        assert row(view, TURNING_16.format(6)) == (str(expected), str(before)), band
        pd.testing.assert_frame_equal(view.pending_16, views["all ages"].pending_16)
        assert view.pending_16["at_risk"].sum() == expected


def test_protect_16_list_keeps_everyone_turning_16_in_every_band(views) -> None:
    turning = views["all ages"].worklists["protect-16"]
    assert len(turning) > 0
    for band, view in views.items():
        pd.testing.assert_frame_equal(view.worklists["protect-16"], turning, obj=band)


def test_band_filters_the_16_plus_figures(sample, views) -> None:
    def eligible(band: str) -> int:
        return int(row(views[band], "Registered patients aged 16+")[0].replace(",", ""))

    parts = [eligible(b) for b in ("16-17", "18-24", "25-64", "65+")]
    assert all(parts) and sum(parts) == eligible("16+") == eligible("all ages")
    for band in ("18-24", "65+"):
        low, high = db.AGE_BANDS[band]
        for name in ("revoke", "protect-adults"):
            ages = views[band].worklists[name]["age"].dropna()
            assert len(ages) and ages.between(low, high).all(), (band, name)
    requests = views["18-24"].worklists["requests"]
    ids = set(sample.patients["patient_id"][age_on(sample.patients["date_of_birth"], REF) > 24])
    assert not set(requests["patient_id"]) & ids


def test_bulk_104s_are_counted_for_the_whole_practice(views) -> None:
    counts = {band: row(view, BULK) for band, view in views.items()}
    assert len(set(counts.values())) == 1, counts
    assert counts["16-17"][0] not in ("0", "")


def test_horizon_changes_the_pending_16_table_and_row(sample) -> None:
    view = db.practice_view(sample, REF, 3, "16+")
    assert list(view.pending_16["month"]) == ["2026-11", "2026-12", "2027-01"]
    expected = whole_at_risk(sample, pd.Timestamp(REF), 3)
    assert row(view, TURNING_16.format(3))[0] == str(expected)


# --------------------------------------------------------------------------- tables as shown


def test_for_display_shows_dates_or_blank_never_nat() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["a", "b"],
            "when": pd.Series([pd.Timestamp("2026-12-23"), pd.NaT], dtype="datetime64[us]"),
            "age": pd.array([15, None], dtype="Int64"),
        }
    )
    shown = db.for_display(frame)
    assert list(shown["when"]) == ["2026-12-23", ""]
    assert list(shown["age"]) == [15, ""]
    html = db.table_html(frame)
    assert "NaT" not in html and "&lt;NA&gt;" not in html and "nan" not in html
    assert "<th>patient_id</th>" in html and "<th></th>" not in html  # no index column


def test_views_show_no_nat_and_no_index(views) -> None:
    for view in views.values():
        assert "NaT" not in db._lists_html(view.worklists)
        assert list(view.open_requests.columns)[0] == "Days waiting"
        assert isinstance(view.headline.index, pd.RangeIndex)
        assert "<tbody>\n    <tr>\n      <th>" not in db.table_html(view.headline)


def test_tables_of_a_month_feed_the_charts(sample) -> None:
    from optin_analysis.outgoing.summary import compute

    tables = db.tables(compute(sample, "2026-10"))
    assert {"headline", "trends", "pending_16", "open_requests", "action_plan"} <= set(tables)
    assert {"month", "backlog", "requests", "provisioned"} <= set(tables["trends"].columns)
    spec = charts.trend_chart(tables["trends"]).to_dict()
    brush = spec["params"][0]  # the brush on the backlog, filtering the opt-in chart
    assert brush["name"] == "months" and brush["select"]["type"] == "interval"
    assert {"filter": {"param": "months"}} in spec["vconcat"][1]["transform"]
    assert charts.cohort_chart(tables["pending_16"]).to_dict()["mark"]["type"] == "bar"


# --------------------------------------------------------------------------- the widgets


def test_dashboard_controls_redraw_and_report_problems() -> None:
    board = db.Dashboard(SAMPLE_CONFIG)
    assert board.horizon.description == "Turning 16 within (months)"
    assert board.horizon.style.description_width == "initial"
    assert board.band.value == "16+"
    board.refresh()
    first = board.headline.value
    assert "Y90001" in board.status.value and "NaT" not in board.lists.value
    assert board.trends.spec is not None and board.cohorts.spec is not None
    board.practice.value = "Y90002"  # observers redraw
    assert "Y90002" in board.status.value and board.headline.value != first
    board.ref_date.value = dt.date(2030, 1, 1)  # after the extract date
    assert "extract date" in board.status.value
    assert "Y90002" not in board.status.value


def test_charts_are_offline_widgets_without_the_editor_link() -> None:
    active, options = alt.renderers.active, dict(alt.renderers.options)
    try:
        charts.enable_offline_charts()
        assert alt.renderers.active == "jupyter"
        assert alt.renderers.options["offline"] is True
    finally:
        alt.renderers.enable(active, **options)
    widget = charts.live_chart()
    assert "esm.sh" not in widget._esm and "cdn.jsdelivr" not in widget._esm
    assert "vegaEmbed" in widget._esm or "vega-embed" in widget._esm
    assert widget.embed_options["actions"]["editor"] is False
