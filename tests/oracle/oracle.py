"""An independent second implementation ("oracle") of optin-analysis's headline measures.

Written only from the written rules: `SPEC.md` section 4 (above all "Reading the two
together"), `guidance-optin-model.txt`, `DOMAIN.md` and `GLOSSARY.md` (where the glossary
and SPEC section 4 differ, SPEC wins), and the data files `mapping-emis.yaml`,
`mapping-tpp.yaml`, `codelist.csv` and the sample `config.yaml`. None of the package's
Python, SQL or test code was read (the first lines of tests/README.md, a table of rule
tags and test names, were seen by accident; nothing was taken from them). Plain Python:
csv + datetime + yaml, one function per measure, a loop over patients. How it compares
with the package, and why they differ: FINDINGS.md beside this file.

Model
-----
Per patient a timeline is built once, in date order, from the coded events (through the
codelist) plus three synthetic events taken from the patients extract:

* ``x_start`` - the extract shows full prospective access: "The extract's access start
  date bounds history only for full prospective access (full access since that date)".
  Its date S is the extract's access start date, or, without one, the rule of
  ``full_access_start`` below.
* ``x_end`` - the extract shows a level without full access: "A level without full
  access ... says what holds on the extract date": at the extract date (last event of
  that day) any full access still held by the codes ends. Its date is ignored for history:
  "its date is often the account's creation, not when full access ended ... earlier
  months follow the codes".
* ``x_inferred`` - an automatic spell implied by a coded revocation that ends no known
  access (see INFER_SPELL_BEFORE_REVOKE).

The state at the end of day D (held / kind: 'automatic' or 'opt_in'), the opt-in
episodes, provisions and revocations all come from processing that timeline forwards, so
"The state at D is decided by what is known on or before D" holds for everything except
what the extract itself says about history (its full-access start date) and the
inferred spell before a coded revocation (a judgement call, below).

JUDGEMENT CALLS (every place the words were ambiguous, with the words relied on)
---------------------------------------------------------------------------------
J1  Same-day order. SPEC gives none; the glossary's `tie-order` is used (not one of the
    entries SPEC flags): "On one day, events count in the order 106, 104; request,
    counselled, grant, declined, opt-out, revocation". Extract-derived events: the
    extract's start ``x_start`` comes right after a coded grant of that day; a coded
    revocation dated on S itself is put *before* ``x_start`` (the extract says full
    access "since that date", so at the end of S access is held); ``x_end`` is the last
    event of the extract date; ``x_inferred`` the first event of its day.
J2  Full access in the extract bounds history: "full access since that date". A coded
    revocation dated after S (and on or before the extract date) is contradicted by the
    extract and dropped from the timeline ("the extract wins"): it ends nothing and is
    not counted as a revocation (it is still a record disagreement, J12). Coded grants
    or spells before S still give access before S ("earlier months follow the codes");
    S then starts nothing new unless an episode is open on S (implied provision).
J3  A level without full access: its date is ignored. "It cannot start before the latest
    coded grant or revoke, so coded revocations after that date still happened and
    count, and earlier months follow the codes." Read as: before the extract date the
    codes alone decide; on the extract date the extract wins (``x_end``). Access that
    the codes leave open (a coded grant with no later revocation) is held until the day
    before the extract date; its end is not coded and is not counted as a revocation.
J4  Full access with no start date (SPEC: "the rule is stated in its docstring with both
    readings"), see ``full_access_start``:
    - latest coded grant/revoke up to the extract date is a grant: from that grant;
    - latest is a revoke: a CHOICE, FULL_NO_DATE_AFTER_REVOKE;
    - no coded grant or revoke, practice went live on or before the extract date: from
      when automatic access would have begun, the latest of go-live, registration,
      account date (if any) and 16th birthday (glossary `auto-start`, plus registration:
      nobody holds access at this practice before registering there), capped at the
      extract date;
    - no coded grant or revoke, practice never went live (no go-live date, or one after
      the extract date - "due"): a CHOICE, FULL_NO_DATE_NEVER_LIVE.
J5  INFER_SPELL_BEFORE_REVOKE: a coded revocation that is the first access code of a
    patient (no coded grant, no extract spell before it) implies that full access was held
    before it ("coded revocations ... still happened and count"; "earlier months follow
    the codes"). The spell is automatic, starting at the latest of go-live, registration,
    account date and 16th birthday that is on or before the revocation (or on the
    revocation day itself if none is). This uses a later code to decide earlier months,
    against a strict reading of "decided by what is known on or before D"; without it a
    revocation would end nothing and no revocation of automatic access could ever be
    counted where grants are not coded. A later revocation with no access held ends
    nothing and is not counted.
J6  Kind of access at a spell start (coded grant or ``x_start``): through opt-in when an
    episode is open (a provision); through opt-in when it restores an earlier provision
    with no opt-out since (a restoration, not counted as a provision); else automatic.
    SPEC: "Automatic access: full prospective access that did not follow an open opt-in
    request, nor restore an earlier opt-in provision with no opt-out since". A grant or
    ``x_start`` while access is already held converts automatic access to opt-in only if
    an episode is open ("a patient with automatic access who asks later is in the backlog
    until the provision"); otherwise it changes nothing (a grant coded after an implied
    provision is "the same provision", glossary). An inferred spell (J5) is automatic.
J7  Episodes (glossary `episode`, not contradicted by SPEC): opens with a request when
    none is open; a request while one is open is a chaser (waits count from the
    **first** request: SPEC "days waited since the first request of the open episode");
    closes at a provision, a declined request or an opt-out. A revocation does not close
    it. `withheld_after_review`, `granted_after_review` and `letter_issued` change no
    state (they record review outcomes or letters, not the account setting; the
    placeholder codes' terms are not "access granted").
J8  requests_period / requests_cumulative count *new* requests (episode openings), not
    chasers (glossary "new requests, counselling and provisions per month"; a chaser is
    the same request). counselled_* count counselled events (every one). provisioned_*
    count provisions (coded grants closing an open episode, and implied provisions at
    the extract's start date). These activity counts, open requests and revocations are
    over all patients in the extract (no age filter: the rules give none; every event in
    the data is after registration).
J9  Account holder at D: the extract's usable account (EMIS Active/Live, TPP Y) whose
    account date, if any, is on or before D (glossary `account`). The account status of
    earlier months is not known otherwise.
J10 revocation_rate_per_month: "revocations of automatic access in the last three
    complete months, per month" (glossary; SPEC says "at the recent rate"). A month is
    complete when its last day is on or before D: for D a month end these are D's month
    and the two before; for D mid-month, the three months before D's month.
    projected_clear_date = end of the month n months after D's month, n = ceil(backlog /
    rate). 'cleared' when backlog is 0, 'not clearing' when the rate is 0.
J11 Protection: SPEC "an active 104 code (a 104 not cancelled by a later 106); or a
    practice setting that stops automatic access for everyone, made on or before D:
    TPP's unticked ..., or EMIS's per-patient global setting for a practice not going
    live." The setting counts at TPP (any go-live status) and EMIS `not_planned`, only
    for practices on the opt-in model (a default-model practice has not made the
    opt-in step), dated by `supplier_setting_date` <= D. An opt-out is not protection.
J12 Record disagreement: the latest coded grant or revocation on or before the extract
    date (J1 order) says access is on (grant) or off (revocation); a disagreement is when
    that differs from the extract's full / not full. SPEC: "where the codes and the
    extract disagree on the extract date". It is a fact of the extract date, so it does
    not depend on D, except that the practice's count at D takes the patients registered
    at D (as every other per-practice count at D does). This includes a coded revocation
    followed by full access the extract dates later with no grant code, whatever its
    kind (the glossary's version listed only automatic re-grants; SPEC's words do not
    make the kind matter) - AMBIGUOUS: one can also read the extract's later start date
    as agreeing with the revocation (the codes merely lack the re-grant).
J13 Opted out at D: the latest of opt-in requests (chasers included) and opt-outs on or
    before D is an opt-out, opt-out later on one day (glossary `opted-out`).
    "Neither opted out nor asked to opt in" (coverage) = no request and no opt-out on
    or before D (the two readings, ever vs currently, coincide for this conjunction).
J14 turned_16_automatic: 16th birthday in [period start, D], registered on or before D,
    and an automatic spell touching some day in [birthday, D] (a spell ending on day b is
    held on b until the ending event) - "counted when it happened, even if revoked since".
J15 pending_16: registered at D, 16th birthday in [D+1, end of the 6th calendar month
    after D's month]; protected = protected at D (J11). Opted-out patients are not
    treated as protected.
J16 Default-model practices: SPEC "Practices on the default model get the figures NHS
    England monitors instead (share with access, share with an active 104 against its
    50% line)". The oracle adds `nhse_share_with_access` (eligible with full access /
    eligible), `nhse_share_with_access_of_account_holders` (eligible account holders with
    full access / eligible account holders) and `nhse_share_active_104` (eligible with an
    active 104 / eligible) for them, and still computes every generic count the same way.
J17 Events after the extract date are ignored; unknown codes are skipped (counted in
    `Practice.unknown_codes`).
J18 Reading: the mapping's `encoding: auto` = UTF-8 (a BOM allowed), else Windows-1252;
    `skip_rows` lines above the header are skipped; cells are stripped; an empty date is
    None; `values` maps the account status and access level (an unmapped value is an
    error). A practice's `mapping:` / `codelist:` (or a top-level `codelist:`) override the
    shipped files, paths relative to the configuration.
J19 Not computed: `active_104_bulk` / `active_104_individual` (the 50-patients-a-day
    threshold is in the glossary only, derived from the implementation) and the action plan.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import datetime as dt
import math
import os

import yaml

# ---------------------------------------------------------------------------------------
# Named choices (SPEC: "Where a reading is a choice ... the rule is stated in its
# docstring with both readings").

#: Full access in the extract with no start date, after a coded revocation (the latest
#: coded grant/revoke is a revoke).
#: 'regranted_at_extract' (the oracle author's choice): the revocation happened and
#:     counts; the access was given again at an unknown time after it; the only thing
#:     known is that it is held on the extract date, so it counts from the extract date
#:     ("decided by what is known on or before D").
#: 'revoke_contradicted' (the team's choice, which the package pins): the revocation is
#:     contradicted by the account; the access counts from when automatic access would
#:     have begun (latest of go-live, registration, account date, 16th birthday) and the
#:     revocation is dropped (not counted): a revocation the account does not show is not
#:     claimed as progress on the backlog.
FULL_NO_DATE_AFTER_REVOKE = "revoke_contradicted"

#: Full access in the extract with no start date and no coded grant or revoke, at a
#: practice that never went live (no go-live date, or one after the extract date).
#: 'from_extract_date' (chosen): only the extract says it is held, so from the extract date.
#: 'always_held': it counts as always held (from before any date).
FULL_NO_DATE_NEVER_LIVE = "from_extract_date"

#: J5: a coded revocation that ends no known access implies an automatic spell before it.
INFER_SPELL_BEFORE_REVOKE = True
#: J5, the team's decision: only at a practice that had gone live by the revocation. The
#: guidance gives a practice that has not gone live no review-and-revoke step, and
#: automatic access is given at go-live (or at account creation or 16 after it), so before
#: go-live a coded revocation ends no automatic access. False: infer it there too.
INFER_ONLY_ONCE_LIVE = True
#: J5, the team's decision: not where the online account was linked after the revocation
#: (automatic access comes with the linked account, so a revocation coded before it ended
#: nothing). False: infer a spell from the latest of the other dates.
INFER_NOT_BEFORE_ACCOUNT = True

#: J12: a coded revocation, then full access the extract dates later with no grant code,
#: given through opt-in (an uncoded provision or restoration).
#: 'disagreement' (the literal reading): the codes say off, the extract says on.
#: 'agreement' (the team's decision, see FINDINGS.md P3): SPEC expects grants to be coded
#:     patchily ("real practices code them patchily"); access given after an opt-in
#:     request is an uncoded grant, not codes contradicting the account. Only access given
#:     again automatically is listed.
UNCODED_OPT_IN_AFTER_REVOKE = "agreement"


EVENT_TYPES = (
    "enhanced_review_added",
    "enhanced_review_removed",
    "opt_out",
    "opt_in_requested",
    "counselled",
    "access_granted",
    "access_revoked",
    "opt_in_declined",
    "letter_issued",
    "withheld_after_review",
    "granted_after_review",
)

# J1: same-day order.
RANK = {
    "x_inferred": -1,
    "enhanced_review_removed": 0,
    "enhanced_review_added": 1,
    "opt_in_requested": 2,
    "counselled": 3,
    "access_granted": 4,
    "revoke_on_start": 4.8,  # a coded revocation dated on the extract's start date S
    "x_start": 5,
    "opt_in_declined": 6,
    "opt_out": 7,
    "access_revoked": 8,
    "letter_issued": 9,
    "withheld_after_review": 9,
    "granted_after_review": 9,
    "x_end": 100,
}

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "optin_analysis", "data"))

# ---------------------------------------------------------------------------------------
# Dates


def birthday(dob: dt.date, years: int) -> dt.date:
    """The day a person born on `dob` attains `years`: the anniversary; 29 February ->
    1 March in a common year (SPEC section 3). No date of birth: never."""
    if dob is None:
        return dt.date.max
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:
        return dt.date(dob.year + years, 3, 1)


def month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def add_months(y: int, m: int, n: int) -> tuple[int, int]:
    k = y * 12 + (m - 1) + n
    return k // 12, k % 12 + 1


def reference_dates(period: str, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """(period_start, D): D is the last day of the month, or the extract date if earlier;
    the period is the calendar month up to D."""
    y, m = (int(x) for x in period.split("-"))
    start = dt.date(y, m, 1)
    d = month_end(y, m)
    if extract_date is not None and extract_date < d:
        d = extract_date
    return start, d


def _as_date(v):
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


# ---------------------------------------------------------------------------------------
# Canonical model


class Practice:
    """profile: dict with ods_code, supplier ('emis'|'tpp'), model ('opt_in'|'default'),
    go_live_status ('live'|'due'|'not_planned'), go_live_date, extract_date,
    supplier_setting_date (dates or None).
    patients: list of dicts (patient_id, nhs_number, date_of_birth, sex,
    registration_date, online_account, online_account_date, access_level,
    access_start_date).
    events: list of (patient_id, event_type, date)."""

    def __init__(self, profile: dict, patients: list, events: list, unknown_codes=0):
        self.profile = dict(profile)
        for k in ("go_live_date", "extract_date", "supplier_setting_date"):
            self.profile[k] = _as_date(self.profile.get(k))
        self.profile.setdefault("model", "opt_in")
        self.patients = patients
        self.events = events
        self.unknown_codes = unknown_codes
        self._hist = None

    @property
    def ods_code(self):
        return self.profile.get("ods_code")

    def histories(self):
        if self._hist is None:
            by_pid = {}
            for pid, etype, d in self.events:
                by_pid.setdefault(pid, []).append((etype, d))
            self._hist = [
                History(self.profile, p, by_pid.get(p["patient_id"], [])) for p in self.patients
            ]
        return self._hist


# ---------------------------------------------------------------------------------------
# Reading a run configuration and supplier CSVs


def _read_text(path, encoding):
    with open(path, "rb") as handle:
        raw = handle.read()
    if encoding in (None, "auto"):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("cp1252")
    return raw.decode(encoding)


def _read_table(path, encoding, skip_rows):
    text = _read_text(path, encoding)
    lines = text.splitlines()[skip_rows or 0 :]
    return list(csv.DictReader(lines))


def _parse_date(s, fmt):
    s = (s or "").strip()
    if not s:
        return None
    return dt.datetime.strptime(s, fmt).date()


def read_codelist(path) -> dict:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["code"].strip(): r["event_type"].strip() for r in csv.DictReader(f)}


def read_practices(config_path) -> list:
    """Read config.yaml and each practice's extracts through its mapping and codelist."""
    base = os.path.dirname(os.path.abspath(config_path))
    with open(config_path, encoding="utf-8") as handle:
        cfg = yaml.safe_load(handle)

    def rel(p):
        return p if os.path.isabs(p) else os.path.join(base, p)

    top_codelist = cfg.get("codelist")
    out = []
    for pr in cfg["practices"]:
        supplier = str(pr["supplier"]).lower()
        mpath = (
            rel(pr["mapping"])
            if pr.get("mapping")
            else os.path.join(PACKAGE_DATA, f"mapping-{supplier}.yaml")
        )
        cpath = pr.get("codelist") or top_codelist
        cpath = rel(cpath) if cpath else os.path.join(PACKAGE_DATA, "codelist.csv")
        with open(mpath, encoding="utf-8") as handle:
            mapping = yaml.safe_load(handle)
        codes = read_codelist(cpath)
        enc = mapping.get("encoding", "auto")

        pm = mapping["patients"]
        cols = pm["columns"]
        vals = {
            k: {("" if kk is None else str(kk)): vv for kk, vv in v.items()}
            for k, v in (pm.get("values") or {}).items()
        }
        fmt = pm["date_format"]
        patients = []
        for row in _read_table(rel(pr["patients"]), enc, pm.get("skip_rows", 0)):

            def g(key, row=row, cols=cols):
                h = cols.get(key)
                return (row.get(h) or "").strip() if h else ""

            acc = g("online_account")
            lvl = g("access_level")
            patients.append(
                {
                    "patient_id": g("patient_id"),
                    "nhs_number": g("nhs_number") or None,
                    "date_of_birth": _parse_date(g("date_of_birth"), fmt),
                    "sex": g("sex") or None,
                    "registration_date": _parse_date(g("registration_date"), fmt),
                    "online_account": bool(vals["online_account"][acc]),
                    "online_account_date": _parse_date(g("online_account_date"), fmt),
                    "access_level": vals["access_level"][lvl],
                    "access_start_date": _parse_date(g("access_start_date"), fmt),
                }
            )

        em = mapping["events"]
        ecols = em["columns"]
        efmt = em["date_format"]
        events = []
        unknown = 0
        for row in _read_table(rel(pr["events"]), enc, em.get("skip_rows", 0)):
            code = (row.get(ecols["code"]) or "").strip()
            d = _parse_date(row.get(ecols["event_date"]), efmt)
            et = codes.get(code)
            if et is None:
                unknown += 1
                continue
            events.append(((row.get(ecols["patient_id"]) or "").strip(), et, d))

        profile = {
            k: pr.get(k)
            for k in (
                "ods_code",
                "name",
                "supplier",
                "model",
                "go_live_status",
                "go_live_date",
                "extract_date",
                "supplier_setting_date",
            )
        }
        profile["supplier"] = supplier
        out.append(Practice(profile, patients, events, unknown))
    return out


