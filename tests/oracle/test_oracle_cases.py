"""Hand-worked cases for the oracle itself (not a comparison with the package).

Run: /work/main/.venv/bin/python -m pytest --noconftest tests/oracle/test_oracle_cases.py
Every expected value is worked out by hand in the comment next to it.
"""

import datetime as dt
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

d = dt.date.fromisoformat

EMIS_LIVE = dict(
    ods_code="T00001",
    supplier="emis",
    model="opt_in",
    go_live_status="live",
    go_live_date=d("2023-10-31"),
    extract_date=d("2026-10-31"),
    supplier_setting_date=d("2023-11-05"),
)
EMIS_NOT_LIVE = dict(
    EMIS_LIVE,
    go_live_status="not_planned",
    go_live_date=None,
    supplier_setting_date=d("2023-10-14"),
)
TPP_LIVE = dict(EMIS_LIVE, supplier="tpp")
EMIS_DEFAULT = dict(EMIS_LIVE, model="default", supplier_setting_date=None)


def pat(
    pid,
    dob="1970-01-01",
    reg="2010-01-01",
    account=True,
    account_date="2020-01-01",
    level="none",
    level_date=None,
):
    return dict(
        patient_id=pid,
        nhs_number=None,
        date_of_birth=d(dob),
        sex=None,
        registration_date=d(reg),
        online_account=account,
        online_account_date=d(account_date) if account_date else None,
        access_level=level,
        access_start_date=d(level_date) if level_date else None,
    )


def ev(pid, *pairs):
    return [(pid, t, d(s)) for t, s in pairs]


def H(profile, patients, events, period):
    return oracle.headline(oracle.Practice(profile, patients, events), period)


def test_leap_day_birth_eligible_on_its_16th_birthday_and_pending_before():
    # Born 2008-02-29: 2024 is a leap year, so the 16th birthday is 2024-02-29 itself
    # (a 29 February birth's 16th birthday is always a leap day until 2100; the 1 March rule
    # bites for other ages, see the next test).
    p = [pat("a", dob="2008-02-29", reg="2008-03-10", account=False, account_date=None)]
    feb = H(EMIS_LIVE, p, [], "2024-02")
    # D = 2024-02-29 = the birthday: eligible.
    assert feb["eligible"] == 1
    jan = H(EMIS_LIVE, p, [], "2024-01")
    # D = 2024-01-31: not eligible; the pending window 2024-02-01..2024-07-31 holds the
    # birthday: cohort 1, no 104 and the EMIS live setting does not protect -> at risk 1.
    assert jan["eligible"] == 0
    assert (jan["pending_16_cohort"], jan["pending_16_protected"], jan["pending_16_at_risk"]) == (
        1,
        0,
        1,
    )


def test_birthday_29_february_in_a_common_year_is_1_march():
    assert oracle.birthday(d("2004-02-29"), 16) == d("2020-02-29")  # 2020 leap
    assert oracle.birthday(d("2008-02-29"), 17) == d("2025-03-01")  # 2025 common
    p = [pat("a", dob="2007-02-28"), pat("b", dob="2009-02-28")]
    # b turns 16 on 2025-02-28: eligible at 2025-02 (D=2025-02-28); a is 18.
    assert H(EMIS_LIVE, p, [], "2025-02")["eligible"] == 2


def test_automatic_holder_who_asks_later_is_in_the_backlog_until_the_provision():
    p = [pat("a", level="full_prospective", level_date="2023-10-31")]
    e = ev(
        "a",
        ("opt_in_requested", "2025-02-10"),
        ("counselled", "2025-02-20"),
        ("access_granted", "2025-03-01"),
    )
    feb = H(EMIS_LIVE, p, e, "2025-02")
    # D=2025-02-28: full since go-live, no request open on 2023-10-31 -> automatic;
    # the request of 02-10 is open, not yet provisioned -> still in the backlog.
    assert (feb["revocation_backlog"], feb["opt_in_holders"], feb["open_requests"]) == (1, 0, 1)
    mar = H(EMIS_LIVE, p, e, "2025-03")
    # 03-01 grant closes the open episode: a provision, access now through opt-in.
    assert (mar["revocation_backlog"], mar["opt_in_holders"]) == (0, 1)
    # 2025-03-01 - 2025-02-10 = 19 days; counselled 02-20 lies between.
    assert (
        mar["provisioned_period"],
        mar["request_to_provision_median_days"],
        mar["provisioned_counselled_period"],
    ) == (1, 19.0, 1)
    # earlier months: at 2024-06 the patient is automatic (nothing on or before D says
    # otherwise).
    assert H(EMIS_LIVE, p, e, "2024-06")["revocation_backlog"] == 1


