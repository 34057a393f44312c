"""``summary.json`` as documented: the committed JSON Schema is the code's, and every
summary the sample run writes (both models, every branch) matches it."""

from __future__ import annotations

import json

import jsonschema

from optin_analysis.outgoing.schema import (
    FORMAT_VERSION,
    SCHEMA_PATH,
    published_value_problems,
    schema_text,
    summary_schema,
)


def test_the_committed_schema_is_the_one_the_code_makes() -> None:
    # python -m optin_analysis.outgoing.schema writes it again after a change
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_every_summary_of_the_sample_matches_the_schema(sample_run) -> None:
    validator = jsonschema.Draft202012Validator(summary_schema())
    for p in sample_run.config.practices:
        summary = json.loads((sample_run.folder(p.ods_code) / "summary.json").read_text())
        assert summary["format_version"] == FORMAT_VERSION
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(summary)]
        assert errors == [], p.ods_code
        assert published_value_problems(summary) == [], p.ods_code


def test_an_edited_count_or_an_unknown_figure_is_caught(sample_run) -> None:
    summary = json.loads((sample_run.folder("Y90001") / "summary.json").read_text())
    summary["headline"]["eligible"] += 1  # 2,450 -> 2,451: no rounded count reads so
    summary["tables"]["waits"]["rows"][0]["requests"] = 3  # a small count not suppressed
    problems = published_value_problems(summary)
    assert any("headline.eligible" in p for p in problems)
    assert any("tables.waits[0].requests = 3" in p for p in problems)
    summary["headline"]["patient_id"] = "SYN-1"  # nothing unexpected may leave
    validator = jsonschema.Draft202012Validator(summary_schema())
    assert any("patient_id" in e.message for e in validator.iter_errors(summary))
