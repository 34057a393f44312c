"""The measures against the generator's ground truth, patient by patient.

Two populations, each practice on its own:

* ``sample``: the committed sample, read from ``data/sample`` through the real supplier
  adapters (``load_config`` + ``load_practice``), measured at its extract date and compared
  with the truth of ``generate(**SAMPLE)`` (the sample is that call's output, which
  ``tests/unit/test_generate.py`` checks byte for byte, and which the round-trip tests here
  check frame by frame);
* ``fresh``: a new ``generate(**FRESH)`` population (another seed and extract date, ten
  practices, so 'due' and 'not_planned' go-live statuses and a 'default' model practice
  appear), measured on the in-memory canonical frames.

Everything on the truth side is built from the generator's outputs only (``truth`` flags and
its canonical ``patients``), never from :mod:`optin_analysis.measures.state`, and every
comparison is a set of patient ids (plus the stage of each open request), so one patient in
the wrong place fails the test with the ids named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier, load_config
from optin_analysis.generate import (
    ODS_PREFIX,
    SAMPLE,
    SAMPLE_DIR,
    Synthetic,
    generate,
    write_sample,
)
from optin_analysis.ingest.load import PracticeData, load_practice
from optin_analysis.measures import definitions as measures
from optin_analysis.measures import month
from optin_analysis.measures.state import patient_state

FRESH: dict = {
    "practices": 10,
    "patients": 10_000,
    "seed": 2025,  # chosen so an EMIS practice has a turned-16 failure
    "extract_date": dt.date(2025, 6, 17),  # mid-month: D is the extract date
}


def _codes(n: int) -> list[str]:
    return [f"{ODS_PREFIX}{i:04d}" for i in range(1, n + 1)]


CASES = [("sample", c) for c in _codes(SAMPLE["practices"])] + [
    ("fresh", c) for c in _codes(FRESH["practices"])
]
CASE_IDS = [f"{source}-{code}" for source, code in CASES]
STAGES = ("awaiting counselling", "awaiting provisioning")


# --- populations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One practice: the frames the measures read, the generator's view, state and headline."""

    profile: Practice
    patients: pd.DataFrame  #: what the measures read (files via adapters, or in memory)
    events: pd.DataFrame
    gen_patients: pd.DataFrame  #: the generator's canonical patients (truth side)
    truth: pd.DataFrame  #: generator truth, indexed by patient_id
    state: pd.DataFrame  #: patient_state at D, indexed by patient_id
    headline: dict

    @property
    def d(self) -> pd.Timestamp:
        return pd.Timestamp(self.profile.extract_date)


def _of(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    return frame[frame["practice_code"] == code].reset_index(drop=True)


def _case(
    profile: Practice, patients: pd.DataFrame, events: pd.DataFrame, synth: Synthetic
) -> Case:
    code, d = profile.ods_code, profile.extract_date
    state = patient_state(patients, events, profile, d)
    state.index = pd.Index(patients["patient_id"].array)
    truth = _of(synth.truth, code).set_index("patient_id")
    head = month.headline(patients, events, profile, d, d.replace(day=1))
    return Case(profile, patients, events, _of(synth.patients, code), truth, state, head)


@pytest.fixture(scope="module")
def sample_synth() -> Synthetic:
    return generate(**SAMPLE)


@pytest.fixture(scope="module")
def sample_loaded() -> dict[str, PracticeData]:
    cfg = load_config(SAMPLE_DIR / "config.yaml")
    return {p.ods_code: load_practice(p) for p in cfg.practices}


@pytest.fixture(scope="module")
def fresh_synth() -> Synthetic:
    return generate(**FRESH)


@pytest.fixture(scope="module")
def cases(
    sample_synth: Synthetic, sample_loaded: dict[str, PracticeData], fresh_synth: Synthetic
) -> dict[tuple[str, str], Case]:
    out = {}
    for code, data in sample_loaded.items():
        out["sample", code] = _case(data.profile, data.patients, data.events, sample_synth)
    for raw in fresh_synth.profiles:
        profile = Practice(**raw)
        code = profile.ods_code
        patients, events = _of(fresh_synth.patients, code), _of(fresh_synth.events, code)
        out["fresh", code] = _case(profile, patients, events, fresh_synth)
    assert sorted(out) == sorted(CASES)
    return out


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request: pytest.FixtureRequest, cases: dict[tuple[str, str], Case]) -> Case:
    return cases[request.param]