def test_revocation_after_the_date_of_a_level_without_full_access_counts():
    # summary since 2019-05-07 (the account's creation); revoke coded 2025-04-27.
    p = [pat("a", account_date="2019-05-07", level="summary", level_date="2019-05-07")]
    e = ev("a", ("access_revoked", "2025-04-27"))
    jan24 = H(EMIS_LIVE, p, e, "2024-01")
    # the revoke implies automatic access before it, from go-live (latest of go-live
    # 2023-10-31, registration 2010, account 2019, 16th birthday 1986) -> backlog 1.
    assert (jan24["revocation_backlog"], jan24["withheld_pending_opt_in"]) == (1, 0)
    apr25 = H(EMIS_LIVE, p, e, "2025-04")
    # revoked 04-27: one revocation of automatic access in April; now withheld.
    assert (
        apr25["revocations_period"],
        apr25["revocation_backlog"],
        apr25["withheld_pending_opt_in"],
    ) == (1, 0, 1)


def test_same_day_ties():
    p = [
        pat("a", level="full_prospective", level_date="2024-07-03"),
        pat("b"),
        pat("c", account=False, account_date=None),
    ]
    e = (
        ev("a", ("opt_in_requested", "2024-07-03"), ("access_granted", "2024-07-03"))
        + ev("b", ("opt_in_requested", "2024-08-05"), ("opt_out", "2024-08-05"))
        + ev(
            "c", ("enhanced_review_removed", "2023-11-02"), ("enhanced_review_added", "2023-11-02")
        )
    )
    jul = H(EMIS_LIVE, p, e, "2024-07")
    # a: request then grant on one day -> a provision of 0 days.
    assert (jul["provisioned_period"], jul["request_to_provision_median_days"]) == (1, 0.0)
    aug = H(EMIS_LIVE, p, e, "2024-08")
    # b: request and opt-out on one day -> opted out: not withheld; c: 104 after 106 ->
    # active 104. withheld = c only (a holds access).
    assert aug["withheld_pending_opt_in"] == 1
    assert aug["active_104_16plus"] == 1


def test_chaser_keeps_the_first_request_date():
    p = [pat("a")]
    e = ev("a", ("opt_in_requested", "2024-07-01"), ("opt_in_requested", "2024-07-20"))
    jul = H(EMIS_LIVE, p, e, "2024-07")
    # one episode (1 new request), open since 07-01: 2024-07-31 - 07-01 = 30 days > 28.
    assert (jul["requests_period"], jul["open_requests"], jul["open_requests_over_28_days"]) == (
        1,
        1,
        1,
    )


def test_percentiles_by_nearest_rank():
    # provisions in March 2024 after 10, 20, 30, 40 days.
    ps, es = [], []
    for i, days in enumerate([10, 20, 30, 40]):
        pid = f"p{i}"
        ps.append(pat(pid, level="full_prospective", level_date="2024-03-25"))
        es += ev(
            pid,
            ("opt_in_requested", (d("2024-03-25") - dt.timedelta(days=days)).isoformat()),
            ("access_granted", "2024-03-25"),
        )
    h = H(EMIS_LIVE, ps, es, "2024-03")
    # nearest rank (issue 24): median rank ceil(2) = 2 -> 20; p90 rank ceil(3.6) = 4 -> 40.
    assert h["request_to_provision_n"] == 4
    assert h["request_to_provision_median_days"] == 20.0
    assert h["request_to_provision_p90_days"] == 40.0