# ---------------------------------------------------------------------------------------
# One patient's history


def went_live_by(profile, day) -> bool:
    g = profile.get("go_live_date")
    return g is not None and g <= day


def auto_start(profile, p, not_after=None):
    """When automatic access would have begun: the latest of go-live (if gone live by
    `not_after`), registration, account date and 16th birthday; only dates on or before
    `not_after` are used (J4, J5)."""
    cands = [p["registration_date"], birthday(p["date_of_birth"], 16), p.get("online_account_date")]
    g = profile.get("go_live_date")
    if g is not None:
        cands.append(g)
    cands = [c for c in cands if c is not None]
    if not_after is not None:
        cands = [c for c in cands if c <= not_after]
        if not cands:
            return not_after
    return max(cands)


def full_access_start(profile, p, coded):
    """Start S of the full access the extract shows (J4). `coded`: the patient's coded
    (date, rank, type) on or before the extract date, sorted.

    * extract start date given: that date (capped at the extract date);
    * none, latest coded grant/revoke is a grant: the grant's date;
    * none, latest is a revoke: FULL_NO_DATE_AFTER_REVOKE - 'regranted_at_extract' (the
      extract date) or 'revoke_contradicted' (automatic start, revocation dropped);
    * none, no coded grant/revoke, gone live by the extract date: automatic start;
    * none, no codes, never went live: FULL_NO_DATE_NEVER_LIVE - 'from_extract_date' (the
      extract date) or 'always_held' (date.min).
    """
    x = profile["extract_date"]
    if p["access_start_date"] is not None:
        return min(p["access_start_date"], x)
    gr = [e for e in coded if e[2] in ("access_granted", "access_revoked")]
    if gr and gr[-1][2] == "access_granted":
        return gr[-1][0]
    if gr and FULL_NO_DATE_AFTER_REVOKE == "regranted_at_extract":
        return x
    # 'revoke_contradicted': from when automatic access would have begun, which at a
    # practice that has not gone live it never would: the never-live reading applies.
    if went_live_by(profile, x):
        return auto_start(profile, p, x)
    if FULL_NO_DATE_NEVER_LIVE == "always_held":
        return dt.date.min
    return x


