"""``optin-analysis init``: from a folder of EMIS/TPP exports to a commented run configuration.

Everything but the questions runs without a terminal, one step per function:

* :func:`find_practices` groups the folder's CSV files by practice (one folder per
  practice, or files named by ODS code) and tells patients from events exports by their
  columns (:mod:`optin_analysis.ingest.detect`);
* :func:`propose_mapping` turns the heading matches, date styles and preambles into a
  practice mapping (a copy of the shipped one with the practice's headings);
* :class:`Questions` asks for what the files cannot say, in the words of NHS England's
  "Implementing an opt-in model" — or, with no terminal or ``--yes``, answers ``TODO``;
* :func:`render_config` writes the commented configuration, :func:`find_todos` finds
  what is left to fill in, and :func:`check` reads the extracts as ``validate`` does.

:func:`init` runs the steps in order and returns the command's exit code.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import re
import shlex
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import yaml
from rich.console import Console
from rich.text import Text

from optin_analysis import __version__
from optin_analysis.config import (
    ODS_PATTERN,
    ConfigError,
    GoLiveStatus,
    Model,
    Practice,
    Supplier,
    load_config,
)
from optin_analysis.ingest.adapters import Mapping, load_mapping, read_raw
from optin_analysis.ingest.codelist import (
    COLUMNS as CODELIST_COLUMNS,
)
from optin_analysis.ingest.codelist import (
    DEFAULT_CODELIST,
    load_codelist,
    placeholder_event_types,
    unknown_codes,
)
from optin_analysis.ingest.detect import (
    Placement,
    Sniff,
    SupplierGuess,
    TableMatch,
    Unplaced,
    canonical_columns,
    classify,
    date_example,
    detect_supplier,
    match_headings,
    missing_problems,
    ods_in_name,
    parse_date,
    practice_name,
    sniff,
    table_date_format,
    value_map,
)
from optin_analysis.ingest.load import load_practice
from optin_analysis.ingest.schema import EventType
from optin_analysis.problems import InputError, Problem, Severity, errors

TODO = "TODO"
CODELIST_FILE = "codelist.csv"
LOCAL_CODES_FILE = "local-codes.csv"
OWN_FILES = {CODELIST_FILE, LOCAL_CODES_FILE}  #: files init writes: never read as exports
OUTPUT_FOLDERS = {"reports", "worklists"}  #: where runs write (worklists are CSV too)
NATIONAL_GO_LIVE = dt.date(2023, 10, 31)
SHOWN_PROBLEMS = 20
ASKED_CODES = 40  #: at most this many unknown codes are offered one by one

#: The opt-in events a local code can be mapped to at the terminal, in plain words.
OPT_IN_CHOICES: dict[str, tuple[EventType, str]] = {
    "1": (EventType.OPT_IN_REQUESTED, "request: the patient asked for online access (opt-in)"),
    "2": (EventType.COUNSELLED, "counselled about what online access shows"),
    "3": (EventType.ACCESS_GRANTED, "provisioned: full prospective access given by hand"),
    "4": (EventType.ACCESS_REVOKED, "revoked: automatic access removed until they opt in"),
    "5": (EventType.OPT_IN_DECLINED, "declined: request closed without giving access"),
}

EMIS_BULK_104 = "the date 104 codes were bulk-added to all patients without access (incl. soon-16s)"
EMIS_GLOBAL = "the date EMIS global settings were set to allow full prospective access per patient"
TPP_UNTICK = (
    "the date 'By default give prospective access to the full clinical record' was unticked "
    "in the organisation preferences (Online Services / Patient Record Access)"
)


@dataclass(frozen=True)
class Branch:
    """One go-live branch of the guidance: what the practice says, and what it means here."""

    words: str
    model: Model
    status: GoLiveStatus
    setting: str | None  #: what ``supplier_setting_date`` is the date of; None: not asked


DEFAULT_BRANCH = Branch(
    "Default model: automatic access unless the patient opts out (no opt-in)",
    Model.DEFAULT,
    GoLiveStatus.LIVE,
    None,
)
#: The guidance's branches per supplier (EMIS: gone live or due / not going live; TPP:
#: gone live / yet to go live), then the default model.
BRANCHES: dict[Supplier, tuple[Branch, ...]] = {
    Supplier.EMIS: (
        Branch("EMIS: have gone live", Model.OPT_IN, GoLiveStatus.LIVE, EMIS_BULK_104),
        Branch("EMIS: due to go live soon", Model.OPT_IN, GoLiveStatus.DUE, EMIS_BULK_104),
        Branch(
            "EMIS: do not plan to go live at this stage; provision access manually per patient",
            Model.OPT_IN,
            GoLiveStatus.NOT_PLANNED,
            EMIS_GLOBAL,
        ),
        DEFAULT_BRANCH,
    ),
    Supplier.TPP: (
        Branch("TPP: have already gone live", Model.OPT_IN, GoLiveStatus.LIVE, TPP_UNTICK),
        Branch("TPP: have yet to go live", Model.OPT_IN, GoLiveStatus.DUE, TPP_UNTICK),
        DEFAULT_BRANCH,
    ),
}


# --- what the folder holds -----------------------------------------------------------------


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


def find_practices(folder: Path) -> tuple[list[Found], list[Problem]]:
    """Every practice's patients and events exports in ``folder``, and files passed over.

    Files are grouped by the ODS code in their name or their folder's name, else by
    folder. Each file's table is told from its columns; a file that is neither is a
    warning. A practice with two exports of one table, or none, gets an error.
    """
    groups: dict[str, Found] = {}
    passed: list[Problem] = []
    seen: dict[str, dict[str, list[Export]]] = {}
    for path in _csv_files(folder):
        label, ods, name, source = _practice_of(folder, path)
        try:
            head = sniff(path)
        except InputError as exc:
            passed += [replace(p, severity=Severity.WARNING) for p in exc.problems]
            continue
        kind, match = classify(head)
        if kind is None:
            shown = ", ".join(f"'{h}'" for h in head.headings[:8] if h)
            passed.append(
                Problem(
                    path,
                    f"passed over: not a patients or events export (headings {shown})",
                    severity=Severity.WARNING,
                )
            )
            continue
        group = groups.setdefault(label, Found(label, ods, name, source))
        seen.setdefault(label, {"patients": [], "events": []})[kind].append(
            Export(path, head, kind, match)
        )
    for label, group in groups.items():
        for kind, exports in seen[label].items():
            if len(exports) == 1:
                setattr(group, kind, exports[0])
            elif exports:
                names = ", ".join(e.path.name for e in exports)
                group.problems.append(
                    Problem(
                        exports[0].path,
                        f"more than one {kind} export for {label} ({names}); the run reads "
                        f"one {kind} file per practice: combine them or move one away",
                    )
                )
        for kind in ("patients", "events"):
            if not seen[label][kind]:
                others = [*seen[label]["patients"], *seen[label]["events"]]
                where = others[0].path.parent if others else folder
                files = ", ".join(p.name for p in sorted(where.glob("*.csv"))) or "none"
                group.problems.append(
                    Problem(where, f"no {kind} export found for {label} (CSV files: {files})")
                )
        group.supplier = detect_supplier((e.sniff, e.match) for e in group.exports)
    return list(groups.values()), passed


def rematch(found: Found, supplier: Supplier | None) -> None:
    """Place the headings again knowing the supplier (so shipped headings say so)."""
    for export in found.exports:
        export.match = match_headings(export.sniff, export.kind, supplier)


# --- the mapping ---------------------------------------------------------------------------


@dataclass
class MappingProposal:
    """A practice's mapping (as a dictionary for YAML), whether it differs from the shipped
    one, what changed, and values of coded columns it cannot place."""

    data: dict[str, Any]
    changes: list[str]
    problems: list[Problem]
    unknown_values: dict[str, list[str]]

    @property
    def differs(self) -> bool:
        return bool(self.changes)


def _table_mapping(
    base: dict[str, Any], export: Export, shipped: dict[str, str]
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    table = export.kind
    out = dict(base)
    changes, problems = [], []
    columns: dict[str, str] = {}
    in_file = set(export.sniff.headings)
    for canonical in canonical_columns(table):
        placement = export.match.placed.get(canonical)
        if placement is not None:
            columns[canonical] = placement.heading
            if placement.heading != shipped.get(canonical):
                changes.append(f"{table}.{canonical}: '{placement.heading}'")
        else:  # not in the file: the run reads it as empty (and says so)
            heading = shipped[canonical]
            columns[canonical] = heading if heading not in in_file else f"(no {canonical} column)"
    out["columns"] = columns
    if export.sniff.skip_rows != base["skip_rows"]:
        lines = export.sniff.skip_rows or "no"
        changes.append(f"{table}: {lines} line(s) above the header, not {base['skip_rows']}")
    out["skip_rows"] = export.sniff.skip_rows
    dates = export.match.date_headings
    fmt = table_date_format(export.sniff, dates)
    filled = [v for h in dates for v in export.sniff.values(h) if v]
    if fmt is None and filled:
        problems.append(
            Problem(
                export.path,
                f"dates in a style init does not know (e.g. '{filled[0]}'): "
                "set date_format in the mapping (Python strptime codes)",
                row=export.sniff.header_row + 1,
            )
        )
    elif fmt is not None and fmt != base["date_format"]:
        changes.append(f"{table}: dates like {date_example(fmt)}")
        out["date_format"] = fmt
    return out, changes, problems


def propose_mapping(supplier: Supplier, patients: Export, events: Export) -> MappingProposal:
    """The practice's mapping: the shipped one for ``supplier`` with the file's headings,
    preamble length, date style, and any account/access values known by synonym."""
    shipped = load_mapping(supplier)
    data = shipped.model_dump(mode="json")
    changes, problems = [], []
    unknown_values: dict[str, list[str]] = {}
    for export in (patients, events):
        table = export.kind
        columns = getattr(shipped, table).columns
        data[table], table_changes, table_problems = _table_mapping(data[table], export, columns)
        changes += table_changes
        problems += table_problems
    for canonical in ("online_account", "access_level"):
        placement = patients.match.placed.get(canonical)
        if placement is None:
            continue
        base = data["patients"]["values"][canonical]
        values, unknown = value_map(canonical, patients.sniff.values(placement.heading), base)
        if values != base:
            added = ", ".join(f"'{k}'" for k in values if k not in base)
            changes.append(f"patients.{canonical} values {added}")
        data["patients"]["values"][canonical] = values
        if unknown:
            unknown_values[canonical] = unknown
    return MappingProposal(data, changes, problems, unknown_values)


def value_problems(path: Path, proposal: MappingProposal) -> list[Problem]:
    """An error for each coded column whose values the mapping cannot read."""
    return [
        Problem(
            path,
            f"values of {canonical} init cannot place: "
            f"{', '.join(repr(v) for v in values)}; add them under values: "
            f"{canonical}: in the practice's mapping",
        )
        for canonical, values in proposal.unknown_values.items()
    ]


def mapping_yaml(proposal: MappingProposal, ods: str, found: Found) -> str:
    """The mapping file's text: a header saying where it came from, then the mapping."""
    supplier = proposal.data["supplier"]
    lines = [
        f"# Mapping of practice {ods if ods != TODO else found.label}'s exports, written by "
        "optin-analysis init.",
        f"# A copy of the shipped {supplier.upper()} mapping "
        f"(optin_analysis/data/mapping-{supplier}.yaml) with this practice's",
        "# headings. Keys on the left are canonical names: change only the right-hand side.",
    ]
    for export in found.exports:
        lines.append(f"# {export.path.name} ({export.kind}):")
        for canonical in canonical_columns(export.kind):
            placement = export.match.placed.get(canonical)
            if placement is None:
                lines.append(f"#   {canonical}: not in the file (read as empty)")
            else:
                lines.append(f"#   {canonical} <- '{placement.heading}' ({placement.describe()})")
        for unplaced in export.match.unplaced:
            lines.append(f"#   not placed: '{unplaced.heading}' ({unplaced.reason})")
    body = yaml.safe_dump(proposal.data, sort_keys=False, allow_unicode=True, width=1000)
    body = re.sub(r"\? ''\n\s*: ", "'': ", body)  # the empty value, as a plain key
    return "\n".join(lines) + "\n" + body


