"""Statistical disclosure control: the one place outgoing counts are made safe.

The rule (OpenSAFELY's, also NHS Digital's below national level): a count from 1 to
``redact_at_or_below`` (default 7) is suppressed; every other count is rounded to the
nearest ``round_to`` (default 5); percentages are recomputed from the rounded figures
and suppressed when either side is. Zero stays zero. Everything that leaves the practice
(reports, summaries, roll-ups) goes through :func:`control_count` / :func:`control_frame`;
internal dashboards and worklists show exact figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optin_analysis.config import Disclosure

MARK = "[c]"  #: how a suppressed figure is shown in reports
FOOTNOTE = (
    "Counts from 1 to {k} are suppressed ([c]) and other counts are rounded to the nearest "
    "{r}; percentages are calculated from the rounded counts."
)


def footnote(rule: Disclosure) -> str:
    """The sentence a report prints under its figures."""
    if not rule.enabled:
        return "Disclosure control is off for this report: figures are exact."
    return FOOTNOTE.format(k=rule.redact_at_or_below, r=rule.round_to)


def control_array(counts: np.ndarray | pd.Series, rule: Disclosure) -> pd.Series:
    """Controlled counts as a nullable integer Series (<NA> where suppressed)."""
    values = pd.Series(counts, dtype="Int64")
    if not rule.enabled:
        return values
    small = (values >= 1) & (values <= rule.redact_at_or_below)
    rounded = (np.floor(values.astype("Float64") / rule.round_to + 0.5) * rule.round_to).astype(
        "Int64"
    )
    return rounded.mask(small)


def control_count(count: int | None, rule: Disclosure) -> int | None:
    """One controlled count (``None`` where suppressed or unknown)."""
    if count is None:
        return None
    value = control_array(np.array([count]), rule).iloc[0]
    return None if pd.isna(value) else int(value)


def control_share(numerator: int | None, denominator: int | None) -> float | None:
    """A share recomputed from controlled counts; ``None`` when either is suppressed or 0."""
    if numerator is None or denominator in (None, 0):
        return None
    return numerator / denominator


def control_frame(frame: pd.DataFrame, columns: list[str], rule: Disclosure) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` (counts) controlled."""
    return frame.assign(**{c: control_array(frame[c].to_numpy(), rule) for c in columns})


def show(value: int | float | None, percent: bool = False) -> str:
    """A controlled figure as text for a report ("[c]" when suppressed)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MARK
    return f"{value:.0%}" if percent else f"{value:,}"
