"""Fail when the installed environment is not exactly the lock, or the lock is incomplete.

Run by ``requirements/install.py`` after ``pip install --no-deps -r requirements/lock.txt``
and the package itself. Three checks:

1. every package the lock pins is installed at its pinned version;
2. nothing else is installed (apart from optin-analysis itself);
3. the lock is complete: every requirement of optin-analysis (all extras), and of each
   package it needs, with the extras asked for, is met by what is installed. Pip did not
   resolve anything, so this is what proves the set works; a failure means
   pyproject.toml changed without ``make lock``.

``--lock-only``: the package is not installed; checks 1 and 2 only.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "optin-analysis"
LOCK = Path(__file__).with_name("lock.txt")
#: A pin line: ``name==version`` and, in the universal lock, `` ; marker``.
PIN = re.compile(r"^([A-Za-z0-9][^\s=]*==[^\s;\\]+(?: ; [^\\]+)?)", re.MULTILINE)


def pinned() -> dict[str, str]:
    """The lock's pins for this platform and Python (their markers hold): name -> version."""
    pins = {}
    for text in PIN.findall(LOCK.read_text()):
        req = Requirement(text.strip())
        if req.marker is None or req.marker.evaluate():
            pins[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return pins


def installed() -> dict[str, str]:
    """What the environment holds: canonical name -> version."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions()}


def not_the_lock(pins: dict[str, str], have: dict[str, str]) -> list[str]:
    """Checks 1 and 2: differences between the lock and the environment."""
    problems = [
        f"{n}=={v} (installed: {have.get(n, 'missing')})"
        for n, v in sorted(pins.items())
        if have.get(n) != v
    ]
    extra = sorted(set(have) - set(pins) - {PROJECT})
    problems += [f"{n} {have[n]} (installed but not in the lock)" for n in extra]
    return problems


def unmet(have: dict[str, str]) -> list[str]:
    """Check 3: requirements of the package and its dependencies the environment misses."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    extras = md.metadata(PROJECT).get_all("Provides-Extra") or []
    todo = [(PROJECT, extra) for extra in ["", *extras]]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for text in md.requires(name) or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": extra}):
                continue  # another extra, platform or Python version
            dep = canonicalize_name(req.name)
            if dep not in have:
                by = f"{name}[{extra}]" if extra else name
                problems.append(f"{req} (needed by {by}; not in the lock)")
            elif not req.specifier.contains(have[dep], prereleases=True):
                problems.append(f"{req} (needed by {name}; the lock has {have[dep]})")
            else:
                todo += [(dep, e) for e in ["", *req.extras]]
    return problems


def main(lock_only: bool) -> int:
    have = installed()
    problems = not_the_lock(pinned(), have) + ([] if lock_only else unmet(have))
    if problems:
        print(
            "The environment is not exactly requirements/lock.txt, or the lock is not complete:",
            file=sys.stderr,
        )
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        print(
            "Run `make lock` (or `make clean` and set up again), then commit "
            "requirements/lock.txt.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--lock-only" in sys.argv[1:]))
