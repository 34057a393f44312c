"""The DPIA as a PDF for filing, made from its HTML without a browser or the network.

WeasyPrint lays out the static HTML (inline SVG charts, the report's print stylesheet)
on A4 in the typeface shipped with the package (:mod:`optin_analysis.reports.fonts`), so
the layout is the same on every machine. It fetches nothing else: any other URL it is
asked for is refused.
"""

from __future__ import annotations

from pathlib import Path

from optin_analysis.reports import fonts
from optin_analysis.reports.render import write_bytes_atomically

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


def html_to_pdf(html: str) -> bytes:
    """The page ``html`` as PDF bytes (A4, as the report's print stylesheet sets)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    faces = weasyprint.CSS(string=fonts.font_face_css(), font_config=font_config)
    document = weasyprint.HTML(string=html, url_fetcher=_fonts_only)
    return document.write_pdf(stylesheets=[faces], font_config=font_config)


def write_pdf(html: str, path: Path) -> Path:
    """Write ``html`` as a PDF at ``path``, atomically."""
    return write_bytes_atomically(html_to_pdf(html), path)
