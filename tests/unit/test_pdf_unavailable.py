"""Without WeasyPrint's system libraries the run still writes every HTML report and says
once why the DPIA PDFs are missing (a fresh machine may lack Pango)."""

from __future__ import annotations

import builtins
import sys

from optin_analysis.reports import pdf
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