class History:
    """Everything about one patient that the measures need, built once."""

    def __init__(self, profile, p, events):
        self.p = p
        x = self.extract_date = profile["extract_date"]
        dob = p["date_of_birth"]
        self.b16 = birthday(dob, 16)
        self.reg = p["registration_date"]
        self.account = bool(p["online_account"])
        self.account_date = p.get("online_account_date")
        self.full_at_extract = p["access_level"] == "full_prospective"

        coded = sorted((d, RANK[t], t) for t, d in events if d is not None and d <= x)
        self.coded = coded

        # Record disagreement on the extract date (J12).
        gr = [e for e in coded if e[2] in ("access_granted", "access_revoked")]
        if gr:
            codes_on = gr[-1][2] == "access_granted"
            self.disagreement = codes_on != self.full_at_extract
        else:
            self.disagreement = False

        # Timeline: coded events + extract-derived events.
        tl = []
        s = None
        if self.full_at_extract:
            s = full_access_start(profile, p, coded)
            self.start = s
            for d, r, t in coded:
                if t == "access_revoked":
                    if d > s:
                        continue  # J2: contradicted by the extract
                    if d == s:
                        tl.append((d, RANK["revoke_on_start"], t))
                        continue
                tl.append((d, r, t))
            tl.append((s, RANK["x_start"], "x_start"))
        else:
            self.start = None
            tl.extend(coded)
            tl.append((x, RANK["x_end"], "x_end"))
        tl.sort()
        if INFER_SPELL_BEFORE_REVOKE:
            for d, _r, t in tl:
                if t in ("access_granted", "x_start"):
                    break
                live = went_live_by(profile, d) or not INFER_ONLY_ONCE_LIVE
                linked = self.account_date is None or self.account_date <= d
                if t == "access_revoked" and not (linked or not INFER_NOT_BEFORE_ACCOUNT):
                    break
                if t == "access_revoked" and live:
                    a = auto_start(profile, p, d)
                    tl.append((a, RANK["x_inferred"], "x_inferred"))
                    tl.sort()
                    break

        # Forward pass.
        held, kind = False, None
        ep = None
        last_prov, optout_since_prov = None, False
        self.changes_d, self.changes_s = [], []  # (date) / (held, kind) after each day
        self.auto_spans = []  # [start, end or None]
        self.episodes = []  # dicts: first, close, counselled
        self.provisions = []  # (date, first_request, counselled)
        self.new_requests, self.all_requests, self.counselled = [], [], []
        self.optouts, self.auto_revocations = [], []
        self.review = []  # (date, rank, type) for 104/106

        def start_auto(d):
            self.auto_spans.append([d, None])

        def end_auto(d):
            self.auto_spans[-1][1] = d

        for d, r, t in tl:
            if t in ("enhanced_review_added", "enhanced_review_removed"):
                self.review.append((d, r, t))
            elif t == "opt_in_requested":
                self.all_requests.append(d)
                if ep is None:
                    ep = {"first": d, "close": None, "counselled": []}
                    self.episodes.append(ep)
                    self.new_requests.append(d)
            elif t == "counselled":
                self.counselled.append(d)
                if ep is not None:
                    ep["counselled"].append(d)
            elif t == "x_inferred":
                if not held:
                    held, kind = True, "automatic"
                    start_auto(d)
            elif t in ("access_granted", "x_start"):
                if ep is not None:  # a provision (J6)
                    self.provisions.append((d, ep["first"], bool(ep["counselled"])))
                    ep["close"] = d
                    ep = None
                    if held and kind == "automatic":
                        end_auto(d)
                    held, kind = True, "opt_in"
                    last_prov, optout_since_prov = d, False
                elif not held:
                    held = True
                    if last_prov is not None and not optout_since_prov:
                        kind = "opt_in"  # restoration
                    else:
                        kind = "automatic"
                        start_auto(d)
            elif t == "opt_in_declined":
                if ep is not None:
                    ep["close"] = d
                    ep = None
            elif t == "opt_out":
                self.optouts.append(d)
                if ep is not None:
                    ep["close"] = d
                    ep = None
                if last_prov is not None:
                    optout_since_prov = True
            elif t in ("access_revoked",):
                if held:
                    if kind == "automatic":
                        self.auto_revocations.append(d)
                        end_auto(d)
                    held, kind = False, None
            elif t == "x_end" and held:
                if kind == "automatic":
                    end_auto(d)
                held, kind = False, None
            if self.changes_d and self.changes_d[-1] == d:
                self.changes_s[-1] = (held, kind)
            else:
                self.changes_d.append(d)
                self.changes_s.append((held, kind))

        # J12: an uncoded opt-in grant after a coded revocation is not a disagreement.
        if (
            self.disagreement
            and gr
            and gr[-1][2] == "access_revoked"
            and s is not None
            and s > gr[-1][0]
            and UNCODED_OPT_IN_AFTER_REVOKE == "agreement"
            and self.state(s)[1] == "opt_in"
        ):
            self.disagreement = False

    # -- queries at the end of day D ---------------------------------------------------
    def state(self, D):
        i = bisect.bisect_right(self.changes_d, D)
        return self.changes_s[i - 1] if i else (False, None)

    def registered(self, D):
        return self.reg is not None and self.reg <= D

    def eligible(self, D):
        return self.registered(D) and self.b16 <= D

    def account_holder(self, D):
        return self.account and (self.account_date is None or self.account_date <= D)

    def active_104(self, D):
        last = None
        for d, _r, t in self.review:
            if d > D:
                break
            last = t
        return last == "enhanced_review_added"

    def opted_out(self, D):
        lo = max((d for d in self.optouts if d <= D), default=None)
        lr = max((d for d in self.all_requests if d <= D), default=None)
        return lo is not None and (lr is None or lo >= lr)

    def asked_or_opted_out(self, D):
        return any(d <= D for d in self.all_requests) or any(d <= D for d in self.optouts)

    def open_episode(self, D):
        for ep in reversed(self.episodes):
            if ep["first"] <= D:
                return ep if (ep["close"] is None or ep["close"] > D) else None
        return None

    def automatic_between(self, a, b):
        return any(s <= b and (e is None or e >= a) for s, e in self.auto_spans)


