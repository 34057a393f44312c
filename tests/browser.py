"""Open a local HTML report in headless Chromium with the network blocked.

Used by the browser tests (and handy from a REPL)::

    from tests.browser import open_offline
    report = open_offline("reports/2026-10/A81001.html", screenshot=tmp_path / "report.png")
    assert report.ok, report

(in a test, ``tmp_path`` is pytest's temporary folder: write screenshots nowhere else).

Needs Playwright for Python (``pip install playwright``; its own browser download is
*not* used) and a system Chromium: ``/usr/bin/chromium`` (Debian package ``chromium``)
or the path in ``OPTIN_CHROMIUM``. Tests call ``require_browser()``: it skips when either
is missing, or fails if ``OPTIN_REQUIRE_BROWSER=1`` (CI sets it so a missing browser
cannot silently turn the check off).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # running as root in containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    # Belt and braces: even a request that escaped page routing cannot resolve a host.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
CHART_SELECTOR = ".chart"
RENDER_TIMEOUT_MS = 15_000
ERROR_GRACE_MS = 1_000  # after the first JS error, wait this long for the rest, then stop
_COUNT_CHARTS = """sel => {
    const charts = Array.from(document.querySelectorAll(sel));
    return [charts.length, charts.filter(el => el.querySelector('svg, canvas')).length];
}"""


@dataclass
class PageReport:
    """What happened when the page was opened offline."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    network_requests: list[str] = field(default_factory=list)  # attempted non-local fetches
    failed_requests: list[str] = field(default_factory=list)  # any request that failed
    chart_count: int = 0
    charts_rendered: int = 0  # .chart containers holding an <svg> or <canvas>
    tooltip_text: str | None = None  # set when hover_selector was given and a tooltip showed
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.console_errors
            and not self.page_errors
            and not self.network_requests
            and not self.failed_requests
            and self.charts_rendered == self.chart_count
        )


def chromium_path() -> str | None:
    """The Chromium executable to drive, or None."""
    override = os.environ.get("OPTIN_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def browser_unavailable_reason() -> str | None:
    """Why the browser check cannot run here, or None if it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if chromium_path() is None:
        return "no Chromium found (apt-get install -y chromium, or set OPTIN_CHROMIUM)"
    return None


def require_browser() -> None:
    """Skip the calling test if no browser; fail instead when OPTIN_REQUIRE_BROWSER=1."""
    from tests.system import require

    require("chromium")


def _wait_for_charts(page, report: PageReport) -> tuple[int, int]:
    """Poll until every chart has drawn, or a JS error has had its grace period, or timeout."""
    waited = 0
    error_seen_at: int | None = None
    while True:
        total, drawn = page.evaluate(_COUNT_CHARTS, CHART_SELECTOR)
        if drawn == total or waited >= RENDER_TIMEOUT_MS:
            return total, drawn
        if error_seen_at is None and (report.page_errors or report.console_errors):
            error_seen_at = waited
        if error_seen_at is not None and waited - error_seen_at >= ERROR_GRACE_MS:
            return total, drawn
        page.wait_for_timeout(100)
        waited += 100


def open_offline(
    html_path: Path | str,
    *,
    screenshot: Path | str | None = None,
    hover_selector: str | None = None,
    viewport: tuple[int, int] = (1100, 900),
    javascript: bool = False,
) -> PageReport:
    """Load ``html_path`` from disk with every non-``file:``/``data:`` request aborted and,
    unless ``javascript``, scripts disabled (as in mail previews and document viewers).

    Waits until every ``.chart`` holds an ``svg``/``canvas`` (at most RENDER_TIMEOUT_MS;
    ERROR_GRACE_MS after a JavaScript error), then counts charts. Optionally hovers
    ``hover_selector`` and records the tooltip text, and saves a full-page PNG to
    ``screenshot``.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError(browser_unavailable_reason() or "no Chromium")
    url = Path(html_path).resolve().as_uri()
    report = PageReport(url=url)

    def is_local(request_url: str) -> bool:
        return request_url.lower().startswith(LOCAL_SCHEMES)

    def on_route(route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            if route.request.url not in report.network_requests:
                report.network_requests.append(route.request.url)
            route.abort("blockedbyclient")

    def on_request(request) -> None:  # also catches anything routing did not see
        if not is_local(request.url) and request.url not in report.network_requests:
            report.network_requests.append(request.url)

    def on_console(message) -> None:
        if message.type == "error":
            report.console_errors.append(message.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
                java_script_enabled=javascript,
            )
            context.route("**/*", on_route)
            page = context.new_page()
            page.on("request", on_request)
            page.on("requestfailed", lambda r: report.failed_requests.append(r.url))
            page.on("console", on_console)
            page.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
            page.goto(url, wait_until="load")
            report.chart_count, report.charts_rendered = _wait_for_charts(page, report)
            if hover_selector is not None:
                try:
                    page.hover(hover_selector, timeout=5_000)
                    page.wait_for_selector("#vg-tooltip-element.visible", timeout=5_000)
                    report.tooltip_text = page.inner_text("#vg-tooltip-element")
                except PlaywrightError:  # includes TimeoutError
                    report.tooltip_text = None
            if screenshot is not None:
                report.screenshot = Path(screenshot)
                page.mouse.move(0, 0)  # no tooltip in the picture
                page.screenshot(path=str(report.screenshot), full_page=True)
        finally:
            browser.close()
    return report
