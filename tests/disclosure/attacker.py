"""An integer-programming attacker: bounds every published cell given the identities.

The attacker knows the disclosure rule (a count from 1 to k is "[c]", others are rounded
to the nearest r, 0 stays 0) and every identity that holds between the true values
(parts sum to their totals, quarters to their months, a period's figure is its month's
cell...). For each published cell it asks an integer solver (``scipy.optimize.milp``)
for the lowest and highest true value consistent with everything published. A cell is
recovered when the two meet.

Written independently of ``optin_analysis.outgoing``: intervals and identities are
worked out here from the rule and from what the figures mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

MARK = "[c]"
BIG = 10**7


def interval(value: object, k: int = 7, r: int = 5) -> tuple[int, int]:
    """True counts a published count stands for: "[c]" is 1..k; 0 is 0; a rounded v is
    every integer x >= k + 1 with round(x / r) * r == v (halves rounded up)."""
    if value == MARK:
        return 1, k
    v = int(value)
    if v == 0:
        return 0, 0
    return max(math.ceil(v - r / 2), k + 1), math.ceil(v + r / 2) - 1


@dataclass
class Attack:
    """Variables (true values) with bounds, and linear identities between them."""

    k: int = 7
    r: int = 5
    names: dict[str, int] = field(default_factory=dict)
    low: list[int] = field(default_factory=list)
    high: list[int] = field(default_factory=list)
    rows: list[dict[int, int]] = field(default_factory=list)
    published: dict[str, object] = field(default_factory=dict)

    def var(self, name: str) -> int:
        if name not in self.names:
            self.names[name] = len(self.low)
            self.low.append(0)
            self.high.append(BIG)
        return self.names[name]

    def publish(self, name: str, value: object) -> None:
        """A base cell: its true value lies in the interval its published value allows."""
        i = self.var(name)
        lo, hi = interval(value, self.k, self.r)
        self.low[i], self.high[i] = max(self.low[i], lo), min(self.high[i], hi)
        self.published[name] = value

    def sum_of(self, total: str, parts: list[str]) -> None:
        """Identity: total = sum of parts (true values)."""
        row = {self.var(total): -1}
        for part in parts:
            row[self.var(part)] = row.get(self.var(part), 0) + 1
        self.rows.append(row)

    def same(self, a: str, b: str) -> None:
        self.sum_of(a, [b])

    def _components(self) -> list[int]:
        """Each variable's connected component (variables linked by an identity)."""
        parent = list(range(len(self.low)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for row in self.rows:
            first, *others = row
            for j in others:
                parent[root(j)] = root(first)
        return [root(i) for i in range(len(self.low))]

    def range_of(self, name: str, component: list[int] | None = None) -> tuple[int, int]:
        """The lowest and highest true value of ``name`` consistent with everything (solved
        over the variables an identity links it to: the others cannot matter)."""
        i = self.names[name]
        members = component if component is not None else list(range(len(self.low)))
        if len(members) == 1:
            return self.low[i], self.high[i]
        index = {v: k for k, v in enumerate(members)}
        rows = [r for r in self.rows if next(iter(r)) in index]
        matrix = np.zeros((len(rows), len(members)))
        for k, row in enumerate(rows):
            for j, coefficient in row.items():
                matrix[k, index[j]] = coefficient
        constraints = [LinearConstraint(matrix, 0, 0)] if rows else []
        bounds = Bounds(
            np.array([self.low[v] for v in members], float),
            np.array([self.high[v] for v in members], float),
        )
        out = []
        for sign in (1, -1):
            c = np.zeros(len(members))
            c[index[i]] = sign
            res = milp(c, integrality=np.ones(len(members)), bounds=bounds,
                       constraints=constraints)  # fmt: skip
            if not res.success:
                raise AssertionError(f"published figures are inconsistent: {res.message}")
            out.append(round(res.x[index[i]]))
        return out[0], out[1]

    def recovered(self) -> list[tuple[str, object, tuple[int, int]]]:
        """Published cells pinned to one value (suppressed) or an exact count (rounded)."""
        roots = self._components()
        groups: dict[int, list[int]] = {}
        for v, r in enumerate(roots):
            groups.setdefault(r, []).append(v)
        found = []
        for name, value in self.published.items():
            if value != MARK and int(value) == 0:
                continue  # an exact zero is published as such
            low, high = self.range_of(name, groups[roots[self.names[name]]])
            if low == high:
                found.append((name, value, (low, high)))
        return found

    def check_truth(self, truth: dict[str, int]) -> None:
        """The true values satisfy every bound (the model is not wrong about the data)."""
        for name, value in truth.items():
            i = self.names.get(name)
            if i is not None:
                assert self.low[i] <= value <= self.high[i], (
                    name,
                    value,
                    self.low[i],
                    self.high[i],
                )