def protected(profile, h: History, D) -> bool:
    """SPEC: "Protection: an active 104 code (a 104 not cancelled by a later 106); or a
    practice setting that stops automatic access for everyone, made on or before D:
    TPP's unticked 'By default give prospective access to the full clinical record', or
    EMIS's per-patient global setting for a practice not going live." (J11)"""
    if h.active_104(D):
        return True
    sd = profile.get("supplier_setting_date")
    if profile.get("model") != "opt_in" or sd is None or sd > D:
        return False
    if profile["supplier"] == "tpp":
        return True
    return profile["supplier"] == "emis" and profile.get("go_live_status") == "not_planned"


# ---------------------------------------------------------------------------------------
# Per-D snapshot of one patient (so each measure is one loop over patients)


class At:
    __slots__ = (
        "h",
        "eligible",
        "registered",
        "account",
        "held",
        "kind",
        "auto",
        "opted_out",
        "protected",
        "active_104",
    )

    def __init__(self, profile, h: History, D):
        self.h = h
        self.registered = h.registered(D)
        self.eligible = h.eligible(D)
        self.account = h.account_holder(D)
        self.held, self.kind = h.state(D)
        self.auto = self.held and self.kind == "automatic"
        self.opted_out = h.opted_out(D)
        self.active_104 = h.active_104(D)
        self.protected = protected(profile, h, D)