# --- the truth side ---------------------------------------------------------------------


def _ids(case: Case, mask: np.ndarray | pd.Series) -> set[str]:
    """Patient ids of the generator's patients where ``mask`` (aligned with them) holds."""
    return set(case.gen_patients["patient_id"][np.asarray(mask, dtype=bool)])


def _flag(case: Case, name: str) -> np.ndarray:
    """A truth flag aligned with the generator's patients."""
    return case.truth[name].reindex(case.gen_patients["patient_id"]).to_numpy(dtype=bool)


def _age(dob: pd.Series, on: pd.Timestamp) -> np.ndarray:
    """Whole years attained on ``on`` (a 29 February birthday falls on 1 March).

    Written out here rather than taken from the package so the truth side shares no code
    with the state: a birthday not yet reached in ``on``'s year is one year fewer.
    """
    not_yet = (dob.dt.month > on.month) | ((dob.dt.month == on.month) & (dob.dt.day > on.day))
    return (on.year - dob.dt.year - not_yet.astype(int)).to_numpy()


def _sixteen_plus(case: Case, on: pd.Timestamp | None = None) -> np.ndarray:
    """Aged 16+ on ``on`` (default D)."""
    return _age(case.gen_patients["date_of_birth"], case.d if on is None else on) >= 16


def _registered(case: Case) -> np.ndarray:
    return (case.gen_patients["registration_date"] <= case.d).to_numpy(dtype=bool)


def _account(case: Case) -> np.ndarray:
    p = case.gen_patients
    linked = p["online_account_date"].isna() | (p["online_account_date"] <= case.d)
    return (p["online_account"] & linked).to_numpy(dtype=bool)


def _eligible(case: Case) -> np.ndarray:
    return _registered(case) & _sixteen_plus(case)


def _truth_backlog(case: Case) -> set[str]:
    """The revocation backlog as the generator knows it, in the guidance's words.

    EMIS: "review those who may already have been given full prospective access ... and
    who have an online services account"; TPP: "review those who may already have been
    given full prospective access" (no account condition). The generator's
    ``auto_access`` is exactly "holds automatic full prospective access in the account":
    the truth side adds the population filters from the generator's own patients
    (registered at D, aged 16+ at D) and, at EMIS, an online account linked by D.
    Opted-out patients: the generator ends automatic access on opting out, so
    ``auto_access`` already leaves them out, matching the measure (which keeps opted-out
    patients only while they still hold access).
    """
    mask = _flag(case, "auto_access") & _eligible(case)
    if case.profile.supplier is Supplier.EMIS:
        mask &= _account(case)
    return _ids(case, mask)


def _truth_has_access(case: Case) -> np.ndarray:
    return _flag(case, "auto_access") | _flag(case, "opt_in_access")


def _truth_stages(case: Case) -> dict[str, str]:
    open_ = case.truth[case.truth["open_request"]]
    return dict(zip(open_.index, open_["open_stage"], strict=True))


# --- the measured side ------------------------------------------------------------------


def _state_ids(case: Case, mask: np.ndarray | pd.Series) -> set[str]:
    return set(case.state.index[np.asarray(mask, dtype=bool)])


def _state_flag(case: Case, name: str) -> set[str]:
    return _state_ids(case, case.state[name].to_numpy(dtype=bool))


def _state_stages(case: Case) -> dict[str, str]:
    open_ = case.state[case.state["registered"] & case.state["open_request"]]
    return dict(zip(open_.index, open_["stage"], strict=True))


def assert_same_patients(measured: set[str], expected: set[str], what: str) -> None:
    """Fail naming (up to five of) the patients on only one side."""
    extra, missing = sorted(measured - expected), sorted(expected - measured)
    assert not extra and not missing, (
        f"{what}: measured but not in truth {len(extra)} {extra[:5]}; "
        f"in truth but not measured {len(missing)} {missing[:5]}"
    )


# --- per patient ------------------------------------------------------------------------


def test_state_covers_exactly_the_generated_patients(case: Case) -> None:
    assert case.state.index.is_unique
    assert set(case.state.index) == set(case.truth.index) == _ids(case, _registered(case))


