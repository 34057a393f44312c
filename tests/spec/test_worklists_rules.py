"""Hand-worked cases for the membership rules of ``optin_analysis/practice/worklists.py``.

Practice: EMIS, opt-in, live since 2023-11-01 unless said; patients are adults (born
1980) with no account unless said (see :mod:`tests.spec.cases`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optin_analysis.config import GoLiveStatus, Supplier
from optin_analysis.practice.worklists import worklists
from tests.builders import make_profile
from tests.spec.cases import ADDED, FULL, OPT_OUT, REQUEST, ev, frames

REVOKE_WHY = "automatic full access: revoke until the patient opts in"
DORMANT_WHY = "automatic full access, no usable online account: revoke before it is used"
NO_CODE_WHY = "16+, no access, not opted out, no opt-in request, no 104 code"


def _lists(rows: list[dict], events: list, ref: str, **profile) -> dict[str, pd.DataFrame]:
    return worklists(*frames(rows, events), make_profile(**profile), ref)


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


def test_worklist_protect_16_then_16plus() -> None:
    got = _lists(*_protect_practice(), "2024-03-15")["protect"]
    assert got["patient_id"].tolist() == ["s2", "s1", "a1"]
    assert got["reason"].tolist() == ["turns 16 on 2024-04-02", "turns 16 on 2024-05-20",
                                      NO_CODE_WHY]  # fmt: skip
    assert got["sixteenth_birthday"].tolist()[:2] == [
        pd.Timestamp("2024-04-02"), pd.Timestamp("2024-05-20"),
    ]  # fmt: skip
    assert pd.isna(got["sixteenth_birthday"].iloc[2])


@pytest.mark.parametrize(
    "profile",
    [
        {"supplier": Supplier.TPP},
        {"supplier": Supplier.EMIS, "go_live_status": GoLiveStatus.NOT_PLANNED},
    ],
    ids=["tpp", "emis-not-going-live"],
)
def test_worklist_protect_16plus_empty_when_the_setting_protects(profile: dict) -> None:
    # The supplier setting made on 2024-01-01 protects everybody: nobody to code.
    got = _lists(*_protect_practice(), "2024-03-15", **profile,
                 supplier_setting_date=dt.date(2024, 1, 1))["protect"]  # fmt: skip
    assert got.empty


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
