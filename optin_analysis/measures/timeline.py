"""How each patient's access came and went: opt-in episodes and spells of full access.

Worked out once per practice and profile (:func:`timeline`), independent of any reference
date; the state at a date D (:mod:`optin_analysis.measures.state`) reads it. Sources of
truth: the patients extract is the truth about access on the extract date, and about full
access on and after the start of full access it shows; coded events are evidence of
history before that. A level without full access is not evidence of when full access
ended (its date is often the account's creation): coded revocations after its date still
happened. Whether access held at a date came through opt-in is decided by what is known
on or before that date.

Rules (each rule tag below has a hand-worked test, listed in ``tests/README.md``):

* [rule tie-order] Events of one patient on one day count in this order: 106, 104;
  opt_in_requested, counselled, access_granted, opt_in_declined, opt_out, access_revoked.
  So a request comes before the grant that provisions it, a same-day opt-out closes a
  request, a revocation wins over a grant and a 104 over a 106.
* [rule episode] An opt-in episode opens with an opt_in_requested event when none is open
  and closes at the next access_granted, opt_in_declined or opt_out. A request made while
  an episode is open is a chaser: the episode still dates from its first request.
* [rule provision] A provision is an access_granted event that closes an open episode;
  its wait runs from the episode's first request. Where grants are not coded, the
  extract's access start date is an implied provision when the extract's full access is
  opt-in through an episode still open on that day: it closes the episode on that day
  (a grant of that episode coded later is the same provision).
* [rule restoration] An access_granted event with no open episode restores access. It is
  not a provision; the access it gives is opt-in when the patient had an earlier
  provision and no opt_out since, and automatic otherwise.
* [rule auto-start] ``auto_start`` = max(go-live date, online_account_date, 16th
  birthday): when automatic access would begin (a missing account date is skipped);
  none without a go-live date.
* [rule current-start] Full access in the extract applies from its access_start_date;
  without one, from the day of a coded grant when the latest coded grant/revoke up to the
  extract date is a grant, else from auto_start or the extract date, whichever is
  earlier (the extract shows the access held then). Two readings here are choices:
  (a) full access with no date after a coded revocation (latest coded is a revocation) is
  held from auto_start, so the revocation was never made in the account (a
  disagreement); the other reading, access ended at the revocation and was given again at
  an unknown date after it, would count a revocation the account does not show.
  (b) Full access with no date and no codes at a practice that has not gone live (no
  go-live date, or one after the extract) is held from the extract date: nothing says
  when it began, so earlier months are not given access on no evidence; the other
  reading, held always, would put it in every earlier month's figures.
* [rule level-start] A level without full access (none, summary, detailed coded record)
  says what holds on the extract date only: its access_start_date is often the account's
  creation, not when full access ended, and cannot be before the latest coded grant or
  revocation. So it applies from the extract date, and before that the codes decide
  ([rule history]): a revocation coded after the level's date still happened and counts;
  a coded grant the extract contradicts gave access until the extract date (a
  disagreement). Not taken: starting the level on its date where that falls after the
  latest coded grant or revocation (nothing says the date is when the level changed).
* [rule extract-wins] On and after that start the extract decides whether the patient
  holds full prospective access; coded grants and revocations after that day change
  nothing (where they disagree, see [rule disagreement]).
* [rule history] Before that start the coded grants and revocations dated on or before
  it decide. A day with a revocation ends access, a day with grants only gives it until the
  next such day. When the first such day has revocations only, automatic access was held
  from auto_start until then. With no such events there was no access.
* [rule extract-kind] The extract's full access is opt-in from its start day S when the
  latest coded grant/revoke on or before S is an opt-in grant, or an episode is open on S,
  or a provision on or before S has no opt_out after it; otherwise it is automatic. So
  full access with no grant code is automatic unless an open opt-in request precedes its
  start date. Only what is known by a date decides how access held then came: automatic
  access becomes opt-in on the day of the first opt-in grant (a provision or a
  restoration) after S, up to the extract date; before that day it is automatic (a
  patient with automatic access who asks later is in the backlog until the provision).
* [rule automatic-revocation] A revocation of automatic access is an access_revoked
  event that ends a spell of automatic access (held the day before, not on the day).
  Taking back opt-in access is not one.
* [rule disagreement] At the extract date, codes and extract disagree when the latest
  coded grant/revoke up to it is a grant but the extract shows no full access, or is a
  revocation but the extract shows full access: from before the revocation (not made in
  the account), or from after it and automatic (given again without a grant code; access
  given after an opt-in request is an uncoded provision, not a disagreement). The
  extract wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from optin_analysis.config import Practice
from optin_analysis.measures.days import MISSING, NEVER, day_number, group_min
from optin_analysis.measures.link import (
    K_ADDED,
    K_COUNSELLED,
    K_DECLINED,
    K_GRANTED,
    K_OPT_OUT,
    K_REMOVED,
    K_REQUEST,
    K_REVOKED,
    KINDS,
    Prepared,
)

#: Same-day order of event kinds, earlier first ([rule tie-order]).
TIE_ORDER = (
    K_REMOVED,
    K_ADDED,
    K_REQUEST,
    K_COUNSELLED,
    K_GRANTED,
    K_DECLINED,
    K_OPT_OUT,
    K_REVOKED,
)
#: An implied provision, added to the events for working out episodes only: it closes
#: the episode open on the extract's access start day, as a coded grant would.
K_IMPLIED = len(KINDS)
RANK = np.full(len(KINDS) + 1, len(TIE_ORDER), dtype=np.int64)
RANK[list(TIE_ORDER)] = np.arange(len(TIE_ORDER))
RANK[K_IMPLIED] = RANK[K_GRANTED]

#: Disagreements between coded grants/revocations and the extract ([rule disagreement]).
AGREE, GRANT_NOT_IN_ACCOUNT, REVOKE_NOT_IN_ACCOUNT, GIVEN_AGAIN_UNCODED = 0, 1, 2, 3
DISAGREEMENTS = {
    GRANT_NOT_IN_ACCOUNT: "access grant coded, but the extract shows no full access",
    REVOKE_NOT_IN_ACCOUNT: "revocation coded, but full access is still in the account",
    GIVEN_AGAIN_UNCODED: "revocation coded, but full access was given again later "
    "without a grant code",
}


def coded_text(codes: np.ndarray, words: list[str]) -> pd.api.extensions.ExtensionArray:
    """``words[code]`` for each code, missing where a code is negative: a text column made
    in Arrow (no Python string per row)."""
    missing = codes < 0
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    return pd.array(pa.array(words, pa.large_string()).take(indices), dtype="str")


def disagreement_words(codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Disagreement codes as words (:data:`DISAGREEMENTS`; empty text where they agree)."""
    return pd.Series(coded_text(codes, ["", *DISAGREEMENTS.values()]), index=index)


