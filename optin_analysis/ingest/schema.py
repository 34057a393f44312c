"""The canonical, supplier-neutral tables every adapter produces and every measure reads.

Two tables, one row shape each, whatever the clinical system:

``patients``
    One row per patient registered at the practice on the extract date.
``events``
    One row per coded entry (SNOMED CT concept) in a patient's record, with its date,
    already classified into an :class:`EventType` through the codelist.

Columns are listed in :data:`PATIENT_COLUMNS` and :data:`EVENT_COLUMNS` with the
caveats a user must know. Dates are ``datetime64`` (midnight, no time zone).
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class AccessLevel(StrEnum):
    """Level of prospective online record access configured in the patient's account."""

    NONE = "none"  #: no record access online (appointments/prescriptions only)
    SUMMARY = "summary"  #: summary information: allergies, medications, immunisations
    DETAILED_CODED = "detailed_coded"  #: DCR: every coded entry, no free text or letters
    FULL_PROSPECTIVE = (
        "full_prospective"  #: full record (DCR + free text, letters) from a start date
    )


class EventType(StrEnum):
    """What a coded entry means for the opt-in model (the codelist maps codes to these)."""

    ENHANCED_REVIEW_ADDED = "enhanced_review_added"  #: the "104 code": protection
    ENHANCED_REVIEW_REMOVED = "enhanced_review_removed"  #: the "106 code": cancels a 104
    OPT_OUT = "opt_out"  #: online access declined by the patient ("103 code")
    OPT_IN_REQUESTED = "opt_in_requested"  #: patient asked for access (local code)
    COUNSELLED = "counselled"  #: patient counselled about what access shows (local code)
    OPT_IN_DECLINED = "opt_in_declined"  #: request closed without access after review (local)
    ACCESS_GRANTED = "access_granted"  #: full prospective access provisioned by hand (local)
    ACCESS_REVOKED = "access_revoked"  #: full prospective access removed by hand (local)
    LETTER_ISSUED = "letter_issued"  #: online services registration letter printed (local)
    WITHHELD_AFTER_REVIEW = "withheld_after_review"  #: withheld after enhanced review
    GRANTED_AFTER_REVIEW = "granted_after_review"  #: granted after enhanced review


#: Canonical ``patients`` columns and what each means.
PATIENT_COLUMNS: dict[str, str] = {
    "practice_code": "ODS code of the practice (from the run configuration, not the file).",
    "patient_id": "Supplier-local patient identifier; unique within a practice.",
    "nhs_number": "Optional 10-digit NHS number with a valid Modulus 11 check digit.",
    "date_of_birth": "Date of birth; some exports round it to the month (ages then approximate).",
    "sex": "Optional, as recorded (free text, not validated).",
    "registration_date": "Date of the current registration at this practice.",
    "online_account": (
        "True when the patient has an online services / NHS App account linked to the practice "
        "that can be used (EMIS status Active or Live; TPP online user)."
    ),
    "online_account_date": "Optional date the online account was created or linked.",
    "access_level": "Current prospective access level: one of AccessLevel.",
    "access_start_date": "Optional start date of the current access level.",
}

#: Canonical ``events`` columns and what each means.
EVENT_COLUMNS: dict[str, str] = {
    "practice_code": "ODS code of the practice.",
    "patient_id": "Patient the entry belongs to; must be in the patients extract.",
    "code": "SNOMED CT concept id (or the practice's local code) as text.",
    "event_date": "Date the entry applies from (the consultation/effective date).",
    "event_type": "EventType from the codelist; empty for codes the codelist does not know.",
}

DATE_COLUMNS = ("date_of_birth", "registration_date", "online_account_date", "access_start_date")


def empty_patients() -> pd.DataFrame:
    """A canonical patients table with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "practice_code": pd.Series(dtype="str"),
            "patient_id": pd.Series(dtype="str"),
            "nhs_number": pd.Series(dtype="str"),
            "date_of_birth": pd.Series(dtype="datetime64[us]"),
            "sex": pd.Series(dtype="str"),
            "registration_date": pd.Series(dtype="datetime64[us]"),
            "online_account": pd.Series(dtype="bool"),
            "online_account_date": pd.Series(dtype="datetime64[us]"),
            "access_level": pd.Series(dtype="str"),
            "access_start_date": pd.Series(dtype="datetime64[us]"),
        }
    )


def empty_events() -> pd.DataFrame:
    """A canonical events table with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "practice_code": pd.Series(dtype="str"),
            "patient_id": pd.Series(dtype="str"),
            "code": pd.Series(dtype="str"),
            "event_date": pd.Series(dtype="datetime64[us]"),
            "event_type": pd.Series(dtype="str"),
        }
    )
