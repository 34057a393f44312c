"""Speed and memory of optin-analysis on generated data at practice, PCN and ICB scale.

    python benchmarks/run.py [--scales practice,pcn,icb] [--patients N] [--practices N]
                             [--run-at icb] [--skip-run] [--out DIR] [--markdown]

Every step runs in a fresh (spawned) child process: its time is measured inside the child
around the work only (data a step needs is loaded before the clock starts), and its peak
memory is the child's peak resident set size, ``getrusage(...).ru_maxrss``, read when the
work is done: the larger of the child itself (RUSAGE_SELF) and the processes it started
and waited for (RUSAGE_CHILDREN: kernels, the CLI and its workers). ``ru_maxrss`` is the
peak of the largest single process, not a sum; it includes the interpreter and libraries,
shown alone in the "python + imports" row. Generated data goes to a temporary folder (or
``--out``) and is deleted afterwards unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import pickle
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALES = {"practice": (1, 10_000), "pcn": (5, 50_000), "icb": (100, 1_000_000)}
SEED = 42
EXTRACT = dt.date(2026, 10, 31)
PERIOD = EXTRACT.strftime("%Y-%m")
REPEAT = 3  #: the measures and both references: best of this many runs
REFERENCE_KEYS = (  # the headline figures the DuckDB reference computes
    "eligible", "account_holders_16plus", "revocation_backlog", "opt_in_holders",
    "open_requests", "pending_16_at_risk", "protection_coverage_numerator",
    "protection_coverage_denominator", "withheld_pending_opt_in",
)  # fmt: skip


@dataclass
class Row:
    """One line of the results table."""

    scale: str
    step: str
    seconds: float | None
    peak_mb: float | None
    note: str = ""


# --------------------------------------------------------------------------- child processes


def _peak_mb() -> float:
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, started) * unit / 2**20


def _measured(fn: Callable, args: tuple) -> tuple[object, float]:
    return fn(*args), _peak_mb()


def in_child(fn: Callable, *args: object) -> tuple[object, float]:
    """``fn(*args)`` in a fresh process: its result and the peak memory in MB."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_measured, fn, args).result()


def _clock() -> float:
    return time.perf_counter()


def _canonical(folder: Path) -> list:
    """The validated canonical tables the ingest step saved, one PracticeData each."""
    from optin_analysis.ingest.load import PracticeData

    files = sorted((folder / "canonical").glob("*.pkl"))
    return [PracticeData(*pickle.loads(f.read_bytes())) for f in files]


# --------------------------------------------------------------------------- steps


def imports_only() -> None:
    """Nothing but the imports every step makes (the memory floor)."""
    import optin_analysis.ingest.load  # noqa: F401
    import optin_analysis.outgoing.summary  # noqa: F401


def generate_step(folder: Path, practices: int, patients: int) -> tuple[float, float, int]:
    """Generate the practices in memory, then write their supplier extracts and config."""
    from optin_analysis.generate import generate, write_sample

    start = _clock()
    synth = generate(practices, patients, SEED, EXTRACT)
    generated = _clock()
    write_sample(synth, folder, SEED)
    return generated - start, _clock() - generated, len(synth.events)


def ingest_step(folder: Path) -> float:
    """Read, map and validate every practice's extracts (``load_practice``)."""
    from optin_analysis.config import load_config
    from optin_analysis.ingest.codelist import load_codelist
    from optin_analysis.ingest.load import load_practice

    cfg = load_config(folder / "config.yaml")
    codelist = load_codelist(cfg.codelist)
    (folder / "canonical").mkdir(exist_ok=True)
    seconds = 0.0
    for profile in cfg.practices:
        start = _clock()
        data = load_practice(profile, codelist)
        seconds += _clock() - start
        saved = pickle.dumps((data.profile, data.patients, data.events))  # for later steps
        (folder / "canonical" / f"{profile.ods_code}.pkl").write_bytes(saved)
    return seconds


