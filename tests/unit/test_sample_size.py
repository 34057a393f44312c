"""Large samples: no practice is given more patients than it has test NHS numbers for."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from optin_analysis.generate import _sizes, generate
from optin_analysis.run.cli import app

TEST_RANGE = 900_000  # distinct valid NHS numbers in the 999 test range, rounded down


@pytest.mark.parametrize("seed", [2, 14, 18])  # seeds that gave one practice > 900,000
def test_practice_sizes_stay_within_the_test_number_range(seed):
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[0])
    sizes = _sizes(4, 2_000_000, rng)
    assert sizes.sum() == 2_000_000 and sizes.max() <= TEST_RANGE and sizes.min() >= 1


def _proportional(practices: int, patients: int, rng: np.random.Generator) -> list[int]:
    """The sizes as drawn before the limit existed (lognormal weights, largest remainder)."""
    weights = rng.lognormal(0.0, 0.45, practices)
    raw = weights / weights.sum() * (patients - practices)
    sizes = np.floor(raw).astype(np.int64)
    sizes[np.argsort(-(raw - sizes), kind="stable")[: patients - practices - sizes.sum()]] += 1
    return (sizes + 1).tolist()


@pytest.mark.parametrize(("practices", "patients"), [(4, 12_000), (100, 1_000_000), (3, 600)])
def test_sizes_below_the_limit_are_as_before(practices, patients):
    for seed in range(20):  # same seed, same samples as before
        got = _sizes(practices, patients, np.random.default_rng(seed))
        assert got.tolist() == _proportional(practices, patients, np.random.default_rng(seed))


def test_too_many_patients_for_the_practices_is_a_clear_error_before_any_work():
    with pytest.raises(ValueError, match="2,000,000 patients need at least 3 practices"):
        generate(2, 2_000_000, seed=1)


def test_the_sample_command_exits_2_with_the_reason(tmp_path):
    result = CliRunner().invoke(
        app, ["sample", "--out", str(tmp_path), "--practices", "1", "--patients", "2000000"]
    )
    assert result.exit_code == 2
    assert "need at least 3 practices" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_large_practice_for_benchmarks_has_no_nhs_number_past_the_test_range(monkeypatch):
    import optin_analysis.generate as gen

    monkeypatch.setattr(gen, "MAX_PRACTICE_SIZE", 50)  # a test range of 50 numbers
    with pytest.raises(ValueError, match="120 patients need at least 3 practices"):
        gen.generate(1, 120, seed=1)
    patients = gen.generate(1, 120, seed=1, large=True).patients
    numbers = patients["nhs_number"].dropna()
    given = numbers[numbers != ""]
    assert len(patients) == 120  # one practice of 120, past the range of 50
    assert 0 < len(given) <= 50 and given.is_unique