def test_turned_16_with_automatic_access_counts_even_if_revoked_in_the_month():
    p = [pat("a", dob="2008-05-15", reg="2008-06-01", account_date="2023-01-01")]
    e = ev("a", ("access_revoked", "2024-05-20"))
    may = H(EMIS_LIVE, p, e, "2024-05")
    # the revoke implies automatic access from the latest of go-live (2023-10-31), account
    # (2023-01-01), registration, 16th birthday (2024-05-15) = 2024-05-15, to 05-20.
    assert (may["turned_16_automatic"], may["revocations_period"], may["revocation_backlog"]) == (
        1,
        1,
        0,
    )


def test_restoration_is_opt_in_but_not_a_provision():
    p = [pat("a", level="full_prospective", level_date="2024-05-01")]
    e = ev(
        "a",
        ("opt_in_requested", "2024-01-05"),
        ("access_granted", "2024-01-20"),
        ("access_revoked", "2024-04-01"),
        ("access_granted", "2024-05-01"),
    )
    may = H(EMIS_LIVE, p, e, "2024-05")
    # 05-01 grant: no open request, earlier provision 01-20, no opt-out since -> restoration:
    # opt-in holder, not provisioned in May; the April revoke took back opt-in access:
    # not a revocation of automatic access.
    assert (
        may["opt_in_holders"],
        may["provisioned_period"],
        may["provisioned_cumulative"],
        may["revocations_cumulative"],
    ) == (1, 0, 1, 0)


def test_choice_full_access_no_date_after_a_coded_revoke(monkeypatch):
    p = [pat("a", level="full_prospective", level_date=None)]
    e = ev("a", ("access_revoked", "2024-03-10"))
    monkeypatch.setattr(oracle, "FULL_NO_DATE_AFTER_REVOKE", "regranted_at_extract")
    # reading 'regranted_at_extract': automatic spell go-live..2024-03-10 (J5), the
    # revoke counts; not held again until the extract date 2026-10-31.
    jun = H(EMIS_LIVE, p, e, "2024-06")
    assert (
        jun["revocation_backlog"],
        jun["revocations_cumulative"],
        jun["withheld_pending_opt_in"],
    ) == (0, 1, 1)
    assert H(EMIS_LIVE, p, e, "2026-10")["revocation_backlog"] == 1
    # other reading: the revoke is contradicted, access held since go-live throughout.
    monkeypatch.setattr(oracle, "FULL_NO_DATE_AFTER_REVOKE", "revoke_contradicted")
    jun = H(EMIS_LIVE, p, e, "2024-06")
    assert (
        jun["revocation_backlog"],
        jun["revocations_cumulative"],
        jun["withheld_pending_opt_in"],
    ) == (1, 0, 0)


def test_choice_full_access_no_date_no_codes_never_live(monkeypatch):
    p = [pat("a", level="full_prospective", level_date=None)]
    # chosen reading 'from_extract_date': not held at 2024-06; withheld; in the coverage
    # base and protected by the EMIS not-going-live setting (2023-10-14 <= D).
    jun = H(EMIS_NOT_LIVE, p, [], "2024-06")
    assert (
        jun["revocation_backlog"],
        jun["withheld_pending_opt_in"],
        jun["protection_coverage_numerator"],
        jun["protection_coverage_denominator"],
    ) == (0, 1, 1, 1)
    assert H(EMIS_NOT_LIVE, p, [], "2026-10")["revocation_backlog"] == 1
    monkeypatch.setattr(oracle, "FULL_NO_DATE_NEVER_LIVE", "always_held")
    assert H(EMIS_NOT_LIVE, p, [], "2024-06")["revocation_backlog"] == 1


def test_tpp_backlog_includes_patients_without_an_account_emis_does_not():
    p = [
        pat(
            "a", account=False, account_date=None, level="full_prospective", level_date="2023-10-31"
        )
    ]
    assert H(TPP_LIVE, p, [], "2024-01")["revocation_backlog"] == 1  # TPP: anyone
    e = H(EMIS_LIVE, p, [], "2024-01")
    assert (e["revocation_backlog"], e["dormant_exposure"]) == (0, 1)  # EMIS: account holders


