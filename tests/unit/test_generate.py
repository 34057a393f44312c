"""The synthetic data generator: determinism, the committed sample, realism and its truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from optin_analysis.config import ODS_PATTERN, GoLiveStatus, Model, Practice, Supplier, load_config
from optin_analysis.dates import age_on
from optin_analysis.generate import (
    SAMPLE,
    SAMPLE_DIR,
    Synthetic,
    generate,
    sample_narrative,
    write_sample,
)
from optin_analysis.generate import main as generate_main
from optin_analysis.ingest import nhs_number
from optin_analysis.ingest.adapters import load_mapping, read_raw
from optin_analysis.ingest.load import load_practice
from optin_analysis.ingest.schema import AccessLevel, EventType, empty_events, empty_patients
from optin_analysis.outgoing.dpia import load_narrative

EXTRACT = pd.Timestamp(2026, 10, 31)
SMALL = {"practices": 3, "patients": 3000, "seed": 11}


@pytest.fixture(scope="module")
def synth() -> Synthetic:
    return generate(**SMALL)


@pytest.fixture(scope="module")
def written(synth: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    write_sample(synth, out, seed=SMALL["seed"])
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.*"))}


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*"))


def _profiles(synth: Synthetic) -> pd.DataFrame:
    return pd.DataFrame(synth.profiles)


def _with_profile(synth: Synthetic, frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["ods_code", "supplier", "supplier_setting_date"]
    return frame.merge(_profiles(synth)[cols], left_on="practice_code", right_on="ods_code")


# --- determinism and the committed sample ---------------------------------------------


def test_same_seed_gives_identical_bytes(written: Path, tmp_path: Path) -> None:
    write_sample(generate(**SMALL), tmp_path, seed=SMALL["seed"])
    first, second = _files(written), _files(tmp_path)
    # two extracts a practice, the configuration and the two DPIA narratives
    assert len(first) == 2 * SMALL["practices"] + 3
    assert first == second


def test_different_seed_gives_different_data(
    synth: Synthetic, written: Path, tmp_path: Path
) -> None:
    other = generate(**{**SMALL, "seed": SMALL["seed"] + 1})
    assert not other.patients["date_of_birth"].equals(synth.patients["date_of_birth"])
    write_sample(other, tmp_path, seed=SMALL["seed"] + 1)
    for profile in synth.profiles:
        for table in ("patients", "events"):
            path = profile[table]
            assert (tmp_path / path).read_bytes() != (written / path).read_bytes()


def _records(config: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, list[tuple]]]:
    """Each practice's canonical tables and warnings, read through its adapter and validated.

    These are what the measures see: the comparison holds whatever formatting the CSV and
    YAML writers of a given pandas or PyYAML release choose for the same values.
    """
    records = {}
    for practice in load_config(config).practices:
        data = load_practice(practice)
        where = [(w.severity, w.row, w.column, w.message) for w in data.warnings]
        records[practice.ods_code] = (data.patients, data.events, where)
    return records


def _settings(config: Path) -> dict:
    """The configuration's values (extract paths are relative to it, so they compare)."""
    return yaml.safe_load(config.read_text(encoding="utf-8"))


