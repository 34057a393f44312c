"""The history store: each run's aggregate figures per practice and period, in DuckDB.

Trends in the reports span months from here, even for states an extract only gives as
of its own date (coverage, pending-16, withheld). It holds the disclosure-controlled
figures of the outgoing summaries only. Only the batch's parent process writes (one
writer); re-recording a practice-period replaces its rows.

Table ``headline``: practice_code, period, ref_date, measure, controlled, recorded_at.

A store that cannot be opened or written (another program has it open, a read-only
folder, a full disk, not a DuckDB file) raises :class:`HistoryError`, whose message
names the file and says what to do; never a DuckDB traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS headline (
    practice_code VARCHAR NOT NULL, period VARCHAR NOT NULL, ref_date DATE NOT NULL,
    measure VARCHAR NOT NULL, controlled DOUBLE, recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (practice_code, period, measure)
);
"""


class HistoryError(Exception):
    """The history store cannot be opened or written; the message names the file and why."""


def _explain(path: Path, exc: Exception, doing: str) -> str:
    """A DuckDB or OS error on the store in words: which file, what went wrong, what to do."""
    text = str(exc)
    holder = re.search(r"Conflicting lock is held in .*?\(PID (\d+)\)", text)
    if holder:
        return (
            f"cannot {doing} the history store {path}: it is open in another program "
            f"(pid {holder.group(1)}), e.g. a notebook or a DuckDB shell; close it and run again"
        )
    reason = getattr(exc, "strerror", None) or text.splitlines()[0].removeprefix("IO Error: ")
    return f"cannot {doing} the history store {path}: {reason}"


def _rows(bundle: dict, recorded: dt.datetime) -> pd.DataFrame:
    figures = {
        k: (None if v is None else float(v))
        for k, v in bundle["headline"].items()
        if v is None or (isinstance(v, int | float) and not isinstance(v, bool))
    }
    return pd.DataFrame(
        {
            "practice_code": bundle["practice"]["ods_code"],
            "period": bundle["period"],
            "ref_date": pd.Timestamp(bundle["ref_date"]),
            "measure": list(figures),
            "controlled": list(figures.values()),
            "recorded_at": pd.Timestamp(recorded),
        }
    )


class History:
    """A DuckDB file of aggregate figures; use as a context manager."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = Path(path)
        doing = "read" if read_only else "open for writing"
        try:
            if read_only and not self.path.exists():
                self.con = duckdb.connect(":memory:")
            else:
                if not read_only:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                self.con = duckdb.connect(str(self.path), read_only=read_only)
        except (OSError, duckdb.Error) as exc:
            raise HistoryError(_explain(self.path, exc, doing)) from None
        try:
            if not read_only or not self.path.exists():
                self.con.execute(SCHEMA)
        except duckdb.Error as exc:
            self.con.close()
            raise HistoryError(_explain(self.path, exc, doing)) from None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    def record(self, bundle: dict, recorded: dt.datetime) -> None:
        """Store one outgoing bundle's headline, replacing its practice-period.

        Raises :class:`HistoryError` when the store cannot be written (e.g. a full disk).
        """
        rows = _rows(bundle, recorded)  # noqa: F841 - read by DuckDB below
        key = [bundle["practice"]["ods_code"], bundle["period"]]
        try:
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute("DELETE FROM headline WHERE practice_code = ? AND period = ?", key)
                self.con.execute("INSERT INTO headline BY NAME SELECT * FROM rows")
                self.con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise
        except (OSError, duckdb.Error) as exc:
            raise HistoryError(_explain(self.path, exc, f"record {key[0]} {key[1]} in")) from None

    def series(self, practice_code: str | None, up_to: str, measures: list[str]) -> pd.DataFrame:
        """Controlled figures by period (<= ``up_to``) for one practice (or all when None)."""
        where = "period <= ? AND measure IN (SELECT unnest(?))"
        params: list = [up_to, measures]
        if practice_code is not None:
            where += " AND practice_code = ?"
            params.append(practice_code)
        return self.con.execute(
            f"SELECT practice_code, period, measure, controlled FROM headline WHERE {where} "
            "ORDER BY practice_code, period, measure",
            params,
        ).df()

    def periods(self) -> list[str]:
        """Periods recorded, oldest first."""
        rows = self.con.execute("SELECT DISTINCT period FROM headline ORDER BY period").fetchall()
        return [r[0] for r in rows]
