"""Speed and memory of optin-analysis on generated data, against plain references and targets.

    python benchmarks/run.py [--quick] [--out DIR] [--skip-naive] [--skip-sweep]

One run measures, on generated data (seed 42, extract date 2026-10-31):

* **ICB scale** (100 practices, 1,000,000 patients): ingest + validate against
  ``pyarrow.csv.read_csv``; all measures against ``headline.sql`` in DuckDB (same data,
  figures compared); worklists (computed, then written as CSV + XLSX against
  ``pyarrow.csv.write_csv`` of the same rows), one process and two (as the run does
  them); one practice's reports (kernel start, notebook execution, HTML);
  ``optin-analysis run --jobs 2`` without and with the DPIA PDFs.
* **10 practices**: ``optin-analysis run --jobs 1`` against its floor (the same command
  with the reports laid out in-process: ``run.py --floor``, see :class:`InProcess`) and
  against a sequential loop of the ``papermill`` CLI per notebook (a fresh kernel each)
  then ``jupyter nbconvert --to html``.
* **Scaling**: ingest + measures for one practice of 10k to 2M patients; the whole run
  (``--jobs 2 --no-pdf``) for 10, 50 and 100 practices, and for a generated ICB of 500
  practices (5,000,000 patients).

It writes ``benchmarks/results.json`` (machine, versions, every figure, ratios, each
target met or not) and ``benchmarks/scaling.svg`` (time against size), and prints the
tables (``--markdown`` for the README). ``--quick`` runs everything at small sizes to
check the script (its figures say nothing about the targets).

Every step runs in a fresh (spawned) child process: its time is measured inside the child
around the work only (data a step needs is loaded before the clock starts). Memory is the
peak resident set size of the **largest single process**: for steps in the child,
``getrusage`` in the child; for the command line (whose workers start kernels),
``psutil`` samples every process of the command's tree every 0.1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
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
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEED = 42
EXTRACT = dt.date(2026, 10, 31)
PERIOD = EXTRACT.strftime("%Y-%m")
REPEAT = 3  #: ingest, worklists, measures, their references, 10-practice runs: best of this many
NAIVE_REPEAT = 2  #: the naive loop (about 2 minutes): one run of it varied from 115 to 169 s
SIZES = {  # full run, --quick
    "icb": ((100, 1_000_000), (10, 100_000)),
    "naive": (10, 3),
    "sweep": ((10_000, 100_000, 500_000, 1_000_000, 2_000_000), (10_000, 50_000, 100_000)),
    "packs": ((10, 50, 100), (3, 6, 10)),
    "scale": ((500, 5_000_000), (12, 120_000)),  #: the largest run: practices, patients
}
REFERENCE_KEYS = (  # the headline figures the DuckDB reference computes
    "eligible", "account_holders_16plus", "revocation_backlog", "opt_in_holders",
    "open_requests", "pending_16_at_risk", "protection_coverage_numerator",
    "protection_coverage_denominator", "withheld_pending_opt_in", "record_disagreements",
    "open_requests_over_28_days", "open_requests_over_90_days", "open_requests_over_180_days",
)  # fmt: skip
VERSIONS = ("pandas", "numpy", "pyarrow", "duckdb", "altair", "vl-convert-python",
            "weasyprint", "papermill", "nbconvert", "rvgsrust-xlsxwriter")  # fmt: skip


@dataclass
class Row:
    """One line of the results table."""

    group: str
    step: str
    seconds: float | None
    peak_mb: float | None
    note: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, float | None] = field(default_factory=dict)
    sweep: list[dict] = field(default_factory=list)
    packs: list[dict] = field(default_factory=list)

    def add(self, group: str, step: str, seconds, peak=None, note="", key: str | None = None):
        self.rows.append(Row(group, step, seconds, peak, note))
        if key:
            self.figures[key] = seconds
        if key and peak is not None:
            self.figures[f"{key}_peak_mb"] = peak


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


def timed_command(command: list[str], cwd: Path | None = None) -> tuple[float, int, float]:
    """Run ``command``: (seconds, exit code, peak RSS in MB of its largest process).

    Every process of the command's tree (workers, kernels) is sampled every 0.1 s.
    """
    import psutil

    start = _clock()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, p.memory_info().rss)
        time.sleep(0.1)
    code = proc.wait()
    return _clock() - start, code, peak / 2**20


# --------------------------------------------------------------------------- data steps


def imports_only() -> None:
    """Nothing but the imports every step makes (the memory floor)."""
    import optin_analysis.ingest.load  # noqa: F401
    import optin_analysis.outgoing.summary  # noqa: F401


def generate_step(folder: Path, practices: int, patients: int, one_branch: bool = False):
    """Generate the practices in memory, then write their supplier extracts and config."""
    from optin_analysis.config import GoLiveStatus, Supplier
    from optin_analysis.generate import Branch, generate, write_sample

    branches = (Branch(Supplier.EMIS, GoLiveStatus.LIVE),) if one_branch else None
    start = _clock()
    synth = generate(practices, patients, SEED, EXTRACT, branches=branches, large=True)
    generated = _clock()
    write_sample(synth, folder, SEED)
    return generated - start, _clock() - generated, len(synth.events)


def ingest_step(folder: Path, save: bool = True) -> float:
    """Read, map and validate every practice's extracts (``load_practice``); with ``save``,
    keep the canonical tables for the later steps."""
    from optin_analysis.config import load_config
    from optin_analysis.ingest import validate  # noqa: F401  (imported before the clock,
    from optin_analysis.ingest.codelist import load_codelist  # as pyarrow is for its read)
    from optin_analysis.ingest.load import load_practice

    cfg = load_config(folder / "config.yaml")
    codelist = load_codelist(cfg.codelist)
    (folder / "canonical").mkdir(exist_ok=True)
    seconds = 0.0
    for profile in cfg.practices:
        start = _clock()
        data = load_practice(profile, codelist)
        seconds += _clock() - start
        if save:
            saved = pickle.dumps((data.profile, data.patients, data.events))
            (folder / "canonical" / f"{profile.ods_code}.pkl").write_bytes(saved)
    return seconds


def ingest_pair_step(folder: Path) -> tuple[float, float, float]:
    """Ingest and its reference (``read_csv_step``) in one process, taken in turn, best of
    REPEAT each: the same caches and the same noise for both. Also the reference reading
    every column as text, as ingest does before any check."""
    ours, reference, text = [], [], []
    for turn in range(REPEAT):
        reference.append(read_csv_step(folder))
        text.append(read_csv_step(folder, as_text=True))
        ours.append(ingest_step(folder, save=turn == 0))
    return min(ours), min(reference), min(text)


def read_csv_step(folder: Path, as_text: bool = False) -> float:
    """Reference: every extract read by ``pyarrow.csv.read_csv`` (types inferred, or with
    ``as_text`` every column as text)."""
    import pyarrow as pa
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
            options = csv.ReadOptions(skip_rows=table.skip_rows, encoding=encoding)
            header = csv.open_csv(path, read_options=options).schema.names  # before the clock
            types = dict.fromkeys(header, pa.string()) if as_text else None
            files.append((path, options, csv.ConvertOptions(column_types=types)))
    start = _clock()
    for path, options, convert in files:
        csv.read_csv(path, read_options=options, convert_options=convert)
    return _clock() - start


def measures_pair_step(folder: Path) -> tuple[float, float, dict, dict[int, float], dict, int]:
    """``summary.compute`` for every practice and its reference (``duckdb_step``) in one
    process, taken in turn, best of REPEAT each: the same noise for both. (Before, three
    of ours then three of DuckDB's read from 0.72x to 1.02x over three rounds of one
    process.) Our first pass runs before DuckDB is given the data, so the peak memory
    taken then is ours alone. Returns our seconds, that peak and our headline figures,
    then DuckDB's seconds by thread count, its figures and its default thread count."""
    from optin_analysis.outgoing.summary import compute

    practices = _canonical(folder)
    ours: list[float] = []

    def measure() -> list:
        start = _clock()
        months = [compute(data, PERIOD) for data in practices]
        ours.append(_clock() - start)
        return months

    months, peak = measure(), _peak_mb()
    query, threads = duckdb_step(practices)
    sql: dict[int, list[float]] = {1: [], threads: []}
    for turn in range(REPEAT):
        if turn:
            measure()
        for count in sql:  # one thread, as summary.compute; then DuckDB's default
            seconds, result = query(count)
            sql[count].append(seconds)
    heads = {
        m.profile.ods_code: {k: m.measures.headline[k] for k in REFERENCE_KEYS} for m in months
    }
    reference = {r.pop("practice_code"): r for r in result.to_dict(orient="records")}
    reference = {k: {f: int(v) for f, v in h.items()} for k, h in reference.items()}
    best = {k: min(v) for k, v in sql.items()}
    return min(ours), peak, heads, best, reference, threads


