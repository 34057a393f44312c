"""Practice-internal worklists: whom to revoke, whom to protect, whose request is waiting.

These carry patient identifiers and exact figures. They are for practice staff only and
must never be attached to anything that leaves the practice. Who is on each list (each rule
tag below has a hand-worked test, listed in ``tests/README.md``) is in :func:`worklists`.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

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
from optin_analysis.problems import naming

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


#: Worklist columns taken from the extract; the others come from the patient state.
FROM_PATIENTS = ("nhs_number", "online_account", "online_account_date", "access_level",
                 "access_start_date")  # fmt: skip


def _rows(
    patients: pd.DataFrame, state: pd.DataFrame, mask: np.ndarray, columns: list[str]
) -> pd.DataFrame:
    """``columns`` of the rows where ``mask`` (state and patients are row-aligned); only
    those rows and columns are copied."""
    at = np.flatnonzero(mask)
    return pd.DataFrame(
        {c: (patients if c in FROM_PATIENTS else state)[c].take(at).array for c in columns}
    )


def _ordered(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, kind="stable").reset_index(drop=True)


def _revoke(patients: pd.DataFrame, state: pd.DataFrame, profile: Practice) -> pd.DataFrame:
    backlog = backlog_mask(state, profile.supplier)
    dormant = dormant_mask(state) & ~backlog
    columns = REVOKE_COLUMNS[:-1]
    first = _ordered(
        _rows(patients, state, backlog, columns), ["online_account_date", "patient_id"]
    )
    then = _ordered(_rows(patients, state, dormant, columns), ["patient_id"])
    reasons = [REASON_BACKLOG] * len(first) + [REASON_DORMANT] * len(then)
    out = pd.concat([first, then], ignore_index=True)
    return out.assign(reason=pd.array(reasons, dtype="str"))


def _disagreements(patients: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    found = state["registered"].to_numpy(dtype=bool) & (state["disagreement"] != "").to_numpy()
    return _ordered(
        _rows(patients, state, found, DISAGREEMENT_COLUMNS), ["disagreement", "patient_id"]
    )


def _protect(
    patients: pd.DataFrame, state: pd.DataFrame, ref: pd.Timestamp, horizon_months: int
) -> pd.DataFrame:
    unprotected = ~state["protected"].to_numpy(dtype=bool)
    columns = PROTECT_COLUMNS[:-1]
    soon = _rows(patients, state, pending_16_mask(state, ref, horizon_months) & unprotected,
                 columns)  # fmt: skip
    soon = _ordered(soon, ["sixteenth_birthday", "patient_id"])
    adults = _rows(patients, state, coverage_base_mask(state) & unprotected, columns)
    adults = _ordered(adults.assign(sixteenth_birthday=pd.NaT), ["patient_id"])
    reasons = (REASON_TURNING_16 + soon["sixteenth_birthday"].dt.strftime("%Y-%m-%d")).tolist()
    out = pd.concat([soon, adults], ignore_index=True)
    out["sixteenth_birthday"] = out["sixteenth_birthday"].astype("datetime64[us]")
    return out.assign(reason=pd.array(reasons + [REASON_NO_CODE] * len(adults), dtype="str"))


def _requests(patients: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    waiting = (state["registered"] & state["open_request"]).to_numpy(dtype=bool)
    return _ordered(
        _rows(patients, state, waiting, REQUEST_COLUMNS), ["request_date", "patient_id"]
    )


def worklists(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    profile: Practice,
    ref_date: DateLike,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    state: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The practice's worklists at D, each a frame with exact figures and identifiers.

    * ``revoke``: [rule worklist-revoke] the revocation backlog for the practice's
      supplier ([rule backlog-emis], [rule backlog-tpp]), by online account date, then
      patient_id; then [rule worklist-dormant] the other patients holding automatic access
      without a usable account (dormant exposure), by patient_id; with a ``reason``:
      patient_id, nhs_number, age, online_account, online_account_date, access_start_date,
      reason.
    * ``protect``: patients to code with a 104, with a ``reason``: first
      [rule worklist-protect-16] the pending-16 cohort not protected (16th birthday after
      D and by the end of the ``horizon_months``-th calendar month after D's month,
      [rule pending-16-window]), by birthday; then
      [rule worklist-protect-16plus] 16+ patients without access, not opted out, with no
      opt-in request and not protected (the protection-coverage gap). Columns patient_id,
      nhs_number, age, sixteenth_birthday (pending-16 only), reason. Empty where the
      supplier setting protects everybody ([rule protection-setting]).
    * ``requests``: [rule worklist-requests] open opt-in requests of registered patients,
      oldest first (request_date, then patient_id): patient_id, nhs_number, request_date
      (the episode's first request), stage, wait_days.
    * ``disagreements``: [rule worklist-disagreements] record disagreements, registered
      patients whose coded grants or revocations disagree with the extract (the extract
      was used), by disagreement then patient_id: patient_id, nhs_number, access_level,
      access_start_date, disagreement.

    ``state`` is :func:`patient_state` at D when the caller already has it (the batch takes
    it from :func:`~optin_analysis.measures.month.month_measures`), so it is not
    computed twice.
    """
    if state is None:
        state = patient_state(patients, events, profile, ref_date)
    return {
        "revoke": _revoke(patients, state, profile),
        "protect": _protect(patients, state, as_timestamp(ref_date), horizon_months),
        "requests": _requests(patients, state),
        "disagreements": _disagreements(patients, state),
    }


