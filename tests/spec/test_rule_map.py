"""The rule map in ``tests/README.md`` covers every ``[rule name]`` tag in the package.

Fails when a tag has no row, a row names a rule no longer in the code (or a module that
does not hold it), or a row names a test function that does not exist.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "optin_analysis"
README = ROOT / "tests" / "README.md"
TAG = re.compile(r"\[rule ([a-z0-9][a-z0-9-]*)\]")
ANY_TAG = re.compile(r"\[rule [^\]]*\]")
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


@cache
def code_tags() -> dict[str, frozenset[str]]:
    """Each rule tag in the package -> the modules (relative to ``optin_analysis/``)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in TAG.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(path.relative_to(PACKAGE).as_posix())
    return {name: frozenset(modules) for name, modules in found.items()}


@cache
def rule_rows() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(rule, module, [(test file, test function), ...]) of each row of the map."""
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match and match.group(1) != "rule":
            rule, module, tests = match.groups()
            rows.append((rule, module, TEST_REF.findall(tests)))
    return rows


@cache
def defined_tests(path: str) -> frozenset[str]:
    """Names of the test functions defined in a test file (module level or in classes)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def test_rule_tags_are_well_formed() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {tag}"
        for path in PACKAGE.rglob("*.py")
        for tag in ANY_TAG.findall(path.read_text(encoding="utf-8"))
        if not TAG.fullmatch(tag)
    ]
    assert not bad, f"tags must be [rule lower-case-words]: {bad}"


def test_the_package_has_rules_and_the_map_has_rows() -> None:
    assert len(code_tags()) >= 60
    assert len(rule_rows()) >= 60


def test_every_rule_tag_has_a_row() -> None:
    missing = sorted(set(code_tags()) - {rule for rule, _, _ in rule_rows()})
    assert not missing, f"rules with no row in tests/README.md: {missing}"


def test_every_row_names_a_rule_in_the_code() -> None:
    stale = sorted({rule for rule, _, _ in rule_rows()} - set(code_tags()))
    assert not stale, f"rows of tests/README.md naming no rule in the code: {stale}"


def test_no_rule_has_two_rows() -> None:
    rules = [rule for rule, _, _ in rule_rows()]
    assert len(rules) == len(set(rules)), sorted({r for r in rules if rules.count(r) > 1})


def test_every_row_names_a_module_holding_the_rule() -> None:
    wrong = [
        (rule, module, sorted(code_tags()[rule]))
        for rule, module, _ in rule_rows()
        if rule in code_tags() and module not in code_tags()[rule]
    ]
    assert not wrong, f"(rule, module named, modules holding it): {wrong}"


def test_every_row_names_tests_that_exist() -> None:
    empty = [rule for rule, _, tests in rule_rows() if not tests]
    assert not empty, f"rows naming no test: {empty}"
    absent = [
        f"{path}::{name}"
        for _, _, tests in rule_rows()
        for path, name in tests
        if not (ROOT / path).is_file() or name not in defined_tests(path)
    ]
    assert not absent, f"tests named in tests/README.md that do not exist: {absent}"
