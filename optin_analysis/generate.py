"""Synthetic practices, patients and coded histories for the opt-in model (never real data).

The committed sample in ``data/sample/`` is exactly what this call writes (run from the
repository root; ``python -m optin_analysis.generate`` does the same)::

    from pathlib import Path
    from optin_analysis.generate import SAMPLE, generate, write_sample
    write_sample(generate(**SAMPLE), Path("data/sample"), seed=SAMPLE["seed"])

with ``SAMPLE`` below: five practices of about 3,000 patients, one per branch of the
guidance (:data:`SAMPLE_BRANCHES`).

The history follows NHS England's "implementing an opt-in model" guidance. Live practices
went live on 31 October 2023: every account holder aged 16+ who had not opted out got
automatic full prospective access. Opt-in practices then stopped automatic access (EMIS:
a bulk 104 code on one day for everyone aged 15+ without access, then individual 104s for
new registrations and those about to turn 16, a few missed; TPP: the organisation
preference unticked, no codes), reviewed and revoked the automatic access over months,
and counselled and provisioned patients who asked. Practices code grants and revocations
patchily (:class:`Branch`), and a few codes are never acted on in the online account, as
in real records. :class:`Synthetic` carries a ``truth`` table of what the generator knows
by construction so measures can be tested.

Everything is vectorised over patients (numpy); loops run over practices only. One
``seed`` gives identical frames and identical file bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from optin_analysis.config import GoLiveStatus, Model, Supplier, dump_config
from optin_analysis.ingest.adapters import load_mapping, to_supplier_csv
from optin_analysis.ingest.codelist import load_codelist
from optin_analysis.ingest.nhs_number import synthetic as synthetic_nhs_numbers
from optin_analysis.ingest.schema import (
    DATE_COLUMNS,
    AccessLevel,
    EventType,
    empty_events,
    empty_patients,
)

# --- the committed sample ---------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"


@dataclass(frozen=True)
class Branch:
    """A practice's branch of the guidance, its model and its coding habits.

    ``code_grants`` / ``code_revokes`` are the shares of provisions and revocations the
    practice records with its local codes (grant and revoke have no public codes, so real
    practices code them patchily); the online account configuration always has them.
    """

    supplier: Supplier
    status: GoLiveStatus
    model: Model = Model.OPT_IN
    code_grants: float = 1.0
    code_revokes: float = 1.0
    clear_months: float | None = None  #: months to clear the backlog; None: drawn


#: The committed sample: one practice for each branch of the guidance, and one practice on
#: the default (opt-out) model, as an ICB also has.
SAMPLE_BRANCHES = (
    Branch(Supplier.EMIS, GoLiveStatus.LIVE, clear_months=48),  # bulk 104, review, revoke
    Branch(Supplier.EMIS, GoLiveStatus.NOT_PLANNED, code_grants=0.7),  # per-patient setting
    Branch(Supplier.TPP, GoLiveStatus.LIVE, code_grants=0.0, code_revokes=0.9, clear_months=30),
    Branch(Supplier.TPP, GoLiveStatus.DUE),  # yet to go live: preference unticked
    Branch(Supplier.EMIS, GoLiveStatus.LIVE, Model.DEFAULT),
)
SAMPLE: dict = {
    "practices": 5,
    "patients": 15_000,
    "seed": 42,
    "extract_date": dt.date(2026, 10, 31),
    "branches": SAMPLE_BRANCHES,
}

# --- calendar -------------------------------------------------------------------------
GO_LIVE = dt.date(2023, 10, 31)  #: national go-live of automatic prospective access
EARLIEST_EXTRACT = dt.date(2024, 1, 1)
NHS_START = dt.date(1948, 7, 5)  #: no registration is older than the NHS
ACCOUNT_FROM = dt.date(2019, 1, 1)  #: NHS App launch: online account dates start here
OPT_OUT_FROM = dt.date(2022, 11, 1)  #: first publicity of the original go-live date
NEVER = 10**8  #: day number standing for "did not happen (by the extract date)"
DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

# --- practices ------------------------------------------------------------------------
ODS_PREFIX = "Y9"  #: synthetic ODS codes Y90001, Y90002, ...
#: The most patients one practice can have: synthetic NHS numbers are distinct test numbers
#: (999 range, about 909,000 valid ones; :func:`~optin_analysis.ingest.nhs_number.synthetic`).
MAX_PRACTICE_SIZE = 900_000
PRACTICE_SIZE_SIGMA = 0.45  #: lognormal spread of list sizes around the mean
EMIS_SHARE = 0.55
DUE_SHARE = 0.05  #: of practices, when there are at least 5
NOT_PLANNED_SHARE = 0.04
MIN_PRACTICES_FOR_STATUS_MIX = 5
MIN_PRACTICES_FOR_DEFAULT = 10  #: one 'default' model practice among this many or more
WEBSITE_UPDATED_RATE = 0.7  #: live/not-planned practices with a website date
ICB_INFORMED_RATE = 0.6
DUE_CHECKLIST_RATE = 0.35
CLEAR_MONTHS = (6.0, 60.0)  #: range of months practices take to clear the revocation backlog
UPTAKE_RANGE = (0.6, 1.4)  #: practice multiplier on opt-in request rates
SLOWNESS_RANGE = (0.7, 2.5)  #: practice multiplier on counselling/provisioning delays
GRANT_CODING = (1.0, 1.0, 0.8, 0.0)  #: shares of provisions coded, one drawn per practice
REVOKE_CODING = (1.0, 0.9)  #: shares of revocations coded, one drawn per practice

# --- patients -------------------------------------------------------------------------
#: share of the list in 5-year age bands 0-4 ... 85-89, 90+ (ONS mid-year England, rounded)
AGE_BAND_SHARES = np.array(
    [5.4, 5.9, 6.1, 5.8, 6.0, 6.6, 7.0, 6.8, 6.4, 6.1, 6.7, 6.7, 5.9, 5.0, 4.9, 4.1, 2.6, 1.6, 0.9]
)
OLDEST_EXTRA_YEARS = (4.0, 15.0)  #: 90+: 90 + exponential(mean) capped at 90 + cap
FEMALE_SHARE = 0.50
FEMALE_SHARE_80_PLUS = 0.62
REGISTRATION_MEAN_YEARS = 9.0  #: time since registration ~ exponential (list turnover ~11%/yr)
NEWBORN_LAG_DAYS = 84  #: babies are registered within this many days of birth
NHS_NUMBER_MISSING_RATE = 0.002
#: share of patients with an online account by the extract date, by age from 13, 16, 65, 80
ACCOUNT_AGES = np.array([13, 16, 65, 80])
ACCOUNT_SHARES = np.array([0.0, 0.15, 0.74, 0.62, 0.35])
ACCOUNT_SKEW = 0.8  #: account creation = ACCOUNT_FROM + span * U**skew (later is likelier)
LINK_LAG_DAYS = 30  #: new registrants link their account within this many days
OPT_OUT_RATE = 0.03  #: of patients aged 16+
OPT_OUT_TIMING = (0.25, 0.35, 0.40)  #: before go-live publicity / around go-live / after

# --- the opt-in model -----------------------------------------------------------------
SETTING_DAYS_AFTER_GO_LIVE = (1, 10)  #: bulk 104 / preference unticked early November 2023
PROTECT_RATE = 0.99  #: new registrations / turning-16s coded 104 in time at EMIS
PROTECT_AHEAD_DAYS = (7, 180)  #: turning-16s are coded this long before the birthday
NEW_REGISTRATION_CODING_DAYS = 7
REMOVE_104_RATE = 0.002  #: bulk-coded patients later given a 106 (review: not indicated)
REQUEST_RATE_START = 0.002  #: monthly opt-in request hazard in the first month
REQUEST_RATE_PEAK = 0.012  #: ... rising linearly to this
REQUEST_RAMP_MONTHS = 30
REQUEST_MULT_ACCOUNT = 1.4  #: account holders ask more often ...
REQUEST_MULT_NO_ACCOUNT = 0.45  #: ... than patients without one
REQUEST_MULT_REVOKED = 0.2  #: a few patients whose automatic access was revoked opt in
REQUEST_MULT_OPTED_OUT = 0.1  #: a few who opted out opt in later ...
OPTED_OUT_WAIT_DAYS = 60  #: ... at least this long after opting out
COUNSEL_MEDIAN_DAYS = 9.0
PROVISION_MEDIAN_DAYS = 4.0
DECLINE_MEDIAN_DAYS = 3.0
DELAY_SIGMA = 0.6
DECLINE_RATE = 0.04  #: requests closed without access after counselling
STALL_RATE = 0.015  #: requests stuck at each stage (ageing open requests)
GRANT_106_RATE = 0.1  #: EMIS grants with a 106 cancelling the 104 on the same day
GRANT_NOT_MADE_RATE = 0.02  #: grants coded but never made in the account (extract wins)
REVOKE_NOT_MADE_RATE = 0.03  #: revocations coded but never made in the account
CHASER_RATE = 0.15  #: requests waiting over CHASER_AFTER_DAYS chased by a second request
#: automatic holders who ask to opt in while they still hold the access: provisioned before
#: the review reaches them, their access becomes opt-in in place (the account's start date
#: stays the automatic one, so only the coded grant says so: it is always coded)
ASK_WHILE_HOLDING_RATE = 0.06
GRANT_CODED_LATE_RATE = 0.15  #: provisions coded some days after access was switched on
GRANT_CODED_LATE_DAYS = (1, 21)
CHASER_AFTER_DAYS = 21
LETTER_RATE = 0.6  #: provisioned patients without an account sent a registration letter
LETTER_LAG_DAYS = 3
SUMMARY_RATE = 0.5  #: account holders without full access who see the summary record
DETAILED_RATE = 0.03  #: ... or the detailed coded record

#: order of same-day events in a record
EVENT_ORDER = (
    EventType.OPT_OUT,
    EventType.ENHANCED_REVIEW_ADDED,
    EventType.ACCESS_REVOKED,
    EventType.OPT_IN_REQUESTED,
    EventType.COUNSELLED,
    EventType.OPT_IN_DECLINED,
    EventType.ACCESS_GRANTED,
    EventType.ENHANCED_REVIEW_REMOVED,
    EventType.LETTER_ISSUED,
)
KIND = {t: i for i, t in enumerate(EVENT_ORDER)}
AWAITING_COUNSELLING = "awaiting counselling"
AWAITING_PROVISIONING = "awaiting provisioning"
TRUTH_FLAGS = (
    "auto_access",
    "opt_in_access",
    "revoked",
    "revoked_coded",
    "opted_in_while_automatic",
    "grant_coded_late",
    "protected_104",
    "opted_out",
    "open_request",
    "auto_failure",
    "disagreement",
)


@dataclass(frozen=True)
class Synthetic:
    """A generated run: canonical tables for all practices, their profiles and the truth.

    ``truth`` has one row per patient (``practice_code``, ``patient_id``) with flags known
    by construction at the extract date:

    * ``auto_access``: holds automatic full prospective access (go-live or a later
      automatic grant), not revoked, not removed by an opt-out, not replaced by a grant;
    * ``opt_in_access``: holds access provisioned after an opt-in request;
    * ``revoked``: automatic access was revoked by hand (``access_revoked``), not re-granted;
    * ``revoked_coded``: that revocation was made in the account and coded (the coded
      revocations of automatic access: every patient has at most one);
    * ``opted_in_while_automatic``: asked while holding automatic access and provisioned
      before the review revoked it (the access became opt-in in place);
    * ``grant_coded_late``: the provision was coded some days after access was given;
    * ``protected_104``: the latest 104/106 entry is a 104;
    * ``opted_out``: the latest of opt-out and opt-in request is an opt-out;
    * ``open_request``: asked, neither provisioned nor declined, not opted out;
    * ``open_stage``: ``'awaiting counselling'``, ``'awaiting provisioning'`` or missing;
    * ``auto_failure``: was given automatic access after the supplier setting date (a
      failure of the opt-in model; EMIS only), whether or not it still holds;
    * ``disagreement``: the codes disagree with the account at the extract date (a grant
      coded but never made, or a revocation coded but never made and access still held).

    ``opt_in_access`` and ``auto_access`` are the account's truth; the coded grants and
    revocations follow the practice's coding habits (:class:`Branch`).
    """

    patients: pd.DataFrame
    events: pd.DataFrame
    profiles: list[dict]
    truth: pd.DataFrame


@dataclass
class _Plan:
    """One practice: its profile and the knobs the simulation needs (dates as day numbers)."""

    profile: dict
    size: int
    supplier: Supplier
    model: Model
    status: GoLiveStatus
    go_live: int | None
    setting: int | None
    clear_days: int
    uptake: float
    slowness: float
    code_grants: float = 1.0
    code_revokes: float = 1.0


@dataclass
class _Log:
    """Events of one practice as parallel lists of (patient index, event kind, day)."""

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, kind: EventType, who: np.ndarray, days: np.ndarray) -> None:
        """Record ``kind`` for patients ``who`` (bool mask) on ``days`` (full-length array)."""
        idx = np.flatnonzero(who)
        self.parts.append((idx, np.full(idx.size, KIND[kind], np.int8), days[idx]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            return np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.int64)
        idx, kind, day = (np.concatenate([part[i] for part in self.parts]) for i in range(3))
        return idx, kind, day


# --- dates as day numbers ------------------------------------------------------------


def _day(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return int(np.datetime64(day, "D").astype(np.int64))


def _date(day: int) -> dt.date:
    return np.datetime64(int(day), "D").astype(dt.date)


def _anniversary(dob: np.ndarray, years: int) -> np.ndarray:
    """Day each person attains ``years`` (29 February -> 1 March in common years)."""
    d = dob.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = d - month.astype("datetime64[D]")
    moved = (month + np.timedelta64(12 * years, "M")).astype("datetime64[D]")
    return (moved + day_of_month).astype(np.int64)


def _to_datetime(days: np.ndarray) -> np.ndarray:
    """Day numbers to ``datetime64[us]``, NEVER as NaT."""
    out = days.astype("datetime64[D]")
    out[days >= NEVER] = np.datetime64("NaT")
    return out.astype("datetime64[us]")


def _uniform_days(rng: np.random.Generator, lo: int, hi: int | np.ndarray, n: int) -> np.ndarray:
    """Whole days uniformly in [lo, hi] (hi may vary per patient)."""
    return lo + np.floor(rng.random(n) * (np.asarray(hi) - lo + 1)).astype(np.int64)


def _delay(rng: np.random.Generator, median: float, n: int) -> np.ndarray:
    """Lognormal delays in whole days, at least one."""
    return np.maximum(1, np.rint(rng.lognormal(np.log(median), DELAY_SIGMA, n))).astype(np.int64)


# --- practices -----------------------------------------------------------------------


def _sizes(
    practices: int, patients: int, rng: np.random.Generator, cap: int = MAX_PRACTICE_SIZE
) -> np.ndarray:
    """List sizes, lognormal around the mean, at least one each, summing to ``patients``,
    none above ``cap`` (what a practice would have above it goes to
    the others in proportion to their weights)."""
    weights = rng.lognormal(0.0, PRACTICE_SIZE_SIGMA, practices)
    spare = patients - practices
    capped = np.zeros(practices, dtype=bool)
    while True:
        free = spare - (cap - 1) * capped.sum()
        total = weights[~capped].sum() if not capped.all() else 1.0
        raw = np.where(capped, 0.0, weights / total * free)
        over = ~capped & (raw > cap - 1)
        if not over.any():
            break
        capped |= over
    sizes = np.floor(raw).astype(np.int64)
    remainder = free - sizes.sum()
    sizes[np.argsort(-(raw - sizes), kind="stable")[:remainder]] += 1
    return np.where(capped, cap, sizes + 1)


def _suppliers(practices: int, rng: np.random.Generator) -> list[Supplier]:
    n_emis = (
        practices if practices < 2 else min(max(round(EMIS_SHARE * practices), 1), practices - 1)
    )
    emis = np.zeros(practices, bool)
    emis[rng.permutation(practices)[:n_emis]] = True
    return [Supplier.EMIS if e else Supplier.TPP for e in emis]


def _statuses(practices: int, rng: np.random.Generator) -> tuple[list[GoLiveStatus], list[Model]]:
    status = [GoLiveStatus.LIVE] * practices
    model = [Model.OPT_IN] * practices
    order = rng.permutation(practices)
    if practices >= MIN_PRACTICES_FOR_STATUS_MIX:
        n_due = max(1, round(DUE_SHARE * practices))
        n_not = max(1, round(NOT_PLANNED_SHARE * practices))
        for i in order[:n_due]:
            status[i] = GoLiveStatus.DUE
        for i in order[n_due : n_due + n_not]:
            status[i] = GoLiveStatus.NOT_PLANNED
        if practices >= MIN_PRACTICES_FOR_DEFAULT:
            model[order[n_due + n_not]] = Model.DEFAULT
    return status, model


def _maybe(rng: np.random.Generator, rate: float, day: int, extract: int) -> dt.date | None:
    """``day`` as a date with probability ``rate`` when on or before the extract date."""
    return _date(day) if rng.random() < rate and day <= extract else None


def _checklist(
    status: GoLiveStatus, model: Model, extract: int, rng: np.random.Generator
) -> dict[str, int | dt.date | None]:
    """Go-live, supplier setting, DPIA, website and ICB dates of one practice."""
    live = _day(GO_LIVE)
    rates = (WEBSITE_UPDATED_RATE, ICB_INFORMED_RATE)
    if status is GoLiveStatus.LIVE:
        go_live, dpia = live, live - int(rng.integers(10, 110))
        setting = live + int(rng.integers(*SETTING_DAYS_AFTER_GO_LIVE))
    elif status is GoLiveStatus.DUE:
        go_live, setting = extract + int(rng.integers(30, 120)), extract - int(rng.integers(10, 90))
        dpia, rates = setting - int(rng.integers(14, 120)), (DUE_CHECKLIST_RATE,) * 2
    else:
        go_live, setting = None, live - int(rng.integers(1, 30))
        dpia = setting - int(rng.integers(14, 90))
    if model is Model.DEFAULT:
        setting, rates = None, (0.0, 0.0)
    after = live if setting is None else setting
    website = _maybe(rng, rates[0], after + int(rng.integers(0, 120)), extract)
    icb = _maybe(rng, rates[1], after + int(rng.integers(7, 150)), extract)
    return {"go_live": go_live, "setting": setting, "dpia": dpia, "website": website, "icb": icb}


def _branches(practices: int, rng: np.random.Generator) -> list[Branch]:
    """Random branches and coding habits, in the mix an ICB might have."""
    suppliers = _suppliers(practices, rng)
    statuses, models = _statuses(practices, rng)
    grants = rng.choice(GRANT_CODING, practices)
    revokes = rng.choice(REVOKE_CODING, practices)
    return [
        Branch(suppliers[i], statuses[i], models[i], float(grants[i]), float(revokes[i]))
        for i in range(practices)
    ]


@functools.cache
def _approved_levels(supplier: Supplier, status: GoLiveStatus, model: Model) -> dict[str, str]:
    from optin_analysis.outgoing.dpia import branch_of, levels_when_effective, load_register

    register = load_register(model=model.value)
    return levels_when_effective(register, branch_of(supplier, status, model))


def _sign_off(branch: Branch, approved: int, extract: int) -> dict:
    """Step 7 of the DPIA: roles, not real people; the approval covers the residual risks
    the practice's shipped register gives when every measure works."""

    def signer(role: str) -> dict:
        return {"name": f"{role} (synthetic)", "role": role, "date": _date(approved)}

    levels = _approved_levels(branch.supplier, branch.status, branch.model)
    return {
        "dpia_sign_off": {
            "measures_approved_by": signer("Practice manager"),
            "residual_risks_approved_by": signer("Senior partner"),
            "approved_residual_risks": dict(levels),
            "dpo_advice_provided_by": signer("Data Protection Officer"),
            "dpo_advice": "Risks acceptable subject to the measures in step 6 and monthly "
            "evidence of their effect; review the DPIA at least every three years, and at "
            "once if the evidence shows a measure failing.",
            "dpo_advice_accepted": True,
            "dpo_advice_accepted_by": signer("Senior partner"),
            "consultation_reviewed_by": signer("Caldicott Guardian"),
            "kept_under_review_by": {
                "name": "Practice manager (synthetic)",
                "role": "Practice manager",
            },
            "next_review": _date(min(approved + 365 * 3, extract + 120)),
        }
    }


