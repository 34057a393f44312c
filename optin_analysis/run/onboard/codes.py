"""The codes of the events exports: those the codelist lacks (mapped at the terminal, or
listed in a worksheet) and the codelist copy init writes beside the configuration."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optin_analysis.ingest.adapters import Mapping, read_raw
from optin_analysis.ingest.codelist import COLUMNS as CODELIST_COLUMNS
from optin_analysis.ingest.codelist import (
    DEFAULT_CODELIST,
    load_codelist,
    placeholder_event_types,
    unknown_codes,
)
from optin_analysis.problems import InputError
from optin_analysis.run.onboard.find import CODELIST_FILE, LOCAL_CODES_FILE, Export
from optin_analysis.run.onboard.questions import SHOWN_PROBLEMS, Questions, shown

#: One practice's events: (ODS code or TODO, the export, the mapping it is read with).
PracticeEvents = tuple[str, Export, Mapping]


def write_codelist(events: list[PracticeEvents], out_dir: Path, q: Questions) -> Path:
    """Write the codelist beside the configuration (with the local codes mapped at the
    terminal) and the worksheet of codes it still lacks; the codelist's path."""
    path = out_dir / CODELIST_FILE
    base, writable = _base_codelist(path, q)
    table = _review_codes(events, base, out_dir, q)
    if writable and (not path.exists() or not table.equals(base)):
        table.to_csv(path, index=False, lineterminator="\n")
    waiting = placeholder_event_types(table)
    if waiting:
        q.say(
            f"Until your own codes are in {CODELIST_FILE}, the opt-in figures rest on "
            f"placeholder codes for: {', '.join(waiting)}."
        )
    return path


def event_codes(events: Path, mapping: Mapping) -> pd.Series:
    """Every code of an events export (read as the run reads it), one per row; empty if
    the file cannot be read (validation then says why)."""
    try:
        raw = read_raw(events, mapping.events, "events", mapping.encoding)
    except InputError:
        return pd.Series(dtype="str")
    return pd.Series(raw.table.column("code").to_pylist(), dtype="str").str.strip()


def code_terms(export: Export) -> dict[str, str]:
    """The wording beside each code in an events export's sample, when it has a term column."""
    term, code = export.match.term_heading, export.match.placed.get("code")
    if term is None or code is None:
        return {}
    pairs = zip(export.sniff.values(code.heading), export.sniff.values(term), strict=True)
    return {c: t for c, t in pairs if c and t}


def local_code_rows(mapped: dict[str, str], who: dict[str, str], terms: dict[str, str]) -> list:
    """Codelist rows for local codes the user mapped to an event type."""
    return [
        {
            "code": code,
            "term": terms.get(code) or f"Local code for {event_type.replace('_', ' ')}",
            "event_type": event_type,
            "status": "confirmed",
            "source": f"Local code of {who.get(code, 'the practice')}, mapped at onboarding",
        }
        for code, event_type in mapped.items()
    ]


def codelist_copy(base: pd.DataFrame, rows: list[dict], in_use: set[str]) -> pd.DataFrame:
    """``base`` with the mapped local codes added; a placeholder row whose event type now
    has a local code is dropped unless the exports use the placeholder code itself."""
    if not rows:
        return base.loc[:, list(CODELIST_COLUMNS)]
    mapped_types = {r["event_type"] for r in rows}
    drop = (
        (base["status"] == "placeholder")
        & base["event_type"].isin(mapped_types)
        & ~base["code"].isin(in_use)
    )
    added = pd.DataFrame(rows, columns=list(CODELIST_COLUMNS), dtype="str")
    return pd.concat([base.loc[~drop, list(CODELIST_COLUMNS)], added], ignore_index=True)


#: Event types a practice's own codes record (those with no public code first).
LOCAL_TYPES = (
    "opt_in_requested", "counselled", "opt_in_declined", "access_granted", "access_revoked",
    "letter_issued", "withheld_after_review", "granted_after_review", "opt_out",
    "enhanced_review_added", "enhanced_review_removed",
)  # fmt: skip
#: What the worksheet says in a row's event_type and status until the user decides.
CHOOSE_TYPE = "TODO: one of " + ", ".join(LOCAL_TYPES)
CHOOSE_STATUS = "TODO: confirmed"


