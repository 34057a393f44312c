"""Which clinical system wrote the files: EMIS Web or SystmOne (TPP), and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from optin_analysis.config import Supplier
from optin_analysis.ingest.adapters import load_mapping
from optin_analysis.ingest.detect.head import Sniff, date_example, table_date_format
from optin_analysis.ingest.detect.headings import TableMatch

SUPPLIER_DATE_STYLE = {"%d-%b-%Y": Supplier.EMIS, "%d/%m/%Y": Supplier.TPP}


@dataclass(frozen=True)
class SupplierGuess:
    """The supplier the files point to (None when the evidence does not decide) and why."""

    supplier: Supplier | None
    reasons: list[str] = field(default_factory=list)


def detect_supplier(files: Iterable[tuple[Sniff, TableMatch]]) -> SupplierGuess:
    """Weigh each file's evidence for EMIS against TPP.

    EMIS's "Search:"/"Run date:" preamble scores 3; headings spelt exactly as a shipped
    mapping score 1 per heading more than the other supplier's (when at least 2 more);
    the date style 2 (12-Jun-2024 is EMIS, 12/06/2024 TPP); account status values 2
    (Live/Active/Inactive/Archived are EMIS, Y/N TPP). A tie leaves the supplier open.
    """
    score: Counter = Counter()
    reasons: dict[Supplier, list[str]] = {s: [] for s in Supplier}
    for sniff, match in files:
        for supplier, points, reason in _evidence(sniff, match):
            score[supplier] += points
            reasons[supplier].append(reason)
    if score[Supplier.EMIS] == score[Supplier.TPP]:
        both = reasons[Supplier.EMIS] + reasons[Supplier.TPP]
        return SupplierGuess(None, both or ["nothing in the files says"])
    winner = max(Supplier, key=lambda s: score[s])
    return SupplierGuess(winner, reasons[winner])


def _evidence(sniff: Sniff, match: TableMatch) -> Iterator[tuple[Supplier, int, str]]:
    """One file's votes for a supplier: (supplier, points, reason)."""
    name = sniff.path.name
    if sniff.has_emis_preamble():
        yield Supplier.EMIS, 3, f"{name}: 'Search:' and 'Run date:' above the header"
    votes = _heading_votes(sniff, match.table)
    lead = max(Supplier, key=lambda s: votes[s])
    other = next(s for s in Supplier if s is not lead)
    margin = votes[lead] - votes[other]
    if margin >= 2:  # one shared word ("Date") says little
        n = len([h for h in sniff.headings if h])
        yield lead, margin, f"{name}: {votes[lead]} of {n} headings as {lead.name} writes them"
    fmt = table_date_format(sniff, match.date_headings)
    if fmt in SUPPLIER_DATE_STYLE:
        yield SUPPLIER_DATE_STYLE[fmt], 2, f"{name}: dates written like {date_example(fmt)}"
    account = _account_style(sniff, match)
    if account:
        yield account, 2, f"{name}: online account values as {account.name} writes them"


def _heading_votes(sniff: Sniff, table: str) -> Counter:
    votes: Counter = Counter()
    for supplier in Supplier:
        shipped = set(getattr(load_mapping(supplier), table).columns.values())
        votes[supplier] = sum(h in shipped for h in sniff.headings)
    return votes


def _account_style(sniff: Sniff, match: TableMatch) -> Supplier | None:
    placed = match.placed.get("online_account") if match.table == "patients" else None
    if placed is None:
        return None
    values = {v for v in sniff.values(placed.heading) if v}
    for supplier in Supplier:
        keys = {k for k in load_mapping(supplier).patients.values["online_account"] if k}
        if values and values <= keys:
            return supplier
    return None
