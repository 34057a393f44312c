"""The DPIA PDF: document properties, "Page N of M", and blocks that never split."""

from __future__ import annotations

import io

from pypdf import PdfReader

from optin_analysis.reports import pdf
from optin_analysis.reports.render import TEMPLATE_DIR
from tests.system import require

BUNDLE = {
    "practice": {"ods_code": "A81001", "name": 'Riverside "Surgery"', "model": "opt_in"},
    "period": "2026-10",
}
CSS = (TEMPLATE_DIR / "offline" / "static" / "report.css").read_text(encoding="utf-8")


def _page(body: str) -> str:
    return f"<html><head><title>x</title><style>{CSS}</style></head><body>{body}</body></html>"


def test_properties_say_what_the_pdf_is():
    props = pdf.properties(BUNDLE)
    assert props["title"] == (
        'Data protection impact assessment: Riverside "Surgery" (A81001), 2026-10'
    )
    assert props["keywords"] == ["DPIA", "A81001", "2026-10", "opt-in model"]
    # the footer's words are one CSS string, quotes escaped
    assert 'content: "DPIA: Riverside \\"Surgery\\" (A81001), 2026-10";' in pdf.page_css(props)
    assert "<title>Data protection impact assessment: Riverside &quot;Surgery&quot;" in (
        pdf.with_properties("<head><title>old</title></head>", props)
    )


def test_the_pdf_carries_its_properties_and_page_numbers():
    require("pango")
    filler = "<p>" + "A line of the DPIA. " * 40 + "</p>"
    data = pdf.html_to_pdf(_page(filler * 12), pdf.properties(BUNDLE))
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title.endswith("(A81001), 2026-10")
    assert reader.metadata.author == 'Riverside "Surgery"'
    assert reader.metadata["/practice"] == "A81001" and reader.metadata["/period"] == "2026-10"
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {pages}" in text
        assert 'DPIA: Riverside "Surgery" (A81001), 2026-10' in text


def _pages_holding(kept: str) -> list[int]:
    # Text filling half the first page, then a 20-row table that does not fit below it.
    filler = "<p>" + "A line of the DPIA. " * 40 + "</p>"
    rows = "".join(f"<tr><td>KEEP-{i}</td></tr>" for i in range(1, 21))
    block = f"<div class='{kept}'><table class='matrix'><tbody>{rows}</tbody></table></div>"
    reader = PdfReader(io.BytesIO(pdf.html_to_pdf(_page(filler * 4 + block))))
    return [n for n, page in enumerate(reader.pages) if "KEEP-" in page.extract_text()]


def test_a_kept_block_moves_whole_to_the_next_page():
    require("pango")
    assert _pages_holding("other") == [0, 1]  # not kept: the table runs on to page 2
    assert _pages_holding("keep") == [1]  # kept: all of it starts page 2