def duckdb_step(practices: list) -> tuple[Callable[[int], tuple[float, object]], int]:
    """Reference: the headline figures of every practice as one DuckDB query. Returns a
    function running it on a number of threads (seconds, result), and DuckDB's default
    number of threads."""
    import duckdb
    import pandas as pd

    from optin_analysis.outgoing.summary import reference_date

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

    def query(threads: int) -> tuple[float, object]:
        con.execute(f"SET threads = {threads}")
        start = _clock()
        result = con.execute(sql).df()
        return _clock() - start, result

    return query, con.execute("SELECT current_setting('threads')").fetchone()[0]


def _worklists_of(
    folder: Path, share: int = 0, shares: int = 1, floor: bool = False
) -> tuple[float, float, float, int, float]:
    """Worklists of every ``shares``-th practice from ``share``: seconds computing them,
    writing them (CSV and XLSX), and (with ``floor``) writing the same rows as CSV with
    ``pyarrow.csv.write_csv``; the number of cells written; and the seconds of writing
    spent in the XLSX writer's own save (its Rust code, after every cell is handed over)."""
    import pyarrow as pa
    from pyarrow import csv

    from optin_analysis.outgoing.summary import reference_date
    from optin_analysis.practice import worklists as module
    from optin_analysis.practice.worklists import worklists, write_worklists

    saves: list[float] = []

    def timed_save(book, path: Path) -> None:  # worklists._save, its save timed
        start = _clock()
        data = book.save_to_buffer()
        saves.append(_clock() - start)
        with open(path, "wb") as handle:
            handle.write(data)

    module._save = timed_save

    practices = _canonical(folder)[share::shares]
    computed = written = plain = 0.0
    cells = 0
    for data in practices:
        start = _clock()
        lists = worklists(
            data.patients, data.events, data.profile, reference_date(data.profile, PERIOD)[1]
        )
        middle = _clock()
        write_worklists(lists, folder / "bench-worklists", data.profile.ods_code, PERIOD)
        computed, written = computed + middle - start, written + _clock() - middle
        cells += sum(frame.size for frame in lists.values())
        if floor:
            out = folder / "bench-csv" / data.profile.ods_code
            out.mkdir(parents=True, exist_ok=True)
            start = _clock()  # from the same frames: their conversion to Arrow included
            for name, frame in lists.items():
                csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False),
                              out / f"{name}.csv")  # fmt: skip
            plain += _clock() - start
    return computed, written, plain, cells, sum(saves)


