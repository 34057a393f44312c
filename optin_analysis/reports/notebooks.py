"""Outgoing reports: Papermill-executed notebooks rendered to self-contained HTML.

Each report is a parameterised notebook (``notebooks/`` in the repository, installed as the
package data ``optin_analysis.notebooks``) executed by Papermill with the
path of an aggregate bundle, then rendered to HTML (:mod:`optin_analysis.reports.render`).
A :class:`~optin_analysis.reports.kernel.KernelSession` keeps one kernel per process alive
across notebooks; the executed notebook is still Papermill's record of the run. PDFs
are laid out by a helper process while the kernel goes on with the next notebooks.
Everything is written into a staging folder beside the final one and moved into place
only when complete, so a failure never leaves a half-written report nor replaces a good
earlier one. The batch stages reports in its worker processes and
publishes them (the renames) in its parent only, so nothing is published once the
parent has stopped or is gone.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from optin_analysis.outgoing.summary import write_json
from optin_analysis.reports.files import write_bytes_atomically
from optin_analysis.reports.kernel import KERNEL, NOTEBOOK_DIR, KernelSession
from optin_analysis.reports.pdf import pdf_helper, properties, timed_pdf
from optin_analysis.reports.render import (
    charts_as_images,
    notebook_to_html,
    write_html_atomically,
)

#: Outgoing practice report name -> (notebook, title).
REPORTS = {
    "monthly-report": ("monthly_report.ipynb", "Monthly opt-in model report"),
    "dpia": ("dpia.ipynb", "Data protection impact assessment"),
}
#: Reports also written as PDF for filing.
PDF_REPORTS = ("dpia",)
ROLLUP = ("icb_rollup.ipynb", "ICB roll-up: opt-in model practices")
STAGING = ".partial-"  #: marks staging folders; stale ones are removed by the next run


@dataclass
class Timings:
    """Seconds spent per stage of one practice's run."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Count ``seconds`` (spent elsewhere, e.g. by a PDF helper) to stage ``name``."""
        self.stages[name] = self.stages.get(name, 0.0) + seconds


