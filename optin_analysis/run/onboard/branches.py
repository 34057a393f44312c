"""The go-live branches of NHS England's "Implementing an opt-in model", per supplier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from optin_analysis.config import GoLiveStatus, Model, Supplier

NATIONAL_GO_LIVE = dt.date(2023, 10, 31)

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

#: What ``supplier_setting_date`` is the date of, per supplier, when the branch is not known.
SETTING_HELP = {
    Supplier.EMIS: f"EMIS gone live or due: {EMIS_BULK_104}; EMIS not going live: {EMIS_GLOBAL}",
    Supplier.TPP: TPP_UNTICK,
}


def branch_help(supplier: str | None) -> list[str]:
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
