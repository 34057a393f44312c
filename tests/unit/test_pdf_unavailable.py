"""Without WeasyPrint's system libraries the run still writes every HTML report and says
once why the DPIA PDFs are missing (a fresh machine may lack Pango)."""

from __future__ import annotations

import builtins
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

from optin_analysis.reports import kernel, pdf
from optin_analysis.run import cli
from optin_analysis.run.batch import Options
from tests.system import require


def _no_pango(monkeypatch) -> None:
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': No such file")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)


def test_unavailable_names_the_missing_library(monkeypatch):
    _no_pango(monkeypatch)
    why = pdf.unavailable()
    assert why is not None and "libpango-1.0-0" in why and "apt install" in why


def test_a_run_goes_on_without_pdfs_and_says_why(monkeypatch, capsys):
    _no_pango(monkeypatch)
    seen = {}

    def fake_run_batch(cfg, practices, period, options, jobs, resume, progress, **_more):
        seen["pdf"] = options.pdf
        return []

    monkeypatch.setattr("optin_analysis.run.batch.run_batch", fake_run_batch)
    cli._batch(None, [], "2026-10", Options(), 1)
    assert seen == {"pdf": False}
    assert "DPIA PDFs are not written" in capsys.readouterr().err


def test_pdfs_are_made_where_the_libraries_are_there():
    require("pango")  # skipped (or, in CI, failed) where Pango is missing
    assert pdf.unavailable() is None


def _batch_pdf(monkeypatch, practices: list, jobs: int) -> bool:
    """Whether ``_batch`` leaves PDFs on, with the helpers' answer and this process's
    answer told apart (the helpers' says Pango is missing; this process's that all is well).
    """
    seen = {}

    def fake_run_batch(cfg, practices, period, options, jobs, resume, progress, **_more):
        seen["pdf"] = options.pdf
        return []

    monkeypatch.setattr("optin_analysis.run.batch.run_batch", fake_run_batch)
    monkeypatch.setattr(pdf, "unavailable_in_helper", lambda n: "no Pango in the helpers")
    monkeypatch.setattr(pdf, "unavailable", lambda: None)
    monkeypatch.setattr(cli, "_say_earlier_list", lambda *_: None)
    monkeypatch.setattr(kernel, "session", lambda: _NoKernel())
    cli._batch(None, practices, "2026-10", Options(), jobs)
    return seen["pdf"]


class _NoKernel:
    def warm(self) -> None:
        pass


def test_a_run_in_this_process_asks_its_pdf_helpers(monkeypatch, capsys):
    assert _batch_pdf(monkeypatch, ["Y90001", "Y90002"], 1) is False
    assert "no Pango in the helpers" in capsys.readouterr().err
    assert _batch_pdf(monkeypatch, ["Y90001"], 4) is False  # one practice: run here


def test_a_run_in_worker_processes_checks_here(monkeypatch):
    assert _batch_pdf(monkeypatch, ["Y90001", "Y90002"], 2) is True


def test_the_kernel_starts_before_the_helpers_are_asked(monkeypatch):
    # the helpers take about a second to answer (WeasyPrint's import): the kernel's start
    # need not wait for it
    order = []

    class Kernel:
        def warm(self) -> None:
            order.append("kernel")

    monkeypatch.setattr(kernel, "session", Kernel)
    monkeypatch.setattr(pdf, "unavailable_in_helper", lambda n: order.append(f"helpers {n}"))
    assert cli._pdf_unavailable(["Y90001", "Y90002", "Y90003"], 1) is None
    assert order == ["kernel", "helpers 2"]
    order.clear()
    monkeypatch.setattr(pdf, "unavailable", lambda: order.append("here"))
    cli._pdf_unavailable(["Y90001", "Y90002"], 2)  # in workers: each starts its own kernel
    assert order == ["here"]


PROBE = """
import sys
from optin_analysis.run.cli import app  # as the console script does
from optin_analysis.reports import pdf

if __name__ == "__main__":
    print(pdf.unavailable_in_helper(1))
    print("weasyprint" in sys.modules)
    print(pdf.pdf_helper().submit(eval, "'optin_analysis.run.cli' in __import__('sys').modules")
          .result())
    print(sys.modules["__main__"].__file__ == sys.argv[0])
"""


def test_the_helpers_answer_without_either_process_loading_what_it_need_not(tmp_path):
    # the run's process does not load WeasyPrint (0.4 s of CPU); the helpers do not run
    # the console script again (its imports, 0.2 s of CPU each): a run with PDFs is
    # CPU-bound, so each showed in its time
    require("pango")
    script = tmp_path / "console_script.py"
    script.write_text(PROBE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.split() == ["None", "False", "False", "True"]


class _Helpers:
    """PDF helpers that answer ``answer`` (or whose pool is broken)."""

    def __init__(self, answer: str | None, broken: bool = False) -> None:
        self.answer, self.broken = answer, broken

    def submit(self, _fn) -> Future:
        if self.broken:
            raise BrokenProcessPool("a helper died")
        done = Future()
        done.set_result(self.answer)
        return done


def _helpers(monkeypatch, helpers: _Helpers) -> list:
    stopped = []
    monkeypatch.setattr(pdf, "start_pdf_helper", lambda _n: None)
    monkeypatch.setattr(pdf, "pdf_helper", lambda: helpers)
    monkeypatch.setattr(pdf, "stop_pdf_helper", lambda kill=False: stopped.append(kill))
    return stopped


def test_helpers_that_cannot_make_pdfs_are_let_go(monkeypatch):
    stopped = _helpers(monkeypatch, _Helpers("no Pango"))
    assert pdf.unavailable_in_helper(2) == "no Pango" and stopped == [False]
    stopped = _helpers(monkeypatch, _Helpers(None))
    assert pdf.unavailable_in_helper(2) is None and stopped == []  # kept for the run


def test_broken_helpers_are_let_go_and_the_answer_found_here(monkeypatch):
    stopped = _helpers(monkeypatch, _Helpers(None, broken=True))
    monkeypatch.setattr(pdf, "unavailable", lambda: "asked here")
    assert pdf.unavailable_in_helper(2) == "asked here" and stopped == [True]  # killed


def test_helpers_that_do_not_answer_are_killed():
    pdf.stop_pdf_helper()  # a pool of this test's own
    pdf.start_pdf_helper(1)
    helpers = list(pdf.pdf_helper()._processes.values())
    pdf.pdf_helper().submit(time.sleep, 600)  # stuck, as one that never answers
    pdf.stop_pdf_helper(kill=True)
    deadline = time.monotonic() + 10  # the pool's own thread may be the one to reap them
    while time.monotonic() < deadline and any(p.exitcode is None for p in helpers):
        time.sleep(0.05)
    assert helpers and [p.exitcode for p in helpers] == [-signal.SIGKILL]
