"""Outgoing reports of one practice-month: summary.json and the two HTML reports.

Each report is a parameterised notebook in ``notebooks/`` executed by Papermill with the
path of the practice-month's aggregate bundle, then rendered to self-contained HTML.
Everything is written into a staging folder and moved into
``reports/<period>/<ODS>/`` only when complete, so a failure never leaves a
half-written report nor replaces a good earlier one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import papermill

from .render import notebook_to_html
from .summary import write_json

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
#: Outgoing report name -> (notebook, title).
REPORTS = {
    "monthly-report": ("monthly_report.ipynb", "Monthly opt-in model report"),
    "dpia-evidence": ("dpia_evidence.ipynb", "DPIA risk-mitigation evidence"),
}
KERNEL = "python3"
#: Quieten the kernel's start-up warnings (ipykernel 7 warns about local TCP transport).
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]


class ReportError(Exception):
    """A report notebook failed; the message names the notebook, cell and error."""


@dataclass
class Timings:
    """Seconds spent per stage of one practice's run."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


def execute(name: str, parameters: dict, folder: Path, keep_notebook: bool) -> Path:
    """Run one report notebook and write its HTML into ``folder``; return the HTML path."""
    notebook, title = REPORTS[name]
    output = folder / f"{name}.ipynb" if keep_notebook else None
    try:
        executed = papermill.execute_notebook(
            NOTEBOOK_DIR / notebook,
            output,
            parameters=parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            cwd=NOTEBOOK_DIR,
            extra_arguments=KERNEL_ARGS,
        )
    except papermill.PapermillExecutionError as exc:
        raise ReportError(
            f"{notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        ) from None
    html = notebook_to_html(executed, f"{title} — {parameters['practice']} {parameters['period']}")
    path = folder / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path


def write_reports(
    bundle: dict, final: Path, keep_notebooks: bool = False, timings: Timings | None = None
) -> list[Path]:
    """Write summary.json and every report for a bundle into ``final``, all or nothing."""
    timings = timings or Timings()
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.partial-"))
    stage.chmod(0o755)
    try:
        write_json(bundle, stage / "summary.json")
        parameters = {
            "practice": bundle["practice"]["ods_code"],
            "period": bundle["period"],
            "summary_path": str(stage / "summary.json"),
        }
        for name in REPORTS:
            with timings.stage(f"report:{name}"):
                execute(name, parameters, stage, keep_notebooks)
        publish(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return sorted(final.iterdir())


def publish(stage: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``stage`` folder (renames only, same filesystem)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(stage, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
