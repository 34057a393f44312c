"""Build the project's environment from ``requirements/lock.txt``, resolving nothing.

    python3 requirements/install.py [VENV] [--lock-only]

The Makefile's set-up, and the fresh-machine test, run exactly this:

1. a virtual environment made by the interpreter's own ``venv``, with the pip it bundles
   (not upgraded first: Python 3.11.0 brings pip 22.3, 3.11.7 pip 23.2.1);
2. ``pip install --no-deps --require-hashes -r requirements/lock.txt``: every file is
   pinned and hashed and no dependency is resolved again, so neither an older pip nor a
   release published after the lock (the way ``weasyprint``'s ``fonttools[woff]>=...``
   once picked a newer fonttools) can change what is installed;
3. this package, editable, without dependencies or build isolation (setuptools is in the
   lock), unless ``--lock-only``;
4. ``requirements/check_lock.py``: the installed set is the lock, nothing more, and it
   meets every requirement of the package and of what the package needs, extras included.

Pip runs quietly. This machine's own pip configuration may name package indexes that do
not exist; pip warns once per package for each ("Location ... is ignored"): those lines
are counted into one. Everything else pip prints, and any error, is shown as it is.
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
#: Warnings caused by the machine's pip configuration, not by the set-up.
NOISE = re.compile(r"^WARNING: Location '(?P<where>[^']+)' is ignored: it is neither a file nor")
#: setuptools' advice on every editable install (a folder named like the package may shadow
#: it): the repository is laid out that way on purpose. From its first line to its last.
EDITABLE_ADVICE = ("BuildBackendWarning: Editable installation.", "with strategy, WheelFile(")


def _index_of(where: str) -> str:
    """The index a 'Location is ignored' warning is about (its URL without the package)."""
    return where.rstrip("/").rsplit("/", 1)[0]


def pip(python: Path, *args: str) -> None:
    """Run ``python -m pip install *args`` quietly; exit with pip's status if it fails."""
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
    ignored: set[str] = set()
    advice = False
    for line in (done.stdout + done.stderr).splitlines():
        advice = advice or EDITABLE_ADVICE[0] in line
        if match := NOISE.match(line):
            ignored.add(_index_of(match["where"]))
        elif line.strip() and not advice:
            print(line, file=sys.stderr)
        advice = advice and EDITABLE_ADVICE[1] not in line
    if ignored:
        names = ", ".join(sorted(ignored))
        print(
            f"(pip: this machine's pip configuration names indexes that do not exist, "
            f"ignored: {names})",
            file=sys.stderr,
        )
    if done.returncode:
        sys.exit(done.returncode)


def main(argv: list[str]) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this script says so on older Pythons)
        sys.exit(f"Python 3.11 or newer is needed (found {sys.version.split()[0]})")
    lock_only = "--lock-only" in argv
    target = Path(next((a for a in argv if not a.startswith("--")), ".venv")).absolute()
    lock = LOCK.relative_to(ROOT)
    print(f"Creating {target} from {lock} (a minute or two the first time)", flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(target)
    python = target / "bin" / "python"
    pip(python, "--no-deps", "--require-hashes", "-r", str(LOCK))
    if not lock_only:
        pip(python, "--no-deps", "--no-build-isolation", "--editable", str(ROOT))
    check = [str(python), str(ROOT / "requirements" / "check_lock.py")]
    sys.exit(subprocess.run([*check, *(["--lock-only"] if lock_only else [])]).returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
