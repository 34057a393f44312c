"""The ICB's roll-up of practices that each ran optin-analysis on their own.

    .venv/bin/python benchmarks/icb_inbox.py [--practices 150] [--patients 150000] [--jobs 2]

Generates an ICB, then runs ``optin-analysis run`` once per practice, each with its own
configuration, reports folder and history store (as a practice on its own premises
would), collects every practice's ``summary.json`` into an inbox with three summaries the
ICB must refuse planted beside them (another month, an edited figure, one sent twice),
and times ``optin-analysis rollup`` over it. It also runs the same practices in one run
(as a PCN or federation would) and checks that the inbox roll-up's figures are that
run's published figures, practice by practice and in the totals. Prints a JSON report;
writes under ``build/icb-inbox``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "optin-analysis"
PERIOD = "2026-10"


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          check=False)  # fmt: skip


def _practice_config(data: Path, practice: dict, folder: Path) -> Path:
    """A configuration of one practice, with its own reports and history."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        key: str(data / practice[key])
        for key in ("patients", "events", "dpia_narrative")
        if key in practice
    }
    config = {"reports_dir": "reports", "worklists_dir": "worklists",
              "practices": [{**practice, **files}]}  # fmt: skip
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _plant(inbox: Path, separate: Path, codes: list[str]) -> None:
    """Three summaries the ICB must refuse."""
    first, second, third = codes[:3]
    september = separate / first / "reports" / "2026-09" / first / "summary.json"
    shutil.copy(september, inbox / f"{first}-september.json")
    edited_path = inbox / second / "summary.json"
    edited = json.loads(edited_path.read_text())
    edited["headline"]["eligible"] += 2
    edited_path.write_text(json.dumps(edited))
    shutil.copy(inbox / third / "summary.json", inbox / f"{third}.json")


def _published_total(values: list) -> tuple[int, int]:
    """The sum of published figures, a "[c]" counted as 1, and how many read "[c]"."""
    hidden = sum(v == "[c]" for v in values)
    return sum(int(v) for v in values if v not in ("[c]", None)) + hidden, hidden


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practices", type=int, default=150)
    parser.add_argument("--patients", type=int, default=150_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    work = ROOT / "build" / "icb-inbox"
    shutil.rmtree(work, ignore_errors=True)
    data = work / "data"
    made = _run(CLI, "sample", "--out", data, "--practices", args.practices,
                "--patients", args.patients, "--seed", 150)  # fmt: skip
    assert made.returncode == 0, made.stderr
    practices = yaml.safe_load((data / "config.yaml").read_text())["practices"]
    codes = [p["ods_code"] for p in practices]
    separate = work / "separate"
    configs = [_practice_config(data, p, separate / p["ods_code"]) for p in practices]

    def each(config: Path) -> int:
        code = 0
        first = config.parent.name == codes[0]
        for period in (["2026-09"] if first else []) + [PERIOD]:
            code |= _run(CLI, "run", "--config", config, "--period", period, "--no-pdf",
                         "--jobs", 1).returncode  # fmt: skip
        return code

    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        failed = sum(1 for code in pool.map(each, configs) if code)
    separate_s = time.perf_counter() - start
    inbox = work / "inbox"
    for code in codes:
        shutil.copytree(separate / code / "reports" / PERIOD / code, inbox / code)
    _plant(inbox, separate, codes)
    start = time.perf_counter()
    rolled = _run(CLI, "rollup", inbox, "--period", PERIOD, "--out", work / "icb" / PERIOD)
    rollup_s = time.perf_counter() - start
    together = _run(CLI, "run", "--config", data / "config.yaml", "--period", PERIOD,
                    "--no-pdf", "--jobs", args.jobs)  # fmt: skip
    received = json.loads((work / "icb" / PERIOD / "rollup.json").read_text())
    single = json.loads((data / "reports" / PERIOD / "rollup.json").read_text())
    rows = {r["ods_code"]: r for r in single["practices"]}
    keys = list(single["totals"])
    same_rows = all({k: r[k] for k in keys} == {k: rows[r["ods_code"]][k] for k in keys}
                    for r in received["practices"])  # fmt: skip
    opt_in = [rows[r["ods_code"]] for r in received["practices"] if r["model"] != "default"]
    same_totals = all(_published_total([r[k] for r in opt_in]) == (t["value"], t["suppressed"])
                      for k, t in received["totals"].items())  # fmt: skip
    report = {
        "practices": args.practices,
        "patients": args.patients,
        "separate_runs_failed": failed,
        "separate_runs_s": round(separate_s, 1),
        "rollup_s": round(rollup_s, 2),
        "rollup_exit": rolled.returncode,
        "accepted": len(received["practices"]),
        "refused": received["refused"],
        "single_run_exit": together.returncode,
        "rows_equal_single_run": same_rows,
        "totals_equal_single_run_published": same_totals,
        "attention_first": [(r["ods_code"], r["patients_affected"], r["flags"][:2])
                            for r in received["practices"] if r["flags"]][:5],
        "html": str(work / "icb" / PERIOD / "icb-rollup.html"),
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    if not CLI.exists():
        sys.exit("make the environment first (make test or make run)")
    os.environ.setdefault("OPTIN_BENCHMARK", "1")
    main()