def read_csv_step(folder: Path) -> float:
    """Reference: every extract read by ``pyarrow.csv.read_csv`` (types inferred)."""
    from pyarrow import csv

    from optin_analysis.config import load_config
    from optin_analysis.ingest.adapters import load_mapping

    files = []
    for profile in load_config(folder / "config.yaml").practices:
        mapping = load_mapping(profile.supplier, profile.mapping)
        for path, table in ((profile.patients, mapping.patients), (profile.events, mapping.events)):
            try:  # the encoding is found before the clock starts
                path.read_bytes().decode("utf-8")
                encoding = "utf8"
            except UnicodeDecodeError:
                encoding = "cp1252"
            files.append((path, csv.ReadOptions(skip_rows=table.skip_rows, encoding=encoding)))
    start = _clock()
    for path, options in files:
        csv.read_csv(path, read_options=options)
    return _clock() - start


def measures_step(folder: Path) -> tuple[float, dict]:
    """``summary.compute`` for every practice (best of REPEAT); headline figures for checks."""
    from optin_analysis.outgoing.summary import compute

    practices = _canonical(folder)
    times = []
    for _ in range(REPEAT):
        start = _clock()
        months = [compute(data, PERIOD) for data in practices]
        times.append(_clock() - start)
    heads = {
        m.profile.ods_code: {k: m.measures.headline[k] for k in REFERENCE_KEYS} for m in months
    }
    return min(times), heads


def duckdb_step(folder: Path) -> tuple[float, dict, int]:
    """Reference: the headline figures of every practice as one DuckDB query (best of REPEAT)."""
    import duckdb
    import pandas as pd

    from optin_analysis.outgoing.summary import reference_date

    practices = _canonical(folder)
    profiles = pd.DataFrame(
        {
            "practice_code": [d.profile.ods_code for d in practices],
            "supplier": [d.profile.supplier.value for d in practices],
            "model": [d.profile.model.value for d in practices],
            "go_live_status": [d.profile.go_live_status.value for d in practices],
            "go_live_date": [d.profile.go_live_date for d in practices],
            "setting_date": [d.profile.supplier_setting_date for d in practices],
            "extract_date": [d.profile.extract_date for d in practices],
            "ref_date": [reference_date(d.profile, PERIOD)[1] for d in practices],
        }
    )
    for col in ("go_live_date", "setting_date", "extract_date", "ref_date"):
        profiles[col] = pd.to_datetime(profiles[col]).astype("datetime64[us]")
    con = duckdb.connect()
    con.register("patients", pd.concat([d.patients for d in practices], ignore_index=True))
    con.register("events", pd.concat([d.events for d in practices], ignore_index=True))
    con.register("profiles", profiles)
    sql = (HERE / "headline.sql").read_text(encoding="utf-8")
    times = []
    for _ in range(REPEAT):
        start = _clock()
        result = con.execute(sql).df()
        times.append(_clock() - start)
    heads = {r.pop("practice_code"): r for r in result.to_dict(orient="records")}
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    return min(times), {k: {f: int(v) for f, v in h.items()} for k, h in heads.items()}, threads


def worklists_step(folder: Path) -> tuple[float, float]:
    """Every practice's worklists: computed, then written as CSV and XLSX."""
    from optin_analysis.outgoing.summary import reference_date
    from optin_analysis.practice.worklists import worklists, write_worklists

    computed = written = 0.0
    for data in _canonical(folder):
        start = _clock()
        lists = worklists(
            data.patients, data.events, data.profile, reference_date(data.profile, PERIOD)[1]
        )
        middle = _clock()
        write_worklists(lists, folder / "bench-worklists", data.profile.ods_code, PERIOD)
        computed, written = computed + middle - start, written + _clock() - middle
    return computed, written


