"""The public API: ``import optin_analysis`` is light, and every exported name works."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import optin_analysis as oa
from tests.conftest import SAMPLE_CONFIG

HEAVY = ("pandas", "altair", "ipywidgets", "pyarrow", "pandera")


def test_import_is_light() -> None:
    code = f"import sys, optin_analysis; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", [n for n in oa.__all__ if n != "__version__"])
def test_every_public_name_resolves_with_a_docstring(name: str) -> None:
    value = getattr(oa, name)
    assert callable(value)
    assert inspect.getdoc(value), name
    assert name in dir(oa)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = oa.nonsense


def test_the_readme_walk_through() -> None:
    cfg = oa.load_config(SAMPLE_CONFIG)
    data = oa.load_practice(cfg.practice("Y90001"))
    month = oa.compute(data, "2026-10")
    tables = oa.tables(month)
    assert tables["headline"].columns.tolist() == ["Measure", "At reference date", "Month before"]
    chart = oa.trend_chart(tables["trends"])
    assert len(chart.to_dict()["vconcat"]) == 2
    lists = oa.worklists(
        data.patients, data.events, data.profile, month.ref_date, state=month.measures.state
    )
    assert list(lists) == ["revoke", "protect-16", "protect-adults", "requests", "disagreements"]
