"""Fail when the installed lock does not satisfy pyproject.toml (run by the Makefile).

After ``pip install -r requirements/lock.txt`` and ``pip install --no-deps -e .``, every
requirement of optin-analysis, for every extra, must be met by what the lock installed.
If not, pyproject.toml changed without ``make lock``.
"""

from __future__ import annotations

import importlib.metadata as md
import sys

from packaging.requirements import Requirement

PROJECT = "optin-analysis"


def unmet() -> list[str]:
    extras = [""] + (md.metadata(PROJECT).get_all("Provides-Extra") or [])
    problems = []
    for text in md.requires(PROJECT) or []:
        req = Requirement(text)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue  # for another platform or Python version
        try:
            installed = md.version(req.name)
        except md.PackageNotFoundError:
            problems.append(f"{req} (not in the lock)")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{req} (the lock has {req.name} {installed})")
    return problems


if __name__ == "__main__":
    if problems := unmet():
        print("pyproject.toml asks for what requirements/lock.txt does not give:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        print("Run `make lock`, then commit requirements/lock.txt.", file=sys.stderr)
        sys.exit(1)
