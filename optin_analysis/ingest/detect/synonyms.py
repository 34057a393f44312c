"""What real exports call things: the canonical columns' other headings and the coded
columns' other values, in normal form (see :func:`normal`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The canonical columns that hold dates.
DATE_COLUMNS = {
    "date_of_birth",
    "registration_date",
    "online_account_date",
    "access_start_date",
    "event_date",
}

#: patient_id's other headings, the same in patients and events exports.
_PATIENT_ID = (
    "patient id", "patient identifier", "patient number", "patient no", "id",
    "patient ref", "patient reference", "emis number", "emis no", "emis id",
    "emis patient number", "systmone id", "systmone number", "internal id",
    "local patient id", "patient guid",
)  # fmt: skip

#: Other headings real searches use for each canonical column, per table. Written in
#: normal form (see :func:`normal`); the shipped EMIS and TPP headings count as well.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "patients": {
        "patient_id": _PATIENT_ID,
        "nhs_number": ("nhs number", "nhs no", "nhs num", "nhs", "nhs id", "nhsnumber"),
        "date_of_birth": ("date of birth", "dob", "d o b", "birth date", "birthdate", "born"),
        "sex": ("sex", "gender"),
        "registration_date": (
            "registration date", "date registered", "registered on", "registered",
            "registered date", "reg date", "date of registration", "gms registration date",
            "registration start date", "date joined", "date of current registration",
        ),
        "online_account": (
            "online services status", "online user", "online access status", "online status",
            "online account", "online account status", "online services",
            "online services account", "nhs app user", "nhs app account", "patient online",
            "patient online status",
        ),
        "online_account_date": (
            "online services registration date", "online user since", "online account date",
            "online registration date", "online account created", "online services since",
            "online services registered on", "online services date", "nhs app registration date",
            "online access registration date", "online account since",
        ),
        "access_level": (
            "record access", "record access level", "access level", "online record access",
            "record access type", "online record access level", "patient record access",
            "online access level", "prospective access", "record access setting",
        ),
        "access_start_date": (
            "record access date", "record access from", "record access start date",
            "access start date", "access from", "access date", "record access since",
            "prospective access from", "prospective access date", "online access from",
        ),
    },
    "events": {
        "patient_id": _PATIENT_ID,
        "code": (
            "snomed ct concept id", "snomed code", "snomed ct code", "snomed", "snomed ct",
            "snomed concept id", "concept id", "conceptid", "code", "read code",
            "clinical code", "code id", "code value", "ctv3 code", "emis code",
        ),
        "event_date": (
            "date", "event date", "date added", "effective date", "entry date",
            "consultation date", "date recorded", "recorded date", "recorded on",
            "code date", "date of entry", "date entered", "added on", "date coded",
        ),
    },
}  # fmt: skip

#: Headings of a code's wording: not read by the run, shown by init beside local codes.
TERM_HEADINGS = (
    "term", "description", "rubric", "code term", "preferred term", "code description",
    "snomed term", "snomed description", "display", "code text",
)  # fmt: skip

#: Values of the coded columns other than the shipped ones, in normal form.
VALUE_SYNONYMS: dict[str, dict[str, bool | str]] = {
    "online_account": {
        "live": True, "active": True, "y": True, "yes": True, "true": True, "1": True,
        "registered": True, "enabled": True, "inactive": False, "archived": False,
        "n": False, "no": False, "false": False, "0": False, "not registered": False,
        "disabled": False, "none": False, "": False,
    },
    "access_level": {
        "": "none", "none": "none", "no access": "none", "no": "none", "n": "none",
        "summary": "summary", "summary information only": "summary",
        "summary information": "summary", "summary record": "summary",
        "detailed coded record": "detailed_coded", "detailed coded": "detailed_coded",
        "dcr": "detailed_coded", "detailed": "detailed_coded",
        "full record prospective": "full_prospective", "full record": "full_prospective",
        "full clinical record prospective": "full_prospective",
        "full clinical record": "full_prospective", "full prospective": "full_prospective",
        "full": "full_prospective", "prospective": "full_prospective",
        "full prospective access": "full_prospective",
    },
}  # fmt: skip


def normal(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: "NHS No." -> "nhs no"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def canonical_columns(table: str) -> tuple[str, ...]:
    """The canonical columns a mapping of ``table`` names, in the shipped order."""
    return tuple(SYNONYMS[table])


def value_map(
    canonical: str, seen: Iterable[str], base: dict[str, bool | str]
) -> tuple[dict[str, bool | str], list[str]]:
    """``base`` (a mapping's values for ``canonical``) plus seen values it lacks that
    :data:`VALUE_SYNONYMS` knows; and the seen values neither knows (the user must say)."""
    out = dict(base)
    unknown = []
    for value in sorted({v.strip() for v in seen}):
        if value in out:
            continue
        known = VALUE_SYNONYMS.get(canonical, {}).get(normal(value))
        if known is None:
            unknown.append(value)
        else:
            out[value] = known
    return out, unknown