@dataclass(frozen=True)
class Spells:
    """Spans of full prospective access: patient ``pos`` holds it on days ``start <= d < end``.

    Spans of one patient never overlap; ``optin`` tells opt-in from automatic access.
    :data:`MISSING` and :data:`NEVER` stand for no bound.
    """

    pos: np.ndarray
    start: np.ndarray
    end: np.ndarray
    optin: np.ndarray

    def on(self, d: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(has_access, via_opt_in) of ``n`` patients on day ``d``."""
        held = (self.start <= d) & (d < self.end)
        has, via = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        has[self.pos[held]] = True
        via[self.pos[held & self.optin]] = True
        return has, via

    def automatic(self) -> Spells:
        """Only the spans of automatic access."""
        keep = ~self.optin
        return Spells(self.pos[keep], self.start[keep], self.end[keep], self.optin[keep])


def _grants(kind: np.ndarray) -> np.ndarray:
    return (kind == K_GRANTED) | (kind == K_IMPLIED)


def _closes(kind: np.ndarray) -> np.ndarray:
    return _grants(kind) | (kind == K_DECLINED) | (kind == K_OPT_OUT)


def _previous(flag: np.ndarray, pos: np.ndarray, inclusive: bool = False) -> np.ndarray:
    """For events in patient order: position of the latest earlier event of the same patient
    with ``flag`` (the event itself too when ``inclusive``); -1 where none."""
    index = np.arange(len(flag))
    if not len(flag):
        return index
    run = np.maximum.accumulate(np.where(flag, index, -1))
    if not inclusive:
        run = np.concatenate([[-1], run[:-1]])
    return np.where((run >= 0) & (pos[np.maximum(run, 0)] == pos), run, -1)


@dataclass(frozen=True)
class Events:
    """A practice's events ordered by patient, day and same-day rank, with their episodes.

    Per event: ``opens`` (a request opening an episode), ``provision``, ``optin_grant`` (a
    provision or a restoration), ``counselled`` (a provision counselled within its episode)
    and ``episode_start`` (day of the first request of the episode it belongs to).
    """

    n: int
    pos: np.ndarray
    kind: np.ndarray
    day: np.ndarray
    opens: np.ndarray
    provision: np.ndarray
    optin_grant: np.ndarray
    counselled: np.ndarray
    episode_start: np.ndarray

    @classmethod
    def of(cls, prep: Prepared, implied: Implied | None = None) -> Events:
        """Order ``prep``'s events and work out their episodes ([rule episode] ...); with
        ``implied``, its provisions close episodes too (as :data:`K_IMPLIED` events)."""
        pos, kind, day = prep.ev_pos, prep.ev_kind, prep.ev_day
        if implied is not None and len(implied.pos):
            pos = np.concatenate([pos, implied.pos])
            kind = np.concatenate([kind, np.full(len(implied.pos), K_IMPLIED, kind.dtype)])
            day = np.concatenate([day, implied.day])
        order = _order(pos, kind, day)
        pos, kind, day = pos[order], kind[order], day[order]
        is_grant = _grants(kind)
        open_before = _previous(kind == K_REQUEST, pos) > _previous(_closes(kind), pos)
        opens = (kind == K_REQUEST) & ~open_before
        provision = is_grant & open_before
        opener = _previous(opens, pos, inclusive=True)
        last_out = _previous(kind == K_OPT_OUT, pos)
        restoring = is_grant & ~provision & (_previous(provision, pos) > last_out)
        counselled = provision & (_previous(kind == K_COUNSELLED, pos) > opener)
        return cls(
            prep.n,
            pos,
            kind,
            day,
            opens,
            provision,
            provision | restoring,
            counselled,
            np.where(opener >= 0, day[np.maximum(opener, 0)], MISSING),
        )

    def latest(self, flag: np.ndarray, until: np.ndarray | int) -> np.ndarray:
        """Per patient, the position of the latest event with ``flag`` dated on or before
        ``until`` (a day, or one per patient); -1 where none."""
        limit = until if np.isscalar(until) else np.asarray(until)[self.pos]
        keep = flag & (self.day <= limit)
        out = np.full(self.n, -1, dtype=np.int64)
        np.maximum.at(out, self.pos[keep], np.flatnonzero(keep))
        return out

    def value(self, values: np.ndarray, index: np.ndarray, missing: object) -> np.ndarray:
        """``values[index]`` per patient, ``missing`` where the index is -1."""
        if not len(values):
            return np.full(len(index), missing)
        return np.where(index >= 0, values[np.maximum(index, 0)], missing)

    def open_on(self, until: np.ndarray | int) -> np.ndarray:
        """Per patient: an opt-in episode is open at the end of day ``until``."""
        closes = self.latest(_closes(self.kind), until)
        return self.latest(self.kind == K_REQUEST, until) > closes

    def opted_in_on(self, until: np.ndarray | int) -> np.ndarray:
        """Per patient: a provision on or before ``until`` with no opt_out after it."""
        opted_out = self.latest(self.kind == K_OPT_OUT, until)
        return self.latest(self.provision, until) > opted_out


@dataclass(frozen=True)
class Timeline:
    """Date-independent facts of every patient's record under one practice profile.

    ``events`` with their episodes; per patient ``auto_start``, ``current_start``
    ([rule current-start]) and ``disagreement`` (a key of :data:`DISAGREEMENTS`, 0 when
    codes and extract agree); every spell of full access; per event, whether it is a
    revocation of automatic access; the provisions implied by the extract.
    """

    events: Events
    auto_start: np.ndarray
    current_start: np.ndarray
    disagreement: np.ndarray
    spells: Spells
    automatic_revocation: np.ndarray
    implied: Implied

    def provisions(self) -> dict[str, np.ndarray]:
        """Every provision, coded or implied ([rule provision]): pos, day, wait (days from
        the episode's first request) and whether it was counselled within its episode.
        A grant coded later for an episode the implied provision closed restores access:
        it is not a second provision."""
        ev = self.events
        return {
            "pos": ev.pos[ev.provision],
            "day": ev.day[ev.provision],
            "wait": ev.day[ev.provision] - ev.episode_start[ev.provision],
            "counselled": ev.counselled[ev.provision],
        }

    def open_on(self, d: int) -> np.ndarray:
        """Per patient: an opt-in episode is open at the end of day ``d`` (an implied
        provision on or before ``d`` closes the episode open on its day; a later request
        opens a new one)."""
        return self.events.open_on(d)


@dataclass(frozen=True)
class Implied:
    """Provisions implied by the extract's access start date ([rule provision])."""

    pos: np.ndarray
    day: np.ndarray


def _implied(prep: Prepared, ev: Events, current: Current) -> Implied:
    """Patients whose extract access is opt-in through an episode open on its start date
    (``ev``: the coded events only)."""
    start = current.start
    given = prep.full & (prep.access_day != MISSING) & current.optin
    pos = np.flatnonzero(given & ev.open_on(start))
    return Implied(pos, start[pos])


def _order(pos: np.ndarray, kind: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Events ordered by patient, day and same-day rank (one sort of a combined key)."""
    if not len(day):
        return np.arange(0)
    low = int(day.min())
    span = int(day.max()) - low + 1
    key = (pos * span + (day - low)) * (len(TIE_ORDER) + 1)
    return np.argsort(key + RANK[kind], kind="stable")


def auto_start(prep: Prepared, profile: Practice) -> np.ndarray:
    """[rule auto-start] per patient; :data:`MISSING` without go-live date or birthday."""
    if profile.go_live_date is None:
        return np.full(prep.n, MISSING, dtype=np.int64)
    go_live = day_number(profile.go_live_date)
    start = np.maximum(np.maximum(prep.acct_day, prep.b16_day), go_live)
    return np.where(prep.b16_day == MISSING, MISSING, start)


@dataclass(frozen=True)
class Current:
    """The extract's current access level: from when it applies, its kind at that start,
    the day its full access becomes opt-in (:data:`NEVER` if it does not), disagreements."""

    start: np.ndarray
    optin: np.ndarray
    becomes_optin: np.ndarray
    disagreement: np.ndarray


def _current(prep: Prepared, ev: Events, extract: int, auto: np.ndarray) -> Current:
    """[rule current-start], [rule level-start], [rule extract-kind], [rule disagreement]."""
    coded = (ev.kind == K_GRANTED) | (ev.kind == K_REVOKED)
    last = ev.latest(coded, extract)
    last_kind = ev.value(ev.kind, last, -1)
    last_grant, last_revoke = last_kind == K_GRANTED, last_kind == K_REVOKED
    last_day = ev.value(ev.day, last, MISSING)
    full = prep.full
    given = prep.access_day != MISSING
    # the extract shows the access held on its date: it started by then at the latest
    fallback = np.where(auto == MISSING, extract, np.minimum(auto, extract))
    full_start = np.where(given, prep.access_day, np.where(last_grant, last_day, fallback))
    start = np.where(full, full_start, extract)  # [rule level-start]
    at_start = ev.latest(coded, start)
    optin = full & (
        ((ev.value(ev.kind, at_start, -1) == K_GRANTED) & ev.value(ev.optin_grant, at_start, False))
        | ev.open_on(start)
        | ev.opted_in_on(start)
    )
    later = ev.optin_grant & (ev.day > start[ev.pos]) & (ev.day <= extract)
    becomes = np.where(full & ~optin, group_min(ev.pos[later], ev.day[later], prep.n), NEVER)
    again = given & (prep.access_day > last_day)
    disagreement = np.select(
        [last_grant & ~full, last_revoke & full & ~again, last_revoke & full & again & ~optin],
        [GRANT_NOT_IN_ACCOUNT, REVOKE_NOT_IN_ACCOUNT, GIVEN_AGAIN_UNCODED],
        AGREE,
    )
    return Current(start, optin, becomes, disagreement.astype(np.int8))


def _history_spells(ev: Events, current_start: np.ndarray, auto: np.ndarray) -> Spells:
    """[rule history]: spans from coded grants and revocations before the current start."""
    keep = ((ev.kind == K_GRANTED) | (ev.kind == K_REVOKED)) & (ev.day <= current_start[ev.pos])
    pos, day, revoked, optin = (
        ev.pos[keep],
        ev.day[keep],
        ev.kind[keep] == K_REVOKED,
        ev.optin_grant[keep],
    )
    new_day = np.ones(len(pos), dtype=bool)
    new_day[1:] = (pos[1:] != pos[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_day)

    def per_day(values: np.ndarray) -> np.ndarray:
        return np.logical_or.reduceat(values, starts) if len(starts) else values[:0]

    any_revoked, any_granted, day_optin = per_day(revoked), per_day(~revoked), per_day(optin)
    pos, day = pos[starts], day[starts]
    first = np.ones(len(pos), dtype=bool)
    first[1:] = pos[1:] != pos[:-1]
    last = np.append(first[1:], True)[: len(pos)]
    following = np.where(last, current_start[pos], np.append(day[1:], MISSING)[: len(pos)])
    held_before = first & ~any_granted & (auto[pos] != MISSING) & (auto[pos] < day)
    on = ~any_revoked
    return Spells(
        np.concatenate([pos[on], pos[held_before]]),
        np.concatenate([day[on], auto[pos[held_before]]]),
        np.concatenate([following[on], day[held_before]]),
        np.concatenate([day_optin[on], np.zeros(int(held_before.sum()), dtype=bool)]),
    )


def _all_spells(prep: Prepared, ev: Events, current: Current, auto: np.ndarray) -> Spells:
    """History's spells, then the extract's full access: from its start, in its kind at
    the start until the day it becomes opt-in ([rule extract-kind])."""
    history = _history_spells(ev, current.start, auto)
    full = np.flatnonzero(prep.full)
    switch = current.becomes_optin[full]
    turns = full[switch != NEVER]
    spells = Spells(
        np.concatenate([history.pos, full, turns]),
        np.concatenate([history.start, current.start[full], switch[switch != NEVER]]),
        np.concatenate([history.end, switch, np.full(len(turns), NEVER, dtype=np.int64)]),
        np.concatenate([history.optin, current.optin[full], np.ones(len(turns), dtype=bool)]),
    )
    held = spells.start < spells.end
    return Spells(spells.pos[held], spells.start[held], spells.end[held], spells.optin[held])


def _pair(pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One integer per (patient, day) with a real date."""
    return pos.astype(np.int64) * (1 << 32) + (day + (1 << 31))


def _automatic_revocations(ev: Events, spells: Spells) -> np.ndarray:
    """[rule automatic-revocation] per event."""
    auto = spells.automatic()
    ends = (auto.end != NEVER) & (auto.start < auto.end)
    revoked = ev.kind == K_REVOKED
    out = np.zeros(len(ev.kind), dtype=bool)
    out[revoked] = np.isin(
        _pair(ev.pos[revoked], ev.day[revoked]), _pair(auto.pos[ends], auto.end[ends])
    )
    return out


def timeline(prep: Prepared, profile: Practice) -> Timeline:
    """The :class:`Timeline` of ``prep`` under ``profile`` (worked out once, then kept, by
    the two dates of the profile it depends on: hashing a whole profile costs more)."""
    key = ("timeline", profile.go_live_date, profile.extract_date)
    if key not in prep.cache:
        coded = Events.of(prep)
        auto = auto_start(prep, profile)
        current = _current(prep, coded, day_number(profile.extract_date), auto)
        spells = _all_spells(prep, coded, current, auto)
        implied = _implied(prep, coded, current)
        ev = Events.of(prep, implied) if len(implied.pos) else coded  # episodes, closed
        prep.cache[key] = Timeline(
            ev,
            auto,
            current.start,
            current.disagreement,
            spells,
            _automatic_revocations(ev, spells),
            implied,
        )
    return prep.cache[key]