def test_backlog_patients_are_the_truths_automatic_holders(case: Case) -> None:
    measured = _state_ids(case, measures.backlog_mask(case.state, case.profile.supplier))
    assert_same_patients(measured, _truth_backlog(case), "revocation backlog")


def test_revoked_patients_are_not_in_the_backlog_nor_holding_access(case: Case) -> None:
    revoked = _ids(case, _flag(case, "revoked"))
    backlog = _state_ids(case, measures.backlog_mask(case.state, case.profile.supplier))
    assert not revoked & backlog, sorted(revoked & backlog)[:5]
    assert not revoked & _state_flag(case, "has_access"), sorted(revoked)[:5]


def test_access_holders_match(case: Case) -> None:
    assert_same_patients(
        _state_flag(case, "has_access"), _ids(case, _truth_has_access(case)), "has_access"
    )
    assert_same_patients(
        _state_flag(case, "automatic"), _ids(case, _flag(case, "auto_access")), "automatic"
    )


def test_opt_in_holders_match(case: Case) -> None:
    expected = _ids(case, _flag(case, "opt_in_access"))
    assert_same_patients(_state_flag(case, "via_opt_in"), expected, "via_opt_in")


def test_opted_out_match(case: Case) -> None:
    expected = _ids(case, _flag(case, "opted_out"))
    assert_same_patients(_state_flag(case, "opted_out"), expected, "opted_out")


def test_protected_104_match(case: Case) -> None:
    expected = _ids(case, _flag(case, "protected_104"))
    assert_same_patients(_state_flag(case, "protected_104"), expected, "protected_104")


def test_open_requests_and_their_stage_match(case: Case) -> None:
    measured, expected = _state_stages(case), _truth_stages(case)
    assert_same_patients(set(measured), set(expected), "open requests")
    wrong = {k: (measured[k], expected[k]) for k in measured if measured[k] != expected[k]}
    assert not wrong, f"stage (measured, truth): {dict(list(wrong.items())[:5])}"


def test_record_disagreements_match(case: Case) -> None:
    # codes and account disagree where the generator coded a grant or revocation it never
    # made in the account (and the patient still holds the access it did not revoke)
    measured = _state_ids(case, (case.state["disagreement"] != "").to_numpy())
    assert_same_patients(measured, _ids(case, _flag(case, "disagreement")), "disagreements")
    assert case.headline["record_disagreements"] == len(measured)


def test_revocations_counted_are_the_coded_revocations_of_automatic_access(case: Case) -> None:
    # Every revocation the generator made in the account and coded, and no other: the
    # not-made ones (the extract wins) and the uncoded ones (nothing says) are not counted.
    assert case.headline["revocations_cumulative"] == int(case.truth["revoked_coded"].sum())


def test_withheld_pending_opt_in_match(case: Case) -> None:
    # Withheld = eligible & ~has_access & ~opted_out, with the truth's own access and opt-out.
    expected = _eligible(case) & ~_truth_has_access(case) & ~_flag(case, "opted_out")
    measured = _state_ids(case, measures.withheld_mask(case.state))
    assert_same_patients(measured, _ids(case, expected), "withheld pending opt-in")


def _since_setting(case: Case) -> dt.date:
    """A period starting the day after the supplier setting (else go-live, else D's month)."""
    p = case.profile
    start = p.supplier_setting_date or p.go_live_date or p.extract_date.replace(day=1)
    return min(start + dt.timedelta(days=1), p.extract_date)


def _truth_turned_16(case: Case, start: dt.date) -> set[str]:
    """Holding automatic access at D and under 16 the day before ``start``.

    That is "16th birthday in [start, D]" for automatic holders, all of whom are 16+ at D.
    """
    under_16 = ~_sixteen_plus(case, pd.Timestamp(start) - pd.Timedelta(days=1))
    return _ids(case, _flag(case, "auto_access") & under_16)


