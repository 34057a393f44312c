"""No suppressed or rounded figure can be recovered from what is published together.

For generated practices of about 30, 1,000 and 10,000 patients (and for the ICB roll-up
against its practices, and two months of the history store), every published figure
becomes a constraint on the true values and every identity between true values is
added; an integer solver then bounds each published cell (``attacker.Attack``). No
suppressed cell may be pinned to one value and no rounded cell narrowed to one count.

A control shows the attacker does find what the old design leaked: a rounded total
published beside its suppressed parts pins every part.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from optin_analysis.config import Disclosure, GoLiveStatus, Practice, Supplier
from optin_analysis.generate import Branch, generate
from optin_analysis.ingest.load import PracticeData
from optin_analysis.outgoing.summary import compute, outgoing
from tests.disclosure.attacker import MARK, Attack

RULE = Disclosure()
BANDS = ((0, 7), (8, 14), (15, 28), (29, 56), (57, 90), (91, 180), (181, 10**6))
STAGES = ("awaiting counselling", "awaiting provisioning")
#: Headline counts published as base cells; everything else is derived or a label.
BASE = {
    "eligible",
    "account_holders_16plus",
    "opt_in_holders",
    "opt_in_holders_with_account",
    "withheld_pending_opt_in",
    "active_104_bulk",
    "active_104_individual",
    "active_104_16plus",
    "protection_coverage_denominator",
    "unprotected",
    "turned_16_automatic",
    "record_disagreements",
    "provisioned_counselled_period",
}
#: Headline figures that are a cell of a published table for the report's month.
CELLS = {
    "requests_period": ("uptake", "requests"),
    "counselled_period": ("uptake", "counselled"),
    "provisioned_period": ("uptake", "provisioned"),
    "revocations_period": ("revocations", "revocations"),
    "automatic_with_account": ("automatic", "automatic_with_account"),
    "dormant_exposure": ("automatic", "dormant"),
}
DERIVED = {
    "revocation_backlog",
    "with_access",
    "account_holders_with_access",
    "open_requests",
    "open_requests_over_28_days",
    "pending_16_protected",
    "pending_16_at_risk",
    "pending_16_cohort",
    "opt_in_share_of_eligible",
    "opt_in_share_of_account_holders",
    "counselled_before_provision_share",
    "access_share_of_eligible",
    "access_share_of_account_holders",
    "active_104_share",
    "protection_coverage_share",
    "revocation_rate_per_month",
    "projected_clear_status",
    "projected_clear_date",
    "projected_clear_latest",
    "revocation_window_months",
    "longest_wait_band",
    "revocations_made",
    "request_to_provision_median_days",
    "request_to_provision_p90_days",
}
META = {"ref_date", "period_start", "pending_16_horizon_months"}


def _band_range(label: str) -> tuple[int, int]:
    low = int(re.match(r"\d+", label).group())
    high = 10**6 if label.endswith("+") else int(label.split("-")[1])
    return low, high


def _months(label: str) -> list[str]:
    """Months a period label covers: "2026-10", "2026 Q3", "2026", "A to B"."""
    if " to " in label:
        start, end = label.split(" to ")
    elif " Q" in label:
        year, q = label.split(" Q")
        start = f"{year}-{3 * int(q) - 2:02d}"
        end = f"{year}-{3 * int(q):02d}"
    elif len(label) == 4:
        start, end = f"{label}-01", f"{label}-12"
    else:
        start = end = label
    return [str(p) for p in pd.period_range(start, end, freq="M")]


# --------------------------------------------------------------------------- the model


def _series(attack: Attack, prefix: str, table: dict, columns: list[str], exact: pd.DataFrame):
    """Monthly flows: a variable a month (truth known), published groups of months, and the
    running totals (cumulative = previous + month), which are not published."""
    months = exact["month"].tolist()
    for col in columns:
        for i, m in enumerate(months):
            if i:
                attack.sum_of(
                    f"{prefix}|cum|{col}|{m}",
                    [f"{prefix}|cum|{col}|{months[i - 1]}", f"{prefix}|{col}|{m}"],
                )
        for row in table["rows"]:
            covered = [m for m in _months(row["period"]) if m in months]
            group = f"{prefix}|{col}|{row['period']}|group"
            attack.sum_of(group, [f"{prefix}|{col}|{m}" for m in covered])
            attack.publish(group, row[col])


def _open_requests(attack: Attack, table: dict) -> None:
    fine = {(s, b): f"open|{s}|{b}" for s in STAGES for b in BANDS}
    for row in table["rows"]:
        low, high = _band_range(row["band"])
        stages = STAGES if row["stage"] == "all" else (row["stage"],)
        parts = [fine[s, b] for s in stages for b in BANDS if low <= b[0] and b[1] <= high]
        group = f"open|{row['stage']}|{row['band']}|group"
        attack.sum_of(group, parts)
        attack.publish(group, row["requests"])
    attack.sum_of("open|total", list(fine.values()))
    attack.sum_of("open|late", [fine[s, b] for s in STAGES for b in BANDS if b[0] > 28])


def _pending(attack: Attack, table: dict, months: list[str]) -> None:
    for row in table["rows"]:
        covered = [m for m in _months(row["period"]) if m in months]
        for status in ("protected", "at_risk"):
            group = f"p16|{row['period']}|{status}|group"
            attack.sum_of(group, [f"p16|{m}|{status}" for m in covered])
            attack.publish(group, row[status])
    for m in months:
        attack.sum_of(f"p16|{m}|cohort", [f"p16|{m}|protected", f"p16|{m}|at_risk"])


def _truth(month) -> dict[str, int]:
    m = month.measures
    truth = {}
    for col in ("requests", "counselled", "provisioned"):
        for r in m.uptake_by_month.itertuples():
            truth[f"up|{col}|{r.month}"] = getattr(r, col)
    for r in m.backlog_by_month.itertuples():
        truth[f"rev|revocations|{r.month}"] = r.revocations
        truth[f"auto|automatic_with_account|{r.month}"] = r.automatic_with_account
        truth[f"auto|dormant|{r.month}"] = r.dormant
        truth[f"auto|backlog|{r.month}"] = r.backlog
    for r in m.pending_16.itertuples():
        truth[f"p16|{r.month}|protected"], truth[f"p16|{r.month}|at_risk"] = r.protected, r.at_risk
    bands = dict(zip([f"{lo}-{hi}" for lo, hi in BANDS[:-1]] + ["181+"], BANDS, strict=True))
    for r in m.open_requests.itertuples():
        truth[f"open|{r.stage}|{bands[r.band]}"] = r.requests
    truth |= {f"head|{k}": m.headline[k] for k in BASE}
    return truth


def model(month, bundle: dict, prefix: str = "", attack: Attack | None = None) -> Attack:
    """The attack on one practice-month's summary (its report shows the same figures)."""
    attack = attack or Attack()
    own = Attack() if prefix else attack
    t, h = bundle["tables"], bundle["headline"]
    unknown = set(h) - BASE - set(CELLS) - DERIVED - META
    assert not unknown, f"published figures the attack does not model: {sorted(unknown)}"
    m = month.measures
    _series(own, "up", t["uptake"], ["requests", "counselled", "provisioned"], m.uptake_by_month)
    _series(own, "rev", t["revocations"], ["revocations"], m.backlog_by_month)
    for row in t["automatic"]["rows"]:
        p = row["period"]
        # every holder of automatic access has an account or not: the attacker knows it
        own.sum_of(f"auto|backlog|{p}", [f"auto|automatic_with_account|{p}", f"auto|dormant|{p}"])
        for col in ("automatic_with_account", "dormant", "backlog"):
            if col in row:
                own.publish(f"auto|{col}|{p}", row[col])
    _open_requests(own, t["open_requests"])
    _pending(own, t["pending_16"], m.pending_16["month"].tolist())
    month_label = bundle["ref_date"][:7]
    for key in BASE:
        own.publish(f"head|{key}", h[key])
    for key, (table, col) in CELLS.items():
        prefix_of = {"uptake": "up", "revocations": "rev", "automatic": "auto"}[table]
        own.same(f"head|{key}", f"{prefix_of}|{col}|{month_label}")
        if h[key] is not None and h[key] != MARK:  # None: not published (TPP account part)
            own.publish(f"head|{key}", h[key])
    prev = bundle.get("previous")
    if prev:
        for key in BASE | {
            "open_requests",
            "open_requests_over_28_days",
            "pending_16_protected",
            "pending_16_at_risk",
        }:
            own.publish(f"prev|{key}", prev[key])
    if prefix:
        _merge(attack, own, prefix)
    return attack