def _plans(
    practices: int,
    patients: int,
    extract: int,
    rng: np.random.Generator,
    branches: tuple[Branch, ...] | None = None,
    cap: int = MAX_PRACTICE_SIZE,
) -> list[_Plan]:
    """Profiles and simulation knobs for every practice."""
    sizes = _sizes(practices, patients, rng, cap)
    chosen = list(branches) if branches else _branches(practices, rng)
    suppliers = [b.supplier for b in chosen]
    statuses, models = [b.status for b in chosen], [b.model for b in chosen]
    clear = np.linspace(*CLEAR_MONTHS, practices) if practices > 1 else np.array([CLEAR_MONTHS[0]])
    clear = rng.permutation(clear)
    plans = []
    for i in range(practices):
        ods = f"{ODS_PREFIX}{i + 1:04d}"
        c = _checklist(statuses[i], models[i], extract, rng)
        profile = {
            "ods_code": ods,
            "name": f"Synthetic Practice {i + 1}",
            "supplier": suppliers[i].value,
            "model": models[i].value,
            "go_live_status": statuses[i].value,
            "go_live_date": None if c["go_live"] is None else _date(c["go_live"]),
            "extract_date": _date(extract),
            "supplier_setting_date": None if c["setting"] is None else _date(c["setting"]),
            "website_updated": c["website"],
            "icb_informed": c["icb"],
            "dpia_approved": _date(c["dpia"]),
            **_sign_off(chosen[i], c["dpia"], extract),
            "patients": f"{ods}/patients.csv",
            "events": f"{ods}/events.csv",
        }
        plans.append(
            _Plan(
                profile=profile,
                size=int(sizes[i]),
                supplier=suppliers[i],
                model=models[i],
                status=statuses[i],
                go_live=c["go_live"],
                setting=c["setting"],
                clear_days=int(round((chosen[i].clear_months or clear[i]) * DAYS_PER_MONTH)),
                uptake=float(rng.uniform(*UPTAKE_RANGE)),
                slowness=float(rng.uniform(*SLOWNESS_RANGE)),
                code_grants=chosen[i].code_grants,
                code_revokes=chosen[i].code_revokes,
            )
        )
    return plans