def worklists_step(folder: Path) -> tuple[float, float, float, int, float]:
    """Every practice's worklists in this process: computed, then written as CSV and XLSX,
    then the same rows as CSV with pyarrow (the floor of writing them): the fastest of
    REPEAT passes, and the reference's fastest."""
    runs = [_worklists_of(folder, floor=True) for _ in range(REPEAT)]
    computed, written, _, cells, saved = min(runs, key=lambda run: run[0] + run[1])  # one pass
    return computed, written, min(run[2] for run in runs), cells, saved


def worklists_parallel_step(folder: Path) -> float:
    """Every practice's worklists on two processes, as ``run --jobs 2`` makes them: the
    slower process's time, each timed around the work (its practices already loaded)."""
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
        times = list(pool.map(_worklists_of, [folder, folder], [0, 1], [2, 2]))
    return max(computed + written for computed, written, *_ in times)


def reports_step(folder: Path) -> dict:
    """One practice's two HTML reports: kernel start, notebook execution, HTML rendering,
    as the run does them (one kernel and client kept across notebooks)."""
    from optin_analysis.config import load_config
    from optin_analysis.outgoing.summary import compute, outgoing, write_json
    from optin_analysis.reports.kernel import NOTEBOOK_DIR, KernelSession
    from optin_analysis.reports.notebooks import REPORTS
    from optin_analysis.reports.render import notebook_to_html

    data = _canonical(folder)[0]
    bundle = outgoing(compute(data, PERIOD), load_config(folder / "config.yaml").disclosure)
    summary = folder / "bench-summary.json"
    write_json(bundle, summary)
    params = {"practice": data.profile.ods_code, "period": PERIOD, "summary_path": str(summary)}
    out = {"practice": data.profile.ods_code, "patients": len(data.patients)}
    session = KernelSession()
    try:
        start = _clock()
        session._kernel()
        out["kernel"], out["execute"], out["render"] = _clock() - start, 0.0, 0.0
        for _ in range(2):  # the first pays the imports in the kernel; the second is typical
            out["execute"] = out["render"] = 0.0
            for notebook, title in REPORTS.values():
                start = _clock()
                nb = session.run(NOTEBOOK_DIR / notebook, params, None)
                middle = _clock()
                notebook_to_html(nb, title)
                out["execute"] += middle - start
                out["render"] += _clock() - middle
    finally:
        session.close()
    return out