def local_codes_sheet(unknown: dict[str, pd.Series], terms: dict[str, str]) -> pd.DataFrame:
    """Codes no codelist row knows, in the codelist's columns, with ``event_type`` and
    ``status`` left for the user (each cell saying what it may hold): fill them for the
    practice's opt-in codes and move those rows to the codelist, which refuses a TODO."""
    rows = []
    totals: dict[str, int] = {}
    where: dict[str, list[str]] = {}
    for ods, counts in unknown.items():
        for code, n in counts.items():
            totals[code] = totals.get(code, 0) + int(n)
            where.setdefault(code, []).append(f"{ods}: {int(n)} row(s)")
    for code in sorted(totals, key=lambda c: (-totals[c], c)):
        rows.append(
            {
                "code": code,
                "term": terms.get(code, ""),
                "event_type": CHOOSE_TYPE,
                "status": CHOOSE_STATUS,
                "source": f"Local code ({'; '.join(where[code])} in the events export)",
            }
        )
    return pd.DataFrame(rows, columns=list(CODELIST_COLUMNS), dtype="str")


def _base_codelist(path: Path, q: Questions) -> tuple[pd.DataFrame, bool]:
    """The codelist to start from, and whether init may write ``path``: the one already
    beside the configuration is kept as it is (with the practice's edits); when it does
    not load, codes are counted against the shipped one and the file is left for the user
    to fix (validation lists its problems)."""
    if not path.exists():
        return load_codelist(DEFAULT_CODELIST), True
    try:
        table = load_codelist(path)
    except InputError:
        q.say(f"{shown(path)} has problems (listed below); init leaves it as it is.")
        return load_codelist(DEFAULT_CODELIST), False
    q.say(f"Using the codelist already in {shown(path)}.")
    return table, True


def _review_codes(
    events: list[PracticeEvents], codelist: pd.DataFrame, out_dir: Path, q: Questions
) -> pd.DataFrame:
    """Count codes the codelist does not know; map them (terminal) or list them (worksheet).
    Returns the codelist to write."""
    unknown, terms, in_use = _count_codes(events, codelist)
    sheet = local_codes_sheet(unknown, terms)
    _say_unknown(sheet, q)
    rows_of = {code: sum(int(c.get(code, 0)) for c in unknown.values()) for code in sheet["code"]}
    mapped = q.codes(sheet.assign(rows=sheet["code"].map(rows_of)))
    who = {code: ", ".join(o for o, c in unknown.items() if code in c.index) for code in mapped}
    table = codelist_copy(codelist, local_code_rows(mapped, who, terms), in_use)
    _write_worksheet(sheet[~sheet["code"].isin(mapped)], out_dir / LOCAL_CODES_FILE, q)
    return table


def _count_codes(
    events: list[PracticeEvents], codelist: pd.DataFrame
) -> tuple[dict[str, pd.Series], dict[str, str], set[str]]:
    """Per practice, the rows of each code the codelist lacks; the wording of codes where
    the exports give it; and the codelist's codes the exports use."""
    unknown: dict[str, pd.Series] = {}
    terms: dict[str, str] = {}
    in_use: set[str] = set()
    for ods, export, mapping in events:
        codes = event_codes(export.path, mapping)
        counts = unknown_codes(codes, codelist)
        in_use |= set(codes.unique()) & set(codelist["code"])
        terms |= code_terms(export)
        if len(counts):
            unknown[ods] = counts
    return unknown, terms, in_use


def _say_unknown(sheet: pd.DataFrame, q: Questions) -> None:
    """The codes the codelist lacks, at most :data:`SHOWN_PROBLEMS` of them."""
    q.say("")
    if sheet.empty:
        q.say("Every code in the events exports is in the codelist.")
        return
    q.say(
        f"{len(sheet)} code(s) in the events exports are not in the codelist "
        "(the run ignores them):"
    )
    for row in sheet.head(SHOWN_PROBLEMS).itertuples():
        term = f" '{row.term}'" if row.term else ""
        q.say(f"  {row.code}{term}: {row.source.removeprefix('Local code (').rstrip(')')}")
    if len(sheet) > SHOWN_PROBLEMS:
        q.say(f"  ... and {len(sheet) - SHOWN_PROBLEMS} more (all in {LOCAL_CODES_FILE})")


def _write_worksheet(rest: pd.DataFrame, path: Path, q: Questions) -> None:
    """List the codes left unmapped in ``path`` (removed when there are none)."""
    if len(rest):
        rest.to_csv(path, index=False, lineterminator="\n")
        q.say(
            f"Unmapped codes are listed in {shown(path)}: for each of your opt-in codes, "
            "replace the TODO in event_type with one of the types it lists and the one in "
            f"status with confirmed, then move the row into {CODELIST_FILE}."
        )
    elif path.exists():
        path.unlink()