# --- codes -----------------------------------------------------------------------------------


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


def local_codes_sheet(unknown: dict[str, pd.Series], terms: dict[str, str]) -> pd.DataFrame:
    """Codes no codelist row knows, in the codelist's columns with ``event_type`` left for
    the user: fill it for the practice's opt-in codes and move the rows to the codelist."""
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
                "event_type": "",
                "status": "confirmed",
                "source": f"Local code ({'; '.join(where[code])} in the events export)",
            }
        )
    return pd.DataFrame(rows, columns=list(CODELIST_COLUMNS), dtype="str")


# --- questions -------------------------------------------------------------------------------


class Prompter(Protocol):
    """Asks one question at the terminal (see :class:`RichPrompter`)."""

    def text(self, question: str, default: str = "") -> str: ...

    def choose(self, question: str, choices: Sequence[str], default: str | None = None) -> str: ...

    def confirm(self, question: str, default: bool = True) -> bool: ...


class RichPrompter:
    """Rich's prompts; questions are printed literally (no markup)."""

    def __init__(self, console: Console):
        self.console = console

    def text(self, question: str, default: str = "") -> str:
        from rich.prompt import Prompt

        return Prompt.ask(
            Text(question), console=self.console, default=default, show_default=bool(default)
        ).strip()

    def choose(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        from rich.prompt import Prompt

        if default is None:
            return Prompt.ask(Text(question), console=self.console, choices=list(choices))
        return Prompt.ask(
            Text(question), console=self.console, choices=list(choices), default=default
        )

    def confirm(self, question: str, default: bool = True) -> bool:
        from rich.prompt import Confirm

        return Confirm.ask(Text(question), console=self.console, default=default)


def is_terminal() -> bool:
    """Whether someone can answer questions: standard input is a terminal."""
    return sys.stdin.isatty()


def parse_answer_date(text: str) -> dt.date | None:
    """A date typed at the prompt: 2024-06-12, 12/06/2024 or 12-Jun-2024."""
    return parse_date(text, ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y", "%d %b %Y", "%d-%m-%Y"))


@dataclass
class Setting:
    """One line of a practice's entry: key, value (``TODO`` when unanswered) and a comment."""

    key: str
    value: Any
    comment: str = ""


class Questions:
    """What init must ask. With a prompter, each question goes to the terminal; without one
    (``--yes``, or no terminal) each answer is ``TODO`` (or the files' own evidence)."""

    def __init__(self, console: Console, prompter: Prompter | None = None):
        self.console = console
        self.prompter = prompter

    @property
    def asking(self) -> bool:
        return self.prompter is not None

    @property
    def ask(self) -> Prompter:
        """The prompter (only called when :attr:`asking`)."""
        if self.prompter is None:
            raise RuntimeError("no terminal to ask at")
        return self.prompter

    def say(self, message: str) -> None:
        """Print ``message`` literally (user text may hold square brackets)."""
        self.console.print(message, markup=False, highlight=False)

    def _date(self, question: str, default: dt.date | None = None, optional: bool = True):
        hint = " (YYYY-MM-DD" + (", empty if not done" if optional else "") + ")"
        while True:
            answer = self.ask.text(question + hint, default.isoformat() if default else "")
            if not answer and optional:
                return None
            day = parse_answer_date(answer)
            if day is not None:
                return day
            self.say(f"  '{answer}' is not a date: type it as 2024-06-12")

    def ods(self, found: Found) -> str:
        if found.ods or not self.asking:
            return found.ods or TODO
        while True:
            answer = self.ask.text(f"  ODS code of the practice in {found.label}").upper()
            if re.fullmatch(ODS_PATTERN, answer):
                return answer
            self.say("  An ODS code is a letter and 4-5 letters or digits, e.g. A81001")

    def name(self, found: Found, ods: str) -> str:
        if not self.asking:
            return found.name or TODO
        default = found.name or ""
        while True:
            answer = self.ask.text(f"  Name of practice {ods}", default)
            if answer:
                return answer

    def supplier(self, found: Found) -> Supplier | str:
        if found.supplier.supplier is not None or not self.asking:
            return found.supplier.supplier or TODO
        answer = self.ask.choose(
            f"  Which clinical system exported {found.label}'s files?", ["emis", "tpp"]
        )
        return Supplier(answer)

    def extract_date(self, found: Found, hint: dt.date | None) -> tuple[dt.date | str, str]:
        day, source = found.extract_date()
        if day is not None:
            return day, source
        seen = f"; the latest date in the files is {hint.isoformat()}" if hint else ""
        if not self.asking:
            return TODO, f"the date the searches were run (YYYY-MM-DD){seen}"
        self.say(f"  The files do not say when they were run{seen}.")
        return self._date("  On what date were the searches run?", optional=False), "your answer"

    def branch(self, supplier: Supplier | str) -> Branch | None:
        if not self.asking or supplier == TODO:
            return None
        options = BRANCHES[Supplier(supplier)]
        self.say("  Which applies to the practice? (NHS England, 'Implementing an opt-in model')")
        for i, branch in enumerate(options, start=1):
            self.say(f"    {i}. {branch.words}")
        answer = self.ask.choose("  Go-live branch", [str(i) for i in range(1, len(options) + 1)])
        return options[int(answer) - 1]

    def checklist(self, branch: Branch | None, supplier: Supplier | str) -> list[Setting]:
        """model, go_live_status and the five dates, asked or TODO."""
        if branch is None:
            return _todo_checklist(supplier)
        status = branch.status
        go_live: dt.date | None
        if status is GoLiveStatus.LIVE:
            go_live = self._date(
                "  On what date did automatic access begin (go-live)?",
                NATIONAL_GO_LIVE,
                optional=False,
            )
        elif status is GoLiveStatus.DUE:
            go_live = self._date("  On what date are you due to go live?")
        else:
            go_live = None
        out = [
            Setting("model", branch.model.value, branch.words),
            Setting("go_live_status", status.value),
            Setting("go_live_date", go_live),
        ]
        setting = None
        if branch.setting:
            setting = self._date(f"  What is {branch.setting}?")
        out.append(Setting("supplier_setting_date", setting, branch.setting or "not applicable"))
        opt_in = branch.model is Model.OPT_IN
        website = None
        if opt_in:
            website = self._date("  On what date was the practice website updated?")
        icb = None
        if opt_in:
            icb = self._date("  On what date did you write to your ICB about your approach?")
        dpia = self._date("  On what date was the DPIA approved?")
        out += [
            Setting("website_updated", website),
            Setting("icb_informed", icb),
            Setting("dpia_approved", dpia),
        ]
        return out

    def headings(self, export: Export) -> TableMatch:
        """Show how each heading was placed; at the terminal, let the user confirm or correct."""
        self.say(f"  {export.path.name} ({export.kind}):")
        for line in describe_match(export.match):
            self.say(f"    {line}")
        match = export.match
        if not self.asking:
            return match
        if not match.missing_required and self.ask.confirm("  Are these right?", True):
            return match
        return self._correct(export)

    def _correct(self, export: Export) -> TableMatch:
        headings = [h for h in export.sniff.headings if h]
        self.say("    Headings in the file:")
        for i, heading in enumerate(headings, start=1):
            self.say(f"      {i}. {heading}")
        self.say("      0. not in this file")
        placed: dict[str, Placement] = {}
        for canonical in canonical_columns(export.kind):
            current = export.match.placed.get(canonical)
            heading = self._pick(canonical, headings, current, placed)
            if heading is not None:
                keep = current is not None and current.heading == heading
                placed[canonical] = current if keep else Placement(canonical, heading, "chosen", 1)
        taken = {p.heading for p in placed.values()}
        unplaced = [u for u in export.match.unplaced if u.heading not in taken] + [
            Unplaced(h, "left out by you")
            for h in headings
            if h not in taken
            and h not in {u.heading for u in export.match.unplaced}
            and h != export.match.term_heading
        ]
        return TableMatch(export.kind, placed, unplaced, export.match.term_heading)

    def _pick(
        self,
        canonical: str,
        headings: list[str],
        current: Placement | None,
        placed: dict[str, Placement],
    ) -> str | None:
        """The heading the user picks for ``canonical`` (None: not in the file)."""
        taken = {p.heading: c for c, p in placed.items()}
        free = current is not None and current.heading not in taken
        default = str(headings.index(current.heading) + 1) if free and current else "0"
        while True:
            answer = self.ask.choose(
                f"    Column for {canonical}", [str(i) for i in range(len(headings) + 1)], default
            )
            if answer == "0":
                return None
            heading = headings[int(answer) - 1]
            if heading not in taken:
                return heading
            self.say(f"    '{heading}' is already the column for {taken[heading]}")

    def values(self, proposal: MappingProposal) -> None:
        """At the terminal, place each coded value the mapping cannot read."""
        if not self.asking:
            return
        options = {
            "online_account": ["true", "false"],
            "access_level": ["none", "summary", "detailed_coded", "full_prospective"],
        }
        for canonical, values in list(proposal.unknown_values.items()):
            for value in values:
                question = (
                    f"  Does '{value}' mean an online account the patient can use?"
                    if canonical == "online_account"
                    else f"  Which record access level is '{value}'?"
                )
                answer = self.ask.choose(question, options[canonical])
                mapped: bool | str = answer == "true" if canonical == "online_account" else answer
                proposal.data["patients"]["values"][canonical][value] = mapped
                proposal.changes.append(f"patients.{canonical} value '{value}'")
            del proposal.unknown_values[canonical]

    def codes(self, unknown: pd.DataFrame) -> dict[str, str]:
        """At the terminal, offer to map each unknown code to an opt-in event type."""
        if not self.asking or unknown.empty:
            return {}
        if not self.ask.confirm("Map your local codes to the opt-in events now?", True):
            return {}
        self.say(
            "  For each code: " + "; ".join(f"{k} = {w}" for k, (_t, w) in OPT_IN_CHOICES.items())
        )
        self.say("  s (or Enter) leaves a code out: the run ignores it; q stops asking.")
        mapped = {}
        for row in unknown.head(ASKED_CODES).itertuples():
            term = f" '{row.term}'" if row.term else ""
            answer = self.ask.choose(
                f"  {row.code}{term} ({row.rows:,} row(s))", [*OPT_IN_CHOICES, "s", "q"], "s"
            )
            if answer == "q":
                break
            if answer in OPT_IN_CHOICES:
                mapped[row.code] = OPT_IN_CHOICES[answer][0].value
        return mapped


def _todo_checklist(supplier: Supplier | str) -> list[Setting]:
    """The go-live branch and dates, each TODO, with the choices written beside them."""
    setting = {
        Supplier.EMIS.value: f"EMIS gone live or due: {EMIS_BULK_104}; EMIS not going live: "
        f"{EMIS_GLOBAL}",
        Supplier.TPP.value: TPP_UNTICK,
    }.get(str(supplier), "the date of the supplier setting (see the guidance's step 1)")
    return [
        Setting("model", TODO, "opt_in or default (see the branches above)"),
        Setting("go_live_status", TODO, "live, due or not_planned (see the branches above)"),
        Setting(
            "go_live_date",
            TODO,
            "when automatic access began (2023-10-31 nationally), "
            "or is due; null if not going live",
        ),
        Setting("supplier_setting_date", TODO, setting + "; null if not done"),
        Setting("website_updated", TODO, "the date the practice website was updated; null if not"),
        Setting("icb_informed", TODO, "the date you wrote to your ICB; null if not yet"),
        Setting("dpia_approved", TODO, "the date the DPIA was approved; null if not yet"),
    ]


def describe_match(match: TableMatch) -> list[str]:
    """Each placement and each heading left out, one line each, for the user to check."""
    lines = []
    for canonical in canonical_columns(match.table):
        placement = match.placed.get(canonical)
        if placement is None:
            required = canonical in match.missing_required
            lines.append(f"{canonical:<20} <- {'MISSING (required)' if required else '(none)'}")
        else:
            lines.append(f"{canonical:<20} <- '{placement.heading}': {placement.describe()}")
    if match.term_heading:
        lines.append(f"{'(code wording)':<20} <- '{match.term_heading}': shown beside local codes")
    for unplaced in match.unplaced:
        lines.append(f"not placed: '{unplaced.heading}': {unplaced.reason}")
    return lines


# --- the configuration ------------------------------------------------------------------------


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
COMMENT_WIDTH = 88


def _scalar(value: Any) -> str:
    """A value as YAML: dates ISO, plain words bare, other text double-quoted."""
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.as_posix() if isinstance(value, Path) else str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _lines(prefix: str, setting: Setting) -> list[str]:
    """``key: value``, with its comment beside it when short, else wrapped above it."""
    text = f"{prefix}{setting.key}: {_scalar(setting.value)}"
    if not setting.comment:
        return [text]
    if len(text) + len(setting.comment) + 4 <= COMMENT_WIDTH + 12:
        return [f"{text}  # {setting.comment}"]
    wrapped = textwrap.wrap(setting.comment, COMMENT_WIDTH - 4)
    return [f"  # {line}" for line in wrapped] + [text]


def _branch_help(supplier: Supplier | str) -> list[str]:
    """The go-live branches of the practice's supplier (both when unknown), as comments."""
    known = supplier in {s.value for s in Supplier}
    suppliers = [Supplier(supplier)] if known else list(Supplier)
    lines = ["  # Go-live branch (NHS England, 'Implementing an opt-in model'), one of:"]
    for s in suppliers:
        for branch in BRANCHES[s][:-1]:
            lines.append(f"  #   {branch.words}")
            lines.append(f"  #       model: opt_in, go_live_status: {branch.status.value}")
    lines.append(f"  #   {DEFAULT_BRANCH.words}")
    lines.append("  #       model: default, go_live_status: live")
    return lines


@dataclass
class Entry:
    """A practice's entry in the configuration; ``label`` names it while its ODS code is
    TODO (the folder its files are in)."""

    ods: str
    settings: list[Setting]
    label: str = ""

    def get(self, key: str) -> Any:
        return next((s.value for s in self.settings if s.key == key), None)

    @property
    def who(self) -> str:
        """The practice in messages: its ODS code and name, as far as known."""
        ods = self.ods if self.ods != TODO else f"(ODS code TODO) in {self.label}"
        name = self.get("name")
        return ods if name in (None, TODO) else f"{ods} {name}"


def render_config(entries: list[Entry], run: list[Setting], source: str, todos: int) -> str:
    """The configuration's text: a header (saying how many TODOs are left), the run
    settings, then each practice with a comment on where each value came from."""
    lines = [
        f"# optin-analysis run configuration, written by `optin-analysis init {source}`",
        f"# (optin-analysis {__version__}). Paths are relative to this file. Dates are",
        "# YYYY-MM-DD; null means not done (yet).",
    ]
    if todos:
        lines += [
            "#",
            f"# NOT READY: {todos} setting(s) below are TODO (init was not asked them: --yes",
            "# or no terminal). Replace each TODO with the practice's answer; validate fails",
            "# until every TODO is filled in. Then: optin-analysis validate <this file>",
        ]
    for setting in run:
        lines += _lines("", setting)
    lines.append("practices:")
    for entry in entries:
        for i, setting in enumerate(entry.settings):
            if setting.key == "model" and TODO in (setting.value, entry.get("go_live_status")):
                lines += _branch_help(entry.get("supplier"))
            lines += _lines("- " if i == 0 else "  ", setting)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Todo:
    """A setting still ``TODO`` in a configuration file."""

    line: int
    practice: str | None
    key: str

    def __str__(self) -> str:
        where = f"practice {self.practice}: " if self.practice else ""
        return f"line {self.line}: {where}{self.key} is TODO"


def find_todos(path: Path) -> list[Todo]:
    """Every value written ``TODO`` in a configuration file, with its line (none if the
    file is not YAML: loading it then says why)."""
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    todos: list[Todo] = []

    def walk(node: yaml.Node, practice: str | None) -> None:
        if isinstance(node, yaml.MappingNode):
            keys = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            code = keys.get("ods_code")
            here = practice
            if isinstance(code, yaml.ScalarNode):
                here = code.value if code.value != TODO else f"{practice} (ODS code TODO)"
            for key, value in node.value:
                if isinstance(value, yaml.ScalarNode) and value.value == TODO:
                    todos.append(Todo(value.start_mark.line + 1, here, key.value))
                else:
                    walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for number, item in enumerate(node.value, start=1):
                walk(item, f"#{number}")

    if root is not None:
        walk(root, None)
    return todos


def todo_summary(todos: list[Todo]) -> list[str]:
    """The TODOs one line per practice: which settings, on which lines."""
    by_practice: dict[str | None, list[Todo]] = {}
    for todo in todos:
        by_practice.setdefault(todo.practice, []).append(todo)
    out = []
    for practice, items in by_practice.items():
        where = f"practice {practice}" if practice else "run settings"
        lines = ", ".join(str(t.line) for t in items)
        out.append(f"{where}: {', '.join(t.key for t in items)} (lines {lines})")
    return out


# --- checking ----------------------------------------------------------------------------------


@dataclass
class Checked:
    """One practice's extracts read as the run reads them."""

    label: str
    patients: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not errors(self.problems)


def _provisional(entry: Entry, base: Path) -> Practice | None:
    """A profile good enough to read the extracts while TODOs remain (None if it cannot be:
    supplier or a file unknown). An unknown extract date reads as the far future."""
    supplier, patients, events = entry.get("supplier"), entry.get("patients"), entry.get("events")
    if TODO in (supplier, patients, events) or None in (patients, events):
        return None
    extract = entry.get("extract_date")
    mapping = entry.get("mapping")
    return Practice.model_construct(
        ods_code=entry.ods,
        name=str(entry.get("name")),
        supplier=Supplier(supplier),
        model=Model.OPT_IN,
        go_live_status=GoLiveStatus.LIVE,
        extract_date=extract if isinstance(extract, dt.date) else dt.date.max,
        patients=(base / patients).resolve(),
        events=(base / events).resolve(),
        mapping=None if mapping is None else (base / mapping).resolve(),
    )


def check(config: Path, entries: list[Entry], codelist: Path) -> list[Checked]:
    """Read every practice's extracts as ``validate`` does: through the configuration when
    it is complete, else through provisional profiles (see :func:`_provisional`)."""
    try:
        table = load_codelist(codelist)
    except InputError as exc:
        return [Checked("codelist", problems=exc.problems)]
    profiles: list[tuple[str, Practice | None, str]] = []
    if not find_todos(config):
        try:
            cfg = load_config(config)
        except ConfigError as exc:
            return [Checked("configuration", problems=[Problem(config, str(exc))])]
        profiles = [(f"{p.ods_code} {p.name}", p, "") for p in cfg.practices]
    else:
        for entry in entries:
            profile = _provisional(entry, config.parent)
            note = (
                ""
                if profile is None or profile.extract_date != dt.date.max
                else ("dates not yet checked against the extract date (TODO)")
            )
            profiles.append((entry.who, profile, note))
    out = []
    for label, profile, note in profiles:
        if profile is None:
            out.append(Checked(label, note="not read: the supplier or a file is unknown"))
            continue
        try:
            data = load_practice(profile, table)
        except InputError as exc:
            out.append(Checked(label, problems=exc.problems, note=note))
            continue
        out.append(Checked(label, len(data.patients), len(data.events), data.warnings, note))
    return out


# --- the whole command ---------------------------------------------------------------------------


def _rel(path: Path, base: Path) -> Path:
    return Path(os.path.relpath(path.resolve(), base.resolve()))


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        text = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        text = path.resolve().as_posix()
    return shlex.quote(text or ".")


def suggested_period(extract: dt.date) -> str:
    """The month to report: the extract's month if taken on its last day, else the month
    before (a search run on 3 November reports October)."""
    last = calendar.monthrange(extract.year, extract.month)[1]
    if extract.day == last:
        return f"{extract.year}-{extract.month:02d}"
    first = extract.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def _latest_date(found: Found) -> dt.date | None:
    """The latest date in the files' samples (a hint for an unknown extract date)."""
    latest = None
    for export in found.exports:
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


@dataclass
class Plan:
    """One practice as init will write it."""

    found: Found
    entry: Entry
    proposal: MappingProposal | None = None
    problems: list[Problem] = field(default_factory=list)


def _plan_practice(found: Found, q: Questions) -> Plan:
    """Ask (or TODO) what the files cannot say and propose the mapping."""
    q.say("")
    ods = q.ods(found)
    title = f"Practice {ods} ({found.ods_source})" if found.ods else f"Practice in {found.label}"
    q.say(f"{title}: {', '.join(_shown(e.path) for e in found.exports) or 'no exports'}")
    supplier = q.supplier(found)
    reasons = "; ".join(found.supplier.reasons)
    if supplier != TODO:
        q.say(f"  supplier {Supplier(supplier).name}: {reasons}")
        rematch(found, Supplier(supplier))
    else:
        q.say(f"  supplier: TODO, the files do not tell ({reasons})")
    problems = list(found.problems)
    for export in found.exports:
        export.match = q.headings(export)
        problems += missing_problems(export.sniff, export.match)
    proposal = None
    if supplier != TODO and found.patients and found.events:
        proposal = propose_mapping(Supplier(supplier), found.patients, found.events)
        q.values(proposal)
        problems += proposal.problems + value_problems(found.patients.path, proposal)
    name = q.name(found, ods)
    extract, extract_note = q.extract_date(found, _latest_date(found))
    q.say(f"  extract date: {_scalar(extract)} ({extract_note})")
    checklist = q.checklist(q.branch(supplier), supplier)
    if supplier != TODO:
        supplier_note = "your answer" if found.supplier.supplier is None else "read from the files"
        supplier_setting = Setting("supplier", Supplier(supplier).value, supplier_note)
    else:
        supplier_setting = Setting("supplier", TODO, "emis or tpp")
    ods_note = found.ods_source if found.ods else "your answer"
    settings = [
        Setting("ods_code", ods, ods_note if ods != TODO else "the ODS code, e.g. A81001"),
        Setting("name", name, "" if name != TODO else "the practice's name, as reports show it"),
        supplier_setting,
        *checklist[:3],
        Setting("extract_date", extract, extract_note),
        *checklist[3:],
    ]
    return Plan(found, Entry(ods, settings, found.label), proposal, problems)


def _slug(plan: Plan, index: int) -> str:
    return plan.entry.ods if plan.entry.ods != TODO else f"practice-{index}"


def _paths(plan: Plan, out_dir: Path, mapping: Path | None) -> list[Setting]:
    found = plan.found
    files = [
        Setting(
            kind,
            TODO if export is None else _rel(export.path, out_dir),
            "" if export is not None else f"the practice's {kind} export",
        )
        for kind, export in (("patients", found.patients), ("events", found.events))
    ]
    if mapping is not None:
        files.append(Setting("mapping", _rel(mapping, out_dir), "your headings (written by init)"))
    return files


def _write_mappings(plans: list[Plan], out_dir: Path, q: Questions) -> None:
    """A mapping file per practice whose exports differ from the shipped mapping."""
    for index, plan in enumerate(plans, start=1):
        mapping = None
        if plan.proposal is not None and plan.proposal.differs:
            mapping = out_dir / f"mapping-{_slug(plan, index)}.yaml"
            mapping.write_text(
                mapping_yaml(plan.proposal, plan.entry.ods, plan.found), encoding="utf-8"
            )
            q.say(f"  {plan.entry.who}: {_shown(mapping)} ({_summary(plan.proposal.changes)})")
        plan.entry.settings += _paths(plan, out_dir, mapping)


def _summary(changes: list[str]) -> str:
    """What a mapping file changes, briefly: how many headings, then the rest."""
    renamed = sum(": '" in c for c in changes)
    other = [c for c in changes if ": '" not in c]
    return "; ".join(([f"{renamed} heading(s) as in your files"] if renamed else []) + other)


def _codes(plans: list[Plan], codelist: pd.DataFrame, out_dir: Path, q: Questions) -> pd.DataFrame:
    """Count codes the codelist does not know; map them (terminal) or list them (worksheet).
    Returns the codelist to write."""
    unknown: dict[str, pd.Series] = {}
    terms: dict[str, str] = {}
    in_use: set[str] = set()
    for plan in plans:
        if plan.proposal is None or plan.found.events is None:
            continue
        mapping = Mapping.model_validate(plan.proposal.data)
        codes = event_codes(plan.found.events.path, mapping)
        counts = unknown_codes(codes, codelist)
        in_use |= set(codes.unique()) & set(codelist["code"])
        terms |= code_terms(plan.found.events)
        if len(counts):
            unknown[plan.entry.ods] = counts
    sheet = local_codes_sheet(unknown, terms)
    q.say("")
    if sheet.empty:
        q.say("Every code in the events exports is in the codelist.")
    else:
        q.say(
            f"{len(sheet)} code(s) in the events exports are not in the codelist "
            "(the run ignores them):"
        )
        for row in sheet.head(SHOWN_PROBLEMS).itertuples():
            term = f" '{row.term}'" if row.term else ""
            q.say(f"  {row.code}{term}: {row.source.removeprefix('Local code (').rstrip(')')}")
        if len(sheet) > SHOWN_PROBLEMS:
            q.say(f"  ... and {len(sheet) - SHOWN_PROBLEMS} more (all in {LOCAL_CODES_FILE})")
    rows_of = {code: sum(int(c.get(code, 0)) for c in unknown.values()) for code in sheet["code"]}
    offer = sheet.assign(rows=sheet["code"].map(rows_of))
    mapped = q.codes(offer)
    who = {code: ", ".join(o for o, c in unknown.items() if code in c.index) for code in mapped}
    table = codelist_copy(codelist, local_code_rows(mapped, who, terms), in_use)
    rest = sheet[~sheet["code"].isin(mapped)]
    worksheet = out_dir / LOCAL_CODES_FILE
    if len(rest):
        rest.to_csv(worksheet, index=False, lineterminator="\n")
        q.say(
            f"Unmapped codes are listed in {_shown(worksheet)}: fill in event_type for your "
            f"opt-in codes and move those rows into {CODELIST_FILE}."
        )
    elif worksheet.exists():
        worksheet.unlink()
    return table


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
        q.say(f"{_shown(path)} has problems (listed below); init leaves it as it is.")
        return load_codelist(DEFAULT_CODELIST), False
    q.say(f"Using the codelist already in {_shown(path)}.")
    return table, True


def _report_checks(checks: list[Checked], q: Questions) -> bool:
    """Print each practice's reading as validate does; True when none has errors."""
    q.say("")
    q.say("Checking the extracts (as optin-analysis validate does):")
    for c in checks:
        if c.note and not c.problems and not c.patients:
            q.say(f"  - {c.label}: {c.note}")
            continue
        n = len(errors(c.problems))
        mark = "✓" if c.ok else "✗"
        detail = (
            (f"{c.patients:,} patients, {c.events:,} events, {len(c.problems)} warning(s)")
            if c.ok
            else f"{n} error(s)"
        )
        q.say(f"  {mark} {c.label}: {detail}" + (f"; {c.note}" if c.note else ""))
        for severity in (Severity.ERROR, Severity.WARNING):
            shown = [p for p in c.problems if p.severity is severity]
            for problem in shown[:SHOWN_PROBLEMS]:
                q.say(f"      {problem}")
            if len(shown) > SHOWN_PROBLEMS:
                q.say(f"      ... and {len(shown) - SHOWN_PROBLEMS} more {severity}s")
    return all(c.ok for c in checks)


def init(
    folder: Path,
    out: Path | None,
    console: Console,
    prompter: Prompter | None = None,
    force: bool = False,
) -> int:
    """The ``init`` command: 0 when the configuration is written and every extract reads
    without errors (TODOs may remain: they are listed), 1 when something needs fixing
    first, 2 when nothing could be written (no folder, no exports, a file in the way)."""
    q = Questions(console, prompter)
    folder = Path(folder)
    if not folder.is_dir():
        q.say(f"{folder}: not a folder of exports")
        return 2
    out = Path(out) if out is not None else folder / "config.yaml"
    if out.exists() and not force:
        q.say(f"{_shown(out)} already exists: use --force to write over it, or --out FILE")
        return 2
    q.say(f"Reading the exports in {_shown(folder)}")
    found, passed = find_practices(folder)
    for problem in passed:
        q.say(f"  {problem}")
    if not found:
        q.say("No patients or events exports found (CSV files with a header row).")
        return 2
    plans = [_plan_practice(f, q) for f in found]
    out_dir = out.resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    q.say("")
    q.say(f"Writing {_shown(out)}")
    _write_mappings(plans, out_dir, q)
    codelist_path = out_dir / CODELIST_FILE
    base, writable = _base_codelist(codelist_path, q)
    table = _codes(plans, base, out_dir, q)
    if writable and (not codelist_path.exists() or not table.equals(base)):
        table.to_csv(codelist_path, index=False, lineterminator="\n")
    waiting = placeholder_event_types(table)
    if waiting:
        q.say(
            f"Until your own codes are in {CODELIST_FILE}, the opt-in figures rest on "
            f"placeholder codes for: {', '.join(waiting)}."
        )
    run = [
        Setting("reports_dir", Path("reports")),
        Setting("worklists_dir", Path("worklists")),
        Setting("codelist", Path(CODELIST_FILE), "your codes: replace the LOCAL-* placeholders"),
    ]
    entries = [p.entry for p in plans]
    todo_count = sum(s.value == TODO for e in entries for s in e.settings)
    source = _shown(folder)
    out.write_text(render_config(entries, run, source, todo_count), encoding="utf-8")
    checks = check(out, entries, codelist_path)
    problems = [p for plan in plans for p in plan.problems]
    if problems:
        q.say("")
        q.say("Problems with the exports:")
        for problem in problems:
            q.say(f"  {problem}")
    ok = _report_checks(checks, q) and not errors(problems)
    return _next_step(out, entries, ok, q)


def _next_step(out: Path, entries: list[Entry], ok: bool, q: Questions) -> int:
    """Say what is left (TODOs, errors) and the command to run next; the exit code."""
    todos = find_todos(out)
    q.say("")
    if todos:
        q.say(f"{len(todos)} setting(s) in {_shown(out)} are TODO:")
        for line in todo_summary(todos):
            q.say(f"  {line}")
    if not ok:
        q.say("Fix the errors above (export the missing columns again, or correct the")
        q.say("practice's mapping file), fill in any TODO, then run:")
        q.say(f"  optin-analysis validate {_shown(out)}")
        return 1
    if todos:
        q.say("Fill them in, then run:")
        q.say(f"  optin-analysis validate {_shown(out)}")
        return 0
    dates = [e.get("extract_date") for e in entries if isinstance(e.get("extract_date"), dt.date)]
    period = suggested_period(max(dates)) if dates else "YYYY-MM"
    q.say("Ready. Next, the month's run:")
    q.say(f"  optin-analysis run --config {_shown(out)} --period {period}")
    return 0