def one_practice_step(folder: Path) -> tuple[float, float, float]:
    """Ingest + validate, all measures and worklists (compute) of the one practice there."""
    from optin_analysis.config import load_config
    from optin_analysis.outgoing.summary import compute
    from optin_analysis.practice.worklists import worklists

    from optin_analysis.ingest.load import load_practice  # isort: skip

    (profile,) = load_config(folder / "config.yaml").practices
    start = _clock()
    data = load_practice(profile)
    loaded = _clock()
    month = compute(data, PERIOD)
    measured = _clock()
    worklists(data.patients, data.events, profile, month.ref_date, state=month.measures.state)
    return loaded - start, measured - loaded, _clock() - measured


# --------------------------------------------------------------------------- the floor


class InProcess:
    """The floor of the reports: a report notebook's code run in this process, its views
    called directly (no Papermill, no kernel), their displays kept as the notebook's
    outputs for the same HTML rendering. Stands in for the run's kernel session."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        InteractiveShell.instance()  # displays go to its publisher, captured below

    def run(self, notebook: Path, parameters: dict, output: Path | None):
        import nbformat
        from IPython.utils.capture import capture_output

        nb = nbformat.read(notebook, as_version=4)
        names: dict = {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            with capture_output() as captured:
                exec(compile(cell.source, str(notebook), "exec"), names)  # noqa: S102
            if "parameters" in cell.metadata.get("tags", []):
                names.update(parameters)
            cell.outputs = [
                nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata or {})
                for o in captured.outputs
            ]
        return nb

    def warm(self) -> None:
        """Nothing to start: the views are imported when first used."""

    def close(self) -> None:
        """Nothing to shut down."""

    def kill(self) -> None:
        """Nothing to kill."""


def floor_main(argv: list[str]) -> None:
    """``optin-analysis run ARGS`` in this process with :class:`InProcess` reports."""
    from optin_analysis.reports import kernel
    from optin_analysis.run import cli

    kernel._session = InProcess()
    cli.app(["run", *argv], standalone_mode=False)


# --------------------------------------------------------------------------- commands


def cli() -> str:
    return str(Path(sys.executable).with_name("optin-analysis"))


def subset_config(config: Path, count: int, out: Path) -> Path:
    """A copy of ``config`` with its first ``count`` practices, writing under ``out``."""
    import yaml

    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for p in raw["practices"]:
        for key in ("patients", "events", "mapping", "risk_register", "dpia_narrative"):
            if p.get(key):
                p[key] = str((config.parent / p[key]).resolve())
    for key in ("history_db", "codelist"):
        if raw.get(key):
            raw[key] = str((config.parent / raw[key]).resolve())
    raw.update(practices=raw["practices"][:count], reports_dir=str(out / "reports"),
               worklists_dir=str(out / "worklists"))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def run_command(
    config: Path, jobs: int, pdf: bool, floor: bool = False
) -> tuple[float, int, float]:
    """``optin-analysis run`` as a user runs it, on fresh output folders; with ``floor``,
    the same command with its reports laid out in-process (:func:`floor_main`)."""
    for name in ("reports", "worklists"):
        shutil.rmtree(config.parent / name, ignore_errors=True)
    start = [sys.executable, __file__, "--floor"] if floor else [cli(), "run"]
    command = [*start, "--config", str(config), "--period", PERIOD, "--jobs", str(jobs)]
    return timed_command(command + ([] if pdf else ["--no-pdf"]))


def naive_loop(config: Path, out: Path) -> tuple[float, int]:
    """The straightforward pipeline: for each practice and report notebook, the papermill
    CLI (a fresh kernel; the notebook computes its figures from the configuration) then
    ``jupyter nbconvert --to html``. Returns (seconds, failures)."""
    import yaml

    from optin_analysis.reports.kernel import NOTEBOOK_DIR
    from optin_analysis.reports.notebooks import REPORTS

    codes = [p["ods_code"] for p in yaml.safe_load(config.read_text())["practices"]]
    bin_dir = Path(sys.executable).parent
    out.mkdir(parents=True, exist_ok=True)
    failures, start = 0, _clock()
    for code in codes:
        for notebook, _title in REPORTS.values():
            executed = out / f"{code}-{notebook}"
            steps = [
                [str(bin_dir / "papermill"), str(NOTEBOOK_DIR / notebook), str(executed),
                 "-p", "config", str(config), "-p", "practice", code, "-p", "period", PERIOD,
                 "--no-progress-bar", "--log-level", "ERROR"],
                [str(bin_dir / "jupyter"), "nbconvert", "--to", "html", str(executed),
                 "--log-level", "ERROR"],
            ]  # fmt: skip
            for step in steps:
                done = subprocess.run(step, cwd=NOTEBOOK_DIR, capture_output=True, check=False)
                failures += done.returncode != 0
    return _clock() - start, failures


# --------------------------------------------------------------------------- the groups


def _ratio(ours: float, reference: float) -> float:
    return round(ours / reference, 2)


def _agree(ours: dict, reference: dict) -> str:
    differ = sum(ours[code] != reference.get(code) for code in ours)
    return "same figures" if not differ else f"{differ} practice(s) differ"


def bench_icb(res: Results, folder: Path, practices: int, patients: int) -> None:
    """The data steps at ICB scale."""
    g = "icb"
    (gen, write, events), peak = in_child(generate_step, folder, practices, patients)
    res.add(g, "generate (in memory)", gen, peak,
            f"{practices} practices, {patients:,} patients, {events:,} events")  # fmt: skip
    res.add(g, "write extracts (CSV)", write, None, "same process as above")
    (ingest, csv_seconds, text_seconds), peak = in_child(ingest_pair_step, folder)
    res.figures["ingest_vs_pyarrow"] = _ratio(ingest, csv_seconds)
    res.add(g, "ingest + validate", ingest, peak,
            f"{_ratio(ingest, csv_seconds)}x pyarrow.csv; each best of {REPEAT}, in turn "
            "(peak: of both)", "ingest")  # fmt: skip
    res.add(g, "reference: pyarrow.csv.read_csv", csv_seconds, None, key="pyarrow_csv")
    res.add(g, "reference: the same, every column as text", text_seconds, None,
            f"{_ratio(text_seconds, csv_seconds)}x; ingest reads this way before any check",
            "pyarrow_csv_text")  # fmt: skip
    (ours, peak, heads, sql, reference, threads), sql_peak = in_child(measures_pair_step, folder)
    res.figures["measures_vs_duckdb"] = _ratio(ours, sql[1])
    res.figures["measures_vs_duckdb_all_threads"] = _ratio(ours, sql[threads])
    res.figures["measures_agree"] = float(_agree(heads, reference) == "same figures")
    note = (f"one thread: {_ratio(ours, sql[1])}x DuckDB on one thread, "
            f"{_ratio(ours, sql[threads])}x on {threads}; "
            f"each best of {REPEAT}, in turn")  # fmt: skip
    res.add(g, "all measures (summary.compute)", ours, peak, note, "measures")
    agree = f"{_agree(heads, reference)} as summary.compute (peak: of both)"
    res.add(g, "reference: DuckDB headline SQL, 1 thread", sql[1], sql_peak, agree, "duckdb")
    res.add(g, f"reference: DuckDB headline SQL, {threads} threads", sql[threads], None,
            key="duckdb_all_threads")  # fmt: skip
    (computed, written, plain, cells, saved), peak = in_child(worklists_step, folder)
    split = f"compute {computed:.2f} s + write CSV/XLSX {written:.2f} s; {cells:,} cells"
    res.add(g, "worklists, one process", computed + written, peak, split, "worklists_1")
    res.figures["worklists_compute"] = computed
    res.figures["worklists_vs_csv"] = _ratio(written, plain)
    note = f"{_ratio(written, plain)}x pyarrow CSV of the same rows; each best of {REPEAT}"
    res.add(g, "worklists written (CSV + XLSX)", written, None, note, "worklists_write")
    res.add(g, "reference: pyarrow.csv.write_csv, same rows", plain, None, key="pyarrow_write")
    res.add(g, "of the writing: the XLSX writer's own save", saved, None,
            f"{_ratio(saved, plain)}x the reference; Rust, every cell already handed over",
            "xlsx_save")  # fmt: skip
    wall, peak = in_child(worklists_parallel_step, folder)
    res.add(g, "worklists, two processes", wall, peak, "as run --jobs 2", "worklists")
    report, peak = in_child(reports_step, folder)
    note = f"{report['practice']} ({report['patients']:,} patients)"
    res.add(g, "reports: kernel start + client", report["kernel"], peak, note)
    res.add(g, "reports: notebook execution", report["execute"], None,
            "2 notebooks, warm kernel", "notebooks")  # fmt: skip
    res.add(g, "reports: HTML rendering", report["render"], None, "2 reports", "html")


def bench_run(res: Results, config: Path) -> None:
    """The whole command at ICB scale: two workers, without and with the DPIA PDFs."""
    for pdf, key in ((False, "run_jobs2"), (True, "run_jobs2_pdf")):
        seconds, code, peak = run_command(config, 2, pdf)
        note = "largest process" + ("" if code == 0 else f"; EXIT CODE {code}")
        res.add("icb", f"optin-analysis run --jobs 2{'' if pdf else ' --no-pdf'}", seconds,
                peak, note, key)  # fmt: skip


def best_run(config: Path, pdf: bool, floor: bool = False) -> tuple[float, int, float]:
    """The fastest of REPEAT ``run --jobs 1`` commands (each on fresh output folders; the
    machine's noise only ever adds time), with the highest exit code and peak memory."""
    runs = [run_command(config, 1, pdf, floor) for _ in range(REPEAT)]
    return min(r[0] for r in runs), max(r[1] for r in runs), max(r[2] for r in runs)


def bench_naive(res: Results, config: Path, count: int, out: Path) -> None:
    """``run --jobs 1`` against the papermill + nbconvert loop on ``count`` practices."""
    g = f"{count} practices"
    small = subset_config(config, count, out / "ours")
    loops = [naive_loop(small, out / "naive") for _ in range(NAIVE_REPEAT)]
    naive, failures = min(t for t, _ in loops), max(f for _, f in loops)
    each = ", ".join(f"{t:.0f}" for t, _ in loops)
    note = f"2 notebooks per practice; best of {NAIVE_REPEAT} ({each} s)"
    res.add(g, "naive: papermill CLI + nbconvert per notebook", naive, None,
            note + (f"; {failures} FAILED" if failures else ""), "naive")  # fmt: skip
    floor, code, peak = best_run(small, False, floor=True)
    res.add(g, "floor: the same run, reports laid out in-process", floor, peak,
            f"{floor / count:.2f} s a practice; no Papermill, no kernel; best of {REPEAT}"
            + ("" if code == 0 else f"; EXIT {code}"), "floor")  # fmt: skip
    for pdf, key in ((False, "ours_jobs1"), (True, "ours_jobs1_pdf")):
        seconds, code, peak = best_run(small, pdf)
        res.figures[f"{key}_speedup"] = round(naive / seconds, 1)
        note = f"{naive / seconds:.1f}x faster than naive" + ("" if code == 0 else f"; EXIT {code}")
        if not pdf:
            res.figures["ours_jobs1_vs_floor"] = _ratio(seconds, floor)
            note += f"; {seconds / count:.2f} s a practice, {_ratio(seconds, floor)}x the floor"
        note += "; also worklists, summaries, roll-up" + ("; DPIA PDFs" if pdf else "")
        note += f"; best of {REPEAT}"
        res.add(g, f"optin-analysis run --jobs 1{'' if pdf else ' --no-pdf'}", seconds, peak,
                note, key)  # fmt: skip


def bench_sweep(res: Results, out: Path, sizes: tuple[int, ...]) -> None:
    """Ingest + measures (+ worklists) of one practice, at each size."""
    for patients in sizes:
        folder = out / f"one-{patients}"
        folder.mkdir(parents=True, exist_ok=True)
        in_child(generate_step, folder, 1, patients, True)
        (ingest, measures, lists), peak = in_child(one_practice_step, folder)
        res.sweep.append({"patients": patients, "ingest": ingest, "measures": measures,
                          "worklists": lists, "peak_mb": peak})  # fmt: skip
        split = f"ingest {ingest:.2f} s, measures {measures:.2f} s, worklists {lists:.2f} s"
        step = f"{patients:,} patients: ingest + measures + worklists"
        res.add("one practice", step, ingest + measures + lists, peak, split)
        shutil.rmtree(folder, ignore_errors=True)
    if sizes:
        res.figures["largest_practice_peak_mb"] = res.sweep[-1]["peak_mb"]


def bench_scale(res: Results, out: Path, practices: int, patients: int) -> None:
    """``run --jobs 2 --no-pdf`` on a larger generated ICB (the sweep's last point)."""
    folder = out / f"scale-{practices}"
    folder.mkdir(parents=True, exist_ok=True)
    (gen, write, _), _ = in_child(generate_step, folder, practices, patients)
    seconds, code, peak = run_command(folder / "config.yaml", 2, False)
    res.packs.append({"practices": practices, "seconds": seconds, "peak_mb": peak})
    res.figures["scale_seconds"] = seconds
    res.figures["scale_peak_mb"] = peak
    note = f"{patients:,} patients (generated in {gen + write:.0f} s)"
    res.add("pack", f"{practices} practices: run --jobs 2 --no-pdf", seconds, peak,
            note + ("" if code == 0 else f"; EXIT CODE {code}"))  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)