# --- patients ------------------------------------------------------------------------


def _dates_of_birth(
    n: int, extract: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Dates of birth (day numbers) and ages in years at the extract date, ONS-like."""
    shares = AGE_BAND_SHARES / AGE_BAND_SHARES.sum()
    band = rng.choice(shares.size, size=n, p=shares)
    age = band * 5.0 + rng.random(n) * 5.0
    oldest = band == shares.size - 1
    mean, cap = OLDEST_EXTRA_YEARS
    age[oldest] = (shares.size - 1) * 5.0 + np.minimum(rng.exponential(mean, oldest.sum()), cap)
    dob = extract - np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    return dob, age


def _registration(dob: np.ndarray, extract: int, rng: np.random.Generator) -> np.ndarray:
    """Registration days: exponential time since registering; newborns soon after birth."""
    n = dob.size
    moved_in = extract - np.floor(rng.exponential(REGISTRATION_MEAN_YEARS * DAYS_PER_YEAR, n))
    newborn = dob + np.floor(rng.random(n) * np.minimum(NEWBORN_LAG_DAYS, extract - dob + 1))
    reg = np.maximum(moved_in.astype(np.int64), newborn.astype(np.int64))
    return np.minimum(np.maximum(reg, np.maximum(_day(NHS_START), dob)), extract)


def _accounts(
    age: np.ndarray, reg: np.ndarray, ann13: np.ndarray, extract: int, rng: np.random.Generator
) -> np.ndarray:
    """Day each patient's online account was linked to the practice, NEVER if none."""
    n = age.size
    share = ACCOUNT_SHARES[np.searchsorted(ACCOUNT_AGES, age, side="right")]
    has = rng.random(n) < share
    start = _day(ACCOUNT_FROM)
    created = start + np.floor((extract - start) * rng.random(n) ** ACCOUNT_SKEW).astype(np.int64)
    linked = np.maximum.reduce([created, reg + rng.integers(0, LINK_LAG_DAYS + 1, n), ann13])
    return np.where(has & (linked <= extract), linked, NEVER)


def _opt_outs(
    reg: np.ndarray, ann16: np.ndarray, extract: int, rng: np.random.Generator
) -> np.ndarray:
    """Day of the opt-out (103 code) for about 3% of patients aged 16+, NEVER otherwise."""
    n = reg.size
    live = _day(GO_LIVE)
    windows = np.array([[_day(OPT_OUT_FROM), live - 1], [live - 30, live + 60], [live, extract]])
    which = rng.choice(len(OPT_OUT_TIMING), size=n, p=OPT_OUT_TIMING)
    lo, hi = windows[which, 0], windows[which, 1]
    day = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    day = np.maximum.reduce([day, reg, ann16])
    chosen = (rng.random(n) < OPT_OUT_RATE) & (ann16 <= extract) & (day <= extract)
    return np.where(chosen, day, NEVER)


def _nhs_numbers(n: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct test NHS numbers, some missing; none past the test range (``large``)."""
    numbers = synthetic_nhs_numbers(min(n, MAX_PRACTICE_SIZE), rng)
    numbers = np.concatenate([numbers, np.full(n - numbers.size, "", dtype=numbers.dtype)])
    return np.where(rng.random(n) < NHS_NUMBER_MISSING_RATE, "", numbers)


# --- the opt-in model ----------------------------------------------------------------


def _unset() -> np.ndarray:
    return np.empty(0, np.int64)


@dataclass
class _State:
    """Per-patient day numbers of one practice (NEVER = did not happen).

    ``auto`` is the day automatic access began, ``auto_start`` its record-access start
    date, ``failure`` marks automatic access after the supplier setting, ``ended`` the day
    automatic access was revoked or removed on opting out, ``revoked`` the day it was
    revoked in the account, ``revoke_code`` the day of an ``access_revoked`` entry (coded
    or not, made or not), ``code104``/``code106`` the days of those codes.
    """

    dob: np.ndarray
    reg: np.ndarray
    ann13: np.ndarray
    ann15: np.ndarray
    ann16: np.ndarray
    account: np.ndarray
    opt_out: np.ndarray
    auto: np.ndarray = field(default_factory=_unset)
    auto_start: np.ndarray = field(default_factory=_unset)
    failure: np.ndarray = field(default_factory=_unset)
    ended: np.ndarray = field(default_factory=_unset)
    revoked: np.ndarray = field(default_factory=_unset)
    revoke_code: np.ndarray = field(default_factory=_unset)
    code104: np.ndarray = field(default_factory=_unset)
    code106: np.ndarray = field(default_factory=_unset)


def _never(n: int) -> np.ndarray:
    return np.full(n, NEVER, np.int64)


def _trigger(plan: _Plan, s: _State, extract: int) -> np.ndarray:
    """Day the supplier would first give automatic access after go-live, NEVER if none.

    EMIS reads the 104 at go-live, on linking an account and when an account holder turns
    16; TPP gives access to account holders aged 16+ at go-live or on linking (not at 16).
    """
    if plan.status is not GoLiveStatus.LIVE:
        return _never(s.dob.size)
    go_live = plan.go_live
    if plan.supplier is Supplier.EMIS:
        day = np.maximum.reduce([s.account, s.ann16, np.full_like(s.account, go_live)])
        return np.where(day <= extract, day, NEVER)
    day = np.maximum(s.account, go_live)
    return np.where((day <= extract) & (s.ann16 <= day), day, NEVER)


def _protection(
    plan: _Plan, s: _State, auto_before: np.ndarray, extract: int, rng: np.random.Generator
) -> None:
    """EMIS opt-in practices: the bulk 104, individual 104s in time (mostly) and a few 106s."""
    n = s.dob.size
    s.code104, s.code106 = _never(n), _never(n)
    skip = plan.model is Model.DEFAULT or plan.status is GoLiveStatus.NOT_PLANNED
    if plan.supplier is not Supplier.EMIS or skip or plan.setting is None:
        return
    setting = plan.setting
    bulk = (s.reg <= setting) & (s.ann15 <= setting) & ~auto_before
    s.code104[bulk] = setting
    protect = rng.random(n) < PROTECT_RATE
    new_reg = (s.reg > setting) & (s.ann15 <= s.reg) & protect
    coded = s.reg + rng.integers(0, NEW_REGISTRATION_CODING_DAYS + 1, n)
    s.code104[new_reg] = np.minimum.reduce([coded, s.account, np.full(n, extract)])[new_reg]
    young = np.where(s.reg <= setting, s.ann15 > setting, s.ann15 > s.reg)
    early = np.maximum(s.reg, s.ann16 - rng.integers(*PROTECT_AHEAD_DAYS, n))
    turning = young & protect & (early <= extract)
    s.code104[turning] = early[turning]
    removed = bulk & (rng.random(n) < REMOVE_104_RATE)
    s.code106[removed] = _uniform_days(rng, setting + 1, extract, n)[removed]


def _automatic(plan: _Plan, s: _State, extract: int, rng: np.random.Generator) -> None:
    """Automatic access at go-live and after, the 104s, then revocations over months."""
    n = s.dob.size
    trigger = _trigger(plan, s, extract)
    stops = plan.setting if plan.model is Model.OPT_IN and plan.setting is not None else NEVER
    auto_before = (trigger < stops) & (s.opt_out > trigger)
    _protection(plan, s, auto_before, extract, rng)
    protected = (s.code104 <= trigger) & ~(s.code106 <= trigger)
    s.failure = (
        (plan.supplier is Supplier.EMIS)
        & (trigger >= stops)
        & (trigger <= extract)
        & ~protected
        & (s.opt_out > trigger)
    )
    got = auto_before | s.failure
    s.auto = np.where(got, trigger, NEVER)
    tpp_start = np.maximum(s.reg, plan.go_live or 0)
    s.auto_start = np.where(plan.supplier is Supplier.TPP, tpp_start, trigger)
    review = _uniform_days(rng, stops, stops + plan.clear_days, n) if stops < NEVER else _never(n)
    reviewed = auto_before & (review <= extract) & (review < s.opt_out)
    not_made = reviewed & (rng.random(n) < REVOKE_NOT_MADE_RATE)  # coded, account unchanged
    made = reviewed & ~not_made
    s.revoked = np.where(made, review, NEVER)
    coded = (made & (rng.random(n) < plan.code_revokes)) | not_made
    s.revoke_code = np.where(coded, review, NEVER)
    ended_by_opt_out = got & (s.opt_out <= extract) & ~made
    s.ended = np.where(made, review, np.where(ended_by_opt_out, s.opt_out, NEVER))


def _request_days(
    plan: _Plan, eligible: np.ndarray, mult: np.ndarray, extract: int, rng: np.random.Generator
) -> np.ndarray:
    """Opt-in request days from a monthly hazard rising after the practice's setting date."""
    start = plan.setting
    days = np.arange(extract - start + 1)
    ramp = np.minimum(1.0, days / DAYS_PER_MONTH / REQUEST_RAMP_MONTHS)
    monthly = plan.uptake * (REQUEST_RATE_START + (REQUEST_RATE_PEAK - REQUEST_RATE_START) * ramp)
    daily = -np.log1p(-monthly) / DAYS_PER_MONTH
    cum = np.concatenate([[0.0], np.cumsum(daily)])
    first = np.clip(np.maximum(eligible, start) - start, 0, days.size)
    with np.errstate(divide="ignore"):
        need = rng.exponential(1.0, eligible.size) / mult
    k = np.searchsorted(cum, cum[first] + need, side="left")
    ok = (eligible <= extract) & (mult > 0) & (k <= days.size)
    return np.where(ok, start + k - 1, NEVER)


def _opt_in(plan: _Plan, s: _State, extract: int, rng: np.random.Generator, log: _Log) -> dict:
    """Requests, counselling, provisioning or decline, letters and 106s at grant."""
    n = s.dob.size
    if plan.model is Model.DEFAULT or plan.setting is None:
        return {
            "request": _never(n),
            "counsel": _never(n),
            "outcome": _never(n),
            "grant": _never(n),
            "given": _never(n),
            "in_place": np.zeros(n, dtype=bool),
            "late": np.zeros(n, dtype=bool),
        }
    eligible, mult, early = _who_may_ask(s, rng)
    request = _request_days(plan, eligible, mult, extract, rng)
    asked = request < NEVER
    counsel = request + _delay(rng, COUNSEL_MEDIAN_DAYS * plan.slowness, n)
    counsel[rng.random(n) < STALL_RATE] = NEVER
    declined = rng.random(n) < DECLINE_RATE
    lag = np.where(
        declined,
        _delay(rng, DECLINE_MEDIAN_DAYS, n),
        _delay(rng, PROVISION_MEDIAN_DAYS * plan.slowness, n),
    )
    outcome = np.where(rng.random(n) < STALL_RATE, NEVER, counsel + lag)
    outcome = np.where(asked & (counsel < NEVER), np.minimum(outcome, NEVER), NEVER)
    grant = np.where(~declined & (outcome <= extract), outcome, NEVER)
    made = rng.random(n) >= GRANT_NOT_MADE_RATE  # else: coded, never made in the account
    coded = (rng.random(n) < plan.code_grants) | ~made
    in_place = early & (grant < s.ended)  # provisioned before the review revoked it
    made, coded = made | in_place, coded | in_place
    _keep_access(s, in_place)
    log.add(EventType.OPT_IN_REQUESTED, asked, request)
    _chasers(asked, request, np.where(asked, outcome, NEVER), extract, rng, log)
    log.add(EventType.COUNSELLED, asked & (counsel <= extract), counsel)
    log.add(EventType.OPT_IN_DECLINED, declined & (outcome <= extract), outcome)
    late = (grant < NEVER) & made & ~in_place & (rng.random(n) < GRANT_CODED_LATE_RATE)
    coded_on = np.where(late, grant + rng.integers(*GRANT_CODED_LATE_DAYS, n, endpoint=True), grant)
    log.add(EventType.ACCESS_GRANTED, (grant < NEVER) & coded & (coded_on <= extract), coded_on)
    letter = (grant < NEVER) & (s.account > grant) & (rng.random(n) < LETTER_RATE)
    log.add(
        EventType.LETTER_ISSUED,
        letter,
        np.minimum(grant + rng.integers(0, LETTER_LAG_DAYS + 1, n), extract),
    )
    protected = (s.code104 < grant) & (s.code106 > grant)  # a same-day 104 is not yet there
    cancel = (grant < NEVER) & protected & (rng.random(n) < GRANT_106_RATE)
    s.code106 = np.where(cancel, grant, s.code106)
    log.add(EventType.ENHANCED_REVIEW_REMOVED, cancel, grant)
    return {
        "request": request,
        "counsel": counsel,
        "outcome": np.where(asked, outcome, NEVER),
        "grant": grant,
        "given": np.where(made, grant, NEVER),
        "in_place": in_place,
        "late": late & coded & (coded_on <= extract),
    }


def _who_may_ask(s: _State, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """From when each patient may ask to opt in, how readily, and who asks while still
    holding automatic access (:data:`ASK_WHILE_HOLDING_RATE`; the others only after it
    ended)."""
    n = s.dob.size
    eligible = np.maximum(s.reg, s.ann16)
    mult = np.where(s.account < NEVER, REQUEST_MULT_ACCOUNT, REQUEST_MULT_NO_ACCOUNT)
    holding = s.auto < NEVER
    early = holding & (rng.random(n) < ASK_WHILE_HOLDING_RATE)
    eligible = np.where(holding, np.maximum(eligible, np.where(early, s.auto, s.ended) + 1),
                        eligible)  # fmt: skip
    mult = np.where((s.revoked < NEVER) & ~early, mult * REQUEST_MULT_REVOKED, mult)
    opted = s.opt_out < NEVER
    eligible = np.where(opted, np.maximum(eligible, s.opt_out + OPTED_OUT_WAIT_DAYS), eligible)
    mult = np.where(opted, mult * REQUEST_MULT_OPTED_OUT, mult)
    return np.minimum(eligible, NEVER), mult, early


def _keep_access(s: _State, who: np.ndarray) -> None:
    """Patients provisioned while holding automatic access: the review never revokes it."""
    s.revoked = np.where(who, NEVER, s.revoked)
    s.revoke_code = np.where(who, NEVER, s.revoke_code)
    s.ended = np.where(who, NEVER, s.ended)


def _chasers(
    asked: np.ndarray, request: np.ndarray, outcome: np.ndarray, extract: int,
    rng: np.random.Generator, log: _Log,
) -> None:  # fmt: skip
    """Second requests from some patients still waiting CHASER_AFTER_DAYS after asking."""
    waited = np.minimum(outcome, extract + 1) - request
    chase = asked & (waited > CHASER_AFTER_DAYS + 1) & (rng.random(asked.size) < CHASER_RATE)
    spread = np.maximum(waited - CHASER_AFTER_DAYS - 1, 1)
    day = request + CHASER_AFTER_DAYS + np.floor(rng.random(asked.size) * spread).astype(np.int64)
    log.add(EventType.OPT_IN_REQUESTED, chase, day)


def _access(
    s: _State, opt_in: dict, extract: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Access level and start day at the extract date."""
    n = s.dob.size
    granted = opt_in["given"] < NEVER
    automatic = (s.auto < NEVER) & (s.ended > extract) & ~granted
    draw = rng.random(n)
    has_account = s.account < NEVER
    summary = has_account & (draw < SUMMARY_RATE)
    detailed = has_account & (draw >= SUMMARY_RATE) & (draw < SUMMARY_RATE + DETAILED_RATE)
    level = np.full(n, AccessLevel.NONE.value, dtype=object)
    level[summary] = AccessLevel.SUMMARY.value
    level[detailed] = AccessLevel.DETAILED_CODED.value
    level[granted | automatic] = AccessLevel.FULL_PROSPECTIVE.value
    dcr_start = np.minimum(s.account + rng.integers(0, 366, n), extract)
    start = np.where(detailed, dcr_start, np.where(summary, s.account, NEVER))
    start = np.where(automatic | opt_in["in_place"], s.auto_start,
                     np.where(granted, opt_in["given"], start))  # fmt: skip
    return level, start


def _truth(s: _State, opt_in: dict, extract: int) -> dict:
    """The flags of :class:`Synthetic` for one practice."""
    request, counsel, outcome = opt_in["request"], opt_in["counsel"], opt_in["outcome"]
    granted = opt_in["given"] < NEVER
    auto_access = (s.auto < NEVER) & (s.ended > extract) & ~granted
    not_made = (opt_in["grant"] < NEVER) & ~granted
    kept = (s.revoke_code <= extract) & ~(s.revoked <= extract) & auto_access
    opted_out = (s.opt_out <= extract) & ~(request <= extract)
    open_request = (request <= extract) & (outcome > extract)
    stage = np.full(s.dob.size, None, dtype=object)
    stage[open_request & (counsel > extract)] = AWAITING_COUNSELLING
    stage[open_request & (counsel <= extract)] = AWAITING_PROVISIONING
    return {
        "auto_access": auto_access,
        "disagreement": not_made | kept,
        "opt_in_access": granted,
        "revoked": (s.revoked <= extract) & ~granted,
        "revoked_coded": (s.revoked <= extract) & (s.revoke_code == s.revoked),
        "opted_in_while_automatic": opt_in["in_place"],
        "grant_coded_late": opt_in["late"],
        "protected_104": (s.code104 <= extract) & ~(s.code106 <= extract),
        "opted_out": opted_out,
        "open_request": open_request & ~opted_out,
        "auto_failure": s.failure,
        "open_stage": stage,
    }


def _simulate(plan: _Plan, extract: int, rng: np.random.Generator) -> tuple[dict, tuple, dict]:
    """Patients, events (index, kind, day) and truth of one practice."""
    n = plan.size
    dob, age = _dates_of_birth(n, extract, rng)
    female = rng.random(n) < np.where(age >= 80, FEMALE_SHARE_80_PLUS, FEMALE_SHARE)
    reg = _registration(dob, extract, rng)
    ann13, ann15, ann16 = (_anniversary(dob, y) for y in (13, 15, 16))
    account = _accounts(age, reg, ann13, extract, rng)
    s = _State(dob, reg, ann13, ann15, ann16, account, _opt_outs(reg, ann16, extract, rng))
    _automatic(plan, s, extract, rng)
    log = _Log()
    log.add(EventType.OPT_OUT, s.opt_out < NEVER, s.opt_out)
    log.add(EventType.ENHANCED_REVIEW_ADDED, s.code104 <= extract, s.code104)
    log.add(EventType.ENHANCED_REVIEW_REMOVED, s.code106 <= extract, s.code106)
    opt_in = _opt_in(plan, s, extract, rng, log)
    log.add(EventType.ACCESS_REVOKED, s.revoke_code < NEVER, s.revoke_code)
    level, start = _access(s, opt_in, extract, rng)
    patients = {
        "nhs_number": _nhs_numbers(n, rng),
        "date_of_birth": dob,
        "sex": np.where(female, "F", "M"),
        "registration_date": reg,
        "online_account": account < NEVER,
        "online_account_date": account,
        "access_level": level,
        "access_start_date": start,
    }
    return patients, log.arrays(), _truth(s, opt_in, extract)


# --- assembling the tables -----------------------------------------------------------


def _keys(plans: list[_Plan]) -> tuple[pd.Series, pd.Series]:
    """Practice codes and patient ids ``SYN-<ODS>-0000001`` ..., in practice order."""
    sizes = [p.size for p in plans]
    which = np.repeat(np.arange(len(plans)), sizes)
    names = [p.profile["ods_code"] for p in plans]
    practice = pd.Series(pd.Categorical.from_codes(which, names)).astype("str")
    number = pd.Series(np.concatenate([np.arange(1, k + 1) for k in sizes])).astype("str")
    return practice, "SYN-" + practice + "-" + number.str.zfill(7)


def _event_codes() -> dict[int, str]:
    """The first codelist code of each event kind."""
    table = load_codelist().drop_duplicates("event_type")
    code = dict(zip(table["event_type"], table["code"], strict=True))
    return {KIND[t]: code[t.value] for t in EVENT_ORDER}


def _take(values: pd.Series, positions: np.ndarray) -> pd.Series:
    return values.take(positions).reset_index(drop=True)


def _events_frame(
    practice: pd.Series, ids: pd.Series, who: np.ndarray, kind: np.ndarray, day: np.ndarray
) -> pd.DataFrame:
    order = np.lexsort((kind, day, who))
    who, kind, day = who[order], kind[order], day[order]
    codes = _event_codes()
    code_of = pd.Series([codes[k] for k in range(len(EVENT_ORDER))], dtype="str")
    type_of = pd.Series([t.value for t in EVENT_ORDER], dtype="str")
    frame = pd.DataFrame(
        {
            "practice_code": _take(practice, who),
            "patient_id": _take(ids, who),
            "code": _take(code_of, kind),
            "event_date": _to_datetime(day),
            "event_type": _take(type_of, kind),
        }
    )
    return frame.astype(empty_events().dtypes.to_dict())


def _patients_frame(practice: pd.Series, ids: pd.Series, cols: dict) -> pd.DataFrame:
    frame = pd.DataFrame({"practice_code": practice, "patient_id": ids})
    for name, values in cols.items():
        frame[name] = _to_datetime(values) if name in DATE_COLUMNS else values
    return frame.astype(empty_patients().dtypes.to_dict())


def _truth_frame(practice: pd.Series, ids: pd.Series, cols: dict) -> pd.DataFrame:
    frame = pd.DataFrame({"practice_code": practice, "patient_id": ids})
    for name in TRUTH_FLAGS:
        frame[name] = cols[name].astype(bool)
    frame["open_stage"] = pd.Series(cols["open_stage"], dtype="str")
    return frame


def generate(
    practices: int,
    patients: int,
    seed: int,
    extract_date: dt.date = dt.date(2026, 10, 31),
    branches: tuple[Branch, ...] | None = None,
    large: bool = False,
) -> Synthetic:
    """Synthetic practices with canonical ``patients``/``events``, profiles and the truth.

    ``branches`` fixes each practice's branch and coding habits (one per practice); by
    default they are drawn at random. ``large`` (benchmarks) lifts the practice size
    limit: patients past the 999 test range's numbers get no NHS number.
    """
    if practices < 1 or patients < practices:
        raise ValueError("need at least one practice and at least one patient per practice")
    if branches is not None and len(branches) != practices:
        raise ValueError("give one branch per practice")
    if not large and patients > practices * MAX_PRACTICE_SIZE:
        needed = -(-patients // MAX_PRACTICE_SIZE)
        raise ValueError(
            f"{patients:,} patients need at least {needed} practices: one practice can have "
            f"at most {MAX_PRACTICE_SIZE:,} (its synthetic NHS numbers are distinct numbers "
            "from the 999 test range)"
        )
    if extract_date < EARLIEST_EXTRACT:
        raise ValueError(f"extract_date must be on or after {EARLIEST_EXTRACT.isoformat()}")
    extract = _day(extract_date)
    root, *streams = np.random.SeedSequence(seed).spawn(practices + 1)
    cap = patients if large else MAX_PRACTICE_SIZE
    plans = _plans(practices, patients, extract, np.random.default_rng(root), branches, cap)
    results = [
        _simulate(p, extract, np.random.default_rng(r)) for p, r in zip(plans, streams, strict=True)
    ]
    offsets = np.cumsum([0] + [p.size for p in plans])
    practice, ids = _keys(plans)
    merged = {k: np.concatenate([r[0][k] for r in results]) for k in results[0][0]}
    truth = {k: np.concatenate([r[2][k] for r in results]) for k in results[0][2]}
    who = np.concatenate([r[1][0] + offsets[i] for i, r in enumerate(results)])
    kind, day = (np.concatenate([r[1][j] for r in results]) for j in (1, 2))
    return Synthetic(
        patients=_patients_frame(practice, ids, merged),
        events=_events_frame(practice, ids, who, kind, day),
        profiles=[p.profile for p in plans],
        truth=_truth_frame(practice, ids, truth),
    )


# --- writing -------------------------------------------------------------------------


def _preamble(supplier: Supplier, table: str, extract: dt.date) -> list[str]:
    """EMIS puts the search name and run date above the header; TPP writes none."""
    if supplier is not Supplier.EMIS:
        return []
    return [f"Search: Opt-in model \u2013 {table}", f"Run date: {extract.strftime('%d-%b-%Y')}"]


def _dates_as_text(frame: pd.DataFrame, date_format: str) -> pd.DataFrame:
    """Format date columns once per distinct date (much faster than a strftime per row)."""
    out = frame.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            codes, uniques = pd.factorize(frame[col])
            text = np.append(
                np.asarray(pd.DatetimeIndex(uniques).strftime(date_format), dtype=object), ""
            )
            out[col] = pd.Series(text[codes], index=frame.index, dtype="str")
    return out


def _encoding(profiles: list[dict], ods: str) -> str:
    """The first EMIS practice exports in Windows-1252 (as EMIS often does); others UTF-8."""
    first_emis = next(
        (p["ods_code"] for p in profiles if p["supplier"] == Supplier.EMIS.value), None
    )
    return "cp1252" if ods == first_emis else "utf-8"


#: What the sample's practices wrote where the shipped DPIA narratives say "TO COMPLETE:"
#: (synthetic, like everything in the sample): model -> (section, part or None) -> words.
_SAMPLE_CONTEXT = (
    "The practice reviews its safeguarding register and its searches for patients who may "
    "lack capacity at the monthly clinical meeting; before the DPIA two patients told the "
    "practice that a partner had read their record on their phone (synthetic). Carers with "
    "proxy access and patients who need an interpreter need particular care when access is "
    "explained."
)
SAMPLE_NARRATIVE = {
    "opt_in": {
        ("processing", "Context"): _SAMPLE_CONTEXT,
        ("consultation", None): (
            "The patient participation group discussed the opt-in model before the DPIA was "
            "approved ({dpia_approved}) and asked for a clear request form and for the wait "
            "to be shown to patients; the local medical committee advised using the BMA's "
            "general DPIA and its request form. The Caldicott Guardian reviewed the "
            "responses with the DPO; the decision follows them (synthetic)."
        ),
    },
    "default": {
        ("processing", "Context"): _SAMPLE_CONTEXT,
        ("consultation", None): (
            "The patient participation group discussed automatic access before the DPIA was "
            "approved ({dpia_approved}) and asked for clear words on how to opt out and on "
            "how results appear; the local medical committee advised reviewing patients on "
            "the safeguarding register before go-live. The Caldicott Guardian reviewed the "
            "responses with the DPO; the decision follows them (synthetic)."
        ),
    },
}
#: The narrative file of each model in a written sample (beside its configuration).
SAMPLE_NARRATIVE_FILES = {"opt_in": "dpia-narrative.yaml", "default": "dpia-narrative-default.yaml"}


def _completed(text: str, words: str) -> str:
    """``text`` with its "TO COMPLETE:" lines (to the end of that paragraph) replaced by
    ``words``; a ValueError when it has none (the shipped narrative changed)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("TO COMPLETE:")), None)
    if start is None:
        raise ValueError(f"no TO COMPLETE line in {text[:60]!r}")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join([*lines[:start], *textwrap.wrap(words, 84), *lines[end:]]) + "\n"


class _Literal(yaml.SafeDumper):
    """YAML with multi-line text as literal blocks, as a person writes it."""


_Literal.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def sample_narrative(model: str) -> str:
    """The sample practices' finished DPIA narrative for ``model``: the shipped one with
    what only the practice can say written in (:data:`SAMPLE_NARRATIVE`)."""
    from optin_analysis.outgoing.dpia import DEFAULT_NARRATIVE

    raw = yaml.safe_load(DEFAULT_NARRATIVE[model].read_text(encoding="utf-8"))
    for (section, part), words in SAMPLE_NARRATIVE[model].items():
        where = raw["sections"][section]
        if part is None:
            where["text"] = _completed(where["text"], words)
        else:
            where["parts"][part] = _completed(where["parts"][part], words)
    body = yaml.dump(raw, Dumper=_Literal, sort_keys=False, width=88, allow_unicode=True)
    if "TO COMPLETE:" in body:
        raise ValueError(f"the sample's {model} narrative still has a TO COMPLETE line")
    header = (
        f"# The sample practices' DPIA narrative ({model.replace('_', '-')} model): the "
        "shipped one\n# with what only the practice can say written in, as a finished copy "
        "reads.\n# Synthetic, like the whole sample; written by optin_analysis.generate.\n"
    )
    return header + body


def write_narratives(out_dir: Path) -> None:
    """Write the sample's finished DPIA narratives beside its configuration."""
    for model, name in SAMPLE_NARRATIVE_FILES.items():
        (Path(out_dir) / name).write_text(sample_narrative(model), encoding="utf-8")


def run_config(synth: Synthetic, out_dir: Path) -> dict:
    """The run configuration for files written to ``out_dir``.

    Reports and worklists go to the repository's ``reports/`` and ``worklists/`` when
    ``out_dir`` is ``data/sample``, else beside the configuration.
    """
    if Path(out_dir).resolve() == SAMPLE_DIR:
        reports = Path(os.path.relpath(REPO / "reports", SAMPLE_DIR)).as_posix()
        worklists = Path(os.path.relpath(REPO / "worklists", SAMPLE_DIR)).as_posix()
    else:
        reports, worklists = "reports", "worklists"
    return {
        "reports_dir": reports,
        "worklists_dir": worklists,
        "disclosure": {"enabled": True, "redact_at_or_below": 7, "round_to": 5},
        "practices": [
            {**p, "dpia_narrative": SAMPLE_NARRATIVE_FILES[p["model"]]} for p in synth.profiles
        ],
    }


def write_config(synth: Synthetic, out_dir: Path, seed: int, path: Path | None = None) -> Path:
    """Write the run configuration for ``out_dir`` (to ``path``, default its config.yaml)."""
    path = Path(path or Path(out_dir) / "config.yaml")
    dump_config(run_config(synth, out_dir), path)
    extract = synth.profiles[0]["extract_date"].isoformat()
    note = (
        f"# synthetic data: optin_analysis.generate.generate(practices={len(synth.profiles)}, "
        f"patients={len(synth.patients)}, seed={seed}, extract_date={extract})\n"
    )
    with path.open("a", encoding="utf-8", newline="\n") as handle:
        handle.write(note)
    return path


def _by_practice(frame: pd.DataFrame, codes: list[str], date_format: str) -> dict:
    """Rows of ``codes``' practices with dates as text, split by practice."""
    text = _dates_as_text(frame[frame["practice_code"].isin(codes)], date_format)
    groups = dict(iter(text.groupby("practice_code", sort=False)))
    return {code: groups.get(code, text.iloc[:0]) for code in codes}


def write_sample(synth: Synthetic, out_dir: Path, seed: int) -> Path:
    """Write each practice's exports in its supplier's format and the run configuration.

    Files: ``<out>/<ODS>/patients.csv``, ``<out>/<ODS>/events.csv``, the sample's finished
    DPIA narratives ``<out>/dpia-narrative*.yaml`` and ``<out>/config.yaml`` (returned).
    Existing files of the same names are overwritten; nothing else is touched.
    """
    out_dir = Path(out_dir)
    profiles = {p["ods_code"]: p for p in synth.profiles}
    for supplier in Supplier:
        codes = [ods for ods, p in profiles.items() if p["supplier"] == supplier.value]
        if not codes:
            continue
        mapping = load_mapping(supplier)
        tables = {
            "patients": (
                _by_practice(synth.patients, codes, mapping.patients.date_format),
                mapping.patients,
            ),
            "events": (
                _by_practice(synth.events, codes, mapping.events.date_format),
                mapping.events,
            ),
        }
        for ods in codes:
            folder = out_dir / ods
            folder.mkdir(parents=True, exist_ok=True)
            encoding = _encoding(synth.profiles, ods)
            for table, (frames, table_mapping) in tables.items():
                preamble = _preamble(supplier, table, profiles[ods]["extract_date"])
                path = folder / f"{table}.csv"
                to_supplier_csv(frames[ods], table_mapping, path, preamble, encoding)
    write_narratives(out_dir)
    return write_config(synth, out_dir, seed)


def main(argv: list[str] | None = None) -> None:
    """``python -m optin_analysis.generate [OUT]``: write the committed sample (or to OUT)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else SAMPLE_DIR
    print(write_sample(generate(**SAMPLE), out, seed=SAMPLE["seed"]))


if __name__ == "__main__":
    main()
