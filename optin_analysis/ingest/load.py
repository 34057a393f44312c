"""Ingestion: one practice's extracts, read through its supplier mapping and validated.

``load_practice`` is the single entry point from files to canonical tables: everything
downstream (measures, worklists, reports) starts from the :class:`PracticeData` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from optin_analysis.config import Practice
from optin_analysis.ingest.adapters import load_mapping, read_raw
from optin_analysis.ingest.codelist import load_codelist
from optin_analysis.problems import InputError, Problem, errors


@dataclass
class PracticeData:
    """A practice's validated canonical tables and the warnings found on the way in."""

    profile: Practice
    patients: pd.DataFrame
    events: pd.DataFrame
    warnings: list[Problem] = field(default_factory=list)


def load_practice(profile: Practice, codelist: pd.DataFrame | None = None) -> PracticeData:
    """Read, map and validate one practice's extracts; raise :class:`InputError` on errors.

    All problems in both files are collected before raising, so one run lists them all.
    The practice's ``limits`` (the run's, by default) bound what is read.
    """
    from optin_analysis.ingest import validate  # here: what reads PracticeData needs not

    codelist = load_codelist() if codelist is None else codelist
    mapping = load_mapping(profile.supplier, profile.mapping)
    limits = profile.limits
    raw_p = read_raw(profile.patients, mapping.patients, "patients", mapping.encoding, limits)
    patients, problems = validate.patients(
        raw_p, mapping.patients, profile.ods_code, profile.extract_date, limits
    )
    problems, large = raw_p.problems + problems, _release(raw_p)
    del raw_p  # the text: gone before the events are read
    if large:
        give_back()
    try:
        raw_e = read_raw(profile.events, mapping.events, "events", mapping.encoding, limits)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    events, event_problems = validate.events(
        raw_e,
        mapping.events,
        profile.ods_code,
        profile.extract_date,
        patients["patient_id"],
        codelist,
        limits,
    )
    problems += raw_e.problems + event_problems
    large |= _release(raw_e)
    del raw_e
    if large:
        give_back()
    if errors(problems):
        raise InputError(problems)
    return PracticeData(profile, patients, events, problems)


#: Text tables larger than this (bytes) are given back to the system once read: Arrow's
#: allocator keeps freed memory for reuse, which for the largest practices doubled the
#: memory the measures start from.
RELEASE_BYTES = 64 << 20


def _release(raw) -> bool:
    """Whether ``raw`` is large enough to give its memory back once it is dropped."""
    return raw.table.get_total_buffer_size() > RELEASE_BYTES  # buffers: cheaper than nbytes


def give_back() -> None:
    """Return the memory Arrow's allocator holds unused to the system (a few ms)."""
    pa.default_memory_pool().release_unused()