def bench_packs(res: Results, config: Path, counts: tuple[int, ...], out: Path) -> None:
    """``run --jobs 2`` for the first ``count`` practices of the ICB data."""
    for count in counts:
        small = subset_config(config, count, out / f"pack-{count}")
        seconds, code, peak = run_command(small, 2, False)
        res.packs.append({"practices": count, "seconds": seconds, "peak_mb": peak})
        res.add("pack", f"{count} practices: run --jobs 2 --no-pdf", seconds, peak,
                "" if code == 0 else f"EXIT CODE {code}")  # fmt: skip


# --------------------------------------------------------------------------- targets, output

#: (name, figure, comparison, limit, unit)
TARGETS = (
    ("run --jobs 1 / in-process floor, 10 practices", "ours_jobs1_vs_floor", "<=", 1.5, "x"),
    ("faster than papermill + nbconvert loop, 10 practices", "ours_jobs1_speedup", ">=", 15, "x"),
    ("... with the DPIA PDFs", "ours_jobs1_pdf_speedup", ">=", 12, "x"),
    ("all measures / DuckDB headline SQL, same threads (1)", "measures_vs_duckdb", "<=", 0.8, "x"),
    ("ingest + validate / pyarrow.csv.read_csv", "ingest_vs_pyarrow", "<=", 2.0, "x"),
    ("worklists written / pyarrow CSV of the same rows", "worklists_vs_csv", "<=", 2.0, "x"),
    ("one practice of 2M patients, peak", "largest_practice_peak_mb", "<=", 1536, "MB"),
    ("largest process of the 100-practice run", "run_jobs2_peak_mb", "<=", 512, "MB"),
)


