"""Statistical disclosure control: the one place outgoing counts are made safe.

**One count.** [rule sdc-count] A count from 1 to ``redact_at_or_below`` (k, default 7)
is suppressed and shown as "[c]"; every other count is rounded to the nearest
``round_to`` (r, default 5); zero stays zero (OpenSAFELY's rule, and NHS Digital's below
national level). In JSON a suppressed count is the string "[c]" too. A published 0 means
none: a rule that would round a count above k to 0 is refused ([rule sdc-zero]).

**The guarantee.** No suppressed value can be pinned, and no rounded value narrowed to
an exact count, by combining published figures: one practice-month's report,
``summary.json`` and its "last month" figures; **every earlier release** of the
practice (each monthly report and summary the ICB has kept); the ICB roll-ups against
their practices. It rests on three rules:

1. [rule sdc-base-cells] Base cells. A count is controlled and published on its own only
   when no exact identity links its true value to other published base cells. Of a
   total and its parts only the parts are base cells; monthly flows are published
   without running totals; figures that are the same count (the period's requests and
   the series' last month) are published once.
2. [rule sdc-derived] Derived figures. Everything else is computed from published base
   cells only: totals are sums of published parts ("[c]" when a part is suppressed),
   shares come from published counts, a projected date from the published backlog and
   revocations. A derived figure carries nothing its base cells do not. No published
   figure is a difference of two others: a difference of rounded counts can read 0
   where the true count is not. Where the parts are not published at all (those with
   access on the default model), the total is a base cell instead ([rule
   sdc-default-access]).

3. Releases ([rule sdc-releases], :mod:`optin_analysis.outgoing.releases`). A cell once
   released is released again identically or not at all, and months are never grouped
   again into another cell: the cells of every release of a series form one partition
   of its months. "Last month" is last month's release.

With no identity among them, published base cells bound the true values cell by cell
only: a suppressed cell could be any of 1..k, a rounded cell any of its r values. Two
kinds of figure are nested rather than summed, which bounds each by the next but pins
none: the wait tail (open requests, and those waiting more than 7 ... 180 days) and a
figure beside its part (open requests awaiting counselling beside open requests,
provisions counselled first beside provisions); the difference of the two is not
published. Order statistics (the median
and 90th percentile of waits) are whole days by nearest rank, an observed wait,
published only over at least ten published provisions: nothing in them depends on the
group's size.

**Coarsening.** [rule sdc-coarsen-parts] Parts of a total are merged (finer bands into
coarser, months into blocks) until none is suppressed (:func:`coarsen`, policy
``parts``); the coarsest grouping is a single cell, the total, which may then be "[c]".
[rule sdc-coarsen-series] A series with no published total (months of requests) is
merged months to quarters to years until at most a quarter of its non-zero cells are
suppressed (policy ``series``): each calendar year once, when first published (rule 3).

**Roll-up.** [rule sdc-rollup-total] ICB totals are sums of the practices' published
figures; a total with suppressed parts is shown "at least N (K practices suppressed)".
When one run holds every practice's exact figures, a total of base cells is the exact
sum, controlled, but only where :func:`exact_total_is_safe` shows it cannot narrow any
practice's cell.

``tests/disclosure/test_attack.py`` checks the guarantee with an integer-programming
attacker given six consecutive monthly releases of a generated ICB and their roll-ups
(``make attack``: 20 practices).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from optin_analysis.config import Disclosure

MARK = "[c]"  #: how a suppressed (or otherwise unpublished) figure is shown and stored
Published = int | str  #: a published count: a number, or MARK
#: At most this share of a series' non-zero cells may be suppressed (policy ``series``).
SERIES_HIDDEN_SHARE = 0.25
FOOTNOTE = (
    "[c]: not published, to protect patient confidentiality: a count from 1 to {k}, or a "
    "figure that could reveal one (a month shown only within its quarter, a total with a "
    "part from 1 to {k}). Other counts are rounded to the nearest {r}; totals add the "
    "rounded figures shown, and percentages are worked out from them."
)


def footnote(rule: Disclosure) -> str:
    """The sentence a report prints under its figures."""
    if not rule.enabled:
        return "Disclosure control is off: figures are exact. Practice internal, not for sending."
    return FOOTNOTE.format(k=rule.redact_at_or_below, r=rule.round_to)


def control_count(count: int | None, rule: Disclosure) -> Published | None:
    """One count controlled: 0 stays 0, 1..k is MARK, the rest rounded (None passes through)."""
    if count is None:
        return None
    count = int(count)
    if not rule.enabled or count == 0:
        return count
    if count <= rule.redact_at_or_below:
        return MARK
    return int(math.floor(count / rule.round_to + 0.5) * rule.round_to)


def control_array(counts: Iterable[int], rule: Disclosure) -> list[Published]:
    """Counts controlled one by one (see :func:`control_count`)."""
    return [control_count(int(c), rule) for c in counts]


def hidden(value: object) -> bool:
    """Whether a published value is suppressed."""
    return isinstance(value, str) and value == MARK


def some(value: object) -> bool:
    """Whether a published count stands for more than none: "[c]" (1 to k) or a count
    above 0 (a published 0 is none, [rule sdc-zero]; None, not applying, is none)."""
    return hidden(value) or (value is not None and int(value) > 0)


def interval(value: Published, rule: Disclosure) -> tuple[int, int]:
    """The true counts a published base cell can stand for, as (lowest, highest)."""
    if hidden(value):
        return 1, rule.redact_at_or_below
    value = int(value)
    if not rule.enabled or value == 0:
        return value, value
    half = rule.round_to / 2
    low = max(math.ceil(value - half), rule.redact_at_or_below + 1)
    return low, math.ceil(value + half) - 1


def total(values: Iterable[Published]) -> Published:
    """The sum of published parts, or MARK when any part is suppressed."""
    values = list(values)
    return MARK if any(hidden(v) for v in values) else int(sum(int(v) for v in values))


#: Decimals of a published share: a percentage with one decimal, as reports show it.
SHARE_DECIMALS = 3


def share(numerator: Published | None, denominator: Published | None) -> float | str | None:
    """A share from published counts, to the precision shown (a percentage with one
    decimal): MARK when either is suppressed, None when 0 / 0."""
    if numerator is None or denominator is None:
        return None
    if hidden(numerator) or hidden(denominator):
        return MARK
    if int(denominator) == 0:
        return None
    return round(int(numerator) / int(denominator), SHARE_DECIMALS)


@dataclass(frozen=True)
class Level:
    """One way of grouping fine cells: ``group[i]`` is the group of fine cell i."""

    name: str
    group: np.ndarray
    labels: tuple


def coarsen(
    fine: np.ndarray, levels: Sequence[Level], rule: Disclosure, policy: str
) -> tuple[Level, list[Published]]:
    """The finest level whose controlled group sums pass ``policy``, with those sums.

    ``parts``: no group is suppressed; ``series``: at most :data:`SERIES_HIDDEN_SHARE` of
    the non-zero groups are. The last level is taken when no earlier one passes.
    """
    for level in levels:
        sums = np.bincount(level.group, weights=fine, minlength=len(level.labels))
        published = control_array(sums.round().astype(np.int64), rule)
        if level is levels[-1] or passes(published, policy):
            return level, published
    raise ValueError("no levels given")


def passes(published: list[Published], policy: str) -> bool:
    """Whether published groups meet ``policy`` (``parts`` or ``series``, see :func:`coarsen`)."""
    suppressed = sum(hidden(v) for v in published)
    if policy == "parts":
        return suppressed == 0
    nonzero = sum(hidden(v) or int(v) > 0 for v in published)
    return suppressed <= SERIES_HIDDEN_SHARE * nonzero


def exact_total_is_safe(
    total_published: Published, parts: Sequence[Published], rule: Disclosure
) -> bool:
    """Whether publishing a controlled exact total beside its published parts leaves every
    part as uncertain as its own rule makes it (and the total not pinned either).

    One sum over integer boxes: a part can be any integer in
    [max(lo, T_lo - sum of others' hi), min(hi, T_hi - sum of others' lo)].
    """
    boxes = [interval(p, rule) for p in parts]
    t_lo, t_hi = interval(total_published, rule)
    sum_lo, sum_hi = sum(b[0] for b in boxes), sum(b[1] for b in boxes)
    for lo, hi in boxes:
        if lo == hi:  # an exact part (0, not rounded, or control off): nothing to protect
            continue
        low = max(lo, t_lo - (sum_hi - hi))
        high = min(hi, t_hi - (sum_lo - lo))
        if low >= high:
            return False
    return t_lo == t_hi or max(t_lo, sum_lo) < min(t_hi, sum_hi)


def at_least(values: Iterable[Published]) -> tuple[int, int]:
    """(lowest total the published values allow counting each suppressed one as 1, number
    suppressed) for "at least N (K practices suppressed)"."""
    values = list(values)
    suppressed = sum(hidden(v) for v in values)
    return int(sum(int(v) for v in values if not hidden(v))) + suppressed, suppressed


# --------------------------------------------------------------------------- for people


def show(value: object, kind: str = "count") -> str:
    """[rule sdc-show] A published figure as text: "[c]" when suppressed (never a dash, a
    blank or 0), "n/a" when it does not apply (a share of nobody).

    ``kind``: ``count`` (thousands separators), ``share`` (a percentage with at most one
    decimal), ``days`` (whole days, or one decimal), ``rate`` (at most one decimal).
    """
    if hidden(value):
        return MARK
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "share":
        text = f"{100 * float(value):.1f}"
        return text.removesuffix(".0") + "%"
    if kind == "days":
        days = float(value)
        return f"{days:,.0f} days" if days == round(days) else f"{days:,.1f} days"
    if kind == "rate":
        return f"{float(value):,.1f}".removesuffix(".0")
    return f"{int(value):,}"
