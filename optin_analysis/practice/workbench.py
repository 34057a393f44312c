"""The data lead's workbench notebooks, copied out of the installed package.

``optin-analysis notebooks --out DIR [--config CFG]`` writes the practice dashboard and
the API walk-through (``explore``) into a folder of the data lead's choice, their
``config`` parameter pointing at the run configuration, ready to open in JupyterLab.
Notebooks already there are kept unless asked to replace them: they may hold the data
lead's own work.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat

from optin_analysis.reports.kernel import NOTEBOOK_DIR

WORKBENCH = ("practice_dashboard.ipynb", "explore.ipynb")
_CONFIG_LINE = re.compile(r'^config = ".*?"', re.MULTILINE)


class WorkbenchError(Exception):
    """The notebooks cannot be written; the message says why."""


def _point_at(nb: nbformat.NotebookNode, config: str) -> None:
    """Set the ``config`` parameter of ``nb``'s parameters cell."""
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = _CONFIG_LINE.sub(lambda _: f"config = {json.dumps(config)}", cell.source)


def copy_workbench(out: Path, config: Path | None = None, replace: bool = False) -> list[Path]:
    """Write the workbench notebooks into ``out``; return their paths.

    ``config``: the run configuration the notebooks open (written relative to ``out``);
    without it, ``config.yaml`` in ``out``. Raises :class:`WorkbenchError` if a notebook
    exists and ``replace`` is false, naming it.
    """
    targets = [out / name for name in WORKBENCH]
    if existing := [str(t) for t in targets if t.exists() and not replace]:
        raise WorkbenchError(f"{', '.join(existing)} already there (--force replaces it)")
    out.mkdir(parents=True, exist_ok=True)
    where = os.path.relpath(config.resolve(), out.resolve()) if config else "config.yaml"
    for name, target in zip(WORKBENCH, targets, strict=True):
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        _point_at(nb, where)
        nbformat.write(nb, target)
    return targets
