"""The history store remembers each practice's weekly reviews (dates only), and reads a store
from before reviews or releases were recorded."""

from __future__ import annotations

import datetime as dt

import duckdb

from optin_analysis.outgoing.history import History

WHEN = dt.datetime(2026, 11, 2, 9, 0)


def test_the_last_review_before_a_day(tmp_path):
    path = tmp_path / "history.duckdb"
    with History(path) as history:
        for day in (dt.date(2026, 10, 17), dt.date(2026, 10, 24), dt.date(2026, 10, 31)):
            history.record_review("Y90001", day, day - dt.timedelta(days=7), WHEN)
        history.record_review("Y90002", dt.date(2026, 10, 30), dt.date(2026, 10, 23), WHEN)
        # recorded again for the same day: replaced, not added
        history.record_review("Y90001", dt.date(2026, 10, 24), dt.date(2026, 10, 20), WHEN)
    with History(path, read_only=True) as history:
        # strictly before: a review re-run as of the same day starts where the one
        # before it did
        assert history.last_review("Y90001", dt.date(2026, 10, 31)) == dt.date(2026, 10, 24)
        assert history.last_review("Y90001", dt.date(2026, 11, 7)) == dt.date(2026, 10, 31)
        assert history.last_review("Y90001", dt.date(2026, 10, 17)) is None
        assert history.last_review("Y90003", dt.date(2026, 11, 7)) is None
        rows = history.con.execute("SELECT count(*) FROM reviews").fetchone()[0]
    assert rows == 4


def _store_from_0_2_0(tmp_path):
    """A history store as 0.2.0 left it: the headline table only."""
    path = tmp_path / "history.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE headline (practice_code VARCHAR, period VARCHAR)")
    con.close()
    return path


def test_a_store_from_before_reviews_were_recorded_has_none(tmp_path):
    with History(_store_from_0_2_0(tmp_path), read_only=True) as history:
        assert history.last_review("Y90001", dt.date(2026, 10, 31)) is None


def test_a_store_from_before_the_release_ledger_has_released_nothing(tmp_path):
    # 0.2.0 stores hold the headline table only; the first run after upgrading reads them
    # read-only before writing, and must not stop at the missing ledger
    with History(_store_from_0_2_0(tmp_path), read_only=True) as history:
        assert history.released("2026-10") == {}
