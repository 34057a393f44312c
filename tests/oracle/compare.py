"""Compare the oracle with the package, run as a black box through its CLI.

    python tests/oracle/compare.py CONFIG [FIRST_PERIOD [LAST_PERIOD]]

`compare(config_path, periods)` returns differences as tuples
(practice, period, key, oracle value, package value). Only keys both produce are compared.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

CLI = os.environ.get("OPTIN_CLI", "/work/main/.venv/bin/optin-analysis")
TOL = 1e-9


def package_headlines(config_path, period):
    """{ods: headline} from one CLI run for all practices. With OPTIN_CACHE set to a
    folder, the CLI's JSON is kept there per (config, period) and reused."""
    cache = os.environ.get("OPTIN_CACHE")
    if cache:
        key = os.path.abspath(config_path).replace(os.sep, "_") + "_" + period + ".json"
        path = os.path.join(cache, key)
        if os.path.exists(path):
            return json.load(open(path))
    r = subprocess.run([CLI, "measures", "--config", config_path, "--period", period,
                        "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"CLI failed for {period}: {r.stderr[-2000:]}")
    out = {}
    for item in json.loads(r.stdout):
        if item.get("status") != "ok":
            out[item["practice"]] = {"__problem__": item.get("problem")}
        else:
            out[item["practice"]] = item["headline"]
    if cache:
        os.makedirs(cache, exist_ok=True)
        json.dump(out, open(path, "w"))
    return out


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))
    return a == b


def periods_between(first, last):
    y, m = (int(x) for x in first.split("-"))
    ly, lm = (int(x) for x in last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = oracle.add_months(y, m, 1)
    return out


def extract_month(practices):
    x = max(p.profile["extract_date"] for p in practices)
    return f"{x.year:04d}-{x.month:02d}"


def compare(config_path, periods=None, practices=None, agreements=None):
    """Differences (practice, period, key, oracle, package). If `agreements` (a Counter)
    is given, it is incremented per key for every agreeing value."""
    practices = practices or oracle.read_practices(config_path)
    if periods is None:
        periods = periods_between("2023-08", extract_month(practices))
    diffs = []
    for period in periods:
        pkg = package_headlines(config_path, period)
        for pr in practices:
            mine = oracle.headline(pr, period)
            theirs = pkg.get(pr.ods_code)
            if theirs is None or "__problem__" in theirs:
                diffs.append((pr.ods_code, period, "__status__", "ok",
                              theirs and theirs.get("__problem__")))
                continue
            for key in mine:
                if key not in theirs:
                    continue
                if same(mine[key], theirs[key]):
                    if agreements is not None:
                        agreements[key] += 1
                else:
                    diffs.append((pr.ods_code, period, key, mine[key], theirs[key]))
    return diffs


def main(argv):
    # Diagnostic: OPTIN_ORACLE_SET="NAME=value,..." overrides oracle switches.
    for kv in filter(None, os.environ.get("OPTIN_ORACLE_SET", "").split(",")):
        k, v = kv.split("=")
        setattr(oracle, k, {"True": True, "False": False}.get(v, v))
    cfg = argv[1]
    practices = oracle.read_practices(cfg)
    first = argv[2] if len(argv) > 2 else "2023-08"
    last = argv[3] if len(argv) > 3 else extract_month(practices)
    agree = collections.Counter()
    diffs = compare(cfg, periods_between(first, last), practices, agree)
    by_key = collections.defaultdict(list)
    for d in diffs:
        by_key[d[2]].append(d)
    keys = list(oracle.headline(practices[0], last).keys())
    print(f"{'key':40s} {'agree':>6s} {'differ':>6s}")
    for k in keys:
        if k.startswith("nhse_"):
            continue
        print(f"{k:40s} {agree[k]:6d} {len(by_key.get(k, [])):6d}")
    for k, ds in by_key.items():
        print(f"\n== {k}: {len(ds)} differences; first few (practice, period, oracle, package)")
        for d in ds[:6]:
            print("  ", d[0], d[1], d[3], d[4])
    return diffs


if __name__ == "__main__":
    main(sys.argv)