class ReusedKernelEngine(NBClientEngine):
    """Papermill's nbclient engine, run on a kernel and client the caller owns (``km=``,
    ``kc=``)."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
        start_timeout=60, execution_timeout=None, **kwargs,
    ):  # fmt: skip
        client = PapermillNotebookClient(
            nb_man, km=kwargs["km"], timeout=execution_timeout, startup_timeout=start_timeout,
            kernel_name=kernel_name, log=logger, log_output=log_output,
            stdout_file=stdout_file, stderr_file=stderr_file,
        )  # fmt: skip
        client.kc = kwargs["kc"]  # connected already: no new channels, no 0.2 s iopub flush
        return client.execute()


papermill_engines.register("optin-reuse", ReusedKernelEngine)


def render(
    session: KernelSession, notebook: str, title: str, parameters: dict, out: Path,
    keep_notebook: bool = False, timings: Timings | None = None,
    kept_parameters: dict | None = None,
) -> str:  # fmt: skip
    """Execute one notebook, write its HTML to ``out`` (and the notebook beside it, made
    to reopen: see :func:`reopenable`, with ``kept_parameters`` where given) and return
    the HTML."""
    timings = timings or Timings()
    kept = out.with_suffix(".ipynb") if keep_notebook else None
    with timings.stage("notebook execution"):
        executed = session.run(NOTEBOOK_DIR / notebook, parameters, kept)
    with timings.stage("HTML rendering"):
        html = notebook_to_html(executed, title)
        write_html_atomically(html, out)
    if kept is not None:
        again = reopenable(executed, kept_parameters or parameters)
        write_bytes_atomically(nbformat.writes(again).encode("utf-8"), kept)
    return html


def reopenable(executed: nbformat.NotebookNode, parameters: dict) -> nbformat.NotebookNode:
    """A copy of an executed report notebook that reads the same when opened again in
    JupyterLab, and runs again: its charts as images (:func:`charts_as_images`; JupyterLab
    strips inline SVG from an untrusted notebook's HTML), and its injected parameters
    replaced by ``parameters`` (those of the published files, not of the staging folder
    the run executed it in, which is gone once the run ends)."""
    from papermill.translators import translate_parameters

    nb = copy.deepcopy(executed)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = translate_parameters(KERNEL, "python", parameters, "Parameters")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                page = data["text/html"]
                data["text/html"] = charts_as_images("".join(page) if isinstance(page, list)
                                                     else page)  # fmt: skip
    nb.metadata.setdefault("papermill", {})["parameters"] = parameters
    return nb


@dataclass
class StagedReports:
    """A practice's reports in their staging folder, the PDFs perhaps still being laid out
    by the PDF helper: :meth:`complete` waits for them."""

    stage: Path
    pdfs: list[Future] = field(default_factory=list)

    def complete(self, timings: Timings | None = None) -> Path:
        """The staging folder once every PDF is written (their seconds added to
        ``timings``); on a failure the folder is removed and the error raised."""
        try:
            for done in self.pdfs:
                seconds = done.result()
                if timings is not None:
                    timings.add("PDF", seconds)
        except BaseException:
            self.discard()
            raise
        return self.stage

    def discard(self) -> None:
        """Remove the staging folder, once nothing is writing into it."""
        wait(self.pdfs)
        shutil.rmtree(self.stage, ignore_errors=True)


def begin_reports(
    session: KernelSession, bundle: dict, final: Path, keep_notebooks: bool = False,
    timings: Timings | None = None, pdf: bool = True,
) -> StagedReports:  # fmt: skip
    """Write summary.json and execute every report of a bundle into a staging folder
    beside ``final``; the DPIA's PDF (when ``pdf``) is laid out by the PDF helper, so the
    kernel goes on to the next notebooks (of this practice, then of the next) meanwhile.
    On a failure nothing is left behind."""
    timings = timings or Timings()
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = StagedReports(
        Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}{STAGING}"))
    )
    try:
        stage = staged.stage
        stage.chmod(0o755)
        write_json(bundle, stage / "summary.json")
        code, period = bundle["practice"]["ods_code"], bundle["period"]
        parameters = {
            "practice": code,
            "period": period,
            "summary_path": str(stage / "summary.json"),
        }
        published = {**parameters, "summary_path": str(final / "summary.json")}
        for name in sorted(REPORTS, key=lambda n: n not in PDF_REPORTS):
            notebook, title = REPORTS[name]
            out = stage / f"{name}.html"
            html = render(session, notebook, f"{title} — {code} {period}", parameters, out,
                          keep_notebooks, timings, kept_parameters=published)  # fmt: skip
            if pdf and name in PDF_REPORTS:
                props = properties(bundle, title)
                staged.pdfs.append(
                    pdf_helper().submit(timed_pdf, html, out.with_suffix(".pdf"), props)
                )
    except BaseException:
        staged.discard()
        raise
    return staged


def publish(stage: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``stage`` folder (renames only, same filesystem).

    A symbolic link at ``final`` is replaced too (the link, never what it points to)."""
    old = None
    if final.is_symlink() or final.exists():
        old = final.with_name(f".{final.name}{STAGING}old-{os.getpid()}")
        os.replace(final, old)
    os.replace(stage, final)
    if old is not None:
        _remove(old)


def _remove(path: Path) -> None:
    """Remove a folder, or only the link when ``path`` is a symbolic link."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_staging(folder: Path) -> list[Path]:
    """Clear what a killed run left in ``folder``: staging folders are removed, and an
    earlier report set caught mid-replacement (``.<ODS>.partial-old-*`` with no
    ``<ODS>`` folder) is put back. Returns what was removed."""
    stale = [p for p in folder.glob(f".*{STAGING}*") if p.is_dir()] if folder.is_dir() else []
    removed = []
    for path in stale:
        name, _, kind = path.name[1:].partition(STAGING)
        if kind.startswith("old-") and not (folder / name).exists():
            os.replace(path, folder / name)
            continue
        _remove(path)
        removed.append(path)
    return removed


def complete(final: Path) -> bool:
    """Whether a practice's report folder holds every file a run writes."""
    names = ["summary.json", *(f"{n}.html" for n in REPORTS)]
    return all((final / n).is_file() for n in names)