def targets(res: Results) -> list[dict]:
    out = []
    for name, key, op, limit, unit in TARGETS:
        value = res.figures.get(key)
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        out.append({"target": name, "figure": key, "value": value, "limit": f"{op} {limit}",
                    "unit": unit, "met": met})  # fmt: skip
    return out


def machine() -> dict:
    gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cores": os.cpu_count(), "ram_gb": round(gb, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.machine()}", "versions": versions,
            "date": dt.datetime.now().isoformat(timespec="seconds")}  # fmt: skip


#: Tick labels of a count of people: 0, 400k, 1.2M (Vega's "~s" alone writes "0M").
PEOPLE_TICKS = "datum.value == 0 ? '0' : format(datum.value, '~s')"


def chart(res: Results, path: Path) -> None:
    """Time against size, one practice (left) and the whole run (right), as SVG."""
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    one = pd.DataFrame(res.sweep).melt(
        "patients", ["ingest", "measures", "worklists"], var_name="step", value_name="seconds"
    )
    colours = alt.Scale(range=["#0072B2", "#D55E00", "#009E73"])
    left = (
        alt.Chart(one, title="One practice")
        .mark_line(point=True)
        .encode(
            x=alt.X("patients:Q", title="Patients", axis=alt.Axis(labelExpr=PEOPLE_TICKS)),
            y=alt.Y("seconds:Q", title="Seconds"),
            color=alt.Color("step:N", title=None, scale=colours),
            strokeDash=alt.StrokeDash("step:N", title=None),
        )
    )
    right = (
        alt.Chart(pd.DataFrame(res.packs), title="run --jobs 2 --no-pdf (10,000 a practice)")
        .mark_line(point=True, color="#0072B2")
        .encode(x=alt.X("practices:Q", title="Practices"), y=alt.Y("seconds:Q", title="Seconds"))
    )
    spec = alt.hconcat(
        left.properties(width=300, height=220), right.properties(width=300, height=220)
    ).configure_axis(labelFontSize=12, titleFontSize=12)
    path.write_text(vlc.vegalite_to_svg(spec.to_dict()), encoding="utf-8")


