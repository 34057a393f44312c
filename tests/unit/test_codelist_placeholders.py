"""Codelist helpers for onboarding: placeholder opt-in events and codes the codelist lacks."""

from __future__ import annotations

import pandas as pd

from optin_analysis.ingest.codelist import load_codelist, placeholder_event_types, unknown_codes

OPT_IN = ["opt_in_requested", "counselled", "access_granted", "access_revoked", "opt_in_declined"]


def _row(code: str, event_type: str, status: str) -> dict:
    return {"code": code, "term": "t", "event_type": event_type, "status": status, "source": "s"}


def test_the_shipped_codelist_has_only_placeholders_for_every_opt_in_event():
    assert placeholder_event_types(load_codelist()) == OPT_IN


def test_a_confirmed_local_code_takes_its_event_off_the_list():
    table = pd.DataFrame(
        [
            _row("LOCAL-OPTIN-REQ", "opt_in_requested", "placeholder"),
            _row("EMISNQRE1", "opt_in_requested", "confirmed"),  # the practice's own code
            _row("LOCAL-COUNSELLED", "counselled", "placeholder"),
            _row("XaCou", "counselled", "placeholder"),  # still a placeholder: still listed
            _row("1364731000000104", "enhanced_review_added", "confirmed"),
        ]
    )
    # provisioned, revoked and declined have no row at all: they rest on nothing confirmed
    assert placeholder_event_types(table) == [t for t in OPT_IN if t != "opt_in_requested"]


def test_unknown_codes_are_counted_most_frequent_first():
    codelist = load_codelist()
    codes = pd.Series(["EMIS2", " EMIS1", "1364731000000104", "EMIS1", "", "EMIS2", "ABC", "EMIS1"])
    counts = unknown_codes(codes, codelist)
    assert counts.to_dict() == {"EMIS1": 3, "EMIS2": 2, "ABC": 1}
    assert list(counts.index) == ["EMIS1", "EMIS2", "ABC"]
    assert unknown_codes(pd.Series(["1364731000000104"]), codelist).empty


def test_placeholders_are_decided_for_each_practice_from_its_own_events():
    # One codelist for two practices: Y1 mapped its own request code (confirmed); Y2 still
    # records requests with the placeholder LOCAL-OPTIN-REQ. Requests rest on placeholders
    # at Y2, not at Y1; counselling rests on placeholders at both (no confirmed code).
    table = pd.DataFrame(
        [
            _row("LOCAL-OPTIN-REQ", "opt_in_requested", "placeholder"),
            _row("Y1REQ", "opt_in_requested", "confirmed"),
            _row("LOCAL-COUNSELLED", "counselled", "placeholder"),
        ]
    )
    y1 = pd.DataFrame({"code": ["Y1REQ"], "event_type": ["opt_in_requested"]})
    y2 = pd.DataFrame({"code": ["LOCAL-OPTIN-REQ"], "event_type": ["opt_in_requested"]})
    assert "opt_in_requested" not in placeholder_event_types(table, y1)
    assert "opt_in_requested" in placeholder_event_types(table, y2)
    assert "counselled" in placeholder_event_types(table, y1)
