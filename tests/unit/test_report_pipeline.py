"""The run's report pipeline: the kernel is not held up by PDFs, nor its start by imports."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future

import pytest

from optin_analysis.reports import notebooks
from optin_analysis.reports.notebooks import StagedReports, Timings
from optin_analysis.run import batch

BUNDLE = {"practice": {"ods_code": "A81001"}, "period": "2026-10"}


class _Helper:
    """A PDF helper whose PDFs are finished only when the test says so."""

    def __init__(self) -> None:
        self.jobs: list[Future] = []

    def submit(self, *_args) -> Future:
        self.jobs.append(Future())
        return self.jobs[-1]


@pytest.fixture
def helper(monkeypatch) -> _Helper:
    fake = _Helper()
    monkeypatch.setattr(notebooks, "pdf_helper", lambda: fake)
    monkeypatch.setattr(notebooks, "render", lambda _s, _n, _t, _p, out, *a, **k: "<p>x</p>")
    monkeypatch.setattr(notebooks, "properties", lambda *_a: {})
    return fake


def test_the_reports_are_begun_without_waiting_for_their_pdf(tmp_path, helper):
    staged = notebooks.begin_reports(None, BUNDLE, tmp_path / "A81001", pdf=True)
    # returned with the DPIA's PDF still being laid out: the kernel can go on
    assert len(helper.jobs) == 1 and not helper.jobs[0].done()
    assert (staged.stage / "summary.json").is_file()
    helper.jobs[0].set_result(0.5)
    timings = Timings()
    assert staged.complete(timings) == staged.stage
    assert timings.stages["PDF"] == 0.5


def test_a_failed_pdf_fails_the_practice_and_leaves_no_staging_folder(tmp_path, helper):
    staged = notebooks.begin_reports(None, BUNDLE, tmp_path / "A81001", pdf=True)
    helper.jobs[0].set_exception(OSError(28, "No space left on device"))
    done: Future = Future()
    done.set_result((staged, 0.1))
    result = batch.PracticeResult("A81001", "A practice")
    begun = batch.Begun(result, batch.Staged(), Timings(), 0.0, done, tmp_path / "A81001")
    assert begun.result().status == batch.FAILED
    assert result.problem == f"cannot write {tmp_path / 'A81001'}: no space left on the disk"
    assert not staged.stage.exists()


def test_complete_waits_for_every_pdf_before_removing_a_failed_folder(tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    failed, still_writing = Future(), Future()
    failed.set_exception(RuntimeError("weasyprint failed"))
    still_writing.set_result(0.2)  # done: wait() returns at once
    with pytest.raises(RuntimeError, match="weasyprint failed"):
        StagedReports(stage, [failed, still_writing]).complete()
    assert not stage.exists()


def test_the_kernel_module_starts_a_kernel_without_importing_pandas():
    # ``run`` starts its kernel from here before importing the rest (about a second)
    code = "import sys, optin_analysis.reports.kernel; print(sorted({'pandas', 'papermill', 'altair'} & set(sys.modules)))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_kernel_killed_mid_cell_ends_the_notebook_instead_of_hanging(tmp_path):
    # a signal kills the kernel while a cell runs: the run must go on to clean up
    import threading
    import time

    import nbformat

    from optin_analysis.reports.kernel import KernelSession, ReportError

    notebook = tmp_path / "slow.ipynb"
    cell = nbformat.v4.new_code_cell("import time\ntime.sleep(60)")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    session, outcome = KernelSession(), []

    def execute() -> None:
        try:
            session.run(notebook, {}, None)
        except BaseException as exc:  # noqa: BLE001 - what the run thread sees
            outcome.append(exc)

    try:
        session._kernel()  # started, so the kill lands mid-cell
        running = threading.Thread(target=execute, daemon=True)
        running.start()
        time.sleep(2)
        session.kill()
        running.join(timeout=20)
        assert not running.is_alive(), "the notebook never ended after its kernel was killed"
        assert len(outcome) == 1 and isinstance(outcome[0], ReportError)
        assert str(outcome[0]) == "slow.ipynb: the kernel died or was stopped mid-notebook"
    finally:
        session.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets: TCP on Windows")
def test_the_kernel_talks_over_private_unix_sockets_so_no_port_can_be_lost(tmp_path):
    # two workers (or two runs) starting kernels at once could pick the same free TCP
    # port, and the kernel that lost it died at start with a ZMQ traceback (papermill#511)
    code = """
import os, sys
from optin_analysis.reports import kernel
session = kernel.KernelSession()
session._start_once_more()
km = session.km
folder = os.path.dirname(km.ip)
print(km.transport, os.path.isabs(km.ip), oct(os.stat(folder).st_mode & 0o777), km.is_alive())
print(sorted(os.listdir(folder)) != [], folder)
session.close()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.split()  # fmt: skip
    assert out[:4] == ["ipc", "True", "0o700", "True"]  # private: mkdtemp's 0700
    assert out[4] == "True" and not os.path.exists(out[5])  # sockets made, folder removed
    assert os.listdir(tmp_path) == []  # nothing left where the run started
