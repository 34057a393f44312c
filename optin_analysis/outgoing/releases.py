"""Releases: a figure once published is published again identically, or not at all.

The ICB keeps every monthly release of every practice, so an attacker holds them all. The
history store keeps a **release ledger** of what each practice-month published (its
headline, and the cells of its series) and a new release is made consistent with it:

* [rule sdc-releases] A cell of a series (a month, quarter or year of monthly flows; a
  month-end state) is recorded when first published, with the months it covers. Every
  later release republishes a recorded cell with the same months, label and values, or
  leaves it out (it lies outside the report's window); its months are never grouped
  again into another cell. A month counted only up to a mid-month extract date is
  published but not recorded: the whole month is a figure of its own.
* Months no release has published are grouped by calendar year, at the level at which
  that year was first published (months, quarters or the year). A year not yet
  published takes the finest level at which the series policy passes
  ([rule sdc-coarsen-series]) over its months when it is complete; the current year
  takes months when the last twelve months pass, else quarters. A quarter or a year is
  published only when all its months are complete; until then its months read "[c]".
* "Last month" is the previous month's release as recorded.

So the cells of every release of a series form one partition of its months: no
published cell is the sum or the difference of others, and the guarantee of
:mod:`optin_analysis.outgoing.disclosure` holds across releases as within one. The
exact copy for the practice is not a release: it ignores the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import pandas as pd

from optin_analysis.config import Disclosure
from optin_analysis.outgoing.disclosure import control_array, control_count, passes

LEVELS = ("month", "quarter", "year")
#: Series recorded in the ledger: table name -> its value columns.
RECORDED = {
    "uptake": ("requests", "counselled", "provisioned"),
    "revocations": ("revocations",),
    "automatic": ("automatic_with_account", "backlog", "dormant"),
}


@dataclass(frozen=True)
class Released:
    """What earlier releases of one practice published: each series' recorded cells
    (rows as published, with ``from`` and ``to`` months) and last month's headline."""

    cells: dict[str, list[dict]] = field(default_factory=dict)
    previous: dict | None = None


def _key(month: str, level: str) -> str:
    """The group of ``month`` at ``level``: itself, its quarter or its year."""
    if level == "month":
        return month
    if level == "quarter":
        return f"{month[:4]} Q{(int(month[5:]) - 1) // 3 + 1}"
    return month[:4]


def _months_of(key: str, level: str) -> list[str]:
    """Every calendar month of a group."""
    if level == "month":
        return [key]
    year = key[:4]
    if level == "quarter":
        first = 3 * int(key[-1]) - 2
        return [f"{year}-{m:02d}" for m in range(first, first + 3)]
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def _label(key: str, level: str, covered: list[str]) -> str:
    """The group's label; where the report's window covers only part of it, which part."""
    whole = _months_of(key, level)
    if covered == whole:
        return key
    first, last = (pd.Period(m, freq="M").strftime("%b") for m in (covered[0], covered[-1]))
    return f"{key} ({first} only)" if len(covered) == 1 else f"{key} ({first}-{last})"


def _passes(values: pd.DataFrame, level: str, rule: Disclosure) -> bool:
    """The series policy at ``level`` for every column (the coarsest any column needs)."""
    _, group = np.unique([_key(m, level) for m in values.index], return_inverse=True)
    sums = np.zeros((group.max(initial=-1) + 1, values.shape[1]), dtype=np.int64)
    np.add.at(sums, group, values.to_numpy(dtype=np.int64))  # summed per group, in numpy
    return all(passes(control_array(column, rule), "series") for column in sums.T)


def _year_level(year: str, values: pd.DataFrame, last_complete: str, rule: Disclosure) -> str:
    """The level for a year no release has published: the finest that passes the policy
    over the year when it is complete; for the current year, months when the last twelve
    months pass, else quarters (a whole year would publish nothing for months)."""
    if f"{year}-12" <= last_complete:
        sample = values[[m[:4] == year for m in values.index]]
        return next((level for level in LEVELS[:-1] if _passes(sample, level, rule)), "year")
    return "month" if _passes(values.iloc[-12:], "month", rule) else "quarter"


def series_rows(
    frame: pd.DataFrame,
    columns: list[str],
    rule: Disclosure,
    released: list[dict],
    last_complete: str,
) -> list[dict]:
    """A monthly-flow series as published: recorded cells republished, the other months
    grouped by calendar year ([rule sdc-releases]). Rows: period, from, to, level,
    complete (recorded in the ledger) and a published value per column; oldest first."""
    months = frame["month"].tolist()
    values = frame.set_index("month")[columns]
    counts = values.to_numpy(dtype=np.int64)  # summed per group below, without pandas
    row_of = {m: i for i, m in enumerate(months)}
    taken = {m for row in released for m in covered_months(row)}
    inside = [r for r in released if months and months[0] <= r["from"] and r["to"] <= months[-1]]
    rows = [dict(r) for r in inside]
    levels = {r["from"][:4]: r["level"] for r in released}
    new = [m for m in months if m not in taken]
    for year, in_year in groupby(new, key=lambda m: m[:4]):
        level = levels.get(year) or _year_level(year, values, last_complete, rule)
        for key, group in groupby(list(in_year), key=lambda m, lv=level: _key(m, lv)):
            covered = list(group)
            end = _months_of(key, level)[-1]
            if level != "month" and end > last_complete:
                continue  # a quarter or year is published once complete
            sums = counts[[row_of[m] for m in covered]].sum(axis=0)
            rows.append({
                "period": _label(key, level, covered), "from": covered[0], "to": covered[-1],
                "level": level, "complete": end <= last_complete,
                **{c: control_count(int(v), rule) for c, v in zip(columns, sums, strict=True)},
            })  # fmt: skip
    return sorted(rows, key=lambda r: r["from"])


def state_rows(
    frame: pd.DataFrame, columns: list[str], rule: Disclosure, released: list[dict],
    last_complete: str,
) -> list[dict]:  # fmt: skip
    """Month-end states as published: a recorded month republished, others controlled."""
    recorded = {r["period"]: r for r in released}
    rows = []
    for row in frame.to_dict(orient="records"):
        month = row["month"]
        earlier = recorded.get(month)
        if earlier is not None and all(c in earlier for c in columns):
            rows.append({**{c: earlier[c] for c in columns}, **_span(month, last_complete)})
        else:
            cells = {c: control_count(int(row[c]), rule) for c in columns}
            rows.append({**cells, **_span(month, last_complete)})
    return rows


def covered_months(row: dict) -> list[str]:
    """The months a published row covers."""
    return list(pd.period_range(row["from"], row["to"], freq="M").astype(str))


def _span(month: str, last_complete: str) -> dict:
    return {"period": month, "from": month, "to": month, "level": "month",
            "complete": month <= last_complete}  # fmt: skip


def level_words(rows: list[dict]) -> str:
    """How a series is grouped, in words: one level, or the levels from oldest to newest."""
    levels = list(dict.fromkeys(r["level"] for r in rows))
    return " and ".join(levels) if levels else "month"


def ledger_cells(tables: dict) -> dict[str, list[dict]]:
    """The cells of a release to record: complete rows of the recorded series."""
    return {
        name: [r for r in tables[name]["rows"] if r.get("complete")]
        for name in RECORDED
        if name in tables
    }