class LinkedFolder(OSError):
    """A folder for patient identifiers that is a symbolic link, or leads outside the
    worklists folder; ``filename`` is the folder, ``strerror`` says why, in words."""


def private_folder(root: Path | str, *parts: str, create: bool = True) -> Path:
    """``root/parts...``, the folder for files with patient identifiers; made if needed
    (when ``create``).

    No part below ``root`` (the resolved worklists folder) may be a symbolic link, and the
    folder must lie inside ``root`` once links are followed, so identifiers are never
    written through a link to somewhere else. Raises :class:`LinkedFolder` naming the link.
    """
    root = Path(root)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    folder = root
    for part in parts:
        folder = folder / _safe_part(part, "folder")
        if folder.is_symlink():
            raise LinkedFolder(
                errno.ELOOP,
                f"a symbolic link (to {os.readlink(folder)}); worklists carry patient "
                "identifiers and are never written through a link: put a folder in its place",
                str(folder),
            )
        if create:
            folder.mkdir(exist_ok=True)
    if create and not folder.resolve().is_relative_to(root.resolve()):
        raise LinkedFolder(errno.EXDEV, f"outside the worklists folder {root}", str(folder))
    return folder


def _safe_part(value: str, what: str) -> str:
    if not value or value in {".", ".."} or any(c in value for c in "/\\:"):
        raise ValueError(f"{what} {value!r} cannot be used as a folder name")
    return value


# --- writing: CSV and XLSX, safe to open in a spreadsheet ------------------------------

#: A text cell starting with one of these is a formula to spreadsheet programs (OWASP,
#: "CSV Injection"): such cells get a single quote in front in CSV, and are written as
#: text with Excel's quote prefix (shown without the quote) in XLSX, never as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
RISKY_PATTERN = r"^[=+\-@\t\r]"
TEMP_SUFFIX = ".tmp"  #: temporary files and folders, renamed or removed when complete
DATE_FORMAT = "YYYY-MM-DD"
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")  #: day 0 of Excel's (1900) date system
IN_MEMORY_CELLS = 250_000  #: larger workbooks are written in constant-memory mode


def _risky(text: pa.Array) -> np.ndarray:
    """True for each value a spreadsheet would read as a formula (see FORMULA_START)."""
    starts = pc.match_substring_regex(text, RISKY_PATTERN).fill_null(False)
    return starts.to_numpy(zero_copy_only=False)


def neutralise(text: pd.Series) -> pd.Series:
    """``text`` with a single quote before every value a spreadsheet would run as a formula."""
    values = pa.array(text.astype("str"), type=pa.large_string(), from_pandas=True)
    risky = _risky(values)
    if not risky.any():
        return text
    quoted = pc.if_else(
        risky,
        pc.binary_join_element_wise(
            pa.scalar("'", values.type), values, pa.scalar("", values.type)
        ),
        values,
    )
    return pd.Series(quoted, index=text.index, dtype="str")


def _is_text(column: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
    )


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """One list as CSV (RFC 4180 line ends, so a CR in a value is quoted): dates as ISO
    text, text cells neutralised."""
    safe = frame.assign(**{c: neutralise(frame[c]) for c in frame.columns if _is_text(frame[c])})
    safe.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\r\n")


@dataclass(frozen=True)
class _Column:
    """One column ready for a worksheet: its write method, values and per-cell formats."""

    write: Callable
    values: list
    formats: list
    width: int


def _column(sheet: Worksheet, formats: dict, column: pd.Series) -> _Column:
    """A column as worksheet cells (None where empty): dates as Excel day numbers in the
    date format, numbers as numbers, everything else as text (quote-prefixed if risky)."""
    n = len(column)
    missing = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        days = (column.to_numpy().astype("datetime64[D]") - EXCEL_EPOCH).astype("int64")
        values, cell_formats, write, width = days.astype(object), [formats["date"]] * n, None, 12
    elif pd.api.types.is_bool_dtype(column):
        values, cell_formats, width = column.to_numpy(dtype=object), [None] * n, 8
        write = sheet.write_boolean
    elif pd.api.types.is_numeric_dtype(column):
        values, cell_formats, width = column.to_numpy(dtype=object, na_value=None), [None] * n, 10
        write = sheet.write_number
    else:
        text = pa.array(column.astype("str"), type=pa.large_string(), from_pandas=True)
        values, width = column.astype("str").to_numpy(dtype=object), 20
        quoted = np.where(_risky(text), formats["quoted"], None) if n else []
        cell_formats, write = list(quoted), sheet.write_string
    values[missing] = None
    return _Column(write or sheet.write_number, values.tolist(), cell_formats, width)


