"""The documented format of ``summary.json``, what a practice sends its ICB.

``optin_analysis/data/summary.schema.json`` is a JSON Schema (draft 2020-12) generated
from the code here (``python -m optin_analysis.outgoing.schema`` writes it again; a test
fails when the file and the code differ). ``format_version`` is the summary's own
version. Every object is closed (no key the schema does not name), so nothing unexpected
leaves a practice: any change to the keys or their meaning is a new version, and the
ICB's ``optin-analysis rollup`` refuses a version it does not know (the ICB upgrades to
read it). Each summary holds every figure of its model: an opt-in practice's headline has
every key of :data:`HEADLINE_KINDS` and its four steps, a default-model practice's the
keys of :data:`DEFAULT_MODEL_HEADLINE`; what the roll-up reads is always there.

What JSON Schema cannot say is checked by :func:`published_value_problems`: that every
count is a value the summary's own disclosure rule publishes ("[c]", 0, or a count above
the suppression threshold rounded to its multiple), so an edited figure is refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from optin_analysis.measures.definitions import AGE_BANDS
from optin_analysis.outgoing.disclosure import MARK
from optin_analysis.outgoing.published import (
    DEFAULT_MODEL_HEADLINE,
    HEADLINE_KINDS,
    WAIT_THRESHOLDS,
)

FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "summary.schema.json"
SCHEMA_ID = "https://github.com/optin-analysis/optin-analysis/summary.schema.json"

_NULL = {"type": "null"}
_C = {"const": MARK}
_MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$"}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
KIND_SCHEMAS: dict[str, dict] = {
    "count": {"anyOf": [_C, {"type": "integer", "minimum": 0}, _NULL]},
    "share": {"anyOf": [_C, {"type": "number", "minimum": 0, "maximum": 1}, _NULL]},
    "days": {"anyOf": [_C, {"type": "integer", "minimum": 0}, _NULL]},
    "rate": {"anyOf": [_C, {"type": "number", "minimum": 0}, _NULL]},
    "date": {"anyOf": [_DATE, _NULL]},
    "flag": {"type": "boolean"},
    "months": {"anyOf": [{"type": "integer", "minimum": 0}, _NULL]},
}
LABELS = {
    "projected_clear_status": ["cleared", "clearing", "not clearing"],
    "longest_wait_band": [*AGE_BANDS, "none", MARK],
}
_SERIES = {
    "period": {"type": "string"}, "from": _MONTH, "to": _MONTH,
    "level": {"enum": ["month", "quarter", "year"]}, "complete": {"type": "boolean"},
}  # fmt: skip
#: Each published table: its row fields (counts unless given a schema).
TABLES: dict[str, dict[str, dict | None]] = {
    "uptake": {**_SERIES, "requests": None, "counselled": None, "provisioned": None},
    "revocations": {**_SERIES, "revocations": None},
    "automatic": {**_SERIES, "automatic_with_account": None, "backlog": None, "dormant": None},
    "backlog": {"period": {"type": "string"}, "backlog": None},
    "waits": {"over_days": {"enum": list(WAIT_THRESHOLDS)}, "requests": None},
    "pending_16": {"period": {"type": "string"}, "protected": None, "at_risk": None,
                   "cohort": None},
}  # fmt: skip


def _closed(properties: dict, required: list[str] | None = None) -> dict:
    """An object with exactly ``properties`` (no others: nothing unexpected leaves)."""
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def headline_schema() -> dict:
    """A published headline: every figure by its kind (:data:`HEADLINE_KINDS`)."""
    properties = {
        key: ({"enum": [*LABELS[key], None]} if kind == "label" else KIND_SCHEMAS[kind])
        for key, kind in HEADLINE_KINDS.items()
    }
    return _closed(properties, ["ref_date", "period_start"])


def _table(fields: dict[str, dict | None]) -> dict:
    count = KIND_SCHEMAS["count"]
    row = _closed({k: count if v is None else v for k, v in fields.items()})
    return _closed({"level": {"type": "string"}, "rows": {"type": "array", "items": row}},
                   ["level", "rows"])  # fmt: skip


def summary_schema() -> dict:
    """The whole ``summary.json``."""
    text = {"type": "string"}
    headline = {"$ref": "#/$defs/headline"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "optin-analysis practice-month summary",
        "description": "What a practice sends its ICB each month: published (disclosure-"
        "controlled) figures only, no patient-level data. See README, 'The summary format'.",
        "$defs": {"headline": headline_schema()},
        **_closed({
            "format_version": {"const": FORMAT_VERSION},
            "audience": {"enum": ["icb", "practice"]},
            "practice": _closed({
                "ods_code": {"type": "string", "pattern": r"^[A-Z][0-9A-Z]{4,5}$"},
                "name": text, "pcn": {"anyOf": [text, _NULL]},
                "supplier": {"enum": ["emis", "tpp"]},
                "model": {"enum": ["opt_in", "default"]},
                "go_live_status": {"enum": ["live", "due", "not_planned"]},
                "go_live_date": {"anyOf": [_DATE, _NULL]}, "extract_date": _DATE,
            }, ["ods_code", "name", "supplier", "model", "go_live_status", "extract_date"]),
            "period": _MONTH, "period_start": _DATE, "ref_date": _DATE, "generated": text,
            "software": text,
            "status": _closed({
                "go_live": text, "partial_month": {"type": "boolean"},
                "earlier_list": {"type": "boolean"}, "note": text,
            }, ["go_live"]),
            "disclosure": _closed({
                "enabled": {"type": "boolean"},
                "redact_at_or_below": {"type": "integer", "minimum": 0},
                "round_to": {"type": "integer", "minimum": 1}, "footnote": text,
            }, ["enabled", "redact_at_or_below", "round_to"]),
            "headline": headline,
            "previous": {"anyOf": [headline, _NULL]},
            "tables": _closed({name: _table(fields) for name, fields in TABLES.items()}),
            "action_plan": {"type": "array", "items": _closed({
                "step": {"type": "integer", "minimum": 1, "maximum": 4}, "action": text,
                "status": text, "evidence": text,
            }, ["step", "status"])},
            "commentary": {"type": "array", "items": text},
            "placeholder_codes": {"type": "array", "items": text},
            "history": {"type": "array", "items": _closed({
                "period": _MONTH, "measure": text,
                "value": {"anyOf": [_C, {"type": "number"}, _NULL]},
            })},
            "dpia": {"type": "object"},
        }, ["format_version", "audience", "practice", "period", "ref_date", "status",
            "disclosure", "headline", "tables"]),
        "allOf": [_by_model()],
    }  # fmt: skip


def _by_model() -> dict:
    """What each model's summary always holds: every figure of its model (and an opt-in
    practice's four steps)."""
    default = {"properties": {"practice": {"properties": {"model": {"const": "default"}}}}}
    every = sorted(HEADLINE_KINDS)
    return {
        "if": default,
        "then": {"properties": {"headline": {"required": list(DEFAULT_MODEL_HEADLINE)}}},
        "else": {
            "properties": {
                "headline": {"required": every},
                "action_plan": {"minItems": 4, "maxItems": 4},
            },
            "required": ["action_plan"],
        },
    }


def schema_text() -> str:
    """The schema as the file holds it."""
    return json.dumps(summary_schema(), indent=2) + "\n"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def published_value_problems(summary: dict) -> list[str]:
    """Counts of ``summary`` that its own disclosure rule would not publish: each a
    sentence naming the figure (nothing when the rule is off: the practice's exact copy,
    which a roll-up refuses anyway)."""
    rule = summary.get("disclosure", {})
    if not rule.get("enabled", False):
        return []
    k, r = int(rule["redact_at_or_below"]), int(rule["round_to"])

    def bad(value: object) -> bool:
        return _is_count(value) and value != 0 and (value <= k or value % r)

    problems = []
    for part in ("headline", "previous"):
        for key, value in (summary.get(part) or {}).items():
            if HEADLINE_KINDS.get(key) == "count" and bad(value):
                problems.append(f"{part}.{key} = {value} is not a published value")
    for name, table in (summary.get("tables") or {}).items():
        counts = [f for f, v in TABLES.get(name, {}).items() if v is None]
        for i, row in enumerate(table.get("rows", [])):
            problems += [f"tables.{name}[{i}].{f} = {row[f]} is not a published value"
                         for f in counts if bad(row.get(f))]  # fmt: skip
    return problems


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
