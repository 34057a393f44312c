"""Reading every practice's extracts as ``validate`` does, once the configuration is
written, and printing what was found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optin_analysis.config import (
    ConfigError,
    GoLiveStatus,
    Model,
    Practice,
    Supplier,
    load_config,
)
from optin_analysis.ingest.codelist import load_codelist
from optin_analysis.ingest.load import load_practice
from optin_analysis.problems import InputError, Problem, Severity, errors
from optin_analysis.run.onboard.config import TODO, Entry, find_todos
from optin_analysis.run.onboard.questions import SHOWN_PROBLEMS, Questions


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


def check(config: Path, entries: list[Entry], codelist: Path) -> list[Checked]:
    """Read every practice's extracts as ``validate`` does: through the configuration when
    it is complete, else through provisional profiles (see :func:`_provisional`)."""
    try:
        table = load_codelist(codelist)
    except InputError as exc:
        return [Checked("codelist", problems=exc.problems)]
    if find_todos(config):
        profiles = [_provisional(entry, config.parent) for entry in entries]
    else:
        try:
            cfg = load_config(config)
        except ConfigError as exc:
            return [Checked("configuration", problems=[Problem(config, str(exc))])]
        profiles = [(f"{p.ods_code} {p.name}", p, "") for p in cfg.practices]
    return [_read(label, profile, note, table) for label, profile, note in profiles]


def report_checks(checks: list[Checked], q: Questions) -> bool:
    """Print each practice's reading as validate does; True when none has errors."""
    q.say("")
    q.say("Checking the extracts (as optin-analysis validate does):")
    for c in checks:
        if c.note and not c.problems and not c.patients:
            q.say(f"  - {c.label}: {c.note}")
            continue
        detail = (
            f"{c.patients:,} patients, {c.events:,} events, {len(c.problems)} warning(s)"
            if c.ok
            else f"{len(errors(c.problems))} error(s)"
        )
        q.say(f"  {'✓' if c.ok else '✗'} {c.label}: {detail}" + (f"; {c.note}" if c.note else ""))
        for severity in (Severity.ERROR, Severity.WARNING):
            shown = [p for p in c.problems if p.severity is severity]
            for problem in shown[:SHOWN_PROBLEMS]:
                q.say(f"      {problem}")
            if len(shown) > SHOWN_PROBLEMS:
                q.say(f"      ... and {len(shown) - SHOWN_PROBLEMS} more {severity}s")
    return all(c.ok for c in checks)


def _provisional(entry: Entry, base: Path) -> tuple[str, Practice | None, str]:
    """A profile good enough to read the extracts while TODOs remain (None if it cannot be:
    supplier or a file unknown), with the practice's label and a note. An unknown extract
    date reads as the far future."""
    supplier, patients, events = entry.get("supplier"), entry.get("patients"), entry.get("events")
    if TODO in (supplier, patients, events) or None in (patients, events):
        return entry.who, None, ""
    extract = entry.get("extract_date")
    mapping = entry.get("mapping")
    known = isinstance(extract, dt.date)
    profile = Practice.model_construct(
        ods_code=entry.ods,
        name=str(entry.get("name")),
        supplier=Supplier(supplier),
        model=Model.OPT_IN,
        go_live_status=GoLiveStatus.LIVE,
        extract_date=extract if known else dt.date.max,
        patients=(base / patients).resolve(),
        events=(base / events).resolve(),
        mapping=None if mapping is None else (base / mapping).resolve(),
    )
    note = "" if known else "dates not yet checked against the extract date (TODO)"
    return entry.who, profile, note


def _read(label: str, profile: Practice | None, note: str, codelist: pd.DataFrame) -> Checked:
    """One practice's extracts read through ``profile`` (not read when there is none)."""
    if profile is None:
        return Checked(label, note="not read: the supplier or a file is unknown")
    try:
        data = load_practice(profile, codelist)
    except InputError as exc:
        return Checked(label, problems=exc.problems, note=note)
    return Checked(label, len(data.patients), len(data.events), data.warnings, note)
