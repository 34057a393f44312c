"""What stops one practice and what stops the run; what a stopped run leaves behind."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest

from optin_analysis.reports import kernel, notebooks
from optin_analysis.run import batch


class PanicException(BaseException):
    """As pyo3 raises a Rust panic: not an ``Exception``."""


def test_an_error_that_is_not_an_exception_fails_the_practice_only(tmp_path):
    staged_file = tmp_path / ".revoke.csv.tmp"
    staged_file.write_text("x")
    result = batch.PracticeResult("A81001", "A practice")
    staged = batch.Staged(lists=[(staged_file, tmp_path / "revoke.csv")])
    batch._failed(result, staged, PanicException("called `Result::unwrap()`"))
    assert result.status == batch.FAILED
    assert result.problem == "unexpected PanicException: called `Result::unwrap()`"
    assert not staged_file.exists()


@pytest.mark.parametrize("stop", [batch.Interrupted(signal.SIGTERM), KeyboardInterrupt()])
def test_a_signal_or_ctrl_c_stops_the_run_not_the_practice(tmp_path, stop):
    result = batch.PracticeResult("A81001", "A practice")
    with pytest.raises(type(stop)):
        batch._failed(result, batch.Staged(), stop)
    assert result.status == batch.OK


def test_a_stopped_run_s_staging_folders_are_cleared_in_the_worklists_folders_too(tmp_path):
    # the practice's exact copy is staged beside its worklists; a signal between staging
    # and publishing left it there, where the next run did not look
    cfg = SimpleNamespace(reports_dir=tmp_path / "reports", worklists_dir=tmp_path / "wl")
    exact = tmp_path / "wl" / "2026-10" / "A81001" / f".reports{notebooks.STAGING}abc"
    shared = tmp_path / "reports" / "2026-10" / f".A81001{notebooks.STAGING}def"
    kept = tmp_path / "wl" / "2026-10" / "A81001" / "revoke.csv"
    for folder in (exact, shared):
        folder.mkdir(parents=True)
    kept.write_text("x")
    batch._clean(cfg, "2026-10")
    assert not exact.exists() and not shared.exists() and kept.exists()


class _Alive:
    provisioner = None

    def is_alive(self) -> bool:
        return True


def test_a_kernel_that_finished_starting_after_a_kill_runs_nothing(monkeypatch):
    # the warm-up thread was starting the kernel when the signal came: kill() found no
    # process yet, so the kernel that then came up must not run a notebook
    session = kernel.KernelSession()
    killed = []

    def start_during_the_kill():
        session.km = _Alive()
        session.stopped = True  # the signal handler's kill() ran meanwhile

    monkeypatch.setattr(session, "_start_once_more", start_during_the_kill)
    monkeypatch.setattr(session, "kill", lambda: killed.append(True))
    with pytest.raises(kernel.ReportError, match="the run is stopping"):
        session._kernel()
    assert killed == [True]
