"""Practice-internal worklists: whom to revoke, whom to protect, whose request is waiting.

These carry patient identifiers and exact figures. They are for practice staff only and
must never be attached to anything that leaves the practice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from optin_analysis.config import Practice
from optin_analysis.dates import as_timestamp
from optin_analysis.measures.days import DateLike
from optin_analysis.measures.definitions import (
    DEFAULT_HORIZON_MONTHS,
    backlog_mask,
    coverage_base_mask,
    dormant_mask,
    pending_16_mask,
)
from optin_analysis.measures.state import patient_state

REASON_NO_CODE = "16+, no access, not opted out, no opt-in request, no 104 code"
REASON_TURNING_16 = "turns 16 on "
REASON_BACKLOG = "automatic full access: revoke until the patient opts in"
REASON_DORMANT = "automatic full access, no usable online account: revoke before it is used"

REVOKE_COLUMNS = [
    "patient_id", "nhs_number", "age", "online_account", "online_account_date",
    "access_start_date", "reason",
]  # fmt: skip
PROTECT_COLUMNS = ["patient_id", "nhs_number", "age", "sixteenth_birthday", "reason"]
REQUEST_COLUMNS = ["patient_id", "nhs_number", "request_date", "stage", "wait_days"]
DISAGREEMENT_COLUMNS = [
    "patient_id", "nhs_number", "access_level", "access_start_date", "disagreement",
]  # fmt: skip


def _joined(patients: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    extra = ("nhs_number", "online_account", "online_account_date", "access_level",
             "access_start_date")  # fmt: skip
    return state.assign(**{col: patients[col].array for col in extra})


def _revoke(rows: pd.DataFrame, state: pd.DataFrame, profile: Practice) -> pd.DataFrame:
    backlog = backlog_mask(state, profile.supplier)
    dormant = dormant_mask(state) & ~backlog
    first = rows[backlog].assign(reason=REASON_BACKLOG)
    then = rows[dormant].assign(reason=REASON_DORMANT)
    order = ["online_account_date", "patient_id"]
    out = pd.concat([first.sort_values(order), then.sort_values("patient_id")])
    return out.astype({"reason": "str"})[REVOKE_COLUMNS].reset_index(drop=True)


def _disagreements(rows: pd.DataFrame) -> pd.DataFrame:
    found = rows["registered"].to_numpy(dtype=bool) & (rows["disagreement"] != "").to_numpy()
    out = rows[found].sort_values(["disagreement", "patient_id"])
    return out[DISAGREEMENT_COLUMNS].reset_index(drop=True)


def _protect(
    rows: pd.DataFrame, state: pd.DataFrame, ref: pd.Timestamp, horizon_months: int
) -> pd.DataFrame:
    unprotected = ~state["protected"].to_numpy(dtype=bool)
    adults = rows[coverage_base_mask(state) & unprotected].assign(
        sixteenth_birthday=pd.NaT, reason=REASON_NO_CODE
    )
    soon = rows[pending_16_mask(state, ref, horizon_months) & unprotected]
    soon = soon.assign(
        reason=REASON_TURNING_16 + soon["sixteenth_birthday"].dt.strftime("%Y-%m-%d")
    ).sort_values(["sixteenth_birthday", "patient_id"])
    out = pd.concat([soon, adults.sort_values("patient_id")], ignore_index=True)
    out["sixteenth_birthday"] = out["sixteenth_birthday"].astype("datetime64[us]")
    out["reason"] = out["reason"].astype("str")
    return out[PROTECT_COLUMNS]


def _requests(rows: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    waiting = (state["registered"] & state["open_request"]).to_numpy(dtype=bool)
    out = rows[waiting].sort_values(["request_date", "patient_id"])
    return out[REQUEST_COLUMNS].reset_index(drop=True)


def worklists(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    state: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The practice's worklists at D, each a frame with exact figures and identifiers.

    * ``revoke``: the revocation backlog for the practice's supplier, by online account
      date, then the other patients holding automatic access without a usable account
      (dormant exposure), with a ``reason``: patient_id, nhs_number, age, online_account,
      online_account_date, access_start_date, reason.
    * ``protect``: patients to code with a 104, with a ``reason``: first the pending-16
      cohort not protected (16th birthday in (D, D + horizon]), by birthday; then 16+
      patients without access, not opted out, with no opt-in request and not protected.
      Columns patient_id, nhs_number, age, sixteenth_birthday (pending-16 only), reason.
      Empty for a TPP practice whose preference is unticked (everybody protected).
    * ``requests``: open opt-in requests, oldest first: patient_id, nhs_number,
      request_date (the episode's first request), stage, wait_days.
    * ``disagreements``: record disagreements, patients whose coded grants or revocations
      disagree with the extract (the extract was used): patient_id, nhs_number,
      access_level, access_start_date, disagreement.

    ``state`` is :func:`patient_state` at D when the caller already has it (the batch takes
    it from :func:`~optin_analysis.measures.month.month_measures`), so it is not
    computed twice.
    """
    if state is None:
        state = patient_state(patients, events, profile, ref_date)
    rows = _joined(patients, state)
    return {
        "revoke": _revoke(rows, state, profile),
        "protect": _protect(rows, state, as_timestamp(ref_date), horizon_months),
        "requests": _requests(rows, state),
        "disagreements": _disagreements(rows),
    }


def _safe_part(value: str, what: str) -> str:
    if not value or value in {".", ".."} or any(c in value for c in "/\\:"):
        raise ValueError(f"{what} {value!r} cannot be used as a folder name")
    return value


def _temp_beside(final: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(handle)
    return Path(name)


def _write_xlsx(lists: Mapping[str, pd.DataFrame], path: Path) -> None:
    with pd.ExcelWriter(
        path, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD"
    ) as writer:
        for name, frame in lists.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)


def write_worklists(
    lists: Mapping[str, pd.DataFrame], out_dir: Path | str, practice_code: str, period: str
) -> list[Path]:
    """Write ``<out_dir>/<period>/<practice_code>/<name>.csv`` and ``worklists.xlsx``.

    One CSV per list and one workbook with a sheet per list. Every file is first written
    to a temporary file in the same folder and renamed into place only once all of them
    are complete, so a failure leaves the earlier files intact and no half-written file.
    Returns the paths written.
    """
    folder = Path(out_dir) / _safe_part(period, "period") / _safe_part(practice_code, "practice")
    folder.mkdir(parents=True, exist_ok=True)
    pending: list[tuple[Path, Path]] = []
    try:
        for name, frame in lists.items():
            final = folder / f"{_safe_part(name, 'worklist name')}.csv"
            pending.append((_temp_beside(final), final))
            frame.to_csv(pending[-1][0], index=False, date_format="%Y-%m-%d")
        book = folder / "worklists.xlsx"
        pending.append((_temp_beside(book), book))
        _write_xlsx(lists, pending[-1][0])
    except BaseException:
        for temp, _ in pending:
            temp.unlink(missing_ok=True)
        raise
    for temp, final in pending:
        temp.replace(final)
    return [final for _, final in pending]
