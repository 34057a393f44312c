"""A practice's mapping: the shipped one for its supplier with the headings, preamble,
date style and coded values of its own exports, and the file init writes it to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import load_mapping
from optin_analysis.ingest.detect import (
    canonical_columns,
    date_example,
    table_date_format,
    value_map,
)
from optin_analysis.problems import Problem
from optin_analysis.run.onboard.config import TODO
from optin_analysis.run.onboard.find import Export, Found

CODED = ("online_account", "access_level")  #: patients columns read through their values


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

    def summary(self) -> str:
        """What the mapping changes, briefly: how many headings, then the rest."""
        renamed = sum(": '" in c for c in self.changes)
        other = [c for c in self.changes if ": '" not in c]
        return "; ".join(([f"{renamed} heading(s) as in your files"] if renamed else []) + other)


def propose_mapping(supplier: Supplier, patients: Export, events: Export) -> MappingProposal:
    """The practice's mapping: the shipped one for ``supplier`` with the file's headings,
    preamble length, date style, and any account/access values known by synonym."""
    shipped = load_mapping(supplier)
    data = shipped.model_dump(mode="json")
    changes, problems = [], []
    for export in (patients, events):
        table = export.kind
        columns = getattr(shipped, table).columns
        data[table], table_changes, table_problems = _table_mapping(data[table], export, columns)
        changes += table_changes
        problems += table_problems
    unknown_values = _coded_values(data["patients"]["values"], patients, changes)
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
        lines += _placements(export)
    body = yaml.safe_dump(proposal.data, sort_keys=False, allow_unicode=True, width=1000)
    body = re.sub(r"\? ''\n\s*: ", "'': ", body)  # the empty value, as a plain key
    return "\n".join(lines) + "\n" + body


def _placements(export: Export) -> list[str]:
    """How each heading of one file was placed, as comments."""
    lines = [f"# {export.path.name} ({export.kind}):"]
    for canonical in canonical_columns(export.kind):
        placement = export.match.placed.get(canonical)
        if placement is None:
            lines.append(f"#   {canonical}: not in the file (read as empty)")
        else:
            lines.append(f"#   {canonical} <- '{placement.heading}' ({placement.describe()})")
    for unplaced in export.match.unplaced:
        lines.append(f"#   not placed: '{unplaced.heading}' ({unplaced.reason})")
    return lines


def _table_mapping(
    base: dict[str, Any], export: Export, shipped: dict[str, str]
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """One table of the mapping (``base`` with the file's headings, preamble and date
    style), what changed, and a problem if the dates are in a style init does not know."""
    table = export.kind
    out = dict(base)
    out["columns"], changes = _columns(export, shipped)
    if export.sniff.skip_rows != base["skip_rows"]:
        lines = export.sniff.skip_rows or "no"
        changes.append(f"{table}: {lines} line(s) above the header, not {base['skip_rows']}")
    out["skip_rows"] = export.sniff.skip_rows
    fmt, problems = _date_style(export)
    if fmt is not None and fmt != base["date_format"]:
        changes.append(f"{table}: dates like {date_example(fmt)}")
        out["date_format"] = fmt
    return out, changes, problems


def _columns(export: Export, shipped: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """canonical -> heading for one file, and each heading that is not the shipped one."""
    columns: dict[str, str] = {}
    changes = []
    in_file = set(export.sniff.headings)
    for canonical in canonical_columns(export.kind):
        placement = export.match.placed.get(canonical)
        if placement is not None:
            columns[canonical] = placement.heading
            if placement.heading != shipped.get(canonical):
                changes.append(f"{export.kind}.{canonical}: '{placement.heading}'")
        else:  # not in the file: the run reads it as empty (and says so)
            heading = shipped[canonical]
            columns[canonical] = heading if heading not in in_file else f"(no {canonical} column)"
    return columns, changes


def _date_style(export: Export) -> tuple[str | None, list[Problem]]:
    """The one date style of a file's date columns; a problem when dates are written in a
    style init does not know."""
    dates = export.match.date_headings
    fmt = table_date_format(export.sniff, dates)
    filled = [v for h in dates for v in export.sniff.values(h) if v]
    if fmt is None and filled:
        problem = Problem(
            export.path,
            f"dates in a style init does not know (e.g. '{filled[0]}'): "
            "set date_format in the mapping (Python strptime codes)",
            row=export.sniff.header_row + 1,
        )
        return None, [problem]
    return fmt, []


def _coded_values(
    values: dict[str, dict], patients: Export, changes: list[str]
) -> dict[str, list[str]]:
    """Add the account/access values known by synonym to ``values`` (noting each change);
    the values neither the mapping nor the synonyms know."""
    unknown_values: dict[str, list[str]] = {}
    for canonical in CODED:
        placement = patients.match.placed.get(canonical)
        if placement is None:
            continue
        base = values[canonical]
        mapped, unknown = value_map(canonical, patients.sniff.values(placement.heading), base)
        if mapped != base:
            added = ", ".join(f"'{k}'" for k in mapped if k not in base)
            changes.append(f"patients.{canonical} values {added}")
        values[canonical] = mapped
        if unknown:
            unknown_values[canonical] = unknown
    return unknown_values