def _merge(into: Attack, part: Attack, prefix: str) -> None:
    """Copy ``part`` into ``into`` with its variables renamed ``prefix|name``."""
    index = {}
    for name, i in part.names.items():
        j = into.var(f"{prefix}|{name}")
        into.low[j], into.high[j] = part.low[i], part.high[i]
        index[i] = j
    into.rows += [{index[i]: c for i, c in row.items()} for row in part.rows]
    into.published |= {f"{prefix}|{k}": v for k, v in part.published.items()}


# --------------------------------------------------------------------------- practices


def _practice(patients: int, seed: int, extract=dt.date(2026, 10, 31), supplier=Supplier.EMIS):
    synth = generate(1, patients, seed, extract, (Branch(supplier, GoLiveStatus.LIVE),))
    profile = Practice(**synth.profiles[0])
    return PracticeData(profile, synth.patients, synth.events)


@pytest.fixture(
    scope="module",
    params=[
        (30, Supplier.EMIS),
        (1000, Supplier.EMIS),
        (10_000, Supplier.EMIS),
        (1000, Supplier.TPP),
        (10_000, Supplier.TPP),
    ],  # fmt: skip
    ids=lambda p: f"{p[0]}-patients-{p[1].value}",
)
def practice(request) -> PracticeData:
    patients, supplier = request.param
    return _practice(patients, seed=7, supplier=supplier)


