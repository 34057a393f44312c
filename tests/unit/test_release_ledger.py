"""The history store's release ledger: what earlier releases published, as the next
release must read it ([rule sdc-releases])."""

from __future__ import annotations

import datetime as dt

from optin_analysis.outgoing.history import History

WHEN = dt.datetime(2026, 11, 2, 9, 0)


def _bundle(period: str, cells: dict[str, int], backlog: int = 10, enabled: bool = True) -> dict:
    """Y90001's release for ``period``: its uptake cells (month: requests), its backlog."""
    rows = [{"period": m, "from": m, "to": m, "level": "month", "complete": True,
             "requests": n, "counselled": n, "provisioned": n}
            for m, n in cells.items()]  # fmt: skip
    return {"practice": {"ods_code": "Y90001"}, "period": period, "ref_date": f"{period}-28",
            "headline": {"revocation_backlog": backlog}, "tables": {"uptake": {"rows": rows}},
            "disclosure": {"enabled": enabled}}  # fmt: skip


def _requests(released, month: str) -> list[int]:
    return [r["requests"] for r in released["Y90001"].cells["uptake"] if r["period"] == month]


def test_the_first_release_of_a_cell_wins(tmp_path):
    with History(tmp_path / "h.duckdb") as history:
        history.record(_bundle("2026-09", {"2026-07": 15}), WHEN)
        history.record(_bundle("2026-10", {"2026-07": 20}), WHEN)  # not as first published
        assert _requests(history.released("2026-11"), "2026-07") == [15]


def test_an_earlier_month_run_again_reads_the_later_releases(tmp_path):
    # September run again after October was released: October's cells hold too
    with History(tmp_path / "h.duckdb") as history:
        history.record(_bundle("2026-10", {"2026-08": 15}), WHEN)
        assert _requests(history.released("2026-09"), "2026-08") == [15]
        assert history.released("2026-10") == {}  # its own release is not "earlier"


def test_last_month_is_the_release_of_the_month_before_only(tmp_path):
    with History(tmp_path / "h.duckdb") as history:
        history.record(_bundle("2026-08", {}, backlog=30), WHEN)
        history.record(_bundle("2026-10", {}, backlog=10), WHEN)
        assert history.released("2026-09")["Y90001"].previous == {"revocation_backlog": 30}
        # no September release: October has no "last month", not August's
        assert history.released("2026-10")["Y90001"].previous is None


def test_a_run_without_disclosure_control_is_not_a_release(tmp_path):
    # exact figures stay in the practice: nothing was published, so nothing binds
    with History(tmp_path / "h.duckdb") as history:
        history.record(_bundle("2026-10", {"2026-10": 3}, enabled=False), WHEN)
        assert history.released("2026-11") == {}
        assert history.periods() == ["2026-10"]  # its figures are still kept
