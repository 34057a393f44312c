"""Properties of the measures on generated small practices (hypothesis)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optin_analysis.config import GoLiveStatus, Practice, Supplier
from optin_analysis.ingest.schema import AccessLevel, EventType
from optin_analysis.measures import definitions as m
from optin_analysis.measures import month
from optin_analysis.measures.state import patient_state
from tests.builders import make_events, make_patients, make_profile

# Example count and randomness come from the profile tests/conftest.py loads ("fixed":
# derandomised, 100 examples; HYPOTHESIS_PROFILE=explore: random, 1,000).
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEAP_BIRTHS = [dt.date(2008, 2, 29), dt.date(2004, 2, 29), dt.date(2009, 3, 1)]


def _day(start: dt.date, span: int) -> st.SearchStrategy[dt.date]:
    return st.integers(0, span).map(lambda k: start + dt.timedelta(days=k))


@st.composite
def patient_rows(draw: st.DrawFn, i: int) -> dict:
    dob = draw(st.one_of(st.sampled_from(LEAP_BIRTHS), _day(dt.date(1995, 1, 1), 7300)))
    reg = dob + dt.timedelta(days=draw(st.integers(0, 9000)))
    account = draw(st.booleans())
    return {
        "patient_id": f"p{i}",
        "date_of_birth": dob.isoformat(),
        "registration_date": reg.isoformat(),
        "online_account": account,
        "online_account_date": draw(st.none() | _day(dt.date(2021, 1, 1), 1800)),
        "access_level": draw(st.sampled_from([str(a) for a in AccessLevel])),
        "access_start_date": draw(st.none() | _day(dt.date(2023, 1, 1), 900)),
    }


@st.composite
def practices(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, Practice, dt.date]:
    n = draw(st.integers(0, 12))
    rows = [draw(patient_rows(i)) for i in range(n)]
    ids = [r["patient_id"] for r in rows] + ["left"]
    types = [str(t) for t in EventType]
    events = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from(types), _day(dt.date(2023, 6, 1), 700)),
            max_size=40,
        )
    )
    # opt-in episodes: a request, then (often) a grant a few days later
    for pid in draw(st.lists(st.sampled_from(ids), max_size=6)):
        asked = draw(_day(dt.date(2023, 6, 1), 700))
        events.append((pid, str(EventType.OPT_IN_REQUESTED), asked))
        wait = draw(st.none() | st.integers(0, 60))
        if wait is not None:
            events.append((pid, str(EventType.ACCESS_GRANTED), asked + dt.timedelta(days=wait)))
    status = draw(st.sampled_from(list(GoLiveStatus)))
    go_live = (
        dt.date(2023, 11, 1)
        if status is GoLiveStatus.LIVE
        else draw(st.none() | st.just(dt.date(2024, 3, 1)))
    )
    profile = make_profile(
        supplier=draw(st.sampled_from(list(Supplier))),
        go_live_status=status,
        go_live_date=go_live,
        supplier_setting_date=draw(st.none() | _day(dt.date(2023, 10, 1), 500)),
    )
    ref = draw(_day(dt.date(2024, 1, 1), 600))
    events_rows = [(p, t, d.isoformat()) for p, t, d in events]
    return make_patients(rows), make_events(events_rows), profile, ref


def _sixteenth_birthday(dob: pd.Timestamp) -> pd.Timestamp:
    """The same day 16 years on; 29 February -> 1 March when that year is common."""
    if pd.isna(dob):
        return pd.NaT
    try:
        return pd.Timestamp(dob.year + 16, dob.month, dob.day)
    except ValueError:
        return pd.Timestamp(dob.year + 16, 3, 1)


@SETTINGS
@given(practices(), st.integers(0, 12))
def test_pending_16_protected_plus_at_risk_is_cohort(case, horizon: int) -> None:
    patients, events, profile, ref = case
    got = m.pending_16(patients, events, profile, ref, horizon)
    assert (got["protected"] + got["at_risk"] == got["cohort"]).all()
    assert (got[["cohort", "protected", "at_risk"]] >= 0).all().all()
    # the cohort: registered at D, 16th birthday from the day after D to the last day of
    # the horizon's last calendar month (worked out here with pandas, not the package)
    end = (pd.Period(ref, freq="M") + horizon).end_time.normalize()
    b16 = patients["date_of_birth"].map(_sixteenth_birthday)
    registered = patients["registration_date"] <= pd.Timestamp(ref)
    members = registered & (b16 > pd.Timestamp(ref)) & (b16 <= end)
    assert got["cohort"].sum() == int(members.sum())


@SETTINGS
@given(practices())
def test_backlog_is_within_eligible_account_holders_with_access(case) -> None:
    patients, events, profile, ref = case
    state = patient_state(patients, events, profile, ref)
    # the guidance's words: EMIS, account holders holding automatic access; TPP, anyone
    held = state["eligible"] & state["has_access"] & ~state["via_opt_in"]
    if profile.supplier is Supplier.EMIS:
        held &= state["account"]
    assert m.revocation_backlog(patients, events, profile, ref) == int(held.sum())
    # the month-by-month reconstruction ends on the same figure
    trend = m.backlog_by_month(patients, events, profile, ref, ref)
    assert trend["backlog"].iloc[-1] == int(held.sum())


@SETTINGS
@given(practices())
def test_state_invariants(case) -> None:
    patients, events, profile, ref = case
    state = patient_state(patients, events, profile, ref)
    registered = state[state["registered"]]
    assert (registered["age"] >= 0).all()
    assert (state["eligible"] == (state["registered"] & (state["age"] >= 16))).all()
    assert not (state["via_opt_in"] & ~state["has_access"]).any()
    assert (state["automatic"] == (state["has_access"] & ~state["via_opt_in"])).all()
    open_ = state[state["open_request"]]
    assert not open_["opted_out"].any() and open_["request_date"].notna().all()
    assert (open_["wait_days"] >= 0).all()
    cover = m.protection_coverage(patients, events, profile, ref)
    assert cover.numerator <= cover.denominator
    assert cover.denominator <= m.withheld_pending_opt_in(patients, events, profile, ref)


@SETTINGS
@given(practices())
def test_headline_consistent_with_tables(case) -> None:
    patients, events, profile, ref = case
    start = dt.date(ref.year, 1, 1)
    head = month.headline(patients, events, profile, ref, start)
    opened = m.open_requests(patients, events, profile, ref)
    assert opened["requests"].sum() == head["open_requests"]
    uptake = m.uptake_by_month(patients, events, profile, start, ref)
    for name in ("requests", "counselled", "provisioned"):
        assert np.all(np.diff(uptake[f"{name}_cumulative"]) >= 0)
        assert uptake[name].sum() == head[f"{name}_period"]
        assert uptake[f"{name}_cumulative"].iloc[-1] == head[f"{name}_cumulative"]


@SETTINGS
@given(practices(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(case, rnd) -> None:
    patients, events, profile, ref = case
    p_order = list(range(len(patients)))
    e_order = list(range(len(events)))
    rnd.shuffle(p_order)
    rnd.shuffle(e_order)
    shuffled_p, shuffled_e = patients.iloc[p_order], events.iloc[e_order]
    start = dt.date(ref.year, 1, 1)
    assert month.headline(shuffled_p, shuffled_e, profile, ref, start) == month.headline(
        patients, events, profile, ref, start
    )

    def by_id(p: pd.DataFrame, e: pd.DataFrame) -> pd.DataFrame:
        state = patient_state(p, e, profile, ref)
        return state.sort_values("patient_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(by_id(shuffled_p, shuffled_e), by_id(patients, events))
    assert patient_state(shuffled_p, shuffled_e, profile, ref).index.equals(shuffled_p.index)