# ---------------------------------------------------------------------------------------
# Measures: one function each. `ps` is the list of At snapshots at D.


def m_eligible(ps, D):
    """SPEC: "Eligible: registered at D and aged 16+ on D." Registered = registration
    date on or before D."""
    return sum(1 for a in ps if a.eligible)


def m_account_holders_16plus(ps, D):
    """Eligible patients with a usable online account at D (J9)."""
    return sum(1 for a in ps if a.eligible and a.account)


def m_opt_in_holders(ps, D):
    """SPEC: "share of eligible patients ... holding access through opt-in": the count of
    eligible patients whose full access held at D is not automatic (J6)."""
    return sum(1 for a in ps if a.eligible and a.held and a.kind == "opt_in")


def m_opt_in_holders_with_account(ps, D):
    """SPEC: "... and of eligible account holders, holding access through opt-in"."""
    return sum(1 for a in ps if a.eligible and a.account and a.held and a.kind == "opt_in")


def _share(n, d):
    return None if d == 0 else n / d


def m_requests(hs, start, D):
    """SPEC: "requests ... in the period and cumulatively" - new requests (episode
    openings, not chasers, J8). Returns (period, cumulative)."""
    per = cum = 0
    for h in hs:
        for d in h.new_requests:
            if d <= D:
                cum += 1
                if d >= start:
                    per += 1
    return per, cum