def reports_step(folder: Path) -> dict:
    """One practice's two HTML reports: kernel start, notebook execution, HTML rendering.

    The notebooks run one after the other on one started kernel (the first pays the
    imports inside the kernel); parameters are injected as Papermill does.
    """
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from optin_analysis.config import load_config
    from optin_analysis.outgoing.summary import compute, outgoing, write_json
    from optin_analysis.reports.notebooks import KERNEL, KERNEL_ARGS, NOTEBOOK_DIR, REPORTS
    from optin_analysis.reports.render import notebook_to_html

    data = _canonical(folder)[0]
    bundle = outgoing(compute(data, PERIOD), load_config(folder / "config.yaml").disclosure)
    summary = folder / "bench-summary.json"
    write_json(bundle, summary)
    params = {"practice": data.profile.ods_code, "period": PERIOD, "summary_path": str(summary)}
    out = {"practice": data.profile.ods_code, "patients": len(data.patients)}
    start = _clock()
    km = KernelManager(kernel_name=KERNEL)
    km.start_kernel(cwd=str(NOTEBOOK_DIR), extra_arguments=KERNEL_ARGS)
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.stop_channels()
    out["kernel"], out["execute"], out["render"] = _clock() - start, 0.0, 0.0
    try:
        for notebook, title in REPORTS.values():
            nb = load_notebook_node(str(NOTEBOOK_DIR / notebook))
            nb = parameterize_notebook(nb, params, kernel_name=KERNEL)
            start = _clock()
            NotebookClient(nb, km=km, kernel_name=KERNEL).execute()
            middle = _clock()
            notebook_to_html(nb, title)
            out["execute"] += middle - start
            out["render"] += _clock() - middle
    finally:
        km.shutdown_kernel(now=True)
    return out


def cli_run_step(config: Path, jobs: int | None) -> tuple[float, int]:
    """The whole ``optin-analysis run`` as a user runs it (``--jobs`` when given)."""
    cli = Path(sys.executable).with_name("optin-analysis")
    command = [str(cli), "run", "--config", str(config), "--period", PERIOD]
    command += ["--jobs", str(jobs)] if jobs else []
    start = _clock()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return _clock() - start, done.returncode


# --------------------------------------------------------------------------- orchestration


def _ratio(ours: float, reference: float, name: str) -> str:
    return f"{ours / reference:.1f}x {name} ({reference:.2f} s)"


def _agree(ours: dict, reference: dict) -> str:
    differ = sum(ours[code] != reference.get(code) for code in ours)
    return "same figures" if not differ else f"{differ} practice(s) differ"


def bench_scale(scale: str, folder: Path, practices: int, patients: int) -> list[Row]:
    """Every data step at one scale."""
    rows = []
    (gen, write, events), peak = in_child(generate_step, folder, practices, patients)
    label = f"{practices} practice(s), {patients:,} patients, {events:,} events"
    rows.append(Row(scale, "generate (in memory)", gen, peak, label))
    rows.append(Row(scale, "write extracts (CSV)", write, None, "same process as above"))
    csv_seconds, csv_peak = in_child(read_csv_step, folder)
    ingest, peak = in_child(ingest_step, folder)
    rows.append(
        Row(scale, "ingest + validate", ingest, peak, _ratio(ingest, csv_seconds, "pyarrow.csv"))
    )
    rows.append(Row(scale, "reference: pyarrow.csv.read_csv", csv_seconds, csv_peak))
    (ours, heads), peak = in_child(measures_step, folder)
    (sql, reference, threads), sql_peak = in_child(duckdb_step, folder)
    note = f"{_ratio(ours, sql, 'DuckDB SQL')}; best of {REPEAT}"
    rows.append(Row(scale, "all measures (summary.compute)", ours, peak, note))
    note = f"{threads} threads; {_agree(heads, reference)} as summary.compute"
    rows.append(Row(scale, "reference: DuckDB headline SQL", sql, sql_peak, note))
    (computed, written), peak = in_child(worklists_step, folder)
    note = f"compute {computed:.2f} s + write CSV/XLSX {written:.2f} s"
    rows.append(Row(scale, "worklists", computed + written, peak, note))
    report, peak = in_child(reports_step, folder)
    note = f"{report['practice']} ({report['patients']:,} patients)"
    rows.append(Row(scale, "reports: kernel start", report["kernel"], peak, note))
    rows.append(Row(scale, "reports: notebook execution", report["execute"], None, "2 notebooks"))
    rows.append(Row(scale, "reports: HTML rendering", report["render"], None, "2 reports"))
    return rows


