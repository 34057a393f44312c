"""The package agrees with the oracle on every headline key of every month.

The oracle (``oracle.py``) was written from SPEC section 4, GLOSSARY.md and the guidance
only, without the package's measures code: plain Python, a loop over patients, its own
CSV reading. Here both read the same files: three generated populations of different
sizes and extract dates (one mid-month, one in 2025), and the oracle author's hand-made
edge population (``edge/``), every month from 2023-08 to the extract month. Where a
reading is a choice, the oracle's named switch is set to the package's (FINDINGS.md).
A larger population: ``make oracle``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from optin_analysis.config import load_config
from optin_analysis.generate import SAMPLE_BRANCHES, generate, write_sample
from optin_analysis.ingest.load import load_practice
from optin_analysis.measures.month import headline
from optin_analysis.outgoing.summary import reference_date
from tests.oracle import oracle

HERE = Path(__file__).resolve().parent
FIRST = "2023-08"
#: Package headline keys the oracle does not compute, and why.
NOT_IN_ORACLE = {
    "active_104_bulk": "the bulk threshold (50 a day) is the package's, not the words'",
    "active_104_individual": "as active_104_bulk",
    "with_access": "the count behind access_share_of_eligible, which is compared",
    "account_holders_with_access": "the count behind access_share_of_account_holders",
}
#: The oracle's names for the figures NHS England monitors (J16): computed, and so
#: compared, for default-model practices only.
ORACLE_NAMES = {
    "nhse_share_with_access": "access_share_of_eligible",
    "nhse_share_with_access_of_account_holders": "access_share_of_account_holders",
    "nhse_share_active_104": "active_104_share",
}
POPULATIONS = {
    "five-branches": dict(practices=5, patients=2_500, seed=3, branches=SAMPLE_BRANCHES),
    "mid-month": dict(practices=3, patients=1_500, seed=7, extract_date=dt.date(2026, 10, 17)),
    "2025": dict(practices=4, patients=2_000, seed=31337, extract_date=dt.date(2025, 6, 12)),
}
TOLERANCE = 1e-9


def months(first: str, last: dt.date) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= TOLERANCE * max(1.0, abs(float(a)))
    return a == b


def differences(config: Path, limit: int = 25) -> tuple[list[tuple], set[str]]:
    """(practice, period, key, oracle, package) for every headline figure that differs,
    and the keys compared."""
    cfg = load_config(config)
    theirs = {p.ods_code: p for p in oracle.read_practices(str(config))}
    diffs, compared = [], set()
    for profile in cfg.practices:
        data = load_practice(profile)
        for period in months(FIRST, profile.extract_date):
            start, ref = reference_date(profile, period)
            ours = headline(data.patients, data.events, profile, ref, start)
            other = oracle.headline(theirs[profile.ods_code], period)
            other = {ORACLE_NAMES.get(k, k): v for k, v in other.items()}
            for key in ours.keys() & other.keys():
                compared.add(key)
                if not same(other[key], ours[key]):
                    diffs.append((profile.ods_code, period, key, other[key], ours[key]))
    return diffs[:limit], compared


@pytest.fixture(scope="module", params=list(POPULATIONS))
def population(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp(f"oracle-{request.param}")
    settings = {"extract_date": dt.date(2026, 10, 31), **POPULATIONS[request.param]}
    return write_sample(generate(**settings), out, seed=settings["seed"])


def test_every_headline_key_of_every_month_agrees_with_the_oracle(population: Path) -> None:
    diffs, compared = differences(population)
    assert diffs == []
    nhse = set(ORACLE_NAMES.values())
    assert _package_keys(population) - compared - nhse == set(NOT_IN_ORACLE)
    if "five-branches" in population.parent.name:  # it has a default-model practice
        assert nhse <= compared


def test_the_hand_made_edge_population_agrees_with_the_oracle() -> None:
    diffs, _ = differences(HERE / "edge" / "config.yaml")
    assert diffs == []


def _package_keys(config: Path) -> set[str]:
    cfg = load_config(config)
    profile = cfg.practices[0]
    data = load_practice(profile)
    start, ref = reference_date(profile, f"{profile.extract_date:%Y-%m}")
    return set(headline(data.patients, data.events, profile, ref, start))


if os.environ.get("OPTIN_ORACLE_CONFIG"):  # make oracle: a larger population, by hand

    def test_a_given_population_agrees_with_the_oracle() -> None:
        diffs, _ = differences(Path(os.environ["OPTIN_ORACLE_CONFIG"]))
        assert diffs == []