def m_counselled(hs, start, D):
    """SPEC: "counselled ... in the period and cumulatively": counselled events (J8)."""
    per = cum = 0
    for h in hs:
        for d in h.counselled:
            if d <= D:
                cum += 1
                if d >= start:
                    per += 1
    return per, cum


def m_provisioned(hs, start, D):
    """SPEC: "provisioned in the period and cumulatively": provisions - a coded grant
    closing an open episode, or the extract's full-access start date while an episode is
    open (implied provision). Restorations are not provisions (J6, J8)."""
    per = cum = 0
    for h in hs:
        for d, _, _ in h.provisions:
            if d <= D:
                cum += 1
                if d >= start:
                    per += 1
    return per, cum


def m_provisioned_counselled_period(hs, start, D):
    """Provisions of the period with a counselled event between the episode's first
    request and the provision, both days included (guidance: "once counselled,
    provision access manually"; glossary `counselled-before-provision`)."""
    return sum(1 for h in hs for d, _, c in h.provisions if start <= d <= D and c)


def m_open_requests(hs, D):
    """SPEC: "open requests ... by days waited since the first request of the open
    episode". An episode open at the end of D. Returns (open, and, per SPEC's wait tail,
    "the counts waiting over 28, over 90 and over 180 days")."""
    n, tail = 0, {28: 0, 90: 0, 180: 0}
    for h in hs:
        ep = h.open_episode(D)
        if ep is not None:
            n += 1
            for t in tail:
                tail[t] += (D - ep["first"]).days > t
    return n, tail


