"""Hand-worked cases for the membership rules of ``optin_analysis/practice/worklists.py``.

Practice: EMIS, opt-in, live since 2023-11-01 unless said; patients are adults (born
1980) with no account unless said (see :mod:`tests.spec.cases`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus, Model, Supplier
from optin_analysis.measures.state import patient_state
from optin_analysis.practice.worklists import Worklists, code_104_history, worklists
from tests.builders import make_profile
from tests.spec.cases import ADDED, COUNSELLED, FULL, OPT_OUT, REMOVED, REQUEST, ev, frames

REVOKE_WHY = "automatic full access: revoke until the patient opts in"
DORMANT_WHY = "automatic full access, no usable online account: revoke before it is used"
NO_CODE_WHY = "16+, no access, not opted out, no opt-in request, no 104 code"


def _lists(
    rows: list[dict],
    events: list,
    ref: str,
    since: str | None = None,
    review_weeks: int = 4,
    **profile,
) -> Worklists:
    return worklists(
        *frames(rows, events), make_profile(**profile), ref, since=since, review_weeks=review_weeks
    )


def _revoke_practice() -> tuple[list[dict], list]:
    # At D = 2024-06-01, full access with no start date applies from go-live 2023-11-01:
    # A: account since 2022-05-01, automatic; A2: account since 2021-01-01, automatic;
    # B: no account, automatic (dormant); C: opt-in (asked before its start); E: account
    # since 2022-05-01, automatic, opted out.
    acct = {"online_account": True}
    rows = [
        {"patient_id": "A", **acct, "online_account_date": "2022-05-01", **FULL},
        {"patient_id": "A2", **acct, "online_account_date": "2021-01-01", **FULL},
        {"patient_id": "B", **FULL},
        {"patient_id": "C", **acct, "online_account_date": "2022-05-01", **FULL,
         "access_start_date": "2024-02-09"},
        {"patient_id": "E", **acct, "online_account_date": "2022-05-01", **FULL},
    ]  # fmt: skip
    return rows, [ev(REQUEST, "2024-01-10", "C"), ev(OPT_OUT, "2024-01-05", "E")]


def test_worklist_revoke_backlog_by_account_date() -> None:
    # EMIS backlog: A2 (account 2021), then A and E (2022-05-01, by patient_id).
    got = _lists(*_revoke_practice(), "2024-06-01")["revoke"]
    backlog = got[got["reason"] == REVOKE_WHY]
    assert backlog["patient_id"].tolist() == ["A2", "A", "E"]


def test_worklist_revoke_tpp_backlog_includes_those_without_an_account() -> None:
    # TPP backlog: everybody with automatic access; B has no account date, so it comes
    # last; nobody is left for the dormant part.
    got = _lists(*_revoke_practice(), "2024-06-01", supplier=Supplier.TPP)["revoke"]
    assert got["patient_id"].tolist() == ["A2", "A", "E", "B"]
    assert set(got["reason"]) == {REVOKE_WHY}


def test_worklist_dormant_after_the_emis_backlog() -> None:
    # EMIS: B (automatic, no account) is not in the backlog; it follows it as dormant.
    got = _lists(*_revoke_practice(), "2024-06-01")["revoke"]
    assert got[["patient_id", "reason"]].values.tolist() == [
        ["A2", REVOKE_WHY], ["A", REVOKE_WHY], ["E", REVOKE_WHY], ["B", DORMANT_WHY],
    ]  # fmt: skip


def _protect_practice() -> tuple[list[dict], list]:
    # D = 2024-03-15, horizon 6 months: 16th birthdays 2024-03-16 to 2024-09-30.
    # s1 16 on 2024-05-20, s2 on 2024-04-02: listed by birthday (s2 first); s3 on
    # 2024-04-10 has a 104: not listed; s4 on 2024-10-01: outside the window.
    # Adults: a1 nothing: listed; a2 a 104; a3 opted out; a4 asked to opt in; a5
    # automatic access: not listed.
    rows = [
        {"patient_id": "s1", "date_of_birth": "2008-05-20"},
        {"patient_id": "s2", "date_of_birth": "2008-04-02"},
        {"patient_id": "s3", "date_of_birth": "2008-04-10"},
        {"patient_id": "s4", "date_of_birth": "2008-10-01"},
        *({"patient_id": pid} for pid in ("a1", "a2", "a3", "a4")),
        {"patient_id": "a5", **FULL},
    ]
    events = [
        ev(ADDED, "2024-01-05", "s3"), ev(ADDED, "2024-01-05", "a2"),
        ev(OPT_OUT, "2024-01-05", "a3"), ev(REQUEST, "2024-01-05", "a4"),
    ]  # fmt: skip
    return rows, events


def test_worklist_protect_16_by_birthday() -> None:
    got = _lists(*_protect_practice(), "2024-03-15")["protect-16"]
    assert got["patient_id"].tolist() == ["s2", "s1"]
    assert got["reason"].tolist() == ["turns 16 on 2024-04-02", "turns 16 on 2024-05-20"]
    assert got["sixteenth_birthday"].tolist() == [
        pd.Timestamp("2024-04-02"), pd.Timestamp("2024-05-20"),
    ]  # fmt: skip


def test_worklist_protect_adults_the_coverage_gap() -> None:
    # EMIS live: 104s protect, and the guidance's step 1 for it is a bulk 104
    lists = _lists(*_protect_practice(), "2024-03-15")
    assert lists["protect-adults"]["patient_id"].tolist() == ["a1"]
    assert lists["protect-adults"]["reason"].tolist() == [NO_CODE_WHY]
    assert "add the 104 code in bulk" in lists.notes["protect-adults"]
    assert "DPIA risk R5" in lists.notes["protect-adults"]


def test_worklist_protect_adults_before_the_setting_is_an_individual_review() -> None:
    # TPP, preference not unticked yet: nobody is protected; a1 is listed, and the note
    # asks for the setting and individual review, not a bulk 104
    lists = _lists(*_protect_practice(), "2024-03-15", supplier=Supplier.TPP)
    assert lists["protect-adults"]["patient_id"].tolist() == ["a1"]
    note = lists.notes["protect-adults"]
    assert "make the supplier setting" in note and "no bulk 104" in note
    assert "reviews a patient individually" in note


@pytest.mark.parametrize(
    "profile",
    [
        {"supplier": Supplier.TPP},
        {"supplier": Supplier.EMIS, "go_live_status": GoLiveStatus.NOT_PLANNED},
    ],
    ids=["tpp", "emis-not-going-live"],
)
def test_worklist_protect_lists_empty_when_the_setting_protects(profile: dict) -> None:
    # The supplier setting made on 2024-01-01 protects everybody: nobody to code.
    lists = _lists(*_protect_practice(), "2024-03-15", **profile,
                   supplier_setting_date=dt.date(2024, 1, 1))  # fmt: skip
    assert lists["protect-16"].empty and lists["protect-adults"].empty


def test_worklist_requests_oldest_first() -> None:
    # Open at D = 2024-03-01: r2 (2024-01-15), then r1 and r3 (2024-02-01, by id).
    # r4's request was declined; r5 registers after D.
    rows = [{"patient_id": pid} for pid in ("r3", "r1", "r2", "r4")]
    rows.append({"patient_id": "r5", "registration_date": "2024-04-01"})
    events = [
        ev(REQUEST, "2024-02-01", "r1"), ev(REQUEST, "2024-01-15", "r2"),
        ev(REQUEST, "2024-02-01", "r3"), ev(REQUEST, "2024-01-10", "r4"),
        ev("opt_in_declined", "2024-01-20", "r4"), ev(REQUEST, "2024-01-10", "r5"),
    ]  # fmt: skip
    got = _lists(rows, events, "2024-03-01")["requests"]
    assert got["patient_id"].tolist() == ["r2", "r1", "r3"]
    # waits: 15 Jan -> 1 Mar = 16 + 29 + 1 = 46; 1 Feb -> 1 Mar = 29
    assert got["wait_days"].tolist() == [46, 29, 29]
    assert set(got["stage"]) == {"awaiting counselling"}


def test_worklist_disagreements_of_registered_patients() -> None:
    # d1 and d3: a grant coded, no access in the extract; d2 the same, but registers
    # after D; d4 agrees (no codes). Listed: d1, d3.
    rows = [{"patient_id": pid} for pid in ("d3", "d1", "d4")]
    rows.append({"patient_id": "d2", "registration_date": "2024-07-01"})
    events = [ev("access_granted", "2024-01-10", pid) for pid in ("d1", "d2", "d3")]
    got = _lists(rows, events, "2024-06-01")["disagreements"]
    assert got["patient_id"].tolist() == ["d1", "d3"]
    assert set(got["disagreement"]) == {"access grant coded, but the extract shows no full access"}


def test_disagreement_action_for_each_kind() -> None:
    # g: a grant coded, no access; r: a revocation coded, access still in the account
    # (given at go-live, revoked 2024-02-01, no start date after it); a: revoked, then
    # given again (start 2024-04-01) without a grant code.
    rows = [
        {"patient_id": "g"},
        {"patient_id": "r", **FULL},
        {"patient_id": "a", **FULL, "access_start_date": "2024-04-01"},
    ]
    events = [
        ev("access_granted", "2024-01-10", "g"),
        ev("access_revoked", "2024-02-01", "r"),
        ev("access_revoked", "2024-02-01", "a"),
    ]
    got = _lists(rows, events, "2024-06-01")["disagreements"].set_index("patient_id")
    assert got.loc["g", "what_to_do"] == (
        "switch full access on if it was meant; else mark the grant in error"
    )
    assert got.loc["r", "what_to_do"] == (
        "switch full access off if the revocation stands; else mark it in error"
    )
    assert got.loc["a", "what_to_do"] == (
        "if the patient asked, code the grant; if not, switch full access off"
    )
    # on the default model, access the account still holds is the norm
    default = _lists(rows, events, "2024-06-01", model=Model.DEFAULT)["disagreements"]
    assert default.set_index("patient_id").loc["r", "what_to_do"] == (
        "switch access off if withdrawn for a reason; else mark it in error"
    )


# --------------------------------------------------------------------------- 104 codes

BULK_IDS = [f"b{k:02d}" for k in range(50)]


def _codes_practice() -> tuple[list[dict], list]:
    # D = 2024-06-01. b00..b49: a 104 on 2024-01-05, 50 patients: bulk. i: a 104 on
    # 2024-02-01 alone: individual. t: registered 2024-03-01 with a 104 dated 2023-12-01,
    # before it: at registration. c: a 104 on 2024-02-10, a 106 on 2024-03-01: cancelled
    # on 2024-03-01 (individual). s: a 104 and a 106 on 2024-02-20: the 104 counts as
    # later, active. late: its only 104 is after D: none. gone: registered after D.
    rows = [{"patient_id": pid} for pid in [*BULK_IDS, "i", "c", "s", "late"]]
    rows += [{"patient_id": "t", "registration_date": "2024-03-01"},
             {"patient_id": "gone", "registration_date": "2024-07-01"}]  # fmt: skip
    events = [ev(ADDED, "2024-01-05", pid) for pid in BULK_IDS]
    events += [
        ev(ADDED, "2024-02-01", "i"), ev(ADDED, "2023-12-01", "t"),
        ev(ADDED, "2024-02-10", "c"), ev(REMOVED, "2024-03-01", "c"),
        ev(ADDED, "2024-02-20", "s"), ev(REMOVED, "2024-02-20", "s"),
        ev(ADDED, "2024-06-02", "late"), ev(ADDED, "2024-01-05", "gone"),
    ]  # fmt: skip
    return rows, events


def _history(rows: list[dict], events: list) -> pd.DataFrame:
    patients, events = frames(rows, events)
    state = patient_state(patients, events, make_profile(), "2024-06-01")
    got = code_104_history(patients, events, state, "2024-06-01")
    return got.set_axis(patients["patient_id"])


def test_code_104_origin_bulk_individual_at_registration_cancelled() -> None:
    got = _history(*_codes_practice())
    assert set(got.loc[BULK_IDS, "origin"]) == {"bulk"}
    assert got.loc["i"].tolist() == [pd.Timestamp("2024-02-01"), "individual", pd.NaT]
    assert got.loc["t"].tolist() == [pd.Timestamp("2023-12-01"), "at registration", pd.NaT]
    assert got.loc["c"].tolist() == [
        pd.Timestamp("2024-02-10"), "individual", pd.Timestamp("2024-03-01"),
    ]  # fmt: skip
    assert got.loc["s"].tolist() == [pd.Timestamp("2024-02-20"), "individual", pd.NaT]
    assert got.loc["late", "origin"] == "" and got.loc["gone", "origin"] == ""


def test_code_104_dated_on_the_registration_day_is_individual() -> None:
    # "at registration" is a 104 dated before the registration date (it came with the
    # record); t0 registered 2024-03-01 and was coded that day, by this practice
    rows, events = _codes_practice()
    rows += [{"patient_id": "t0", "registration_date": "2024-03-01"}]
    got = _history(rows, [*events, ev(ADDED, "2024-03-01", "t0")])
    assert got.loc["t0"].tolist() == [pd.Timestamp("2024-03-01"), "individual", pd.NaT]
    assert got.loc["t", "origin"] == "at registration"


def test_worklist_codes_104_include_one_coded_on_d() -> None:
    # what is known on D counts: k's 104 dated 2024-06-01 (= D) is active, so k is on
    # codes-104 and not given access; g, with nothing, is
    rows = [{"patient_id": "k"}, {"patient_id": "g"}]
    lists = _lists(rows, [ev(ADDED, "2024-06-01", "k")], "2024-06-01", model=Model.DEFAULT)
    assert lists["codes-104"]["patient_id"].tolist() == ["k"]
    assert lists["give-access"]["patient_id"].tolist() == ["g"]


def test_code_104_origin_not_bulk_at_49_patients() -> None:
    # without b49, 49 patients were coded on 2024-01-05: each of them is individual
    rows, events = _codes_practice()
    got = _history(rows, [e for e in events if e[0] != "b49"])
    assert set(got.loc[BULK_IDS[:49], "origin"]) == {"individual"}


def test_worklist_codes_104_bulk_ones_first_to_cancel_then_a_clinician_reviews() -> None:
    got = _lists(*_codes_practice(), "2024-06-01", model=Model.DEFAULT)["codes-104"]
    # active 104s: the 50 bulk (one date, by id), then t (at registration), then i
    # (02-01) and s (02-20) by code date; c's was cancelled by a 106: not listed
    assert got["patient_id"].tolist() == [*BULK_IDS, "t", "i", "s"]
    assert got["origin"].tolist()[-4:] == ["bulk", "at registration", "individual",
                                           "individual"]  # fmt: skip
    what = dict(zip(got["patient_id"], got["what_to_do"], strict=True))
    assert what["b00"] == (
        "add a 106 (in bulk); a 104 again only if a safeguarding reason is recorded"
    )
    review = "clinician: keep the 104 only if a reason is recorded, else add a 106"
    assert what["t"] == what["i"] == what["s"] == review


def test_worklist_codes_104_only_on_the_default_model() -> None:
    # on the opt-in model a 104 protects from automatic access: nothing to do about it
    assert "codes-104" not in _lists(*_codes_practice(), "2024-06-01")


# --------------------------------------------------------------------------- default model


def _default_practice() -> tuple[list[dict], list]:
    # D = 2024-06-01. g1: account since 2024-01-01, no access; g2: no account, no access;
    # h: full access; o: opted out; k: an individual 104; kid: 15.
    rows = [
        {"patient_id": "g2"},
        {"patient_id": "g1", "online_account": True, "online_account_date": "2024-01-01"},
        {"patient_id": "h", **FULL},
        {"patient_id": "o"},
        {"patient_id": "k"},
        {"patient_id": "kid", "date_of_birth": "2009-01-01"},
    ]
    return rows, [ev(OPT_OUT, "2024-01-05", "o"), ev(ADDED, "2024-02-01", "k")]


OPT_IN_WORDS = ("opt-in", "opt in", "opts in", "revoke", "revocation", "protect")


def test_worklist_default_model_gives_access_and_lists_no_opt_in_work() -> None:
    lists = _lists(*_default_practice(), "2024-06-01", model=Model.DEFAULT,
                   since="2024-05-25")  # fmt: skip
    assert list(lists) == ["review", "give-access", "codes-104", "disagreements"]
    # the account holder first, then the others; h has access, o opted out, k has a 104
    # (it is on codes-104), kid is under 16
    assert lists["give-access"]["patient_id"].tolist() == ["g1", "g2"]
    assert lists["codes-104"]["patient_id"].tolist() == ["k"]
    words = " ".join(lists.notes.values()).lower()
    for frame in lists.values():
        for column in frame.columns:
            if frame[column].dtype == "str":
                words += " " + " ".join(frame[column].dropna()).lower()
    assert "exception" in words and "serious harm" in words
    assert not [w for w in OPT_IN_WORDS if w in words]


# --------------------------------------------------------------------------- weekly review


def _week() -> tuple[list[dict], list]:
    # The previous review was as of 2024-06-01; this one is as of D = 2024-06-08, so it
    # lists what happened from 2024-06-02 to 2024-06-08 and who turns 16 by 2024-07-06.
    acct = {"online_account": True}
    rows = [
        # new online accounts: a1 holds automatic access (full, no start date: from its
        # account date); a2 holds none and has no 104; a3 has a 104: not listed; a4's
        # account dates from the previous review's day, a5's from after D: not listed
        {"patient_id": "a1", **acct, "online_account_date": "2024-06-03", **FULL},
        {"patient_id": "a2", **acct, "online_account_date": "2024-06-05"},
        {"patient_id": "a3", **acct, "online_account_date": "2024-06-04"},
        {"patient_id": "a4", **acct, "online_account_date": "2024-06-01"},
        {"patient_id": "a5", **acct, "online_account_date": "2024-06-09"},
        # new registrants: r1 came with a 104 dated before it registered; r2 registered
        # on D with nothing; r3 registered on the previous review's day: not listed
        {"patient_id": "r1", "registration_date": "2024-06-02"},
        {"patient_id": "r2", "registration_date": "2024-06-08"},
        {"patient_id": "r3", "registration_date": "2024-06-01"},
        # requests: q1 asked on 2024-06-04, not counselled; q2 was counselled; q3 asked
        # before the previous review (it is on requests, not new)
        {"patient_id": "q1"}, {"patient_id": "q2"}, {"patient_id": "q3"},
        # turning 16: t1 on 2024-06-20, not protected; t2 on 2024-07-10, after the four
        # weeks; t3 on 2024-06-15 with a 104
        {"patient_id": "t1", "date_of_birth": "2008-06-20"},
        {"patient_id": "t2", "date_of_birth": "2008-07-10"},
        {"patient_id": "t3", "date_of_birth": "2008-06-15"},
    ]  # fmt: skip
    events = [
        ev(ADDED, "2024-01-05", "a3"), ev(ADDED, "2023-05-01", "r1"),
        ev(REQUEST, "2024-06-04", "q1"), ev(REQUEST, "2024-06-03", "q2"),
        ev(COUNSELLED, "2024-06-06", "q2"), ev(REQUEST, "2024-05-20", "q3"),
        ev(ADDED, "2024-01-05", "t3"),
    ]  # fmt: skip
    return rows, events


def test_worklist_review_what_is_new_since_the_previous_review() -> None:
    lists = _lists(*_week(), "2024-06-08", since="2024-06-01")
    got = lists["review"]
    assert list(lists)[0] == "review"
    assert got[["item", "patient_id", "date"]].values.tolist() == [
        ["new online account", "a1", pd.Timestamp("2024-06-03")],
        ["new online account", "a2", pd.Timestamp("2024-06-05")],
        ["new registrant", "r1", pd.Timestamp("2024-06-02")],
        ["new registrant", "r2", pd.Timestamp("2024-06-08")],
        ["request not yet counselled", "q1", pd.Timestamp("2024-06-04")],
        ["turning 16", "t1", pd.Timestamp("2024-06-20")],
    ]  # fmt: skip
    detail = dict(zip(got["patient_id"], got["detail"], strict=True))
    what = dict(zip(got["patient_id"], got["what_to_do"], strict=True))
    assert detail["a1"] == "holds automatic full access"
    assert what["a1"] == "revoke until the patient opts in (also on revoke)"
    assert (detail["a2"], what["a2"]) == ("not protected: would get automatic access",
                                          "add a 104 now")  # fmt: skip
    assert detail["r1"] == "arrived with a 104 dated 2023-05-01 (from another practice)"
    assert what["r1"] == "keep it (it protects); a clinician checks its reason"
    assert detail["r2"] == "no 104: not protected from automatic access"
    assert detail["q1"] == "asked 4 day(s) ago"  # 2024-06-04 to 2024-06-08
    assert (detail["t1"], what["t1"]) == ("turns 16 on 2024-06-20, not protected",
                                          "add a 104 before the birthday")  # fmt: skip
    assert "since 2024-06-01" in lists.notes["review"]


def test_worklist_review_turning_16_within_the_weeks_asked() -> None:
    # two weeks from 2024-06-08: up to 2024-06-22, t1 (06-20) still in; one week: out
    two = _lists(*_week(), "2024-06-08", since="2024-06-01", review_weeks=2)["review"]
    one = _lists(*_week(), "2024-06-08", since="2024-06-01", review_weeks=1)["review"]
    assert "t1" in set(two["patient_id"]) and "t1" not in set(one["patient_id"])


def test_worklist_review_turning_16_on_the_last_day_of_the_weeks() -> None:
    # four weeks from 2024-06-08 is 2024-07-06: 16 on 2024-07-05 and on 2024-07-06 are
    # listed, on 2024-07-07 not (the next review, a week later, lists it)
    rows = [{"patient_id": "in", "date_of_birth": "2008-07-05"},
            {"patient_id": "edge", "date_of_birth": "2008-07-06"},
            {"patient_id": "out", "date_of_birth": "2008-07-07"}]  # fmt: skip
    got = _lists(rows, [], "2024-06-08", since="2024-06-01")["review"]
    assert got[got["item"] == "turning 16"]["patient_id"].tolist() == ["in", "edge"]


def test_worklist_review_on_the_default_model_asks_for_exceptions() -> None:
    got = _lists(*_week(), "2024-06-08", since="2024-06-01", model=Model.DEFAULT)["review"]
    # no request item; a3 (a 104, no access) does not get access: not listed; every new
    # account asks for an exception check; r1's 104 goes to a clinician; t3 and t1 turn
    # 16 (the 104 does not matter here), by birthday
    assert set(got["item"]) == {"new online account", "new registrant", "turning 16"}
    accounts = got[got["item"] == "new online account"]
    assert accounts["patient_id"].tolist() == ["a1", "a2"]
    assert set(accounts["what_to_do"]) == {
        "check for an exception (serious harm, third-party information)"
    }
    what = dict(zip(got["patient_id"], got["what_to_do"], strict=True))
    assert what["r1"] == "clinician: keep the 104 only if a reason is recorded, else add a 106"
    assert got[got["item"] == "turning 16"]["patient_id"].tolist() == ["t3", "t1"]


def test_worklist_no_review_without_a_since_day() -> None:
    assert "review" not in _lists(*_week(), "2024-06-08")