def test_committed_sample_is_what_the_generator_writes(tmp_path: Path, capsys) -> None:
    """``python -m optin_analysis.generate`` rewrites data/sample with the same records."""
    generate_main([str(tmp_path)])
    assert capsys.readouterr().out.strip() == str(tmp_path / "config.yaml")
    assert _names(SAMPLE_DIR) == _names(tmp_path)

    committed, fresh = _records(SAMPLE_DIR / "config.yaml"), _records(tmp_path / "config.yaml")
    assert sorted(committed) == sorted(fresh) == [f"Y9000{i}" for i in range(1, 6)]
    assert sum(len(patients) for patients, _, _ in fresh.values()) == SAMPLE["patients"]
    for ods, (patients, events, warnings) in fresh.items():
        assert len(events) > 0, ods
        pd.testing.assert_frame_equal(committed[ods][0], patients, obj=f"{ods} patients")
        pd.testing.assert_frame_equal(committed[ods][1], events, obj=f"{ods} events")
        assert committed[ods][2] == warnings, ods

    # The same settings, except where reports go (the repository's reports/ for data/sample).
    want = _settings(tmp_path / "config.yaml")
    want.update(reports_dir="../../reports", worklists_dir="../../worklists")
    assert _settings(SAMPLE_DIR / "config.yaml") == want
    for name in ("dpia-narrative.yaml", "dpia-narrative-default.yaml"):  # finished DPIAs
        assert (SAMPLE_DIR / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_committed_sample_dpias_are_signed_off_in_full() -> None:
    # Every practice: a finished narrative of its model, and a sign-off with every row of
    # the ICO template's table and the residual risks the approval covers.
    cfg = load_config(SAMPLE_DIR / "config.yaml")
    for p in cfg.practices:
        assert p.dpia_narrative.name == (
            "dpia-narrative-default.yaml" if p.model.value == "default" else "dpia-narrative.yaml"
        )
        assert "TO COMPLETE" not in p.dpia_narrative.read_text(encoding="utf-8")
        s = p.dpia_sign_off
        signers = (s.measures_approved_by, s.residual_risks_approved_by, s.dpo_advice_provided_by,
                   s.dpo_advice_accepted_by, s.consultation_reviewed_by)  # fmt: skip
        assert all(x.name and x.date == p.dpia_approved for x in signers), p.ods_code
        assert s.dpo_advice and s.dpo_advice_accepted is True and s.next_review, p.ods_code
        assert s.approved_residual_risks, p.ods_code


def test_committed_sample_shape() -> None:
    cfg = load_config(SAMPLE_DIR / "config.yaml")
    suppliers = [p.supplier for p in cfg.practices]
    # every branch of the guidance, and one practice on the default (opt-out) model
    branches = {(p.supplier, p.go_live_status, p.model) for p in cfg.practices}
    assert branches == {
        (Supplier.EMIS, GoLiveStatus.LIVE, Model.OPT_IN),
        (Supplier.EMIS, GoLiveStatus.NOT_PLANNED, Model.OPT_IN),
        (Supplier.TPP, GoLiveStatus.LIVE, Model.OPT_IN),
        (Supplier.TPP, GoLiveStatus.DUE, Model.OPT_IN),
        (Supplier.EMIS, GoLiveStatus.LIVE, Model.DEFAULT),
    }
    assert cfg.reports_dir.resolve() == (SAMPLE_DIR / "../../reports").resolve()
    size = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert size < 3_000_000
    not_utf8 = []
    for p in SAMPLE_DIR.rglob("*.csv"):
        try:
            p.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            not_utf8.append(p)
    assert len(not_utf8) >= 1
    assert all(
        p.parent.name == cfg.practices[suppliers.index(Supplier.EMIS)].ods_code for p in not_utf8
    )


# --- practices -------------------------------------------------------------------------


@pytest.mark.parametrize("practices", [1, 2, 5, 12])
def test_practice_mix_and_sizes(practices: int) -> None:
    synth = generate(practices, 200 * practices + 7, seed=practices)
    profiles = _profiles(synth)
    sizes = synth.patients.groupby("practice_code").size()
    assert sizes.sum() == 200 * practices + 7 and len(sizes) == practices
    assert profiles["ods_code"].str.fullmatch(ODS_PATTERN).all()
    for profile in synth.profiles:
        Practice.model_validate(profile)
    if practices >= 2:
        assert set(profiles["supplier"]) == {"emis", "tpp"}
    statuses = set(profiles["go_live_status"])
    assert ({"due", "not_planned"} <= statuses) == (practices >= 5)
    assert (profiles["model"] == "default").sum() == (1 if practices >= 10 else 0)
    live = profiles[profiles["go_live_status"] == "live"]
    assert (live["dpia_approved"] < live["go_live_date"]).all()


def _assert_dates_consistent(p: pd.DataFrame, events: pd.DataFrame, extract: pd.Timestamp) -> None:
    assert (p["registration_date"] >= p["date_of_birth"]).all()
    assert (p["registration_date"] <= extract).all()
    for col in ("online_account_date", "access_start_date"):
        known = p[col].notna()
        assert (p.loc[known, col] >= p.loc[known, "registration_date"]).all(), col
        assert (p.loc[known, col] <= extract).all(), col
    assert (p["access_start_date"].notna() == (p["access_level"] != AccessLevel.NONE)).all()
    e = events.merge(p, on=["practice_code", "patient_id"], how="left")
    assert e["registration_date"].notna().all()
    assert (e["event_date"] >= e["registration_date"]).all()
    assert (e["event_date"] >= e["date_of_birth"]).all()
    assert (e["event_date"] <= extract).all()


@pytest.mark.parametrize("practices", [5, 12, 30])
def test_every_kind_of_practice_keeps_dates_consistent(practices: int) -> None:
    synth = generate(practices, 300 * practices, seed=100 + practices)
    _assert_dates_consistent(synth.patients, synth.events, EXTRACT)
    profiles = _profiles(synth).set_index("ods_code")
    truth = synth.truth.join(profiles, on="practice_code")
    assert not truth.loc[truth["go_live_status"] != "live", "auto_access"].any()
    assert not truth.loc[truth["supplier"] == "tpp", "auto_failure"].any()
    if practices >= 10:
        default = truth[truth["model"] == "default"]
        assert default["auto_access"].mean() > 0.3
        assert not default[["opt_in_access", "revoked", "protected_104"]].any().any()


def test_practice_sizes_vary(synth: Synthetic) -> None:
    sizes = synth.patients.groupby("practice_code").size()
    assert sizes.nunique() == len(sizes)


# --- realism ---------------------------------------------------------------------------


def test_canonical_dtypes_and_order(synth: Synthetic) -> None:
    assert synth.patients.dtypes.to_dict() == empty_patients().dtypes.to_dict()
    assert synth.events.dtypes.to_dict() == empty_events().dtypes.to_dict()
    keys = synth.events[["practice_code", "patient_id", "event_date"]]
    assert keys.equals(keys.sort_values(list(keys.columns), kind="stable"))
    assert set(synth.events["event_type"]) <= {t.value for t in EventType}


def test_age_structure(synth: Synthetic) -> None:
    age = age_on(synth.patients["date_of_birth"], EXTRACT)
    assert 0.07 <= ((age >= 10) & (age <= 17)).mean() <= 0.13
    assert 0.15 <= (age < 16).mean() <= 0.23
    assert age.max() >= 90 and age.min() == 0


def test_online_accounts(synth: Synthetic) -> None:
    p = synth.patients
    adult = age_on(p["date_of_birth"], EXTRACT) >= 16
    assert 0.5 <= p.loc[adult, "online_account"].mean() <= 0.8
    by_2022 = (p["online_account_date"] <= "2022-12-31")[adult].mean()
    by_2026 = (p["online_account_date"] <= "2026-12-31")[adult].mean()
    assert by_2026 > by_2022
    assert (p["online_account"] == p["online_account_date"].notna()).all()
    under_13 = age_on(p["date_of_birth"], EXTRACT) < 13
    assert not p.loc[under_13, "online_account"].any()


def test_nhs_numbers_valid_and_synthetic(synth: Synthetic) -> None:
    numbers = synth.patients["nhs_number"]
    given = numbers[numbers.fillna("") != ""]
    assert len(given) > 0.99 * len(numbers)
    assert nhs_number.is_valid(given).all()
    assert given.str.startswith("999").all()
    assert (
        not given.groupby(synth.patients["practice_code"])
        .apply(lambda s: s.duplicated().any())
        .any()
    )


def test_patient_ids_unique_and_distinctive(synth: Synthetic) -> None:
    p = synth.patients
    assert not p.duplicated(["practice_code", "patient_id"]).any()
    assert p["patient_id"].str.fullmatch(r"SYN-Y9\d{4}-\d{7}").all()
    assert (p["patient_id"].str.slice(4, 10) == p["practice_code"]).all()


def test_dates_respect_birth_registration_and_extract(synth: Synthetic) -> None:
    _assert_dates_consistent(synth.patients, synth.events, EXTRACT)
    assert (synth.patients["registration_date"] > "2023-10-31").mean() > 0.1


# --- the opt-in story and its truth ------------------------------------------------------


def test_truth_rows_match_patients(synth: Synthetic) -> None:
    t = synth.truth
    assert t[["practice_code", "patient_id"]].equals(
        synth.patients[["practice_code", "patient_id"]]
    )
    flags = ["auto_access", "opt_in_access", "revoked", "protected_104", "opted_out"]
    assert all(t[f].dtype == bool and t[f].any() for f in flags)
    assert set(t["open_stage"].dropna()) == {"awaiting counselling", "awaiting provisioning"}
    assert (t["open_request"] == t["open_stage"].notna()).all()


def test_auto_access_is_full_and_not_from_opt_in(synth: Synthetic) -> None:
    p, t = synth.patients, synth.truth
    auto = t["auto_access"]
    assert (p.loc[auto, "access_level"] == AccessLevel.FULL_PROSPECTIVE).all()
    assert not t.loc[auto, "opt_in_access"].any()
    granted = synth.events.loc[synth.events["event_type"] == EventType.ACCESS_GRANTED]
    assert not p.loc[auto, "patient_id"].isin(granted["patient_id"]).any()
    full = p["access_level"] == AccessLevel.FULL_PROSPECTIVE
    assert (full == (t["auto_access"] | t["opt_in_access"])).all()


def test_opt_in_access_starts_on_grant_day(synth: Synthetic) -> None:
    granted = synth.events.loc[synth.events["event_type"] == EventType.ACCESS_GRANTED]
    last = granted.groupby("patient_id")["event_date"].max()
    p = synth.patients.set_index("patient_id")
    holders = synth.truth.loc[synth.truth["opt_in_access"], "patient_id"]
    in_place = synth.truth.loc[synth.truth["opted_in_while_automatic"], "patient_id"]
    late = synth.truth.loc[synth.truth["grant_coded_late"], "patient_id"]
    coded = holders[holders.isin(last.index) & ~holders.isin(in_place) & ~holders.isin(late)]
    # some practices code their grants, some do not: both kinds of holder are present
    assert 0 < len(coded) < len(holders)
    assert (p.loc[coded, "access_start_date"] == last.loc[coded]).all()
    assert (p.loc[holders, "access_level"] == "full_prospective").all()
    # asked while holding automatic access: the account's start date stays the automatic one
    # and a grant coded late was given (the account's start) before it was coded
    for who in (in_place, late):
        assert len(who) and (p.loc[who, "access_start_date"] < last.loc[who]).all()


def test_bulk_104_on_the_setting_date(synth: Synthetic) -> None:
    added = synth.events.loc[synth.events["event_type"] == EventType.ENHANCED_REVIEW_ADDED]
    per_day = added.groupby(["practice_code", "event_date"]).size()
    for profile in synth.profiles:
        if profile["supplier"] != "emis" or profile["go_live_status"] != "live":
            continue
        bulk = per_day.loc[profile["ods_code"]]
        assert bulk.max() >= 50
        assert bulk.idxmax().date() == profile["supplier_setting_date"]
        assert (bulk.drop(bulk.idxmax()) < 10).all()  # the others are individual 104s


def test_tpp_gives_no_automatic_access_after_the_setting(synth: Synthetic) -> None:
    both = _with_profile(synth, synth.patients.join(synth.truth.iloc[:, 2:]))
    tpp = both[both["supplier"] == "tpp"]
    setting = pd.to_datetime(tpp["supplier_setting_date"])
    auto = tpp["auto_access"]
    assert (tpp.loc[auto, "access_start_date"] <= setting[auto]).all()
    assert not tpp["auto_failure"].any()
    revoked = tpp["revoked"]  # had automatic access: only possible with an account by then
    assert revoked.sum() > 50
    assert (tpp.loc[revoked, "online_account_date"] < setting[revoked]).all()
    tpp_codes = synth.events[synth.events["practice_code"].isin(tpp["practice_code"])]
    assert not tpp_codes["event_type"].isin(["enhanced_review_added"]).any()


def test_emis_failures_are_rare_but_present() -> None:
    synth = generate(4, 16_000, seed=5)
    both = _with_profile(synth, synth.truth)
    emis = both[both["supplier"] == "emis"]
    assert 0 < emis["auto_failure"].sum() < 0.01 * len(emis)
    assert not emis.loc[emis["auto_failure"], "protected_104"].all()


def test_revocation_backlog_differs_between_practices(synth: Synthetic) -> None:
    revoked = synth.events["event_type"] == EventType.ACCESS_REVOKED
    assert synth.events.loc[revoked, "event_date"].dt.to_period("M").nunique() >= 6
    backlog = synth.truth.groupby("practice_code")["auto_access"].sum()
    assert backlog.max() > 10 * max(backlog.min(), 1)


def test_requests_rise_and_flow(synth: Synthetic) -> None:
    e = synth.events
    requests = e.loc[e["event_type"] == EventType.OPT_IN_REQUESTED, "event_date"]
    per_year = requests.dt.year.value_counts()
    assert per_year[2024] < per_year[2025]
    asked = set(e.loc[e["event_type"] == EventType.OPT_IN_REQUESTED, "patient_id"])
    for later in (EventType.COUNSELLED, EventType.ACCESS_GRANTED, EventType.OPT_IN_DECLINED):
        assert set(e.loc[e["event_type"] == later, "patient_id"]) <= asked
    first = e.pivot_table(
        index="patient_id", columns="event_type", values="event_date", aggfunc="min"
    )
    counselled = first["counselled"].notna()
    granted = first["access_granted"].notna()
    assert (first["counselled"] >= first["opt_in_requested"])[counselled].all()
    assert (first["access_granted"] > first["counselled"])[granted].all()
    assert not (granted & ~counselled).any()
    assert (first["opt_out"] < first["opt_in_requested"]).sum() >= 1  # opted out, later in
    assert (first["access_revoked"] < first["access_granted"]).sum() >= 1  # revoked, re-granted
    assert (first["opt_out"] < "2023-10-31").sum() >= 1


# --- written files -----------------------------------------------------------------------


def test_written_files_read_back(synth: Synthetic, written: Path) -> None:
    cfg = load_config(written / "config.yaml")
    assert cfg.reports_dir == written / "reports"
    for practice in cfg.practices:
        mapping = load_mapping(practice.supplier)
        raw = read_raw(practice.patients, mapping.patients, "patients").frame
        want = synth.patients[synth.patients["practice_code"] == practice.ods_code]
        assert raw["patient_id"].tolist() == want["patient_id"].tolist()
        for col in ("date_of_birth", "registration_date", "online_account_date"):
            text = want[col].dt.strftime(mapping.patients.date_format).fillna("")
            assert raw[col].tolist() == text.tolist()
        events = read_raw(practice.events, mapping.events, "events").frame
        want_e = synth.events[synth.events["practice_code"] == practice.ods_code]
        assert events["code"].tolist() == want_e["code"].tolist()


def test_one_emis_practice_in_windows_1252(synth: Synthetic, written: Path) -> None:
    encodings = {}
    for profile in synth.profiles:
        data = (written / profile["patients"]).read_bytes()
        try:
            data.decode("utf-8")
            encodings[profile["ods_code"]] = ("utf-8", profile["supplier"])
        except UnicodeDecodeError:
            data.decode("cp1252")
            encodings[profile["ods_code"]] = ("cp1252", profile["supplier"])
    assert sorted(encodings.values()).count(("cp1252", "emis")) == 1
    assert all(enc == "utf-8" for enc, supplier in encodings.values() if supplier == "tpp")


def test_extract_date_is_honoured() -> None:
    synth = generate(2, 400, seed=3, extract_date=dt.date(2025, 3, 31))
    assert synth.events["event_date"].max() <= pd.Timestamp(2025, 3, 31)
    assert {p["extract_date"] for p in synth.profiles} == {dt.date(2025, 3, 31)}
    with pytest.raises(ValueError):
        generate(2, 400, seed=3, extract_date=dt.date(2023, 6, 30))
    with pytest.raises(ValueError):
        generate(5, 4, seed=3)


@pytest.mark.parametrize("model", ["opt_in", "default"])
def test_the_sample_narratives_are_finished(tmp_path, model):
    path = tmp_path / "narrative.yaml"
    path.write_text(sample_narrative(model), encoding="utf-8")
    narrative = load_narrative(path, model)
    text = yaml.safe_dump(narrative.model_dump())
    assert "TO COMPLETE" not in text and "synthetic" in text
    shipped = load_narrative(model=model)
    assert narrative.sections.keys() == shipped.sections.keys()
