"""System parts some tests need beyond the Python lock, and what to do where one is missing.

- **Chromium** (with Playwright, which is in the lock): the browser checks of the reports
  and of JupyterLab. Debian/Ubuntu: ``apt-get install -y chromium``.
- **Pango**: WeasyPrint's layout library, for the DPIA PDFs. Debian/Ubuntu:
  ``apt-get install -y libpango-1.0-0 libpangoft2-1.0-0``.

:func:`require` skips the calling test where its part is missing, or fails it when
``OPTIN_REQUIRE_BROWSER=1`` (CI sets it, so a missing part can never silently turn a check
off). ``conftest.py`` gathers the skips into one line at the end of the run.
"""

from __future__ import annotations

import functools
import os

import pytest

#: part -> (what it is, the command that installs it)
PARTS = {
    "chromium": ("Chromium", "apt-get install -y chromium"),
    "pango": ("Pango", "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0"),
}
SKIP_PREFIX = "system part missing: "


def missing(part: str) -> str | None:
    """Why ``part`` cannot be used on this machine, or None."""
    if part == "chromium":
        from tests.browser import browser_unavailable_reason

        return browser_unavailable_reason()
    from optin_analysis.reports import pdf

    return pdf.unavailable()


@functools.cache
def dpia_pdf() -> tuple[str, ...]:
    """The PDF a practice's reports include on this machine (none without Pango)."""
    from optin_analysis.reports import pdf

    return () if pdf.unavailable() else ("dpia.pdf",)


def require(part: str) -> None:
    """Skip the calling test if ``part`` is missing; fail instead when OPTIN_REQUIRE_BROWSER=1."""
    reason = missing(part)
    if reason is None:
        return
    if os.environ.get("OPTIN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"OPTIN_REQUIRE_BROWSER=1 but {PARTS[part][0]} is missing: {reason}")
    pytest.skip(f"{SKIP_PREFIX}{part}")


def skipped_line(reasons: list[str]) -> str | None:
    """One line naming what was skipped for want of which part, and how to install it."""
    counts = {p: sum(r.endswith(SKIP_PREFIX + p) for r in reasons) for p in PARTS}
    parts = [f"{n} test(s) need {PARTS[p][0]} ({PARTS[p][1]})" for p, n in counts.items() if n]
    return f"Skipped, missing on this machine: {'; '.join(parts)}" if parts else None