def test_no_published_cell_of_a_practice_month_is_recovered(practice) -> None:
    month = compute(practice, "2026-10")
    bundle = outgoing(month, RULE)
    attack = model(month, bundle)
    attack.check_truth({k: v for k, v in _truth(month).items() if k in attack.names})
    assert len(attack.published) > 40
    assert attack.recovered() == []


def test_history_across_months_recovers_nothing(practice) -> None:
    """Two consecutive runs: figures of the same true quantity are the same variable."""
    attack = Attack()
    months = {}
    for period in ("2026-09", "2026-10"):
        month = compute(practice, period)
        months[period] = month
        model(month, outgoing(month, RULE), period, attack)
    for key in ("up|requests", "rev|revocations"):
        earlier = months["2026-09"].measures.uptake_by_month
        later = months["2026-10"].measures.uptake_by_month
        col = key.split("|")[1]
        if col in earlier:
            same = earlier.merge(later, on="month", suffixes=("_a", "_b"))
            for r in same[same[f"{col}_a"] == same[f"{col}_b"]].itertuples():
                attack.same(f"2026-09|{key}|{r.month}", f"2026-10|{key}|{r.month}")
    assert attack.recovered() == []


def test_a_total_published_beside_its_suppressed_parts_is_caught() -> None:
    # the old design: four months suppressed ([c], 1-7 each) and their total rounded to 30
    # (28-32): the total needs 28 or more, so every month is pinned to 7
    attack = Attack()
    for i in range(4):
        attack.publish(f"m{i}", MARK)
    attack.sum_of("total", [f"m{i}" for i in range(4)])
    attack.publish("total", 30)
    assert [name for name, _, (low, high) in attack.recovered() if low == high == 7] == [
        "m0",
        "m1",
        "m2",
        "m3",
    ]


def test_summed_totals_match_their_published_parts(practice) -> None:
    """Derived totals are sums of the published parts, never rounded on their own."""
    bundle = outgoing(compute(practice, "2026-10"), RULE)
    h, rows = bundle["headline"], bundle["tables"]["open_requests"]["rows"]
    values = [r["requests"] for r in rows]
    expected = MARK if MARK in values else sum(values)
    assert h["open_requests"] == expected
    pending = bundle["tables"]["pending_16"]["rows"]
    at_risk = [r["at_risk"] for r in pending]
    assert h["pending_16_at_risk"] == (MARK if MARK in at_risk else sum(at_risk))


# --------------------------------------------------------------------------- roll-up


def test_rollup_totals_recover_no_practice_figure(tmp_path) -> None:
    """ICB totals against the practices' published figures, over 20 generated practices
    (small ones among them), with exact totals handed over by the run."""
    from optin_analysis.config import RunConfig
    from optin_analysis.outgoing.rollup import EXACT_TOTALS, TOTALS, build
    from optin_analysis.outgoing.summary import write_json

    synth = generate(20, 20_000, 11)
    profiles = [Practice(**p) for p in synth.profiles]
    cfg = RunConfig(
        practices=profiles, reports_dir=tmp_path / "reports", history_db=tmp_path / "history.duckdb"
    )
    exact = {}
    for profile in profiles:
        mine = synth.patients["practice_code"] == profile.ods_code
        data = PracticeData(
            profile,
            synth.patients[mine],
            synth.events[synth.events["practice_code"] == profile.ods_code],
        )
        month = compute(data, "2026-10")
        exact[profile.ods_code] = month.measures.headline
        write_json(
            outgoing(month, RULE), cfg.reports_dir / "2026-10" / profile.ods_code / "summary.json"
        )
    rollup = build(cfg, "2026-10", exact=exact)
    attack = Attack()
    rows = [r for r in rollup["practices"] if r["model"] != "default"]  # no opt-in figures
    for row in rows:
        for key in EXACT_TOTALS:
            attack.publish(f"{row['ods_code']}|{key}", row[key])
    exact_totals = [k for k, t in rollup["totals"].items() if t["exact"]]
    assert exact_totals, "no total was exact: the test would not exercise the identity"
    for key in exact_totals:
        opt_in = [r for r in rows if r["model"] != "default"]
        attack.sum_of(f"ICB|{key}", [f"{r['ods_code']}|{key}" for r in opt_in])
        attack.publish(f"ICB|{key}", rollup["totals"][key]["value"])
    for key in set(TOTALS) - set(exact_totals):
        t = rollup["totals"][key]
        values = [r[key] for r in rows if r["model"] != "default"]
        known = sum(int(v) for v in values if v != MARK)
        assert (t["value"], t["suppressed"]) == (known + values.count(MARK), values.count(MARK))
    assert attack.recovered() == []