def test_turned_16_automatic_are_failures_of_the_model(case: Case) -> None:
    start = _since_setting(case)
    b16_in = (case.state["sixteenth_birthday"] >= pd.Timestamp(start)).to_numpy(dtype=bool)
    measured = _state_ids(case, b16_in & case.state["automatic"].to_numpy(dtype=bool))
    expected = _truth_turned_16(case, start)
    assert_same_patients(measured, expected, "turned 16 with automatic access")
    count = measures.turned_16_automatic(
        case.patients, case.events, case.profile, start, case.profile.extract_date
    )
    assert count == len(expected)
    if case.profile.model is Model.OPT_IN and case.profile.supplier_setting_date is not None:
        # automatic access from a 16th birthday after the setting is a failure by definition
        failures = _ids(case, _flag(case, "auto_failure"))
        assert expected <= failures, sorted(expected - failures)[:5]


# --- headline counts --------------------------------------------------------------------


def test_headline_counts_are_the_sizes_of_the_truth_sets(case: Case) -> None:
    eligible, account = _eligible(case), _account(case)
    opt_in = _flag(case, "opt_in_access")
    expected = {
        "eligible": int(eligible.sum()),
        "account_holders_16plus": int((eligible & account).sum()),
        "revocation_backlog": len(_truth_backlog(case)),
        "opt_in_holders": len(_ids(case, opt_in & eligible)),
        "opt_in_holders_with_account": len(_ids(case, opt_in & eligible & account)),
        "open_requests": len(_truth_stages(case)),
        "withheld_pending_opt_in": int(
            (eligible & ~_truth_has_access(case) & ~_flag(case, "opted_out")).sum()
        ),
        "active_104s": int((_flag(case, "protected_104") & _registered(case)).sum()),
    }
    h = case.headline
    got = {k: h[k] for k in expected if k != "active_104s"}
    got["active_104s"] = h["active_104_bulk"] + h["active_104_individual"]
    assert got == expected


def test_measure_functions_agree_with_the_truth(case: Case) -> None:
    args = (case.patients, case.events, case.profile, case.profile.extract_date)
    assert measures.revocation_backlog(*args) == len(_truth_backlog(case))
    share = measures.uptake_share(*args)
    holders = int((_flag(case, "opt_in_access") & _eligible(case)).sum())
    assert share.opt_in_holders == holders
    assert share.eligible == int(_eligible(case).sum())
    if share.eligible:
        assert share.share_of_eligible == pytest.approx(holders / share.eligible)
    table = measures.open_requests(*args)
    by_stage = table.groupby("stage")["requests"].sum().reindex(list(STAGES), fill_value=0)
    truth_stage = pd.Series(_truth_stages(case), dtype="str").value_counts()
    assert by_stage.to_dict() == truth_stage.reindex(list(STAGES), fill_value=0).to_dict()


# --- the tests are not vacuous and can fail ---------------------------------------------


def _revoked_after_level_date(case: Case) -> int:
    """Patients whose extract shows a level without full access dated before their coded
    revocation (the level dated at the account's creation): the case the level's date
    must not hide."""
    revoked = case.events[case.events["event_type"] == "access_revoked"]
    day = revoked.groupby("patient_id")["event_date"].max()
    p = case.patients.set_index("patient_id")
    level = p["access_level"].isin(["summary", "detailed_coded"]) & p["access_start_date"].notna()
    before = p["access_start_date"] < day.reindex(p.index)
    return int((level & before).sum())


@pytest.mark.parametrize("source", ["sample", "fresh"])
def test_every_compared_set_is_populated_somewhere(
    source: str, cases: dict[tuple[str, str], Case]
) -> None:
    mine = [c for (s, _), c in cases.items() if s == source]
    totals = {
        name: sum(int(c.truth[name].sum()) for c in mine)
        for name in (
            "auto_access",
            "opt_in_access",
            "revoked",
            "protected_104",
            "opted_out",
            "disagreement",
            "revoked_coded",
            "opted_in_while_automatic",
        )  # fmt: skip
    }
    totals.update(
        {stage: sum(list(_truth_stages(c).values()).count(stage) for c in mine) for stage in STAGES}
    )
    totals["grant_coded_late"] = sum(int(c.truth["grant_coded_late"].sum()) for c in mine)
    totals["revoked_after_level_date"] = sum(_revoked_after_level_date(c) for c in mine)
    assert all(v > 0 for v in totals.values()), totals
    backlog = sum(len(_truth_backlog(c)) for c in mine)
    assert backlog > 0
    if source == "fresh":
        statuses = {c.profile.go_live_status for c in mine}
        assert statuses == set(GoLiveStatus)
        assert {c.profile.model for c in mine} == set(Model)
        assert sum(int(c.truth["auto_failure"].sum()) for c in mine) > 0
        opt_in = [c for c in mine if c.profile.model is Model.OPT_IN]
        assert sum(len(_truth_turned_16(c, _since_setting(c))) for c in opt_in) > 0


