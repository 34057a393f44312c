"""The DPIA as a PDF for filing, made from its HTML without a browser or the network.

WeasyPrint lays out the static HTML (inline SVG charts, the report's print stylesheet)
on A4 in the typeface shipped with the package (:mod:`optin_analysis.reports.fonts`), so
the layout is the same on every machine. It fetches nothing else: any other URL it is
asked for is refused.

A filed PDF says what it is on its own: document properties (title, the practice as
author, subject, keywords, and the practice's ODS code and period as custom properties)
and, on every page, the practice and period and "Page N of M". Blocks marked ``keep``
in the report (the risk matrix, a risk's measures) and table rows never split across
pages (the report's print stylesheet).
"""

from __future__ import annotations

import contextlib
import ctypes
import html as html_lib
import multiprocessing
import multiprocessing.util
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from optin_analysis.reports import fonts
from optin_analysis.reports.files import write_bytes_atomically

#: What to install where WeasyPrint's system libraries are missing.
SYSTEM_LIBRARIES = (
    "Pango (Debian/Ubuntu: apt install libpango-1.0-0 libpangoft2-1.0-0; "
    "see doc.courtbouillon.org/weasyprint, 'First steps')"
)


def unavailable() -> str | None:
    """Why PDFs cannot be made on this machine (WeasyPrint cannot load), or None."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"WeasyPrint cannot load ({first}); it needs {SYSTEM_LIBRARIES}"
    return None


def _fonts_only(url: str, *args, **kwargs) -> dict:
    """WeasyPrint's fetcher: the shipped font files, and nothing else."""
    if path := fonts.font_files().get(url):
        return {"string": path.read_bytes(), "mime_type": "font/ttf"}
    raise ValueError(f"the PDF may not fetch {url!r}: reports are self-contained")


def properties(bundle: dict, title: str = "Data protection impact assessment") -> dict:
    """The document properties of a practice-month's PDF, from its bundle."""
    p = bundle["practice"]
    who = f"{p['name']} ({p['ods_code']})"
    return {
        "title": f"{title}: {who}, {bundle['period']}",
        "author": p["name"],
        "subject": f"{title} of {who} for {bundle['period']}, with the month's evidence",
        "keywords": [
            "DPIA",
            p["ods_code"],
            bundle["period"],
            f"{p['model'].replace('_', '-')} model",
        ],
        "practice": p["ods_code"],
        "period": bundle["period"],
    }


