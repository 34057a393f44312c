"""The ``init`` command: its steps in order, from a folder of exports to a checked
configuration and the command to run next."""

from __future__ import annotations

import calendar
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import Mapping
from optin_analysis.ingest.detect import missing_problems
from optin_analysis.problems import Problem, errors
from optin_analysis.run.onboard.check import check, report_checks
from optin_analysis.run.onboard.codes import PracticeEvents, write_codelist
from optin_analysis.run.onboard.config import (
    TODO,
    Entry,
    Setting,
    find_todos,
    render_config,
    scalar,
    sign_off_summary,
    todo_summary,
)
from optin_analysis.run.onboard.dpia import add_stubs
from optin_analysis.run.onboard.find import CODELIST_FILE, Found, find_practices, rematch
from optin_analysis.run.onboard.mapping import (
    MappingProposal,
    mapping_yaml,
    propose_mapping,
    value_problems,
)
from optin_analysis.run.onboard.prompt import Prompter
from optin_analysis.run.onboard.questions import Questions, shown

#: The run settings every configuration init writes starts with.
RUN_SETTINGS = (
    Setting("reports_dir", Path("reports")),
    Setting("worklists_dir", Path("worklists")),
    Setting("codelist", Path(CODELIST_FILE), "your codes: replace the LOCAL-* placeholders"),
)


@dataclass
class Plan:
    """One practice as init will write it."""

    found: Found
    entry: Entry
    proposal: MappingProposal | None = None
    problems: list[Problem] = field(default_factory=list)


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
    out = Path(out) if out is not None else folder / "config.yaml"
    if not folder.is_dir():
        q.say(f"{folder}: not a folder of exports")
        return 2
    if out.exists() and not force:
        q.say(f"{shown(out)} already exists: use --force to write over it, or --out FILE")
        return 2
    q.say(f"Reading the exports in {shown(folder)}")
    found, passed = find_practices(folder)
    for problem in passed:
        q.say(f"  {problem}")
    if not found:
        q.say("No patients or events exports found (CSV files with a header row).")
        return 2
    plans = [_plan_practice(f, q) for f in found]
    codelist = _write(plans, folder, out, q)
    entries = [p.entry for p in plans]
    checks = check(out, entries, codelist)
    problems = [p for plan in plans for p in plan.problems]
    if problems:
        q.say("")
        q.say("Problems with the exports:")
        for problem in problems:
            q.say(f"  {problem}")
    ok = report_checks(checks, q) and not errors(problems)
    return _next_step(out, entries, ok, q)


def suggested_period(extract: dt.date) -> str:
    """The month to report: the extract's month if taken on its last day, else the month
    before (a search run on 3 November reports October)."""
    last = calendar.monthrange(extract.year, extract.month)[1]
    if extract.day == last:
        return f"{extract.year}-{extract.month:02d}"
    first = extract.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def _plan_practice(found: Found, q: Questions) -> Plan:
    """Ask (or TODO) what the files cannot say and propose the mapping."""
    q.say("")
    ods = q.ods(found)
    title = f"Practice {ods} ({found.ods_source})" if found.ods else f"Practice in {found.label}"
    q.say(f"{title}: {', '.join(shown(e.path) for e in found.exports) or 'no exports'}")
    supplier = _supplier(found, q)
    problems = list(found.problems)
    for export in found.exports:
        export.match = q.headings(export)
        problems += missing_problems(export.sniff, export.match)
    proposal = None
    if supplier and found.patients and found.events:
        proposal = propose_mapping(supplier, found.patients, found.events)
        q.values(proposal)
        problems += proposal.problems + value_problems(found.patients.path, proposal)
    name = q.name(found, ods)
    extract, extract_note = q.extract_date(found, found.latest_date())
    q.say(f"  extract date: {scalar(extract)} ({extract_note})")
    checklist = q.checklist(q.branch(supplier), supplier)
    settings = [
        *_identity(found, ods, name, supplier),
        *checklist[:3],
        Setting("extract_date", extract, extract_note),
        *checklist[3:],
    ]
    return Plan(found, Entry(ods, settings, found.label), proposal, problems)


def _supplier(found: Found, q: Questions) -> Supplier | None:
    """The supplier, read from the files or asked; the headings placed again knowing it."""
    supplier = q.supplier(found)
    reasons = "; ".join(found.supplier.reasons)
    if supplier is None:
        q.say(f"  supplier: TODO, the files do not tell ({reasons})")
    else:
        q.say(f"  supplier {supplier.name}: {reasons}")
        rematch(found, supplier)
    return supplier