def bench_run(scale: str, config: Path) -> list[Row]:
    """The whole CLI run, sequential and on two workers when the CLI has ``--jobs``."""
    cli = Path(sys.executable).with_name("optin-analysis")
    usage = subprocess.run([str(cli), "run", "--help"], capture_output=True, text=True).stdout
    rows = []
    for jobs in (1, 2):
        if "--jobs" not in usage and jobs > 1:
            rows.append(Row(scale, f"optin-analysis run --jobs {jobs}", None, None,
                            "n/a (not yet supported)"))  # fmt: skip
            continue
        (seconds, code), peak = in_child(cli_run_step, config, jobs if "--jobs" in usage else None)
        note = "largest process" + ("" if code == 0 else f"; exit code {code}")
        step = f"optin-analysis run --jobs {jobs}" if "--jobs" in usage else "optin-analysis run"
        rows.append(Row(scale, step, seconds, peak, note))
    return rows


def _table(rows: list[Row], markdown: bool) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.MARKDOWN if markdown else box.SIMPLE_HEAD)
    for name in ("Scale", "Step", "Time (s)", "Peak RSS (MB)", "Notes"):
        table.add_column(name, justify="right" if "(" in name else "left")
    for r in rows:
        seconds = "" if r.seconds is None else f"{r.seconds:.{3 if r.seconds < 10 else 1}f}"
        peak = "" if r.peak_mb is None else f"{r.peak_mb:,.0f}"
        table.add_row(r.scale, r.step, seconds, peak, r.note)
    Console(width=200).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="practice,pcn,icb", help="comma-separated scales")
    parser.add_argument("--patients", type=int, help="ICB scale: patients (default 1,000,000)")
    parser.add_argument("--practices", type=int, help="ICB scale: practices (default 100)")
    parser.add_argument("--run-at", default="icb", help="scale of the whole CLI run")
    parser.add_argument("--skip-run", action="store_true", help="leave out the CLI run")
    parser.add_argument("--out", type=Path, help="keep generated data here (default: temp)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    sizes = dict(SCALES)
    sizes["icb"] = (args.practices or sizes["icb"][0], args.patients or sizes["icb"][1])
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = set(scales) - set(sizes)
    if unknown:
        parser.error(f"unknown scale(s) {', '.join(sorted(unknown))}; choose from {list(SCALES)}")
    out = args.out or Path(tempfile.mkdtemp(prefix="optin-bench-"))
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"{os.cpu_count()} cores, {total_gb:.0f} GB RAM, Python {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}; data in {out}", flush=True)  # fmt: skip
    _, floor = in_child(imports_only)
    rows = [Row("-", "python + imports", None, floor, "memory floor of every step")]
    try:
        for scale in scales:
            folder = out / scale
            folder.mkdir(parents=True, exist_ok=True)
            rows += bench_scale(scale, folder, *sizes[scale])
            if scale == args.run_at and not args.skip_run:
                rows += bench_run(scale, folder / "config.yaml")
            print(f"{scale} done", file=sys.stderr, flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    _table(rows, args.markdown)


def _in_project_env() -> None:
    """Re-run under the project's .venv when started with a Python that lacks the package."""
    try:
        import optin_analysis  # noqa: F401
    except ModuleNotFoundError:
        venv = HERE.parent / ".venv" / "bin" / "python"
        if not venv.exists():
            sys.exit("optin_analysis is not installed: run `make test` (or `make run`) first")
        os.execv(venv, [str(venv), __file__, *sys.argv[1:]])


if __name__ == "__main__":
    _in_project_env()
    main()