def test_the_set_comparison_fails_on_one_patient(cases: dict[tuple[str, str], Case]) -> None:
    c = cases["sample", _codes(1)[0]]
    backlog = _truth_backlog(c)
    someone_else = next(iter(set(c.state.index) - backlog))
    with pytest.raises(AssertionError, match="measured but not in truth 1"):
        assert_same_patients(backlog | {someone_else}, backlog, "backlog")
    with pytest.raises(AssertionError, match="in truth but not measured 1"):
        assert_same_patients(backlog - {min(backlog)}, backlog, "backlog")


# --- round trip: files through the adapters == generate() -------------------------------


def _normalised(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    if "nhs_number" in out:
        # the generator writes a missing NHS number as "", the adapter reads it back as missing
        out["nhs_number"] = out["nhs_number"].replace("", pd.NA)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def assert_same_frames(read: PracticeData, synth: Synthetic) -> None:
    code = read.profile.ods_code
    for table, keys in (
        ("patients", ["patient_id"]),
        ("events", ["patient_id", "event_date", "event_type", "code"]),
    ):
        generated = _of(getattr(synth, table), code)
        loaded = getattr(read, table)
        assert sorted(loaded.columns) == sorted(generated.columns), table
        columns = list(generated.columns)
        pd.testing.assert_frame_equal(
            _normalised(loaded, keys, columns), _normalised(generated, keys, columns)
        )


@pytest.mark.parametrize("code", _codes(SAMPLE["practices"]))
def test_sample_files_read_back_as_the_generated_frames(
    code: str, sample_loaded: dict[str, PracticeData], sample_synth: Synthetic
) -> None:
    read = sample_loaded[code]
    files = {"patients", "events", "dpia_narrative"}  # written beside the extracts
    assert read.profile.model_dump(exclude=files) == Practice(
        **next(p for p in sample_synth.profiles if p["ods_code"] == code)
    ).model_dump(exclude=files)
    assert_same_frames(read, sample_synth)


@pytest.fixture(scope="module")
def fresh_loaded(fresh_synth: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out: Path = tmp_path_factory.mktemp("fresh")
    cfg = load_config(write_sample(fresh_synth, out, seed=FRESH["seed"]))
    return {p.ods_code: load_practice(p) for p in cfg.practices}


@pytest.mark.parametrize("code", _codes(FRESH["practices"]))
def test_fresh_files_read_back_as_the_generated_frames(
    code: str, fresh_loaded: dict[str, PracticeData], fresh_synth: Synthetic
) -> None:
    assert_same_frames(fresh_loaded[code], fresh_synth)


# --- regression: a 104 and a 106 on the same day -------------------------------------

#: A population (seeds 0-299 of 20 practices x 60,000 held three such patients) where the
#: generator used to cancel, on the grant day, a new-registration 104 coded that same day:
#: an intra-day order the extract (dates only) cannot carry.
SAME_DAY_104_106 = {"practices": 20, "patients": 60_000, "seed": 64}


def test_same_day_104_and_106_at_grant() -> None:
    synth = generate(**SAME_DAY_104_106)
    code = "Y90007"
    profile = Practice(**next(p for p in synth.profiles if p["ods_code"] == code))
    patients, events = _of(synth.patients, code), _of(synth.events, code)
    review = events[events["event_type"].isin(["enhanced_review_added", "enhanced_review_removed"])]
    same_day = review.groupby(["patient_id", "event_date"])["event_type"].nunique() > 1
    assert not same_day.any()
    state = patient_state(patients, events, profile, profile.extract_date)
    state.index = pd.Index(patients["patient_id"].array)
    case = Case(
        profile,
        patients,
        events,
        patients,
        _of(synth.truth, code).set_index("patient_id"),
        state,
        {},
    )
    expected = _ids(case, _flag(case, "protected_104"))
    assert_same_patients(_state_flag(case, "protected_104"), expected, "protected_104")