def m_open_awaiting_counselling(hs, D):
    """GLOSSARY: an open request's "stage is awaiting counselling or, once counselled,
    awaiting provisioning": open at D with no counselling of its episode on or before D.
    (Added by the team, from those words, after the package published it.)"""
    return sum(1 for h in hs if (ep := h.open_episode(D)) is not None
               and not any(c <= D for c in ep["counselled"]))  # fmt: skip


def m_longest_wait_band(hs, D):
    """Glossary: "Waits are shown in bands 0-7, 8-14, 15-28, 29-56, 57-90, 91-180 and over
    180 days": the band of the longest wait of a request open at D ('none' without one).
    (Added after the package published it in its exact headline.)"""
    waits = [(D - ep["first"]).days for h in hs if (ep := h.open_episode(D)) is not None]
    if not waits:
        return "none"
    uppers = ((7, "0-7"), (14, "8-14"), (28, "15-28"), (56, "29-56"), (90, "57-90"),
              (180, "91-180"))  # fmt: skip
    return next((band for upper, band in uppers if max(waits) <= upper), "181+")


def percentile(xs, q):
    """Nearest rank: the value at rank ceil(q/100 x n) of the sorted values. (Issue 24
    changed the definition from linear interpolation, whose fraction betrays n: SPEC
    section 6, "never as a float that betrays its group's size".)"""
    xs = sorted(xs)
    if not xs:
        return None
    return float(xs[max(1, math.ceil(q * len(xs) / 100)) - 1])


def m_request_to_provision(hs, start, D):
    """SPEC: "time from first request to provision (median, 90th percentile)": over the
    period's provisions, days from the episode's first request to the provision.
    Returns (n, median, p90)."""
    days = [(d - f).days for h in hs for d, f, _ in h.provisions if start <= d <= D]
    return len(days), percentile(days, 50), percentile(days, 90)


def m_revocation_backlog(ps, D, supplier):
    """SPEC: "Revocation backlog, in the guidance's words per supplier — EMIS: account
    holders holding automatic full access; TPP: anyone holding automatic full access."
    Among eligible patients (the guidance's scope is 16+)."""
    if supplier == "emis":
        return sum(1 for a in ps if a.eligible and a.auto and a.account)
    return sum(1 for a in ps if a.eligible and a.auto)


def m_automatic_with_account(ps, D):
    """Eligible account holders holding automatic full access at D."""
    return sum(1 for a in ps if a.eligible and a.auto and a.account)


def m_dormant_exposure(ps, D):
    """SPEC: "Dormant exposure: automatic full access without a usable account"."""
    return sum(1 for a in ps if a.eligible and a.auto and not a.account)


def m_revocations(hs, start, D):
    """SPEC: "revocations of automatic access per month": coded revocations ending a spell
    of automatic access (J5). Returns (period, cumulative)."""
    per = cum = 0
    for h in hs:
        for d in h.auto_revocations:
            if d <= D:
                cum += 1
                if d >= start:
                    per += 1
    return per, cum


def m_revocation_rate_per_month(hs, D):
    """Glossary: "revocations of automatic access in the last three complete months, per
    month" (J10)."""
    if month_end(D.year, D.month) == D:
        y, m = D.year, D.month
    else:
        y, m = add_months(D.year, D.month, -1)
    y0, m0 = add_months(y, m, -2)
    lo, hi = dt.date(y0, m0, 1), month_end(y, m)
    return sum(1 for h in hs for d in h.auto_revocations if lo <= d <= hi) / 3


def m_projected_clear(backlog, rate, D):
    """SPEC: "projected clear date at the recent rate" (J10)."""
    if backlog == 0:
        return "cleared", None
    if rate == 0:
        return "not clearing", None
    n = math.ceil(backlog / rate - 1e-12)
    y, m = add_months(D.year, D.month, n)
    return "clearing", month_end(y, m).isoformat()


def m_pending_16(ps, D, months=6):
    """SPEC: "patients turning 16 from the day after D to the end of the sixth calendar
    month after D's month ... protected vs at risk" (J15). Returns (cohort, protected,
    at risk)."""
    y, m = add_months(D.year, D.month, months)
    hi = month_end(y, m)
    coh = prot = 0
    for a in ps:
        if a.registered and D < a.h.b16 <= hi:
            coh += 1
            prot += a.protected
    return coh, prot, coh - prot


def m_turned_16_automatic(ps, start, D):
    """SPEC: "turned 16 with automatic access in the period (counted when it happened,
    even if revoked since)" (J14)."""
    return sum(
        1
        for a in ps
        if a.registered and start <= a.h.b16 <= D and a.h.automatic_between(a.h.b16, D)
    )


def m_protection_coverage(ps, D):
    """SPEC: "Protection coverage: among eligible patients without access who neither
    opted out nor asked to opt in, the share protected." Returns (numerator,
    denominator)."""
    num = den = 0
    for a in ps:
        if a.eligible and not a.held and not a.h.asked_or_opted_out(D):
            den += 1
            num += a.protected
    return num, den


