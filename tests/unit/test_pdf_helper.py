"""A process that laid out PDFs in its helper process still ends.

Workers of the batch's pool end without atexit handlers but join their children; a PDF
helper left running made every ``run --jobs 2`` hang after its last practice.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.system import require


def _pdf_in_helper(path: Path) -> float:
    from optin_analysis.reports import pdf

    return pdf.pdf_helper().submit(pdf.timed_pdf, "<p>DPIA</p>", path).result()


def test_a_worker_that_made_pdfs_in_its_helper_ends(tmp_path):
    require("pango")
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        assert pool.submit(_pdf_in_helper, tmp_path / "dpia.pdf").result(timeout=120) > 0
        ending = threading.Thread(target=pool.shutdown)
        ending.start()
        ending.join(timeout=60)
        assert not ending.is_alive(), "the worker never ended: its PDF helper kept it waiting"
    finally:
        for process in list((pool._processes or {}).values()):
            process.kill()  # only if it hung: do not leave it behind
    assert (tmp_path / "dpia.pdf").read_bytes().startswith(b"%PDF")


def test_a_dead_pdf_helper_is_replaced_for_the_next_practices(monkeypatch):
    # a helper killed (out of memory, a crash) breaks its pool: without a new one every
    # later practice of the run failed with "BrokenProcessPool"
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    import pytest

    from optin_analysis.reports import pdf

    monkeypatch.setattr(pdf, "_helper", None)
    pdf.start_pdf_helper(1)
    old = pdf.pdf_helper()
    assert old.submit(int).result(timeout=60) == 0
    for process in list(old._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        old.submit(int).result(timeout=60)
    pdf.start_pdf_helper()  # as the next practice begins
    assert pdf.pdf_helper() is not old
    assert pdf.pdf_helper().submit(int).result(timeout=60) == 0
    new = pdf.pdf_helper()
    pdf.start_pdf_helper()  # a working pool is kept
    assert pdf.pdf_helper() is new
    pdf.pdf_helper().shutdown()
