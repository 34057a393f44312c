"""The fast paths of the measures agree with the plain definitions they replace.

Speed-ups in ``state.py`` and ``measures.py`` must never change a figure. Each fast path is
compared here, on generated practices and on hypothesis' small edge-case practices, with
its definition evaluated the slow way: the backlog trend with :func:`patient_state` at every
month end (the backlog itself written here in the guidance's words), request-to-provision
pairing and active bulk 104s with plain pandas (thresholds written as numbers, never read
from the package), ages and 16th birthdays with :mod:`optin_analysis.dates`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from optin_analysis.config import GoLiveStatus, Practice, Supplier
from optin_analysis.dates import age_on, anniversary
from optin_analysis.generate import Synthetic, generate
from optin_analysis.ingest.schema import EventType
from optin_analysis.measures import definitions as m
from optin_analysis.measures import link, month
from optin_analysis.measures.days import anniversary_days, to_days
from optin_analysis.measures.link import prepare
from optin_analysis.measures.state import patient_state
from tests.builders import make_events, make_patients, make_profile
from tests.property.test_measure_properties import SETTINGS, practices

#: Reference dates: a month end, a mid-month day, and the extract date.
REFS = ("2024-12-31", "2025-06-14", "2026-10-31")
TREND_START = "2023-06-01"


@pytest.fixture(scope="module")
def synth() -> Synthetic:
    """Six practices (both suppliers, live, due and not planned), 6,000 patients."""
    return generate(6, 6000, seed=5)


def _practices(synth: Synthetic):
    for profile in synth.profiles:
        code = profile["ods_code"]
        yield (
            synth.patients[synth.patients["practice_code"] == code],
            synth.events[synth.events["practice_code"] == code],
            Practice(**profile),
        )


def _backlog_in_words(state: pd.DataFrame, supplier: Supplier) -> int:
    """The guidance's backlog: eligible patients holding full access not through opt-in;
    at EMIS only those with an online account ("and who have an online services account")."""
    held = state["eligible"] & state["has_access"] & ~state["via_opt_in"]
    if supplier is Supplier.EMIS:
        held &= state["account"]
    return int(held.sum())


def _plain_backlog(patients, events, profile, as_of) -> list[int]:
    """The backlog at each day, from the full patient state at that day."""
    return [
        _backlog_in_words(patient_state(patients, events, profile, day), profile.supplier)
        for day in as_of
    ]


@pytest.mark.parametrize("ref", REFS)
def test_backlog_trend_is_the_state_at_each_month_end(synth: Synthetic, ref: str) -> None:
    for patients, events, profile in _practices(synth):
        trend = m.backlog_by_month(patients, events, profile, TREND_START, ref)
        plain = _plain_backlog(patients, events, profile, trend["as_of"])
        assert trend["backlog"].tolist() == plain, profile.ods_code
        assert trend["backlog"].iloc[-1] == m.revocation_backlog(patients, events, profile, ref)


@settings(SETTINGS, max_examples=60)
@given(practices())
def test_backlog_trend_on_edge_cases(case) -> None:
    """Same-day grants and revocations, events after D, no go-live date, leap-day births."""
    patients, events, profile, ref = case
    trend = m.backlog_by_month(patients, events, profile, dt.date(2023, 1, 1), ref)
    assert trend["backlog"].tolist() == _plain_backlog(patients, events, profile, trend["as_of"])


#: Hand-made patients (all 16+, account, full prospective access unless said) for the turns
#: the backlog trend can take: same-day ties, requests on the grant day, events after D.
EDGE_PATIENTS = [
    {"patient_id": "tie"},  # granted and revoked the same day: revoked
    {"patient_id": "tie_after"},  # the same, after D: the grant decides the time before
    {"patient_id": "revoke_after"},  # only a revocation after D: automatic until then
    {"patient_id": "asked_same_day"},  # request on the grant day: through opt-in
    {"patient_id": "asked_next_day"},  # request the day after the grant: automatic
    {"patient_id": "regranted"},  # revoked, then granted without a request
    {"patient_id": "sixteen", "date_of_birth": "2008-03-15"},  # held from the birthday
    {"patient_id": "leap", "date_of_birth": "2008-02-29", "online_account_date": "2024-01-20"},
    {"patient_id": "late_account", "online_account_date": "2024-04-10"},
    {"patient_id": "late_registration", "registration_date": "2024-02-20"},
    {"patient_id": "level_from", "access_start_date": "2024-03-03"},
    {"patient_id": "no_account", "online_account": False},
    {"patient_id": "summary", "access_level": "summary"},
]
EDGE_EVENTS = [
    ("tie", "access_granted", "2024-03-10"),
    ("tie", "access_revoked", "2024-03-10"),
    ("tie_after", "access_revoked", "2024-07-01"),
    ("tie_after", "access_granted", "2024-07-01"),
    ("revoke_after", "access_revoked", "2024-06-05"),
    ("asked_same_day", "opt_in_requested", "2024-02-05"),
    ("asked_same_day", "access_granted", "2024-02-05"),
    ("asked_next_day", "access_granted", "2024-02-05"),
    ("asked_next_day", "opt_in_requested", "2024-02-06"),
    ("regranted", "access_revoked", "2024-01-15"),
    ("regranted", "access_granted", "2024-04-02"),
    ("sixteen", "access_revoked", "2024-06-01"),
    ("leap", "access_revoked", "2024-05-31"),
    ("no_account", "access_revoked", "2024-05-01"),
]


@pytest.mark.parametrize("ref", ["2024-02-29", "2024-04-15", "2024-06-30", "2024-08-31"])
@pytest.mark.parametrize("go_live", [dt.date(2023, 11, 1), None])
def test_backlog_trend_on_hand_made_turns(ref: str, go_live: dt.date | None) -> None:
    defaults = {"online_account": True, "online_account_date": "2022-05-01"}
    defaults |= {"access_level": "full_prospective", "access_start_date": "2023-11-01"}
    patients = make_patients([{**defaults, **row} for row in EDGE_PATIENTS])
    events = make_events(EDGE_EVENTS)
    status = GoLiveStatus.LIVE if go_live else GoLiveStatus.NOT_PLANNED
    profile = make_profile(go_live_date=go_live, go_live_status=status)
    trend = m.backlog_by_month(patients, events, profile, "2023-10-01", ref)
    assert trend["backlog"].tolist() == _plain_backlog(patients, events, profile, trend["as_of"])
    assert trend["backlog"].tolist() != [0] * len(trend)


def _events_of_registered(patients, events, ref) -> pd.DataFrame:
    """Events dated <= D of patients registered at D (one practice)."""
    registered = patients.loc[patients["registration_date"] <= pd.Timestamp(ref), "patient_id"]
    return events[
        (events["event_date"] <= pd.Timestamp(ref)) & events["patient_id"].isin(registered)
    ]


#: Same-day order of the events that open and close opt-in episodes (the documented tie rule).
_DAY_ORDER = {
    EventType.OPT_IN_REQUESTED: 0, EventType.ACCESS_GRANTED: 1,
    EventType.OPT_IN_DECLINED: 2, EventType.OPT_OUT: 3,
}  # fmt: skip


def _plain_provision_waits(patients, events, ref, period_start) -> np.ndarray:
    """Each provision's wait from its episode's first request, patient by patient in Python.

    An episode opens at a request when none is open and closes at the next grant, decline
    or opt-out; a grant that closes it is a provision. Where the extract shows full access
    from a start date with the episode still open at the end of that day, the start date
    is the provision.
    """
    ev = _events_of_registered(patients, events, ref)
    ev = ev[ev["event_type"].isin(list(_DAY_ORDER))]
    ref, since = pd.Timestamp(ref), pd.Timestamp(period_start)
    full = patients.set_index("patient_id")
    waits = []
    for pid, rows in ev.groupby("patient_id"):
        rows = rows.assign(rank=rows["event_type"].map(_DAY_ORDER))
        opened, start = None, full.loc[pid, "access_start_date"]
        implied = full.loc[pid, "access_level"] == "full_prospective" and pd.notna(start)

        def provision(day_: pd.Timestamp, opened: pd.Timestamp) -> None:
            if since <= day_ <= ref:
                waits.append((day_ - opened).days)

        ordered = rows.sort_values(["event_date", "rank"])[["event_date", "event_type"]].values
        for day_, kind in [*ordered, (pd.Timestamp.max, None)]:
            if implied and opened is not None and opened <= start < day_:
                provision(start, opened)  # still open at the end of the extract's access start
                opened, implied = None, False
            if kind == EventType.OPT_IN_REQUESTED:
                opened = opened if opened is not None else day_
            elif kind is not None and opened is not None:
                if kind == EventType.ACCESS_GRANTED:
                    provision(day_, opened)
                opened = None
    return np.sort(np.array(waits, dtype=float))


@pytest.mark.parametrize("ref", REFS)
def test_request_to_provision_is_the_plain_pairing(synth: Synthetic, ref: str) -> None:
    start = pd.Timestamp(ref).replace(day=1)
    for patients, events, profile in _practices(synth):
        waits = _plain_provision_waits(patients, events, ref, start)
        got = m.request_to_provision(patients, events, profile, ref, start)
        assert got.n == len(waits)
        if len(waits):  # nearest rank, written out: the ceil(p/100 x n)-th smallest wait
            ordered = sorted(waits)
            assert got.median_days == ordered[-(-len(waits) // 2) - 1]
            assert got.p90_days == ordered[-(-9 * len(waits) // 10) - 1]
        every = m.request_to_provision(patients, events, profile, ref)
        assert every.n == len(_plain_provision_waits(patients, events, ref, "1900-01-01"))


def _plain_active_104s(patients, events, ref) -> m.Active104:
    """Active 104s of patients registered at D, bulk vs individual, in plain pandas.

    A patient's 104 is active when the latest of their 104s and 106s dated on or before D
    is a 104 (on one day the 104 counts as later); it is bulk when 50 or more distinct
    patients got a 104 on its date.
    """
    ev = _events_of_registered(patients, events, ref).dropna(subset=["event_date"])
    added = ev["event_type"] == EventType.ENHANCED_REVIEW_ADDED
    codes = ev[added | (ev["event_type"] == EventType.ENHANCED_REVIEW_REMOVED)]
    codes = codes.assign(is_104=codes["event_type"] == EventType.ENHANCED_REVIEW_ADDED)
    latest = codes.sort_values(["patient_id", "event_date", "is_104"]).groupby("patient_id").tail(1)
    active = latest[latest["is_104"]]
    per_day = ev[added].groupby("event_date")["patient_id"].nunique()
    bulk = int((active["event_date"].map(per_day) >= 50).sum())
    return m.Active104(bulk, len(active) - bulk)


@pytest.mark.parametrize("ref", REFS)
def test_active_104s_is_the_plain_count(synth: Synthetic, ref: str) -> None:
    for patients, events, profile in _practices(synth):
        plain = _plain_active_104s(patients, events, ref)
        assert m.active_104s(patients, events, profile, ref) == plain, profile.ods_code


def test_month_measures_match_the_single_measures(synth: Synthetic) -> None:
    """One preparation for every measure gives what each public function gives alone."""
    for patients, events, profile in _practices(synth):
        got = month.month_measures(patients, events, profile, "2026-10-31", "2026-10-01", "2024-01")
        assert got.headline == month.headline(patients, events, profile, "2026-10-31", "2026-10-01")
        assert got.previous == month.headline(patients, events, profile, "2026-09-30", "2026-09-01")
        pd.testing.assert_frame_equal(
            got.backlog_by_month,
            m.backlog_by_month(patients, events, profile, "2024-01-01", "2026-10-31"),
        )


def test_sixteenth_birthdays_and_ages_in_day_numbers() -> None:
    days = pd.Series(pd.date_range("1896-01-01", "2031-12-31", freq="D").astype("datetime64[us]"))
    dob = pd.concat([days, pd.Series([pd.NaT], dtype="datetime64[us]")], ignore_index=True)
    expected = to_days(anniversary(dob, 16))
    assert np.array_equal(anniversary_days(to_days(dob), 16), expected)
    prep = prepare(
        pd.DataFrame(
            {
                "patient_id": np.arange(len(dob)).astype(str),
                "date_of_birth": dob,
                "registration_date": dob,
                "online_account": False,
                "online_account_date": pd.NaT,
                "access_level": "none",
                "access_start_date": pd.NaT,
            }
        ),
        pd.DataFrame(columns=["patient_id", "event_type", "event_date"]),
    )
    known = dob.notna().to_numpy()
    for ref in ("2024-02-28", "2024-02-29", "2025-02-28", "2025-03-01", "2031-12-31"):
        plain = age_on(dob, ref).to_numpy(dtype=np.int64, na_value=0)
        fast = prep.age_at(int(to_days(pd.Series([pd.Timestamp(ref)]))[0]))
        assert np.array_equal(fast[known], plain[known]), ref


def _linked(patients: pd.DataFrame, events: pd.DataFrame) -> None:
    """The Arrow link (when it applies) gives what the plain factorized lookup gives."""
    fast_pos, fast_group = link._link(patients, events)
    plain_pos, plain_group = link._link_plain(patients, events)
    assert np.array_equal(fast_pos, plain_pos)
    assert np.array_equal(fast_group, plain_group)


def test_linking_events_to_patients(synth: Synthetic) -> None:
    for patients, events, _ in _practices(synth):
        _linked(patients, events)  # one practice
    _linked(synth.patients, synth.events)  # several practices at once
    strays = make_events(
        [
            {"patient_id": "left", "event_type": "opt_out", "event_date": "2024-01-01"},
            {"patient_id": None, "event_type": "opt_out", "event_date": "2024-01-01"},
            {"patient_id": "a", "practice_code": "B99999", "event_type": "opt_out",
             "event_date": "2024-01-01"},
            {"patient_id": "a", "practice_code": None, "event_type": "opt_out",
             "event_date": "2024-01-01"},
            ("a", "opt_out", "2024-01-01"),
        ]
    )  # fmt: skip
    two = make_patients([{"patient_id": "a"}, {"patient_id": "b"}])
    _linked(two, strays)
    _linked(two.astype({"patient_id": object}), strays)  # text of two Arrow types
    other = two.assign(practice_code="B99999")
    _linked(pd.concat([two, other], ignore_index=True), strays)  # an id in two practices
    _linked(two.drop(columns="practice_code"), strays.drop(columns="practice_code"))
    with pytest.raises(ValueError, match="more than once"):
        link._link(pd.concat([two, two], ignore_index=True), strays)


def test_month_measures_hands_worklists_the_same_state_patient_state_gives(synth):
    for patients, events, profile in _practices(synth):
        got = month.month_measures(patients, events, profile, "2026-10-31", "2026-10-01",
                                 TREND_START)  # fmt: skip
        plain = patient_state(patients, events, profile, "2026-10-31")
        pd.testing.assert_frame_equal(got.state, plain)
