"""Disclosure control: suppress 1-7, round the rest to 5, shares from rounded counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optin_analysis.config import Disclosure
from optin_analysis.outgoing.disclosure import (
    control_array,
    control_count,
    control_frame,
    control_share,
    footnote,
    show,
)

RULE = Disclosure()


def test_small_counts_suppressed_zero_kept_others_rounded_half_up():
    got = control_array(np.array([0, 1, 7, 8, 12, 13, 22, 23, 1234]), RULE)
    # 8 -> 10, 12 -> 10 (12.0/5 = 2.4), 13 -> 15, 22 -> 20, 23 -> 25, 1234 -> 1235
    assert got.tolist()[:1] == [0]
    assert got.isna().tolist() == [False, True, True, False, False, False, False, False, False]
    assert got.dropna().tolist() == [0, 10, 10, 15, 20, 25, 1235]


def test_rule_is_configurable_and_can_be_switched_off():
    assert control_count(9, Disclosure(redact_at_or_below=10, round_to=5)) is None
    assert control_count(11, Disclosure(redact_at_or_below=10, round_to=10)) == 10
    assert control_count(3, Disclosure(enabled=False)) == 3
    assert "exact" in footnote(Disclosure(enabled=False))


def test_share_recomputed_from_controlled_counts():
    numerator, denominator = control_count(13, RULE), control_count(98, RULE)
    assert (numerator, denominator) == (15, 100)
    assert control_share(numerator, denominator) == 0.15
    assert control_share(None, 100) is None
    assert control_share(5, 0) is None


def test_control_frame_touches_only_named_columns():
    frame = pd.DataFrame({"month": ["2026-09", "2026-10"], "requests": [3, 41], "days": [3, 41]})
    out = control_frame(frame, ["requests"], RULE)
    assert pd.isna(out.loc[0, "requests"]) and out.loc[1, "requests"] == 40
    assert out["days"].tolist() == [3, 41]
    assert frame["requests"].tolist() == [3, 41]  # input untouched


def test_show_marks_suppressed_figures():
    assert show(None) == "[c]"
    assert show(float("nan")) == "[c]"
    assert show(1235) == "1,235"
    assert show(0.153, percent=True) == "15%"
    assert "1 to 7" in footnote(RULE) and "nearest 5" in footnote(RULE)