def _table(rows: list[Row], markdown: bool) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.MARKDOWN if markdown else box.SIMPLE_HEAD)
    for name in ("Group", "Step", "Time (s)", "Peak RSS (MB)", "Notes"):
        table.add_column(name, justify="right" if "(" in name else "left")
    for r in rows:
        seconds = "" if r.seconds is None else f"{r.seconds:.{3 if r.seconds < 10 else 1}f}"
        peak = "" if r.peak_mb is None else f"{r.peak_mb:,.0f}"
        table.add_row(r.group, r.step, seconds, peak, r.note)
    _print(table, markdown)


def _targets_table(rows: list[dict], markdown: bool) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.MARKDOWN if markdown else box.SIMPLE_HEAD)
    for name in ("Target", "Measured", "Limit", "Met"):
        table.add_column(name)
    for t in rows:
        value = "not measured" if t["value"] is None else f"{t['value']:,.2f} {t['unit']}"
        met = {True: "met", False: "NOT met", None: "-"}[t["met"]]
        table.add_row(t["target"], value, f"{t['limit']} {t['unit']}", met)
    _print(table, markdown)


def _print(table, markdown: bool) -> None:
    """Print a table; Markdown rows never wrap (a wrapped cell would become a new row)."""
    from rich.console import Console

    Console(width=1000 if markdown else 200).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive loop")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the scaling sweep")
    parser.add_argument("--out", type=Path, help="keep generated data here (default: temp)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    pick = 1 if args.quick else 0
    practices, patients = SIZES["icb"][pick]
    out = args.out or Path(tempfile.mkdtemp(prefix="optin-bench-"))
    info = machine()
    print(f"{info['cores']} cores, {info['ram_gb']} GB RAM, Python {info['python']}, "
          f"{info['system']}; data in {out}", flush=True)  # fmt: skip
    res = Results()
    _, floor = in_child(imports_only)
    res.add("-", "python + imports", None, floor, "memory floor of every step")
    try:
        icb = out / "icb"
        icb.mkdir(parents=True, exist_ok=True)
        bench_icb(res, icb, practices, patients)
        bench_run(res, icb / "config.yaml")
        print("ICB scale done", file=sys.stderr, flush=True)
        if not args.skip_naive:
            bench_naive(res, icb / "config.yaml", SIZES["naive"][pick], out / "naive")
            print("naive loop done", file=sys.stderr, flush=True)
        if not args.skip_sweep:
            bench_sweep(res, out / "sweep", SIZES["sweep"][pick])
            counts = [c for c in SIZES["packs"][pick] if c != practices]
            bench_packs(res, icb / "config.yaml", tuple(counts), out / "packs")
            res.packs.append({"practices": practices, "seconds": res.figures["run_jobs2"],
                              "peak_mb": res.figures.get("run_jobs2_peak_mb")})  # fmt: skip
            bench_scale(res, out / "scale", *SIZES["scale"][pick])
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    met = targets(res)
    _table(res.rows, args.markdown)
    _targets_table(met, args.markdown)
    if not args.quick:
        report = {"machine": info, "rows": [asdict(r) for r in res.rows], "figures": res.figures,
                  "targets": met, "sweep": res.sweep, "packs": res.packs}  # fmt: skip
        (HERE / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        if res.sweep and res.packs:
            chart(res, HERE / "scaling.svg")
        print(f"Wrote {HERE / 'results.json'} and {HERE / 'scaling.svg'}", file=sys.stderr)


def _in_project_env() -> None:
    """Re-run under the project's .venv when started with a Python that lacks the package."""
    try:
        import optin_analysis  # noqa: F401
    except ModuleNotFoundError:
        venv = REPO / ".venv" / "bin" / "python"
        if not venv.exists():
            sys.exit("optin_analysis is not installed: run `make test` (or `make run`) first")
        os.execv(venv, [str(venv), __file__, *sys.argv[1:]])


if __name__ == "__main__":
    _in_project_env()
    if sys.argv[1:2] == ["--floor"]:
        floor_main(sys.argv[2:])
    else:
        main()
