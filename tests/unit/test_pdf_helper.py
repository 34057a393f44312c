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
