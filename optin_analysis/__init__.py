"""optin-analysis: run and evidence an opt-in model for online access to GP records.

The public API, for notebooks and scripts (everything else is internal)::

    import optin_analysis as oa

    cfg = oa.load_config("data/sample/config.yaml")      # a run configuration
    data = oa.load_practice(cfg.practice("Y90001"))     # one practice's validated extracts
    month = oa.compute(data, "2026-10")                  # every measure of a month (exact)
    t = oa.tables(month)                                 # headline, trends, pending_16, ...
    oa.enable_offline_charts()                           # JupyterLab charts with no network
    oa.trend_chart(t["trends"])                          # an Altair chart

* :func:`load_config` -- read and validate a run configuration (YAML).
* :func:`load_practice` -- read, map and validate one practice's extracts.
* :func:`compute` -- every measure of a practice for a period ``YYYY-MM``.
* :func:`month_measures` -- the same for any reference date and period start.
* :func:`tables` -- a month's measures as display tables.
* :func:`worklists` -- whom to revoke, whom to protect, whose request waits.
* :func:`enable_offline_charts`, :func:`trend_chart`, :func:`cohort_chart` -- charts.
* :class:`Dashboard` -- the practice dashboard (ipywidgets) for JupyterLab.

Figures and worklists from these are exact and carry identifiers: practice-internal.
Names are imported on first use, so ``import optin_analysis`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

#: Public name -> module that defines it.
_API = {
    "load_config": "optin_analysis.config",
    "load_practice": "optin_analysis.ingest.load",
    "compute": "optin_analysis.outgoing.summary",
    "month_measures": "optin_analysis.measures.month",
    "tables": "optin_analysis.practice.dashboard",
    "worklists": "optin_analysis.practice.worklists",
    "enable_offline_charts": "optin_analysis.practice.charts",
    "trend_chart": "optin_analysis.practice.charts",
    "cohort_chart": "optin_analysis.practice.charts",
    "Dashboard": "optin_analysis.practice.dashboard",
}
__all__ = [
    "Dashboard",
    "__version__",
    "cohort_chart",
    "compute",
    "enable_offline_charts",
    "load_config",
    "load_practice",
    "month_measures",
    "tables",
    "trend_chart",
    "worklists",
]

if TYPE_CHECKING:
    from optin_analysis.config import load_config
    from optin_analysis.ingest.load import load_practice
    from optin_analysis.measures.month import month_measures
    from optin_analysis.outgoing.summary import compute
    from optin_analysis.practice.charts import cohort_chart, enable_offline_charts, trend_chart
    from optin_analysis.practice.dashboard import Dashboard, tables
    from optin_analysis.practice.worklists import worklists


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _API:
        raise AttributeError(f"module 'optin_analysis' has no attribute {name!r}")
    value = getattr(import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