def m_withheld_pending_opt_in(ps, D):
    """SPEC: "Withheld pending opt-in: eligible patients with neither access nor an
    opt-out" (J13)."""
    return sum(1 for a in ps if a.eligible and not a.held and not a.opted_out)


def m_active_104_16plus(ps, D):
    """Eligible patients with an active 104 at D ("a 104 not cancelled by a later 106";
    same day, 104 later - J1)."""
    return sum(1 for a in ps if a.eligible and a.active_104)


def m_record_disagreements(ps, D):
    """SPEC: "where the codes and the extract disagree on the extract date, the extract
    wins and the disagreement is listed" (J12). Evaluated on the extract date, among the
    patients registered on the extract date (issue 23: "count the disagreements as of the
    extract date only"; the oracle first counted those registered at D)."""
    return sum(1 for a in ps if a.h.registered(a.h.extract_date) and a.h.disagreement)


def m_nhse_shares(ps, D):
    """Default model (J16): share of eligible with full access, of eligible account
    holders with full access, of eligible with an active 104."""
    el = [a for a in ps if a.eligible]
    acc = [a for a in el if a.account]
    return (
        _share(sum(a.held for a in el), len(el)),
        _share(sum(a.held for a in acc), len(acc)),
        _share(sum(a.active_104 for a in el), len(el)),
    )


# ---------------------------------------------------------------------------------------


def headline(practice: Practice, period: str) -> dict:
    """All headline measures of one practice for one month (see the module docstring)."""
    prof = practice.profile
    start, D = reference_dates(period, prof["extract_date"])
    hs = practice.histories()
    ps = [At(prof, h, D) for h in hs]
    out = {"ref_date": D.isoformat(), "period_start": start.isoformat()}
    out["eligible"] = m_eligible(ps, D)
    out["account_holders_16plus"] = m_account_holders_16plus(ps, D)
    out["opt_in_holders"] = m_opt_in_holders(ps, D)
    out["opt_in_holders_with_account"] = m_opt_in_holders_with_account(ps, D)
    out["opt_in_share_of_eligible"] = _share(out["opt_in_holders"], out["eligible"])
    out["opt_in_share_of_account_holders"] = _share(
        out["opt_in_holders_with_account"], out["account_holders_16plus"]
    )
    out["requests_period"], out["requests_cumulative"] = m_requests(hs, start, D)
    out["counselled_period"], out["counselled_cumulative"] = m_counselled(hs, start, D)
    out["provisioned_period"], out["provisioned_cumulative"] = m_provisioned(hs, start, D)
    out["provisioned_counselled_period"] = m_provisioned_counselled_period(hs, start, D)
    out["counselled_before_provision_share"] = _share(
        out["provisioned_counselled_period"], out["provisioned_period"]
    )
    out["longest_wait_band"] = m_longest_wait_band(hs, D)
    out["open_requests"], tail = m_open_requests(hs, D)
    out["open_requests_awaiting_counselling"] = m_open_awaiting_counselling(hs, D)
    out |= {f"open_requests_over_{t}_days": n for t, n in tail.items()}
    (
        out["request_to_provision_n"],
        out["request_to_provision_median_days"],
        out["request_to_provision_p90_days"],
    ) = m_request_to_provision(hs, start, D)
    out["revocation_backlog"] = m_revocation_backlog(ps, D, prof["supplier"])
    out["automatic_with_account"] = m_automatic_with_account(ps, D)
    out["dormant_exposure"] = m_dormant_exposure(ps, D)
    out["revocations_period"], out["revocations_cumulative"] = m_revocations(hs, start, D)
    out["revocation_rate_per_month"] = m_revocation_rate_per_month(hs, D)
    out["projected_clear_status"], out["projected_clear_date"] = m_projected_clear(
        out["revocation_backlog"], out["revocation_rate_per_month"], D
    )
    out["pending_16_horizon_months"] = 6
    (out["pending_16_cohort"], out["pending_16_protected"], out["pending_16_at_risk"]) = (
        m_pending_16(ps, D, 6)
    )
    out["turned_16_automatic"] = m_turned_16_automatic(ps, start, D)
    num, den = m_protection_coverage(ps, D)
    out["protection_coverage_numerator"] = num
    out["protection_coverage_denominator"] = den
    out["protection_coverage_share"] = _share(num, den)
    out["unprotected"] = den - num
    out["withheld_pending_opt_in"] = m_withheld_pending_opt_in(ps, D)
    out["active_104_16plus"] = m_active_104_16plus(ps, D)
    out["record_disagreements"] = m_record_disagreements(ps, D)
    if prof.get("model") == "default":
        (
            out["nhse_share_with_access"],
            out["nhse_share_with_access_of_account_holders"],
            out["nhse_share_active_104"],
        ) = m_nhse_shares(ps, D)
    return out


if __name__ == "__main__":
    import json
    import sys

    cfg, period = sys.argv[1], sys.argv[2]
    for pr in read_practices(cfg):
        print(json.dumps({"practice": pr.ods_code, "headline": headline(pr, period)}, indent=2))
