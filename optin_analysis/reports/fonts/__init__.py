"""The typeface the reports are drawn in, shipped with the package: DejaVu Sans.

The DPIA PDF and the charts' SVG text are laid out with these files, never with the
machine's fonts, so a page breaks, a label fits and a test passes the same way on every
machine (a machine with only other fonts once wrapped "Article 36" across two lines).
DejaVu Sans covers every character the reports print (the step marks ✔ ◐ ✘ included).
Licence: ``LICENSE`` beside the files (Bitstream Vera, DejaVu changes in the public
domain); the files are unmodified.
"""

from __future__ import annotations

import functools
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
FAMILY = "DejaVu Sans"
#: (CSS font-weight, font-style) -> file
FACES = {
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
}


def font_files() -> dict[str, Path]:
    """The shipped faces by ``file:`` URL (all a PDF may load)."""
    return {(FONT_DIR / name).as_uri(): FONT_DIR / name for name in FACES.values()}


def font_face_css() -> str:
    """``@font-face`` rules naming the shipped files, and the PDF's text set in them."""
    rules = [
        f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; font-style: {style};'
        f' src: url("{(FONT_DIR / name).as_uri()}"); }}'
        for (weight, style), name in FACES.items()
    ]
    return "\n".join([*rules, f'html, body, code, pre {{ font-family: "{FAMILY}"; }}'])


@functools.cache
def register_for_charts() -> None:
    """Let vl-convert measure and draw chart text with the shipped faces (once a process)."""
    import vl_convert as vlc

    vlc.register_font_directory(str(FONT_DIR))
