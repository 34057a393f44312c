"""What the ICB receives may be anything: each summary it cannot use is refused with its
reason, and one bad file never stops the roll-up of the others."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from optin_analysis.config import Disclosure, Practice
from optin_analysis.generate import SAMPLE_BRANCHES, generate
from optin_analysis.ingest.load import PracticeData
from optin_analysis.outgoing.inbox import RosterError, check, read_roster, receive
from optin_analysis.outgoing.published import HEADLINE_KINDS
from optin_analysis.outgoing.summary import compute, outgoing
from optin_analysis.run.cli import app

PERIOD = "2026-10"
RULE = Disclosure()


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict]:
    """One opt-in and one default-model practice's summary, as sent."""
    synth = generate(5, 3_000, 23, dt.date(2026, 10, 31), SAMPLE_BRANCHES)
    out = {}
    for raw in synth.profiles:
        profile = Practice(**raw)
        mine = synth.patients["practice_code"] == profile.ods_code
        events = synth.events[synth.events["practice_code"] == profile.ods_code]
        data = PracticeData(profile, synth.patients[mine], events)
        out.setdefault(profile.model.value, outgoing(compute(data, PERIOD), RULE))
    return out


def _reason(summary: object) -> str:
    result = check("Y90001.json", json.dumps(summary).encode(), PERIOD, RULE)
    assert not isinstance(result, dict), "accepted"
    return result.reason


def test_both_models_as_sent_are_accepted(summaries) -> None:
    for summary in summaries.values():
        assert isinstance(check("x.json", json.dumps(summary).encode(), PERIOD, RULE), dict)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s.update(practice="Y90001"), "practice must be object"),
        (lambda s: s.pop("action_plan"), "the summary must contain ['action_plan'] properties"),
        (lambda s: s["action_plan"].pop(), "action_plan must contain at least 4 items"),
        (lambda s: s["headline"].pop("open_requests_over_180_days"),
         "headline must contain ['open_requests_over_180_days']"),
        (lambda s: s["status"].pop("go_live"), "status must contain ['go_live']"),
        (lambda s: s["headline"].update(patient_id="SYN-1"),
         "headline must not contain {'patient_id'}"),
        (lambda s: s.update(format_version=2), "upgrade it to read this summary"),
        (lambda s: s["disclosure"].update(redact_at_or_below=0, round_to=1),
         "weaker disclosure rule (1 to 0 hidden, rounded to 1)"),
        # hides more and rounds to a multiple of 5, but would publish 8 or 9 as 0
        (lambda s: s["disclosure"].update(redact_at_or_below=7, round_to=20),
         "a disclosure rule that publishes small counts as 0 (1 to 7 hidden, rounded to 20, "
         "so 8 reads 0): ask the practice to run again with the ICB's rule"),
        # hides more and rounds to 5, but 12 is the only count published as 10
        (lambda s: s["disclosure"].update(redact_at_or_below=11, round_to=5),
         "a disclosure rule whose lowest rounded value is an exact count (1 to 11 hidden, "
         "rounded to 5, so a published 10 can only be 12): ask the practice to run again"),
        # ... and is answered at once, however many it says it hides
        (lambda s: s["disclosure"].update(redact_at_or_below=10**12 + 1, round_to=5),
         "(1 to 1000000000001 hidden, rounded to 5, so a published 1000000000000 can only"),
    ],
)  # fmt: skip
def test_an_opt_in_summary_the_roll_up_cannot_read_is_refused(summaries, change, words) -> None:
    summary = copy.deepcopy(summaries["opt_in"])
    change(summary)
    assert words in _reason(summary)


def test_a_default_model_summary_needs_only_its_own_figures(summaries) -> None:
    summary = copy.deepcopy(summaries["default"])
    assert "open_requests" not in summary["headline"] and not summary["action_plan"]
    summary["headline"].pop("access_share_of_account_holders")
    assert "headline must contain ['access_share_of_account_holders']" in _reason(summary)


def test_a_stricter_rule_is_accepted(summaries) -> None:
    # a practice hiding 1 to 10 and rounding to 10 publishes nothing the ICB's rule would not
    summary = copy.deepcopy(summaries["opt_in"])
    summary["disclosure"].update(redact_at_or_below=10, round_to=10)
    for key, value in summary["headline"].items():
        if HEADLINE_KINDS[key] == "count" and isinstance(value, int) and value:
            summary["headline"][key] = "[c]" if value <= 10 else round(value + 1, -1)
    summary["previous"] = None
    summary["tables"] = {k: {**t, "rows": []} for k, t in summary["tables"].items()}
    assert isinstance(check("x.json", json.dumps(summary).encode(), PERIOD, RULE), dict)


def test_an_unreadable_file_is_listed_with_the_others(tmp_path, summaries) -> None:
    (tmp_path / "Y90001").mkdir()
    (tmp_path / "Y90001" / "summary.json").write_text(json.dumps(summaries["opt_in"]))
    (tmp_path / "Y90009.json").write_text(json.dumps({"practice": "Y90009"}))
    (tmp_path / "Y90008.json").mkdir()  # a folder named like a summary: nothing to read
    (tmp_path / "Y90007.json").write_bytes(b"\xff\xfe not json")
    accepted, refused = receive(tmp_path, PERIOD, RULE)
    assert [s["practice"]["ods_code"] for s in accepted] == ["Y90001"]
    assert {r.where: r.ods_code for r in refused} == {"Y90007.json": "Y90007",
                                                      "Y90009.json": "Y90009"}  # fmt: skip


def test_a_practices_list_without_ods_codes_is_an_error_naming_it(tmp_path) -> None:
    roster = tmp_path / "practices.csv"
    roster.write_text("Practice,Network\nY90001,North\n")
    with pytest.raises(RosterError, match="no column of ODS codes.*found Practice, Network"):
        read_roster(roster)
    result = CliRunner().invoke(app, ["rollup", str(tmp_path), "--period", PERIOD,
                                      "--practices", str(roster)])  # fmt: skip
    assert result.exit_code == 2
    assert "Cannot read the practices list" in result.output and "Traceback" not in result.output
    roster.write_text("ODS code,Name,PCN\ny90001,Practice One,North\n")
    assert read_roster(roster) == {"Y90001": {"name": "Practice One", "pcn": "North"}}


def test_the_icbs_own_rule_must_not_round_a_count_to_0(tmp_path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["rollup", str(tmp_path), "--period", PERIOD,
                                      "--round-to", "20", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Cannot use --redact-at-or-below 7 --round-to 20: rounding to 20" in result.output
    assert not out.exists() and not (tmp_path / "icb-history.duckdb").exists()
