"""What init writes for each practice's DPIA: a copy of the shipped narrative beside the
configuration (``dpia_narrative:``), and a ``dpia_sign_off:`` block to fill in from the
signed DPIA.

The sign-off's ``TODO`` values are found by line (:func:`.config.find_todos` with
``sign_off=True``) and listed by init; until they are filled in the DPIA shows each as
"TO COMPLETE", and they do not stop a run. A narrative copy already there (the practice
may have edited it) is never written over.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from optin_analysis.config import GoLiveStatus, Model, Supplier
from optin_analysis.outgoing.dpia import (
    DEFAULT_NARRATIVE,
    branch_of,
    levels_when_effective,
    load_register,
)
from optin_analysis.run.onboard.config import COMMENT_WIDTH, SIGN_OFF, TODO, Entry, Setting

#: The narrative copy of each model, beside the configuration.
NARRATIVE_FILES = {"opt_in": "dpia-narrative.yaml", "default": "dpia-narrative-default.yaml"}


def _model(entry: Entry) -> str:
    """The practice's model as far as known (opt-in while it is TODO)."""
    return "default" if entry.get("model") == Model.DEFAULT.value else "opt_in"


def narrative_setting(entry: Entry) -> Setting:
    """The practice's ``dpia_narrative:`` setting: the copy of its model's narrative."""
    note = "your DPIA's steps 1-4: edit the TO COMPLETE lines in your own words"
    if entry.get("model") == TODO:
        note += f" ({NARRATIVE_FILES['default']} if the practice is on the default model)"
    return Setting("dpia_narrative", Path(NARRATIVE_FILES[_model(entry)]), note)


def write_narratives(entries: list[Entry], out_dir: Path) -> list[tuple[Path, bool]]:
    """Copy the shipped narrative of each model the practices are on (the opt-in one for a
    model still TODO) beside the configuration, unless a copy is there already; each
    copy's path and whether it was written now."""
    done = []
    for model in dict.fromkeys(_model(e) for e in entries):
        path = out_dir / NARRATIVE_FILES[model]
        written = not path.exists()
        if written:
            shutil.copyfile(DEFAULT_NARRATIVE[model], path)
        done.append((path, written))
    return done


def _approved_ids(entry: Entry) -> tuple[list[str], str]:
    """The risk ids of the practice's shipped register (those of its branch where known),
    and the levels that register gives when every measure works, in words."""
    model = _model(entry)
    register = load_register(model=model)
    supplier, status = entry.get("supplier"), entry.get("go_live_status")
    if model == "default" or TODO not in (supplier, status, entry.get("model")):
        branch = branch_of(
            Supplier(supplier) if supplier not in (None, TODO) else Supplier.EMIS,
            GoLiveStatus(status) if status not in (None, TODO) else GoLiveStatus.LIVE,
            Model(model),
        )
        levels = levels_when_effective(register, branch)
    else:
        levels = {r.id: "" for r in register.risks}
    words = ", ".join(f"{rid} {level}" for rid, level in levels.items() if level)
    return list(levels), words


def sign_off_lines(entry: Entry) -> list[str]:
    """The practice's ``dpia_sign_off:`` block, every value TODO, with what each means."""
    ids, levels = _approved_ids(entry)
    signer = "{name: TODO, role: TODO, date: TODO}"
    hint = f"The shipped register gives, when every measure works: {levels}." if levels else ""
    about = textwrap.wrap(
        "approved_residual_risks: the residual risk (low, medium or high) of each risk as "
        f"approved; a risk higher later makes the DPIA say re-approval is needed. {hint}",
        COMMENT_WIDTH - 6,
    )
    return [
        "  # Step 7 of the DPIA, the ICO template's sign-off: copy it from your signed DPIA.",
        "  # Until a TODO below is filled in the DPIA shows it as TO COMPLETE (it does not",
        "  # stop a run). Dates are YYYY-MM-DD.",
        f"  {SIGN_OFF}:",
        f"    measures_approved_by: {signer}",
        f"    residual_risks_approved_by: {signer}",
        *(f"    # {line}" for line in about),
        "    approved_residual_risks: {" + ", ".join(f"{i}: {TODO}" for i in ids) + "}",
        f"    dpo_advice_provided_by: {signer}",
        f"    dpo_advice: {TODO}  # a summary of the DPO's advice",
        f"    dpo_advice_accepted: {TODO}  # true (accepted) or false (overruled: give the reason)",
        f"    dpo_advice_accepted_by: {signer}  # who accepted or overruled it",
        '    dpo_advice_overruled_reason: ""',
        f"    consultation_reviewed_by: {signer}",
        f"    kept_under_review_by: {{name: {TODO}, role: {TODO}}}",
        f"    next_review: {TODO}",
    ]


def add_stubs(entries: list[Entry], out_dir: Path) -> list[tuple[Path, bool]]:
    """Give each practice its DPIA stubs (narrative setting, sign-off block) and write the
    narrative copies; the copies and whether each was written now."""
    for entry in entries:
        entry.settings.append(narrative_setting(entry))
        entry.tail = sign_off_lines(entry)
    return write_narratives(entries, out_dir)
