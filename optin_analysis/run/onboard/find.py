"""Finding each practice's patients and events exports in a folder, and what their names
and contents say (:mod:`optin_analysis.ingest.detect`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from optin_analysis.config import Supplier
from optin_analysis.ingest.detect import (
    Sniff,
    SupplierGuess,
    TableMatch,
    classify,
    detect_supplier,
    match_headings,
    ods_in_name,
    parse_date,
    practice_name,
    sniff,
    table_date_format,
)
from optin_analysis.problems import InputError, Problem, Severity

CODELIST_FILE = "codelist.csv"  #: the codelist init writes beside the configuration
LOCAL_CODES_FILE = "local-codes.csv"  #: codes the codelist lacks, for the user to place
OWN_FILES = {CODELIST_FILE, LOCAL_CODES_FILE}  #: files init writes: never read as exports
OUTPUT_FOLDERS = {"reports", "worklists"}  #: where runs write (worklists are CSV too)
TABLES = ("patients", "events")


@dataclass
class Export:
    """One export file: its head, its table and how its headings were placed."""

    path: Path
    sniff: Sniff
    kind: str
    match: TableMatch


@dataclass
class Found:
    """One practice's files as found, and what their names and contents say."""

    label: str  #: the folder (relative to the input folder) or ODS code the files share
    ods: str | None
    name: str | None
    ods_source: str
    patients: Export | None = None
    events: Export | None = None
    supplier: SupplierGuess = field(default_factory=lambda: SupplierGuess(None))
    problems: list[Problem] = field(default_factory=list)

    @property
    def exports(self) -> list[Export]:
        return [e for e in (self.patients, self.events) if e is not None]

    def extract_date(self) -> tuple[dt.date | None, str]:
        """The EMIS "Run date" (patients file first) and where it was read."""
        dated = [(e, e.sniff.run_date()) for e in self.exports if e.sniff.run_date()]
        if not dated:
            return None, ""
        (first, day), others = dated[0], dated[1:]
        note = f"from the 'Run date' line of {first.path.name}"
        for export, other in others:
            if other != day:
                note += f"; {export.path.name} was run on {other.isoformat()}"
        return day, note

    def latest_date(self) -> dt.date | None:
        """The latest date in the files' samples (a hint for an unknown extract date)."""
        latest = None
        for export in self.exports:
            dates = export.match.date_headings
            fmt = table_date_format(export.sniff, dates)
            if fmt is None:
                continue
            for heading in dates:
                for value in export.sniff.values(heading):
                    day = parse_date(value, (fmt,)) if value else None
                    if day and (latest is None or day > latest):
                        latest = day
        return latest


def find_practices(folder: Path) -> tuple[list[Found], list[Problem]]:
    """Every practice's patients and events exports in ``folder``, and files passed over.

    Files are grouped by the ODS code in their name or their folder's name, else by
    folder. Each file's table is told from its columns; a file that is neither is a
    warning. A practice with two exports of one table, or none, gets an error.
    """
    groups: dict[str, tuple[Found, dict[str, list[Export]]]] = {}
    passed: list[Problem] = []
    for path in _csv_files(folder):
        label, ods, name, source = _practice_of(folder, path)
        export, problems = _read(path)
        passed += problems
        if export is not None:
            empty: dict[str, list[Export]] = {t: [] for t in TABLES}
            found, kinds = groups.setdefault(label, (Found(label, ods, name, source), empty))
            kinds[export.kind].append(export)
    for found, kinds in groups.values():
        _settle(found, kinds, folder)
    return [found for found, _ in groups.values()], passed


def rematch(found: Found, supplier: Supplier | None) -> None:
    """Place the headings again knowing the supplier (so shipped headings say so)."""
    for export in found.exports:
        export.match = match_headings(export.sniff, export.kind, supplier)


def _csv_files(folder: Path) -> list[Path]:
    """The CSV files under ``folder``, but not hidden ones, init's own or a run's output."""

    def wanted(path: Path) -> bool:
        parts = path.relative_to(folder).parts
        return (
            path.suffix.lower() == ".csv"
            and path.name not in OWN_FILES
            and not any(part.startswith(".") for part in parts)
            and not OUTPUT_FOLDERS & set(parts[:-1])
            and path.is_file()
        )

    return sorted(p for p in folder.rglob("*") if wanted(p))


def _practice_of(folder: Path, path: Path) -> tuple[str, str | None, str | None, str]:
    """(group label, ODS code, name, where the code came from) of one file."""
    rel = path.relative_to(folder)
    parents = list(reversed(rel.parent.parts))
    ods = ods_in_name(path.stem)
    source = f"from the file name '{path.name}'"
    if ods is None:
        for part in [*parents, folder.name]:
            ods = ods_in_name(part)
            if ods:
                source = f"from the folder name '{part}'"
                break
    names = [practice_name(part) for part in [*parents, folder.name] if ods_in_name(part)]
    name = next((n for n in names if n), None)
    if name is None and parents:
        name = practice_name(parents[0])
    label = ods or (rel.parent.as_posix() if parents else folder.name)
    return label, ods, name, source if ods else ""


def _read(path: Path) -> tuple[Export | None, list[Problem]]:
    """The export in ``path``, or None and the warnings saying why it was passed over."""
    try:
        head = sniff(path)
    except InputError as exc:
        return None, [replace(p, severity=Severity.WARNING) for p in exc.problems]
    kind, match = classify(head)
    if kind is None:
        shown = ", ".join(f"'{h}'" for h in head.headings[:8] if h)
        message = f"passed over: not a patients or events export (headings {shown})"
        return None, [Problem(path, message, severity=Severity.WARNING)]
    return Export(path, head, kind, match), []


def _settle(found: Found, kinds: dict[str, list[Export]], folder: Path) -> None:
    """Give ``found`` its one export of each table (an error for two, or none) and the
    supplier its files point to."""
    for kind, exports in kinds.items():
        if len(exports) == 1:
            setattr(found, kind, exports[0])
        elif exports:
            names = ", ".join(e.path.name for e in exports)
            found.problems.append(
                Problem(
                    exports[0].path,
                    f"more than one {kind} export for {found.label} ({names}); the run reads "
                    f"one {kind} file per practice: combine them or move one away",
                )
            )
    for kind, exports in kinds.items():
        if not exports:
            others = [e for table in kinds.values() for e in table]
            where = others[0].path.parent if others else folder
            files = ", ".join(p.name for p in sorted(where.glob("*.csv"))) or "none"
            found.problems.append(
                Problem(where, f"no {kind} export found for {found.label} (CSV files: {files})")
            )
    found.supplier = detect_supplier((e.sniff, e.match) for e in found.exports)