def test_protection_setting_tpp_from_its_date():
    p = [pat("a")]
    # TPP setting 2023-11-05: at 2023-10 (D=10-31) not yet; at 2023-11 protected.
    assert H(TPP_LIVE, p, [], "2023-10")["protection_coverage_numerator"] == 0
    assert H(TPP_LIVE, p, [], "2023-11")["protection_coverage_numerator"] == 1
    # EMIS live: only 104s protect.
    assert H(EMIS_LIVE, p, [], "2023-11")["protection_coverage_numerator"] == 0


def test_projected_clear_date():
    ps = [pat(f"k{i}", level="full_prospective", level_date="2023-10-31") for i in range(3)]
    ps += [pat("r1"), pat("r2")]
    es = ev("r1", ("access_revoked", "2024-03-05")) + ev("r2", ("access_revoked", "2024-04-09"))
    h = H(EMIS_LIVE, ps, es, "2024-04")
    # complete months to D=2024-04-30: Feb, Mar, Apr -> 2 revocations / 3 per month;
    # backlog 3 -> ceil(3 / (2/3)) = ceil(4.5) = 5 months after April -> 2024-09-30.
    assert h["revocation_backlog"] == 3
    assert h["revocation_rate_per_month"] == pytest.approx(2 / 3)
    assert (h["projected_clear_status"], h["projected_clear_date"]) == ("clearing", "2024-09-30")


def test_record_disagreements(monkeypatch):
    monkeypatch.setattr(oracle, "UNCODED_OPT_IN_AFTER_REVOKE", "disagreement")
    p = [pat("a"), pat("b", level="full_prospective", level_date="2026-06-12"), pat("c")]
    e = ev("a", ("opt_in_requested", "2025-09-10"), ("access_granted", "2025-10-06")) + ev(
        "b", ("access_revoked", "2024-05-30"), ("opt_in_requested", "2026-05-14")
    )
    h = H(EMIS_LIVE, p, e, "2024-01")
    # a: grant coded, extract none -> 1. b: revoke coded, extract full (from 2026-06-12,
    # an implied provision) -> 1 under J12's literal reading. c: no codes -> 0.
    assert h["record_disagreements"] == 2
    # the team's reading: b's access came through an (uncoded) provision -> agreement.
    monkeypatch.setattr(oracle, "UNCODED_OPT_IN_AFTER_REVOKE", "agreement")
    assert H(EMIS_LIVE, p, e, "2024-01")["record_disagreements"] == 1
    # a is held by the codes from the grant until the extract date (J3):
    assert H(EMIS_LIVE, p, e, "2025-10")["opt_in_holders"] == 1
    assert H(EMIS_LIVE, p, e, "2026-10")["opt_in_holders"] == 1  # b, provisioned 2026-06-12


def test_default_model_shares():
    p = [
        pat("a", level="full_prospective", level_date="2023-10-31"),
        pat("b"),
        pat("c", account=False, account_date=None),
    ]
    e = ev("b", ("enhanced_review_added", "2023-10-20"))
    h = H(EMIS_DEFAULT, p, e, "2024-01")
    # eligible 3, 1 with full access; account holders a, b -> 1 of 2; active 104: b -> 1/3.
    assert h["nhse_share_with_access"] == pytest.approx(1 / 3)
    assert h["nhse_share_with_access_of_account_holders"] == pytest.approx(1 / 2)
    assert h["nhse_share_active_104"] == pytest.approx(1 / 3)


def test_reference_date_is_the_extract_date_when_earlier():
    prof = dict(EMIS_LIVE, extract_date=d("2026-10-17"))
    h = H(prof, [pat("a")], [], "2026-10")
    assert (h["ref_date"], h["period_start"]) == ("2026-10-17", "2026-10-01")


def test_read_practices_reads_the_edge_population():
    cfg = os.path.join(os.path.dirname(__file__), "edge", "config.yaml")
    if not os.path.exists(cfg):
        pytest.skip("run make_edge_cases.py first")
    prs = oracle.read_practices(cfg)
    # Y99001 is written in Windows-1252 with 2 lines above the header (EMIS mapping).
    y1 = prs[0]
    assert y1.ods_code == "Y99001" and len(y1.patients) == 37
    a = next(p for p in y1.patients if p["patient_id"] == "EDGE-Y99001-10")
    assert a["date_of_birth"] == d("2008-02-29") and a["access_level"] == "full_prospective"
    assert y1.unknown_codes == 0
