"""The history store: each run's aggregate figures per practice and period, in DuckDB.

Trends in the reports span months from here, even for states an extract only gives as
of its own date (coverage, pending-16, withheld). Only the batch's parent process
writes (one writer); re-recording a period replaces that period's rows.

Table ``headline``: practice_code, period, ref_date, measure, exact, controlled,
recorded_at. Table ``practice_month``: practice_code, period, name, supplier, model,
go_live_status, go_live_date, steps_done (action-plan steps done, of 4).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS headline (
    practice_code VARCHAR NOT NULL, period VARCHAR NOT NULL, ref_date DATE NOT NULL,
    measure VARCHAR NOT NULL, exact DOUBLE, controlled DOUBLE, recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (practice_code, period, measure)
);
CREATE TABLE IF NOT EXISTS practice_month (
    practice_code VARCHAR NOT NULL, period VARCHAR NOT NULL, name VARCHAR, supplier VARCHAR,
    model VARCHAR, go_live_status VARCHAR, go_live_date DATE, steps_done INTEGER,
    PRIMARY KEY (practice_code, period)
);
"""


def _numeric(figures: dict) -> dict[str, float | None]:
    return {
        k: (None if v is None else float(v))
        for k, v in figures.items()
        if isinstance(v, int | float) and not isinstance(v, bool) or v is None
    }


def _headline_rows(bundle: dict, exact: dict, recorded: dt.datetime) -> pd.DataFrame:
    controlled = _numeric(bundle["headline"])
    exact_num = _numeric(exact)
    keys = sorted(set(controlled) | set(exact_num))
    return pd.DataFrame(
        {
            "practice_code": bundle["practice"]["ods_code"],
            "period": bundle["period"],
            "ref_date": pd.Timestamp(bundle["ref_date"]),
            "measure": keys,
            "exact": [exact_num.get(k) for k in keys],
            "controlled": [controlled.get(k) for k in keys],
            "recorded_at": pd.Timestamp(recorded),
        }
    )


def _practice_row(bundle: dict) -> pd.DataFrame:
    p = bundle["practice"]
    done = sum(step["status"] == "done" for step in bundle["action_plan"])
    return pd.DataFrame(
        [
            {
                "practice_code": p["ods_code"], "period": bundle["period"], "name": p["name"],
                "supplier": p["supplier"], "model": p["model"],
                "go_live_status": p["go_live_status"],
                "go_live_date": pd.Timestamp(p["go_live_date"]) if p["go_live_date"] else None,
                "steps_done": done,
            }
        ]
    )  # fmt: skip


class History:
    """A DuckDB file of aggregate figures; use as a context manager."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = Path(path)
        if read_only and not self.path.exists():
            self.con = duckdb.connect(":memory:")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only or not self.path.exists():
            self.con.execute(SCHEMA)

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    def record(self, items: list[tuple[dict, dict]], recorded: dt.datetime) -> None:
        """Store (outgoing bundle, exact headline) pairs, replacing their practice-periods."""
        if not items:
            return
        heads = pd.concat([_headline_rows(b, e, recorded) for b, e in items])  # noqa: F841
        practices = pd.concat([_practice_row(b) for b, _ in items])  # noqa: F841
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table in ("headline", "practice_month"):
                self.con.execute(
                    f"DELETE FROM {table} WHERE (practice_code, period) IN "
                    "(SELECT DISTINCT practice_code, period FROM practices)"
                )
            self.con.execute("INSERT INTO headline BY NAME SELECT * FROM heads")
            self.con.execute("INSERT INTO practice_month BY NAME SELECT * FROM practices")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

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

    def practices(self, period: str) -> pd.DataFrame:
        """The practice rows recorded for a period."""
        return self.con.execute(
            "SELECT * FROM practice_month WHERE period = ? ORDER BY practice_code", [period]
        ).df()