def _css_string(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


FOOTER = "font-size: 8pt; color: #4c6272;"


def page_css(props: dict | None) -> str:
    """Every page's footer: the practice and period on the left, "Page N of M" right."""
    label = ""
    if props:
        words = f"DPIA: {props['author']} ({props['practice']}), {props['period']}"
        label = f"@bottom-left {{ content: {_css_string(words)}; {FOOTER} }}"
    pages = f'@bottom-right {{ content: "Page " counter(page) " of " counter(pages); {FOOTER} }}'
    return f"@page {{ {label} {pages} }}"


def with_properties(html: str, props: dict | None) -> str:
    """``html`` with its <title> and <meta> tags carrying ``props`` (WeasyPrint makes
    them the PDF's document properties)."""
    if not props:
        return html
    esc = html_lib.escape
    metas = "".join(
        f'<meta name="{name}" content="{esc(value)}">'
        for name, value in (
            ("author", props["author"]),
            ("description", props["subject"]),
            ("keywords", ", ".join(props["keywords"])),
            ("practice", props["practice"]),
            ("period", props["period"]),
        )
    )
    title = f"<title>{esc(props['title'])}</title>"
    html, found = re.subn(
        r"<title>.*?</title>", lambda _m: title + metas, html, count=1, flags=re.S
    )
    return html if found else html.replace("</head>", title + metas + "</head>", 1)


def html_to_pdf(html: str, props: dict | None = None) -> bytes:
    """The page ``html`` as PDF bytes (A4, as the report's print stylesheet sets), with
    ``props`` (see :func:`properties`) as its document properties and page footers."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    faces = weasyprint.CSS(string=fonts.font_face_css(), font_config=font_config)
    pages = weasyprint.CSS(string=page_css(props), font_config=font_config)
    document = weasyprint.HTML(string=with_properties(html, props), url_fetcher=_fonts_only)
    return document.write_pdf(
        stylesheets=[faces, pages], font_config=font_config, custom_metadata=True
    )


def write_pdf(html: str, path: Path, props: dict | None = None) -> Path:
    """Write ``html`` as a PDF at ``path``, atomically (``props``: see :func:`properties`)."""
    return write_bytes_atomically(html_to_pdf(html, props), path)


# --- helper processes: PDFs laid out on another core ------------------------------------

PR_SET_PDEATHSIG = 1  #: prctl(2) option: a signal for this process when its parent dies


def _pdf_helper_init(parent: int) -> None:
    """The PDF helper ends with the process that started it and leaves Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    with contextlib.suppress(ImportError, OSError):  # its first PDF need not wait for it
        import weasyprint  # noqa: F401


_helper: ProcessPoolExecutor | None = None
_wanted = 1  #: helper processes of the next pool made


def pdf_helper() -> ProcessPoolExecutor:
    """This process's PDF helpers: PDFs are laid out on another core while the kernel
    executes the next notebooks (a thread would fight the worker for the GIL).

    Start them from the process's main thread (:func:`start_pdf_helper`): they end with
    the thread that started them (``PR_SET_PDEATHSIG`` follows threads)."""
    global _helper
    if _helper is None:
        _helper = ProcessPoolExecutor(
            _wanted, mp_context=multiprocessing.get_context("spawn"),
            initializer=_pdf_helper_init, initargs=(os.getpid(),),
        )  # fmt: skip
        # A worker of the batch's pool ends without running atexit handlers, but joins
        # its children: shut the helpers down first, or the worker would wait for them
        # for ever; before multiprocessing closes its queues (finalizers of priority 10).
        multiprocessing.util.Finalize(_helper, _helper.shutdown, exitpriority=100)
        with _main_script_hidden():
            for _ in range(_wanted):  # a pool starts a process for a job only when none
                _helper.submit(int)  # is idle: one quick job each starts them all here
    return _helper


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Processes spawned meanwhile do not run this process's main script again.

    A spawned process imports the parent's ``__main__`` by its file unless it has none;
    the console script's imports the whole command line (0.2 s of CPU a helper, when a
    run with PDFs is CPU-bound), and the helpers need only this module. A main module
    run with ``-m`` is imported by name, as before. (What a spawned process is told to
    import is decided by ``multiprocessing.spawn.get_preparation_data``: the ``__main__``
    module's ``__file__``, when it has no ``__spec__``.)
    """
    main = sys.modules["__main__"]
    script = None
    if getattr(main, "__spec__", None) is None:
        script = main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        if script is not None:
            main.__file__ = script


def start_pdf_helper(processes: int | None = None) -> None:
    """Start the PDF helpers now, from this (the main) thread, unless they are running:
    ``processes`` of them (else as many as last asked for; at first one). Helpers one of
    which died are replaced (their pool is broken: every PDF would fail)."""
    global _wanted
    if _helper is not None:
        try:
            _helper.submit(int)  # refused at once by a broken pool
        except BrokenProcessPool:
            stop_pdf_helper()
    if _helper is None:
        _wanted = processes or _wanted
    pdf_helper()


def stop_pdf_helper(kill: bool = False) -> None:
    """Let this process's PDF helpers go (if any), without waiting for them: each ends
    once its PDF is laid out; with ``kill`` (helpers that did not answer), at once."""
    global _helper
    if _helper is not None:
        # the pool's own record of its processes (Python 3.14 has kill_workers() for it)
        processes = list((getattr(_helper, "_processes", None) or {}).values()) if kill else []
        _helper.shutdown(wait=False, cancel_futures=True)
        _helper = None
        for process in processes:
            with contextlib.suppress(Exception):
                process.kill()


def unavailable_in_helper(processes: int) -> str | None:
    """:func:`unavailable`, answered by this process's PDF helpers (started now if they
    are not running: ``processes`` of them), which import WeasyPrint anyway; so this
    process need not (0.4 s of CPU). Answered here if the helpers cannot answer within
    a minute (those helpers are killed); the helpers are let go if PDFs cannot be made."""
    start_pdf_helper(processes)
    try:
        why = pdf_helper().submit(unavailable).result(timeout=60)
    except (BrokenProcessPool, TimeoutError):
        stop_pdf_helper(kill=True)
        return unavailable()
    if why is not None:
        stop_pdf_helper()
    return why


def timed_pdf(html: str, path: Path, props: dict | None = None) -> float:
    """:func:`write_pdf`, in a helper; returns the seconds it took."""
    start = time.perf_counter()
    write_pdf(html, path, props)
    return time.perf_counter() - start
