"""Disclosure control, rule by rule, on hand-worked figures."""

from __future__ import annotations

import numpy as np
import pytest

from optin_analysis.config import Disclosure
from optin_analysis.outgoing.disclosure import (
    MARK,
    Level,
    at_least,
    coarsen,
    control_array,
    control_count,
    exact_total_is_safe,
    footnote,
    interval,
    share,
    show,
    total,
)

RULE = Disclosure()


def test_rule_sdc_count_suppresses_1_to_7_keeps_0_and_rounds_half_up_to_5():
    got = control_array([0, 1, 7, 8, 12, 13, 22, 23, 1234], RULE)
    # 8 -> 10 (8/5 = 1.6 -> 2), 12 -> 10 (2.4 -> 2), 13 -> 15 (2.6 -> 3), 22 -> 20,
    # 23 -> 25, 1234 -> 1235 (246.8 -> 247)
    assert got == [0, MARK, MARK, 10, 10, 15, 20, 25, 1235]


def test_rule_sdc_count_is_configurable_and_can_be_switched_off():
    assert control_count(9, Disclosure(redact_at_or_below=10, round_to=5)) == MARK
    assert control_count(11, Disclosure(redact_at_or_below=10, round_to=10)) == 10
    assert control_count(3, Disclosure(enabled=False)) == 3
    assert "exact" in footnote(Disclosure(enabled=False))
    assert "1 to 7" in footnote(RULE) and "nearest 5" in footnote(RULE)


def test_interval_of_a_published_count():
    # [c]: 1..7; 10 stands for 8..12 (12.5 would round up to 15); 15 for 13..17; 0 for 0
    assert interval(MARK, RULE) == (1, 7)
    assert interval(10, RULE) == (8, 12)
    assert interval(15, RULE) == (13, 17)
    assert interval(0, RULE) == (0, 0)
    # with round_to 10, 20 stands for 15..24 (15/10 = 1.5 rounds up to 2)
    assert interval(20, Disclosure(round_to=10)) == (15, 24)


def test_rule_sdc_derived_totals_and_shares_come_from_published_figures():
    assert total([10, 0, 25]) == 35
    assert total([10, MARK]) == MARK  # a total with a suppressed part is suppressed
    assert share(15, 100) == 0.15
    assert share(MARK, 100) == MARK and share(15, MARK) == MARK
    assert share(0, 0) is None  # a share of nobody does not apply


def _levels() -> list[Level]:
    # four fine cells: by one cell, in two pairs, all together
    return [
        Level("cell", np.array([0, 1, 2, 3]), ("a", "b", "c", "d")),
        Level("pair", np.array([0, 0, 1, 1]), ("ab", "cd")),
        Level("all", np.array([0, 0, 0, 0]), ("abcd",)),
    ]


def test_rule_sdc_coarsen_parts_merges_until_no_part_is_suppressed():
    # 3 is suppressed alone; pairs 3+9 = 12 -> 10 and 0+20 = 20: none suppressed
    level, published = coarsen(np.array([3, 9, 0, 20]), _levels(), RULE, "parts")
    assert (level.name, published) == ("pair", [10, 20])
    # 2 + 1 = 3 and 0 + 4 = 4: both pairs suppressed, so all together: 7 is [c]
    level, published = coarsen(np.array([2, 1, 0, 4]), _levels(), RULE, "parts")
    assert (level.name, published) == ("all", [MARK])


def test_rule_sdc_coarsen_series_allows_a_quarter_of_nonzero_cells_suppressed():
    # 1 suppressed of 4 non-zero cells (25%): kept by cell
    level, published = coarsen(np.array([3, 9, 10, 20]), _levels(), RULE, "series")
    assert level.name == "cell" and published == [MARK, 10, 10, 20]
    # 2 suppressed of 4 (50%): pairs 5 and 30 -> [c] and 30: 1 of 2 is 50%: all, 35
    level, published = coarsen(np.array([3, 2, 10, 20]), _levels(), RULE, "series")
    assert (level.name, published) == ("all", [35])


def test_rule_sdc_rollup_total_exact_only_where_it_cannot_pin_a_part():
    # four parts published 10 (8..12 each) and an exact total 48 -> 50 (48..52): the parts
    # can only sum to 48..48 within 48..52 if every part is 12: unsafe
    assert not exact_total_is_safe(50, [10, 10, 10, 10], RULE)
    # two parts 10 and 10 (16..24) with total 20 (18..22): each part still 8..12 -> safe
    assert exact_total_is_safe(20, [10, 10], RULE)
    # a suppressed part (1..7) beside 10 (8..12) with total 15 (13..17): the [c] can be
    # 1..7 still (13 - 12 = 1 up to 17 - 8 = 9): safe
    assert exact_total_is_safe(15, [MARK, 10], RULE)
    # [c] + [c] with total 15 (13..17): both at least 13 - 7 = 6: 6..7 each, not pinned
    assert exact_total_is_safe(15, [MARK, MARK], RULE)
    # three [c] with total 20 (18..22): sum at most 21, each at least 18 - 14 = 4: safe;
    # but total 25 (23..27) is impossible for three [c] (at most 21): a part would be
    # pinned outside its own range, so unsafe
    assert exact_total_is_safe(20, [MARK, MARK, MARK], RULE)
    assert not exact_total_is_safe(25, [MARK, MARK, MARK], RULE)


def test_at_least_counts_each_suppressed_figure_as_one():
    assert at_least([175, MARK, 15, 0]) == (191, 1)
    assert at_least([10, 20]) == (30, 0)


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (MARK, "count", "[c]"),
        (MARK, "share", "[c]"),
        (None, "share", "n/a"),
        (float("nan"), "count", "n/a"),
        (1235, "count", "1,235"),
        (0, "count", "0"),
        (0.153, "share", "15.3%"),
        (0.15, "share", "15%"),
        (0.70714, "share", "70.7%"),
        (12.0, "days", "12 days"),
        (35.5, "days", "35.5 days"),
    ],
)
def test_rule_sdc_show_never_prints_a_dash_a_blank_or_a_long_decimal(value, kind, text):
    assert show(value, kind) == text
