"""The benchmark's plain-SQL reference (``benchmarks/headline.sql``) agrees with the package.

The benchmark times ``summary.compute`` against that DuckDB query and compares their
figures on one month of generated data. Here the query, written from the rules' words,
meets the oracle author's hand-made edge population and a generated one in every month
from 2023-08 to the extract month, so that the reference stays a check of the rules
(not only of the month the benchmark measures) as they change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from optin_analysis.config import load_config
from optin_analysis.generate import SAMPLE_BRANCHES, generate, write_sample
from optin_analysis.ingest.load import load_practice
from optin_analysis.measures.month import headline
from optin_analysis.outgoing.summary import reference_date
from tests.oracle.test_oracle_agrees import FIRST, months

ROOT = Path(__file__).resolve().parents[2]
SQL = (ROOT / "benchmarks" / "headline.sql").read_text(encoding="utf-8")
DATES = ("go_live_date", "setting_date", "extract_date", "ref_date")


def _profiles(data: list, period: str) -> pd.DataFrame:
    rows = []
    for d in data:
        p = d.profile
        rows.append({
            "practice_code": p.ods_code, "supplier": p.supplier.value, "model": p.model.value,
            "go_live_status": p.go_live_status.value, "go_live_date": p.go_live_date,
            "setting_date": p.supplier_setting_date, "extract_date": p.extract_date,
            "ref_date": reference_date(p, period)[1],
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    for column in DATES:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame


def differences(config: Path) -> list[tuple]:
    """(practice, period, figure, package, SQL) for every figure the query gives that
    differs from the package's headline."""
    data = [load_practice(p) for p in load_config(config).practices]
    con = duckdb.connect()
    con.register("patients", pd.concat([d.patients for d in data], ignore_index=True))
    con.register("events", pd.concat([d.events for d in data], ignore_index=True))
    found = []
    last = min(d.profile.extract_date for d in data)
    for period in months(FIRST, last):
        con.register("profiles", _profiles(data, period))
        rows = {r.pop("practice_code"): r for r in con.execute(SQL).df().to_dict("records")}
        for d in data:
            start, ref = reference_date(d.profile, period)
            ours = headline(d.patients, d.events, d.profile, ref, start)
            found += [
                (d.profile.ods_code, period, key, ours[key], int(value))
                for key, value in rows[d.profile.ods_code].items()
                if ours[key] != int(value)
            ]
    return found


def test_the_sql_reference_agrees_on_the_edge_population():
    assert differences(ROOT / "tests" / "oracle" / "edge" / "config.yaml")[:10] == []


@pytest.mark.parametrize("extract", [dt.date(2026, 10, 17)], ids=["mid-month"])
def test_the_sql_reference_agrees_on_a_generated_population(tmp_path, extract):
    synth = generate(5, 2_500, 3, extract, branches=SAMPLE_BRANCHES)
    write_sample(synth, tmp_path, 3)
    assert differences(tmp_path / "config.yaml")[:10] == []
