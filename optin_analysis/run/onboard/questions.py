"""What init asks, in the words of NHS England's "Implementing an opt-in model": at a
terminal each question goes to a :class:`~.prompt.Prompter`; without one (``--yes``, or no
terminal) each answer is ``TODO``, or what the files themselves say."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pandas as pd
from rich.console import Console

from optin_analysis.config import ODS_PATTERN, GoLiveStatus, Model, Supplier
from optin_analysis.ingest.detect import (
    Placement,
    TableMatch,
    Unplaced,
    canonical_columns,
    parse_date,
)
from optin_analysis.ingest.schema import EventType
from optin_analysis.run.onboard.branches import BRANCHES, NATIONAL_GO_LIVE, SETTING_HELP, Branch
from optin_analysis.run.onboard.config import TODO, Setting
from optin_analysis.run.onboard.find import Export, Found
from optin_analysis.run.onboard.mapping import MappingProposal
from optin_analysis.run.onboard.prompt import Prompter

SHOWN_PROBLEMS = 20  #: at most this many lines of a list are printed
ASKED_CODES = 40  #: at most this many unknown codes are offered one by one

#: The opt-in events a local code can be mapped to at the terminal, in plain words.
OPT_IN_CHOICES: dict[str, tuple[EventType, str]] = {
    "1": (EventType.OPT_IN_REQUESTED, "request: the patient asked for online access (opt-in)"),
    "2": (EventType.COUNSELLED, "counselled about what online access shows"),
    "3": (EventType.ACCESS_GRANTED, "provisioned: full prospective access given by hand"),
    "4": (EventType.ACCESS_REVOKED, "revoked: automatic access removed until they opt in"),
    "5": (EventType.OPT_IN_DECLINED, "declined: request closed without giving access"),
}
#: The answers a value of a coded column can be given.
VALUE_CHOICES = {
    "online_account": ["true", "false"],
    "access_level": ["none", "summary", "detailed_coded", "full_prospective"],
}


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        text = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        text = path.resolve().as_posix()
    return shlex.quote(text or ".")


def parse_answer_date(text: str) -> dt.date | None:
    """A date typed at the prompt: 2024-06-12, 12/06/2024 or 12-Jun-2024."""
    return parse_date(text, ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y", "%d %b %Y", "%d-%m-%Y"))


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

    def _date(
        self, question: str, default: dt.date | None = None, optional: bool = True
    ) -> dt.date | None:
        hint = " (YYYY-MM-DD" + (", empty if not done" if optional else "") + ")"
        while True:
            answer = self.ask.text(question + hint, default.isoformat() if default else "")
            if not answer and optional:
                return None
            day = parse_answer_date(answer)
            if day is not None:
                return day
            self.say(f"  '{answer}' is not a date: type it as 2024-06-12")

    # --- the practice ------------------------------------------------------------------------

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

    def supplier(self, found: Found) -> Supplier | None:
        if found.supplier.supplier is not None or not self.asking:
            return found.supplier.supplier
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

    # --- the go-live branch and checklist ----------------------------------------------------

    def branch(self, supplier: Supplier | None) -> Branch | None:
        if not self.asking or supplier is None:
            return None
        options = BRANCHES[supplier]
        self.say("  Which applies to the practice? (NHS England, 'Implementing an opt-in model')")
        for i, branch in enumerate(options, start=1):
            self.say(f"    {i}. {branch.words}")
        answer = self.ask.choose("  Go-live branch", [str(i) for i in range(1, len(options) + 1)])
        return options[int(answer) - 1]

    def checklist(self, branch: Branch | None, supplier: Supplier | None) -> list[Setting]:
        """model, go_live_status and the five dates, asked or TODO."""
        if branch is None:
            return todo_checklist(supplier)
        opt_in = branch.model is Model.OPT_IN
        go_live = self._go_live(branch.status)
        setting = self._date(f"  What is {branch.setting}?") if branch.setting else None
        website = icb = None
        if opt_in:
            website = self._date("  On what date was the practice website updated?")
            icb = self._date("  On what date did you write to your ICB about your approach?")
        dpia = self._date("  On what date was the DPIA approved?")
        return [
            Setting("model", branch.model.value, branch.words),
            Setting("go_live_status", branch.status.value),
            Setting("go_live_date", go_live),
            Setting("supplier_setting_date", setting, branch.setting or "not applicable"),
            Setting("website_updated", website),
            Setting("icb_informed", icb),
            Setting("dpia_approved", dpia),
        ]

    def _go_live(self, status: GoLiveStatus) -> dt.date | None:
        if status is GoLiveStatus.LIVE:
            question = "  On what date did automatic access begin (go-live)?"
            return self._date(question, NATIONAL_GO_LIVE, optional=False)
        if status is GoLiveStatus.DUE:
            return self._date("  On what date are you due to go live?")
        return None

    # --- headings, values and codes ----------------------------------------------------------

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
        before = export.match.unplaced
        accounted = taken | {u.heading for u in before} | {export.match.term_heading}
        unplaced = [u for u in before if u.heading not in taken] + [
            Unplaced(h, "left out by you") for h in headings if h not in accounted
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
        for canonical, values in list(proposal.unknown_values.items()):
            for value in values:
                question = (
                    f"  Does '{value}' mean an online account the patient can use?"
                    if canonical == "online_account"
                    else f"  Which record access level is '{value}'?"
                )
                answer = self.ask.choose(question, VALUE_CHOICES[canonical])
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


def todo_checklist(supplier: Supplier | None) -> list[Setting]:
    """The go-live branch and dates, each TODO, with the choices written beside them."""
    setting = SETTING_HELP.get(
        supplier, "the date of the supplier setting (see the guidance's step 1)"
    )
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