def _write_sheet(book: xlsxwriter.Workbook, formats: dict, name: str, frame: pd.DataFrame) -> None:
    """One list as a worksheet, row by row (xlsxwriter's constant-memory mode needs that)."""
    sheet = book.add_worksheet(name[:31])
    columns = [_column(sheet, formats, frame[c]) for c in frame.columns]
    for col, (heading, column) in enumerate(zip(frame.columns, columns, strict=True)):
        sheet.set_column(col, col, column.width)
        sheet.write_string(0, col, str(heading), formats["heading"])
    writers = [c.write for c in columns]
    rows = zip(*(zip(c.values, c.formats, strict=True) for c in columns), strict=True)
    for row, cells in enumerate(rows, start=1):
        for col, (value, cell_format) in enumerate(cells):
            if value is not None:
                writers[col](row, col, value, cell_format)


def _write_xlsx(lists: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Every list as a sheet of one workbook: real dates (YYYY-MM-DD), text never a formula.

    A workbook of up to :data:`IN_MEMORY_CELLS` cells is built in memory (no temporary
    files: most of the time for a practice-sized list); a larger one in xlsxwriter's
    constant-memory mode, whose temporary files (they hold identifiers) go to a private
    folder beside ``path``, removed at the end, never to the system's temporary folder.
    """
    cells = sum(frame.size for frame in lists.values())
    scratch = None
    options = {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True}
    if cells > IN_MEMORY_CELLS:
        scratch = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        options.update(in_memory=False, constant_memory=True, tmpdir=scratch)
    try:
        book = xlsxwriter.Workbook(str(path), options)
        formats = {
            "heading": book.add_format({"bold": True}),
            "date": book.add_format({"num_format": DATE_FORMAT}),
            "quoted": book.add_format({"quote_prefix": True}),
        }
        try:
            for name, frame in lists.items():
                _write_sheet(book, formats, name, frame)
        finally:
            book.close()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _temp_beside(final: Path) -> Path:
    handle, name = tempfile.mkstemp(
        dir=final.parent, prefix=f".{final.name}.", suffix=TEMP_SUFFIX
    )  # mode 0600: worklists carry identifiers
    os.close(handle)
    return Path(name)


Pending = list[tuple[Path, Path]]  #: (complete temporary file, final name) pairs


def stage_worklists(
    lists: Mapping[str, pd.DataFrame], out_dir: Path | str, practice_code: str, period: str
) -> Pending:
    """Write every worklist file under a temporary name beside its final name.

    Returns (temporary, final) pairs, all complete, for :func:`commit_worklists` (or
    :func:`discard_worklists`); on a failure nothing is left behind.
    """
    folder = private_folder(out_dir, _safe_part(period, "period"),
                            _safe_part(practice_code, "practice"))  # fmt: skip
    pending: Pending = []
    try:
        for name, frame in lists.items():
            final = folder / f"{_safe_part(name, 'worklist name')}.csv"
            with naming(final):
                pending.append((_temp_beside(final), final))
                _write_csv(frame, pending[-1][0])
        book = folder / "worklists.xlsx"
        with naming(book):
            pending.append((_temp_beside(book), book))
            _write_xlsx(lists, pending[-1][0])
    except BaseException:
        discard_worklists(pending)
        raise
    return pending


def commit_worklists(pending: Pending) -> list[Path]:
    """Rename staged worklist files into place; returns the final paths."""
    for temp, final in pending:
        temp.replace(final)
    return [final for _, final in pending]


def discard_worklists(pending: Pending) -> None:
    """Remove staged worklist files that will not be used."""
    for temp, _ in pending:
        temp.unlink(missing_ok=True)


def write_worklists(
    lists: Mapping[str, pd.DataFrame], out_dir: Path | str, practice_code: str, period: str
) -> list[Path]:
    """Write ``<out_dir>/<period>/<practice_code>/<name>.csv`` and ``worklists.xlsx``.

    One CSV per list and one workbook with a sheet per list. Every file is first written
    to a temporary file (mode 0600) in the same folder and renamed into place only once
    all of them are complete, so a failure leaves the earlier files intact and no
    half-written file. Cells a spreadsheet would read as formulas are neutralised
    (:data:`FORMULA_START`). Returns the paths written.
    """
    return commit_worklists(stage_worklists(lists, out_dir, practice_code, period))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove what a killed run left in ``<worklists>/<period>``: temporary files and
    folders (``.*.tmp``) in its practices' folders. Returns what was removed."""
    stale = sorted(Path(folder).glob(f"*/.*{TEMP_SUFFIX}")) if Path(folder).is_dir() else []
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale
