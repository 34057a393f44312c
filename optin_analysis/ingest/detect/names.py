"""A practice from a folder or file name: its ODS code and its name."""

from __future__ import annotations

import re

_ODS = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]\d{5})(?![A-Za-z0-9])")
_GENERIC_NAMES = {"exports", "export", "extracts", "extract", "data", "csv", "files", "searches"}


def ods_in_name(*names: str) -> str | None:
    """The first ODS practice code (a letter and five digits) in ``names``, upper case."""
    for name in names:
        found = _ODS.search(name)
        if found:
            return found.group(1).upper()
    return None


def practice_name(folder: str) -> str | None:
    """A practice name from a folder name: what is left beside the ODS code, if anything
    ("Y90001 - Riverside Surgery" -> "Riverside Surgery"; "exports" -> None)."""
    rest = _ODS.sub(" ", folder)
    rest = " ".join(re.sub(r"[_\s]+", " ", rest).split()).strip(" -_.,")
    if not rest or rest.lower() in _GENERIC_NAMES or not re.search("[A-Za-z]", rest):
        return None
    return rest
