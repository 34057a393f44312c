"""Start-up time: keep a slow optional import out of every process that draws charts.

jsonschema (used by Altair and nbformat) checks the ``iri`` string format with
``rfc3987_syntax`` when that is installed (JupyterLab's jupyter-events pulls it in), and
importing it builds a parser: about 1.2 s on each kernel and worker start. Nothing here
validates IRIs, so jsonschema is imported once with that module hidden; the module
itself stays importable for anything else that asks for it afterwards.
"""

from __future__ import annotations

import sys

SLOW = "rfc3987_syntax"


def jsonschema_without_iri_check() -> None:
    """Import jsonschema's format checkers without ``rfc3987_syntax`` (once per process)."""
    if "jsonschema" in sys.modules or SLOW in sys.modules:
        return
    sys.modules[SLOW] = None  # type: ignore[assignment]  # "import" raises ImportError
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules[SLOW]
