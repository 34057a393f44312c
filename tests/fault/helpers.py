"""Helpers for the fault-injection tests: a small generated sample, runs as subprocesses,
process trees, what a run published and recorded.

Waits poll with a deadline that is only a safety net (a loaded 2-core machine starts
kernels slowly); no test asserts how long anything took.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import yaml

from optin_analysis.generate import generate, write_sample
from optin_analysis.outgoing.history import History

CLI = Path(sys.executable).with_name("optin-analysis")
PERIOD = "2026-10"
REPORT_FILES = {"summary.json", "monthly-report.html", "dpia.html"}
SAFETY_NET = 240.0  # seconds: generous, only so that a broken run cannot hang the suite


def make_sample(folder: Path, practices: int = 3, patients: int = 600, **changes) -> Path:
    """Write a synthetic sample (as ``optin-analysis sample`` does) into ``folder``; return
    its config.yaml, with ``changes`` applied to the configuration's top level."""
    config = write_sample(generate(practices, patients, seed=7), folder, seed=7)
    if changes:
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw.update(changes)
        config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return config


def codes(config: Path) -> list[str]:
    """The practices of a configuration, in order."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    return [p["ods_code"] for p in raw["practices"]]


def start(config: Path, logs: Path, *args: str, command: str = "run", **popen) -> subprocess.Popen:
    """Start ``optin-analysis <command>`` on ``config`` for PERIOD; output to ``logs``.*."""
    argv = [str(CLI), command, "--config", str(config), "--period", PERIOD, *args]
    out = open(logs.with_suffix(".out"), "w", encoding="utf-8")  # noqa: SIM115 - closed by the child's end
    err = open(logs.with_suffix(".err"), "w", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(argv, stdout=out, stderr=err, start_new_session=True, **popen)
    out.close()
    err.close()
    return proc


def stderr_of(logs: Path) -> str:
    return logs.with_suffix(".err").read_text(encoding="utf-8")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = SAFETY_NET) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def period_dir(config: Path) -> Path:
    return config.parent / "reports" / PERIOD


def published(config: Path) -> dict[str, int]:
    """Practice report folders in place, each with its inode (a re-publish changes it)."""
    folder = period_dir(config)
    if not folder.is_dir():
        return {}
    return {
        p.name: p.stat().st_ino
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".")
    }


def staging(config: Path) -> list[Path]:
    """Hidden staging folders (and temporary files) a run has under way."""
    folder = period_dir(config)
    return list(folder.glob(".*partial-*")) if folder.is_dir() else []


def quiet(config: Path) -> bool:
    """No practice is about to be published: every staged report set still lacks its last
    report (so a signal sent now cannot meet a publish already under way)."""
    return all(not (stage / "dpia.html").exists() for stage in staging(config))


def recorded(config: Path) -> set[str]:
    """Practices the history store holds for PERIOD."""
    path = config.parent / "reports" / "history.duckdb"
    with History(path, read_only=True) as history:
        rows = history.series(None, PERIOD, ["eligible"])
    return set(rows["practice_code"])


def worklist_practices(config: Path) -> set[str]:
    folder = config.parent / "worklists" / PERIOD
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if (p / "worklists.xlsx").is_file()}


def leftovers(config: Path) -> list[Path]:
    """Hidden files a run leaves behind when it stops cleanly: there should be none."""
    found = list(period_dir(config).glob(".*")) if period_dir(config).is_dir() else []
    lists = config.parent / "worklists" / PERIOD
    return found + (list(lists.glob("*/.*")) if lists.is_dir() else [])


def tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (workers, kernels, helpers)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def kernels(pid: int) -> int:
    """How many Jupyter kernels run below ``pid``."""
    count = 0
    for process in tree(pid)[1:]:
        try:
            count += any("ipykernel" in part for part in process.cmdline())
        except psutil.Error:
            continue
    return count


def finish(procs: list[psutil.Process], timeout: float = 60) -> list[psutil.Process]:
    """Wait for ``procs`` to end; return those still alive (after killing them, so that a
    failing test leaves nothing running)."""
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return alive


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def without_root_override() -> None:
    """``preexec_fn``: as root, drop the capabilities that ignore file permissions, so a
    read-only folder is read-only to the child as it is to any other user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


#: Address space each measured command may take: a safety net for this shared machine (a
#: file that exhausts memory fails fast instead of pushing others into swap), not a limit
#: any test asserts.
MEMORY_CAP = 8 << 30
_MEASURE = """
import json, resource, subprocess, sys
cap = int(sys.argv[1])
limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
done = subprocess.run(sys.argv[2:], capture_output=True, text=True, preexec_fn=limit)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))
"""


def measured(*args: str, timeout: float = SAFETY_NET) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``optin-analysis *args``; its result and the peak resident memory (MB) of its
    largest process (workers and kernels included), measured from a process of its own."""
    wrapper = [sys.executable, "-c", _MEASURE, str(MEMORY_CAP), str(CLI), *args]
    done = subprocess.run(wrapper, capture_output=True, text=True, timeout=timeout, check=True)
    code, out, err, peak_kb = json.loads(done.stdout)
    return subprocess.CompletedProcess(args, code, out, err), peak_kb / 1024


def practice_folder(config: Path, ods_code: str = "Y90001") -> Path:
    """The folder of a practice's extracts in a sample."""
    return config.parent / ods_code
