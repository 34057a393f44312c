"""The history store: each run's aggregate figures per practice and period, in DuckDB.

Trends in the reports span months from here, even for states an extract only gives as
of its own date (coverage, pending-16, withheld). It holds the disclosure-controlled
figures of the outgoing summaries only. Only the batch's parent process writes (one
writer); re-recording a practice-period replaces its rows.

Table ``headline``: practice_code, period, ref_date, measure, controlled, suppressed,
recorded_at. A suppressed figure ("[c]") is stored as NULL with ``suppressed`` true; a
figure that does not apply (a share of nobody) as NULL with ``suppressed`` false.

Table ``releases``, the release ledger (:mod:`optin_analysis.outgoing.releases`):
practice_code, period, the published headline and the recorded series cells (JSON, as
published), recorded_at. A new release of a practice republishes what its other releases
published (:meth:`History.released`).
Table ``reviews``: practice_code, reviewed_on, since, recorded_at: the weekly reviews
(``optin-analysis worklists --as-of``), so that the next review lists what is new since
the previous one. Dates only, no figure and nothing about a patient.

A store that cannot be opened or written (another program has it open, a read-only
folder, a full disk, not a DuckDB file) raises :class:`HistoryError`, whose message
names the file and says what to do; never a DuckDB traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pandas as pd

from optin_analysis.outgoing.disclosure import MARK
from optin_analysis.outgoing.releases import Released, ledger_cells

SCHEMA = """
CREATE TABLE IF NOT EXISTS headline (
    practice_code VARCHAR NOT NULL, period VARCHAR NOT NULL, ref_date DATE NOT NULL,
    measure VARCHAR NOT NULL, controlled DOUBLE, recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (practice_code, period, measure)
);
ALTER TABLE headline ADD COLUMN IF NOT EXISTS suppressed BOOLEAN DEFAULT false;
CREATE TABLE IF NOT EXISTS releases (
    practice_code VARCHAR NOT NULL, period VARCHAR NOT NULL, headline VARCHAR NOT NULL,
    cells VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (practice_code, period)
);
CREATE TABLE IF NOT EXISTS reviews (
    practice_code VARCHAR NOT NULL, reviewed_on DATE NOT NULL, since DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL, PRIMARY KEY (practice_code, reviewed_on)
);
"""


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    figures = {k: v for k, v in bundle["headline"].items() if v is None or v == MARK or _number(v)}
    return pd.DataFrame(
        {
            "practice_code": bundle["practice"]["ods_code"],
            "period": bundle["period"],
            "ref_date": pd.Timestamp(bundle["ref_date"]),
            "measure": list(figures),
            "controlled": [float(v) if _number(v) else None for v in figures.values()],
            "suppressed": [v == MARK for v in figures.values()],
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
        release = [*key, json.dumps(bundle["headline"]), json.dumps(ledger_cells(bundle["tables"])),
                   pd.Timestamp(recorded)]  # fmt: skip
        try:
            self.con.execute("BEGIN TRANSACTION")
            try:
                for table in ("headline", "releases"):
                    self.con.execute(
                        f"DELETE FROM {table} WHERE practice_code = ? AND period = ?", key
                    )
                self.con.execute("INSERT INTO headline BY NAME SELECT * FROM rows")
                if bundle["disclosure"].get("enabled", True):  # a release leaves the practice
                    self.con.execute("INSERT INTO releases VALUES (?, ?, ?, ?, ?)", release)
                self.con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise
        except (OSError, duckdb.Error) as exc:
            raise HistoryError(_explain(self.path, exc, f"record {key[0]} {key[1]} in")) from None

    def series(self, practice_code: str | None, up_to: str, measures: list[str]) -> pd.DataFrame:
        """Published figures by period (<= ``up_to``) for one practice (or all when None):
        practice_code, period, measure, value (a number, None, or "[c]" when suppressed)."""
        where = "period <= ? AND measure IN (SELECT unnest(?))"
        params: list = [up_to, measures]
        if practice_code is not None:
            where += " AND practice_code = ?"
            params.append(practice_code)
        frame = self.con.execute(
            "SELECT practice_code, period, measure, controlled, suppressed FROM headline "
            f"WHERE {where} ORDER BY practice_code, period, measure",
            params,
        ).df()
        value = frame["controlled"].astype(object).where(frame["controlled"].notna(), None)
        value = value.where(~frame["suppressed"].fillna(False).astype(bool), MARK)
        return frame[["practice_code", "period", "measure"]].assign(value=value)

    def released(self, period: str) -> dict[str, Released]:
        """Per practice, what its releases other than ``period``'s published: every series
        cell (the first release of a cell wins, though later ones repeat it) and the
        headline of the month before ``period``. A store written before the release ledger
        (0.2.0) has recorded none: nothing is released."""
        try:
            frame = self.con.execute(
                "SELECT practice_code, period, headline, cells FROM releases WHERE period <> ? "
                "ORDER BY practice_code, period",
                [period],
            ).df()
        except duckdb.CatalogException:  # opened read-only, from before the ledger
            return {}
        before = str(pd.Period(period, freq="M") - 1)
        out = {}
        for code, rows in frame.groupby("practice_code"):
            cells: dict[str, dict[str, dict]] = {}
            for text in rows["cells"]:
                for name, published in json.loads(text).items():
                    for row in published:
                        cells.setdefault(name, {}).setdefault(row["period"], row)
            previous = rows.loc[rows["period"] == before, "headline"]
            out[code] = Released(
                {name: list(by_label.values()) for name, by_label in cells.items()},
                json.loads(previous.iloc[0]) if len(previous) else None,
            )
        return out

    def periods(self) -> list[str]:
        """Periods recorded, oldest first."""
        rows = self.con.execute("SELECT DISTINCT period FROM headline ORDER BY period").fetchall()
        return [r[0] for r in rows]

    def recorded(self) -> pd.DataFrame:
        """One row per practice-period recorded: practice_code, period, ref_date, recorded_at."""
        return self.con.execute(
            "SELECT practice_code, period, min(ref_date) AS ref_date, "
            "max(recorded_at) AS recorded_at FROM headline "
            "GROUP BY practice_code, period ORDER BY period, practice_code"
        ).df()

    def remove(self, period: str, practice_code: str | None = None) -> int:
        """Delete a period's rows (one practice's, or every practice's); return practice-periods
        removed."""
        where = "period = ?" + (" AND practice_code = ?" if practice_code else "")
        params = [period, practice_code] if practice_code else [period]
        count = self.con.execute(
            f"SELECT count(DISTINCT practice_code) FROM headline WHERE {where}", params
        ).fetchone()[0]
        self.con.execute(f"DELETE FROM headline WHERE {where}", params)
        self.con.execute(f"DELETE FROM releases WHERE {where}", params)
        return int(count)

    def record_review(
        self, practice_code: str, reviewed_on: dt.date, since: dt.date, recorded: dt.datetime
    ) -> None:
        """Record a practice's weekly review as of ``reviewed_on`` (listing what was new
        after ``since``), replacing one recorded for the same day."""
        key = [practice_code, reviewed_on]
        try:
            self.con.execute(
                "INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?)", [*key, since, recorded]
            )
        except (OSError, duckdb.Error) as exc:
            raise HistoryError(
                _explain(self.path, exc, f"record {practice_code}'s review in")
            ) from None

    def last_review(self, practice_code: str, before: dt.date) -> dt.date | None:
        """The latest review of a practice recorded as of a day before ``before``, or None
        (also for a store written before reviews were recorded)."""
        try:
            row = self.con.execute(
                "SELECT max(reviewed_on) FROM reviews WHERE practice_code = ? AND reviewed_on < ?",
                [practice_code, before],
            ).fetchone()
        except duckdb.CatalogException:  # a store opened read-only, from before reviews
            return None
        return row[0] if row else None
