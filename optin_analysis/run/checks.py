"""Warnings about a practice that ``validate`` lists and ``run`` counts: the same list.

:func:`practice_warnings` gathers the extracts' own warnings (encodings, unknown codes,
...), the patients whose coded grants or revocations disagree with the account settings,
and checklist dates in the configuration that fall after the extract date.
"""

from __future__ import annotations

from pathlib import Path

from optin_analysis.config import compose, setting_line
from optin_analysis.ingest.load import PracticeData
from optin_analysis.problems import Problem, Severity

#: Dates of the checklist steps in a practice's configuration, in words.
CHECKLIST_DATES = {
    "supplier_setting_date": "the supplier setting",
    "website_updated": "the website update",
    "icb_informed": "the letter to the ICB",
    "dpia_approved": "the DPIA approval",
}


def disagreement_warning(data: PracticeData) -> list[Problem]:
    """A warning counting patients whose coded grants/revocations disagree with the extract."""
    from optin_analysis.measures.definitions import disagreement_count

    n = disagreement_count(data)
    if not n:
        return []
    message = (
        f"{n} patient(s) have coded grants or revocations that disagree with the access "
        "level in this extract; the extract is used (see the 'disagreements' worklist)"
    )
    return [Problem(data.profile.events, message, severity=Severity.WARNING)]


def _practice_index(root, ods_code: str) -> int | None:
    """Position of the practice in the configuration's ``practices`` list (by its code)."""
    import yaml

    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "practices" and isinstance(value, yaml.SequenceNode):
            for i, item in enumerate(value.value):
                if isinstance(item, yaml.MappingNode) and any(
                    getattr(k, "value", None) == "ods_code"
                    and getattr(v, "value", None) == ods_code
                    for k, v in item.value
                ):
                    return i
    return None


def checklist_warnings(data: PracticeData, config: Path | None = None) -> list[Problem]:
    """A warning for each checklist date after the extract date: the reports, as of a day
    up to the extract date, count that step as not done yet (a mistyped year?)."""
    p = data.profile
    late = {k: getattr(p, k) for k in CHECKLIST_DATES if getattr(p, k) is not None}
    late = {k: v for k, v in late.items() if v > p.extract_date}
    if not late:
        return []
    root, where = None, None
    if config is not None and config.is_file():
        root = compose(config.read_text(encoding="utf-8"))
        where = _practice_index(root, p.ods_code)
    problems = []
    for key, day in late.items():
        line = setting_line(root, ["practices", where, key]) if where is not None else None
        at = f"line {line}: " if line else ""
        message = (
            f"{at}practice {p.ods_code}: {key} {day} ({CHECKLIST_DATES[key]}) is after the extract "
            f"date {p.extract_date}: every report counts that step as not done yet. Check "
            "the date (a mistyped year?)"
        )
        problems.append(Problem(config or Path("config.yaml"), message, severity=Severity.WARNING))
    return problems


def practice_warnings(data: PracticeData, config: Path | None = None) -> list[Problem]:
    """Every warning about a loaded practice, in the order ``validate`` lists them."""
    return [*data.warnings, *disagreement_warning(data), *checklist_warnings(data, config)]