def _identity(found: Found, ods: str, name: str, supplier: Supplier | None) -> list[Setting]:
    """The practice's ODS code, name and supplier, each with where it came from."""
    if supplier is None:
        supplier_setting = Setting("supplier", TODO, "emis or tpp")
    else:
        note = "your answer" if found.supplier.supplier is None else "read from the files"
        supplier_setting = Setting("supplier", supplier.value, note)
    ods_note = found.ods_source if found.ods else "your answer"
    return [
        Setting("ods_code", ods, ods_note if ods != TODO else "the ODS code, e.g. A81001"),
        Setting("name", name, "" if name != TODO else "the practice's name, as reports show it"),
        supplier_setting,
    ]


def _write(plans: list[Plan], folder: Path, out: Path, q: Questions) -> Path:
    """Write each practice's mapping, the codelist and the configuration ``out``; the
    codelist's path."""
    out_dir = out.resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    q.say("")
    q.say(f"Writing {shown(out)}")
    _write_mappings(plans, out_dir, q)
    for path, written in add_stubs([p.entry for p in plans], out_dir):
        q.say(f"  {shown(path)}: " + ("your DPIA's narrative, to make your own" if written
                                      else "your DPIA's narrative, kept as it is"))  # fmt: skip
    events: list[PracticeEvents] = [
        (p.entry.ods, p.found.events, Mapping.model_validate(p.proposal.data))
        for p in plans
        if p.proposal is not None and p.found.events is not None
    ]
    codelist = write_codelist(events, out_dir, q)
    entries = [p.entry for p in plans]
    todos = sum(s.value == TODO for e in entries for s in e.settings)
    text = render_config(entries, list(RUN_SETTINGS), shown(folder), todos)
    out.write_text(text, encoding="utf-8")
    return codelist


def _write_mappings(plans: list[Plan], out_dir: Path, q: Questions) -> None:
    """A mapping file per practice whose exports differ from the shipped mapping; each
    practice's entry gets the paths of its files."""
    for index, plan in enumerate(plans, start=1):
        mapping = None
        if plan.proposal is not None and plan.proposal.differs:
            slug = plan.entry.ods if plan.entry.ods != TODO else f"practice-{index}"
            mapping = out_dir / f"mapping-{slug}.yaml"
            text = mapping_yaml(plan.proposal, plan.entry.ods, plan.found)
            mapping.write_text(text, encoding="utf-8")
            q.say(f"  {plan.entry.who}: {shown(mapping)} ({plan.proposal.summary()})")
        plan.entry.settings += _paths(plan.found, out_dir, mapping)


def _paths(found: Found, out_dir: Path, mapping: Path | None) -> list[Setting]:
    """The practice's patients, events and mapping files, relative to ``out_dir``."""
    files = [
        Setting(
            kind,
            TODO if export is None else _relative(export.path, out_dir),
            "" if export is not None else f"the practice's {kind} export",
        )
        for kind, export in (("patients", found.patients), ("events", found.events))
    ]
    if mapping is not None:
        files.append(
            Setting("mapping", _relative(mapping, out_dir), "your headings (written by init)")
        )
    return files


def _relative(path: Path, base: Path) -> Path:
    return Path(os.path.relpath(path.resolve(), base.resolve()))


def _next_step(out: Path, entries: list[Entry], ok: bool, q: Questions) -> int:
    """Say what is left (TODOs, errors) and the command to run next; the exit code."""
    todos = find_todos(out)
    q.say("")
    if sign_off := find_todos(out, sign_off=True):
        q.say(f"{len(sign_off)} DPIA sign-off entries in {shown(out)} are TODO (the DPIA shows "
              "them as TO COMPLETE; they do not stop a run):")  # fmt: skip
        for line in sign_off_summary(sign_off):
            q.say(f"  {line}")
    if todos:
        q.say(f"{len(todos)} setting(s) in {shown(out)} are TODO:")
        for line in todo_summary(todos):
            q.say(f"  {line}")
    if not ok:
        q.say("Fix the errors above (export the missing columns again, or correct the")
        q.say("practice's mapping file), fill in any TODO, then run:")
        q.say(f"  optin-analysis validate {shown(out)}")
        return 1
    if todos:
        q.say("Fill them in, then run:")
        q.say(f"  optin-analysis validate {shown(out)}")
        return 0
    dates = [e.get("extract_date") for e in entries if isinstance(e.get("extract_date"), dt.date)]
    period = suggested_period(max(dates)) if dates else "YYYY-MM"
    q.say("Ready. Next, the month's run:")
    q.say(f"  optin-analysis run --config {shown(out)} --period {period}")
    return 0
