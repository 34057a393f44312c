"""A fresh machine, as CI's clean clone and a newcomer have it.

The set-up exactly as the Makefile runs it (``requirements/install.py``): a virtual
environment made by this interpreter's ``venv`` with the pip it bundles (never upgraded
first), no pip cache, and newer releases of locked packages planted where pip looks (the
way ``fonttools`` 4.69.1, published after the lock, once broke every fresh install). Then
the package as Python tools are installed: the wheel, into that environment, running the
sample from a folder outside the repository.

Slow (about two minutes): it downloads the whole lock, as a new machine does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK_LOCK = ROOT / "requirements" / "check_lock.py"
#: Releases newer than the lock's pins, offered to pip beside the real index.
PLANTED = {"fonttools": "99.0.0", "pandas": "99.0.0", "pip": "99.0.0", "setuptools": "999.0.0"}


def _plant(folder: Path, name: str, version: str) -> None:
    """Write a minimal, installable wheel ``name`` ``version`` into ``folder``."""
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        whl.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        whl.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        whl.writestr(f"{info}/RECORD", f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")


def lock_pins() -> dict[str, str]:
    """The lock's pins whose markers hold here (``check_lock.pinned``)."""
    spec = importlib.util.spec_from_file_location("check_lock", CHECK_LOCK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pinned()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    out = subprocess.run(
        [python, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=python.parent
    )
    return {_canonical(n): v for n, v in json.loads(out.stdout).items()}


def _source_tree(to: Path) -> Path:
    """The repository's files (tracked or new, not ignored), copied to ``to``: the wheel is
    built from them, leaving no build files in the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, to / name)
    return to


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict:
    """The lock installed into a new environment, as ``make`` does, with newer releases
    planted; returns the environment and what the set-up printed."""
    root = tmp_path_factory.mktemp("fresh-machine")
    planted = root / "planted"
    planted.mkdir()
    for name, version in PLANTED.items():
        _plant(planted, name, version)
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_FIND_LINKS": str(planted)}
    venv = root / "venv"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    done = subprocess.run(
        [base, ROOT / "requirements" / "install.py", venv, "--lock-only"],
        capture_output=True, text=True, env=env, cwd=root, check=False,
    )  # fmt: skip
    return {"venv": venv, "done": done, "env": env, "root": root}


def test_the_set_up_installs_exactly_the_lock_with_the_bundled_pip(fresh):
    done = fresh["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    pins = {_canonical(n): v for n, v in lock_pins().items()}
    assert _installed(fresh["venv"] / "bin" / "python") == pins
    # (so nothing planted was taken, and no newer fonttools from the index either)
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) <= 3, done.stderr


def test_the_wheel_runs_the_sample_outside_the_repository(fresh, tmp_path):
    assert fresh["done"].returncode == 0
    python, env = fresh["venv"] / "bin" / "python", fresh["env"]

    def run(*args: str | Path, cwd: Path = tmp_path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, check=False
        )

    dist = fresh["root"] / "dist"
    source = _source_tree(fresh["root"] / "source")
    built = run(python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                "-w", dist, source)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("optin_analysis-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    wanted = {"notebooks/monthly_report.ipynb", "notebooks/explore.ipynb", "reports/fonts/LICENSE"}
    assert {f"optin_analysis/{name}" for name in wanted} <= set(names)
    installed = run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr
    check = run(python, CHECK_LOCK)
    assert check.returncode == 0, check.stderr

    cli = fresh["venv"] / "bin" / "optin-analysis"
    from optin_analysis import __version__

    assert run(cli, "--version").stdout.strip() == f"optin-analysis {__version__}"
    sample = run(cli, "sample", "--out", "s", "--practices", "2", "--patients", "800")
    assert sample.returncode == 0, sample.stderr
    monthly = run(cli, "run", "--config", "s/config.yaml", "--period", "2026-10", "--jobs", "1")
    assert monthly.returncode == 0, monthly.stdout + monthly.stderr
    reports = tmp_path / "s" / "reports" / "2026-10"
    assert len(list(reports.glob("*/monthly-report.html"))) == 2
    assert (reports / "icb-rollup.html").is_file()
    assert __version__ in (next(reports.glob("*/monthly-report.html"))).read_text("utf-8")

    copied = run(cli, "notebooks", "--out", "workbench", "--config", "s/config.yaml")
    assert copied.returncode == 0, copied.stderr
    nb = json.loads((tmp_path / "workbench" / "practice_dashboard.ipynb").read_text("utf-8"))
    assert 'config = "../s/config.yaml"' in "".join(nb["cells"][1]["source"])
