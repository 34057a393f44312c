"""``make mutate``: plant small rule mutations one at a time and check the tests catch each.

Each mutation is a list of exact text replacements in package files; every replacement
must apply exactly once (checked against the source before anything runs). The
repository is copied to a temporary folder, so the working tree is never changed: each
mutation is applied to the copy, the fast test selection runs there (``tests/spec
tests/unit tests/property``, stopping at the first failure, with a per-mutation
timeout), and the copy's files are written back before the next one, even on an error,
a timeout or Ctrl-C. The copy is removed at the end.

A mutation is *caught* when a test fails (or the run times out) and *survives* when every
test passes. Exit status: 0 when every mutation is caught, 1 when one survives or a run
ends in an error, 2 when the list no longer matches the source or the unmutated copy
fails its tests.

    python tests/mutate.py [--only NAME ...] [--timeout SECONDS] [--tests PATH ...] [--list]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ("tests/spec", "tests/unit", "tests/property")
PYTEST = ("-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=-rfE")
SKIP = (".git", ".venv", ".hypothesis", ".ruff_cache", "__pycache__", ".pytest_cache")


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (found exactly once) with ``new`` in ``path`` (from the repository)."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutation:
    """A named rule mutation: the rule it breaks and its edits."""

    name: str
    rule: str
    edits: tuple[Edit, ...]


def _one(name: str, rule: str, path: str, old: str, new: str) -> Mutation:
    return Mutation(name, rule, (Edit(path, old, new),))


STATE = "optin_analysis/measures/state.py"
TIMELINE = "optin_analysis/measures/timeline.py"
DEFS = "optin_analysis/measures/definitions.py"
LINK = "optin_analysis/measures/link.py"
PLAN = "optin_analysis/measures/action_plan.py"
SDC = "optin_analysis/outgoing/disclosure.py"
DPIA = "optin_analysis/outgoing/dpia.py"
APPROVAL = "optin_analysis/outgoing/dpia_approval.py"
TIE_GRANT_REVOKE = Edit(
    TIMELINE,
    "    K_GRANTED,\n    K_DECLINED,\n    K_OPT_OUT,\n    K_REVOKED,\n)",
    "    K_REVOKED,\n    K_GRANTED,\n    K_DECLINED,\n    K_OPT_OUT,\n)",
)
HISTORY_GRANT_WINS = Edit(TIMELINE, "    on = ~any_revoked\n", "    on = any_granted\n")
OPENER = "    opener = ev.latest(ev.opens, d)\n"
LEAP = "~(((year + 16) % 4 == 0) & (((year + 16) % 100 != 0) | ((year + 16) % 400 == 0)))"

MUTATIONS: tuple[Mutation, ...] = (
    _one(
        "tie-104-106-flipped", "protected-104", STATE,
        "    review = latest_key(upto, n, K_REMOVED, K_ADDED)\n",
        "    review = latest_key(upto, n, K_ADDED, K_REMOVED)\n"
        "    review = np.where(review == MISSING, MISSING, review ^ 1)  # the 106 wins a tie\n",
    ),
    Mutation("tie-grant-revoke-order-flipped", "tie-order", (TIE_GRANT_REVOKE,)),
    Mutation("tie-grant-revoke-history-flipped", "history", (HISTORY_GRANT_WINS,)),
    Mutation("tie-grant-revoke-both-flipped", "tie-order", (TIE_GRANT_REVOKE, HISTORY_GRANT_WINS)),
    _one(
        "tie-grant-before-request", "tie-order", TIMELINE,
        "    K_REQUEST,\n    K_COUNSELLED,\n    K_GRANTED,\n",
        "    K_GRANTED,\n    K_REQUEST,\n    K_COUNSELLED,\n",
    ),
    _one(
        "tie-request-wins-over-opt-out", "opted-out", STATE,
        '"opted_out": _latest_is_upper(latest_key(upto, n, K_REQUEST, K_OPT_OUT)),',
        '"opted_out": _latest_is_upper(np.where((k := latest_key(upto, n, K_OPT_OUT, '
        "K_REQUEST)) == MISSING, MISSING, k ^ 1)),",
    ),
    Mutation(
        "request-dated-from-first-ever-request", "open-request",
        (
            Edit(STATE, OPENER, "    opener = ev.latest(ev.opens & (_prev(ev.opens, ev.pos) < 0), d)\n"),  # noqa: E501
            Edit(
                STATE,
                "from optin_analysis.measures.timeline import coded_text, disagreement_words, "
                "timeline\n",
                "from optin_analysis.measures.timeline import _previous as _prev\n"
                "from optin_analysis.measures.timeline import coded_text, disagreement_words, "
                "timeline\n",
            ),
        ),
    ),
    _one(
        "request-dated-from-chaser", "episode", STATE,
        OPENER, "    opener = ev.latest(ev.kind == K_REQUEST, d)\n",
    ),
    _one("bulk-threshold-49", "bulk-104", DEFS,
         "BULK_104_THRESHOLD = 50\n", "BULK_104_THRESHOLD = 49\n"),
    _one(
        "bulk-more-than-50", "bulk-104", DEFS,
        "same_day >= BULK_104_THRESHOLD", "same_day > BULK_104_THRESHOLD",
    ),
    _one(
        "late-at-28-days", "wait-bands", "optin_analysis/measures/month.py",
        'f"open_requests_over_{t}_days": int((wait > t).sum())',
        'f"open_requests_over_{t}_days": int((wait >= t).sum())',
    ),
    _one(
        "wait-band-upper-bound-outside", "wait-bands", DEFS,
        'np.searchsorted(BAND_UPPER, wait_days, side="left")',
        'np.searchsorted(BAND_UPPER, wait_days, side="right")',
    ),
    _one(
        "wait-band-15-27", "wait-bands", DEFS,
        "BAND_UPPER = np.array([7, 14, 28, 56, 90, 180])",
        "BAND_UPPER = np.array([7, 14, 27, 56, 90, 180])",
    ),
    _one(
        "sdc-7-not-suppressed", "sdc-count", SDC,
        "    if count <= rule.redact_at_or_below:\n", "    if count < rule.redact_at_or_below:\n",
    ),
    _one(
        "sdc-round-down", "sdc-count", SDC,
        "math.floor(count / rule.round_to + 0.5)", "math.floor(count / rule.round_to)",
    ),
    _one(
        "sdc-total-skips-suppressed", "sdc-derived", SDC,
        "return MARK if any(hidden(v) for v in values) else int(sum(int(v) for v in values))",
        "return int(sum(int(v) for v in values if not hidden(v)))",
    ),
    _one("pending-16-horizon-5", "pending-16-window", DEFS,
         "DEFAULT_HORIZON_MONTHS = 6\n", "DEFAULT_HORIZON_MONTHS = 5\n"),
    _one(
        "pending-16-includes-d", "pending-16-window", DEFS,
        "    window = (b16 > ref) & (b16 <= horizon_end(",
        "    window = (b16 >= ref) & (b16 <= horizon_end(",
    ),
    _one(
        "pending-16-excludes-last-day", "pending-16-window", DEFS,
        "    window = (b16 > ref) & (b16 <= horizon_end(",
        "    window = (b16 > ref) & (b16 < horizon_end(",
    ),
    _one(
        "leap-day-age-on-28-february", "eligible", LINK,
        "(self.dob_month_day > month_day[0])",
        "(np.where(self.dob_month_day == 229, 228, self.dob_month_day) > month_day[0])",
    ),
    _one(
        "leap-day-16th-birthday-on-28-february", "pending-16-window", LINK,
        "    b16 = days_from_civil(year + 16, month, day_of_month)\n",
        "    b16 = days_from_civil(year + 16, month, day_of_month) - (\n"
        f"        (month == 2) & (day_of_month == 29) & {LEAP}\n    )\n",
    ),
    _one(
        "backlog-emis-tpp-swapped", "backlog-emis", DEFS,
        'held & _bool(state, "account") if supplier is Supplier.EMIS else held',
        'held & _bool(state, "account") if supplier is Supplier.TPP else held',
    ),
    _one(
        "backlog-trend-emis-tpp-swapped", "backlog-trend", DEFS,
        "    if supplier is Supplier.EMIS:\n        return with_account\n",
        "    if supplier is Supplier.TPP:\n        return with_account\n",
    ),
    _one(
        "setting-protects-emis-live", "protection-setting", STATE,
        "        profile.go_live_status is GoLiveStatus.NOT_PLANNED\n",
        "        profile.go_live_status is not GoLiveStatus.DUE\n",
    ),
    _one(
        "auto-start-ignores-16th-birthday", "auto-start", TIMELINE,
        "np.maximum(np.maximum(prep.acct_day, prep.b16_day), go_live)",
        "np.maximum(prep.acct_day, go_live)",
    ),
    _one(
        "turned-16-revoked-on-birthday-counts", "turned-16-automatic", DEFS,
        "(spells.end > b16[spells.pos])", "(spells.end >= b16[spells.pos])",
    ),
    _one(
        "clear-date-rounds-down", "clear-date", DEFS,
        "    k = -(-3 * backlog // recent)", "    k = 3 * backlog // recent",
    ),
    _one(
        "step1-setting-on-d-not-done", "step1-setting", PLAN,
        "    return date is not None and as_timestamp(date) <= ref\n",
        "    return date is not None and as_timestamp(date) < ref\n",
    ),
    _one(
        "step-dated-on-d-not-done", "step-dated", PLAN,
        "    if as_timestamp(date) <= ref:\n        return action, DONE",
        "    if as_timestamp(date) < ref:\n        return action, DONE",
    ),
    _one(
        "dpia-score-3-low", "dpia-score", DPIA,
        'return "low" if score <= 2 else', 'return "low" if score <= 3 else',
    ),
    _one(
        "dpia-score-4-high", "dpia-score", DPIA,
        '"medium" if score <= 4 else "high"', '"medium" if score < 4 else "high"',
    ),
    _one(
        "dpia-share-c-unbounded", "dpia-met", DPIA,
        "        return _share_span(SHARES[measure], figures, rule)",
        "        return None",
    ),
    _one(
        "dpia-cannot-tell-inherent", "dpia-residual", DPIA,
        "        status, residual = CANNOT_TELL, m.residual_risk",
        "        status, residual = CANNOT_TELL, risk.inherent",
    ),
    _one(
        "dpia-release-ends-before-approval", "dpia-approved-state", APPROVAL,
        "_month_end(p) <= approved]", "_month_end(p) < approved]",
    ),
    _one(
        "dpia-review-due-on-d-passed", "dpia-reapproval", APPROVAL,
        '"overdue": bool(due and due < ref),', '"overdue": bool(due and due <= ref),',
    ),
)  # fmt: skip


def check(mutations: tuple[Mutation, ...], root: Path) -> list[str]:
    """Problems with the list: a name used twice, a replacement that does not apply
    exactly once, a mutated file that is no longer valid Python."""
    names = [m.name for m in mutations]
    problems = [f"{n}: named twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for mutation in mutations:
        texts: dict[str, str] = {}
        for edit in mutation.edits:
            text = texts.setdefault(edit.path, (root / edit.path).read_text(encoding="utf-8"))
            found = text.count(edit.old)
            if found != 1:
                problems.append(f"{mutation.name}: {edit.path}: found {found} times: {edit.old!r}")
            texts[edit.path] = text.replace(edit.old, edit.new)
        for path, text in texts.items():
            try:
                compile(text, path, "exec")
            except SyntaxError as exc:
                problems.append(f"{mutation.name}: {path}: not valid Python once mutated: {exc}")
    return problems


def copy_repository(target: Path) -> Path:
    """The repository without its environment, caches or outputs, under ``target``."""
    copy = target / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*SKIP))
    return copy


@dataclass
class Outcome:
    """How one run of the test selection ended."""

    result: str  #: caught, survived, caught (timeout) or error (exit N)
    seconds: float
    detail: str  #: the first failing test, or the tail of the output


def _first_failure(output: str) -> str:
    match = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.MULTILINE)
    return match.group(1) if match else ""


def _env(copy: Path) -> dict[str, str]:
    """The environment of a run: the copy first on the path, no bytecode written (a file
    written back within a second could otherwise be read from a stale cache)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(copy)}
    env.pop("HYPOTHESIS_PROFILE", None)  # the fixed, derandomised profile
    return env


def run_tests(copy: Path, tests: list[str], timeout: float) -> Outcome:
    """Run the test selection in the copy (in its own process group, killed on timeout or
    interruption)."""
    env = _env(copy)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *PYTEST, *tests],
        cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return Outcome("caught (timeout)", time.monotonic() - started, f"over {timeout:.0f} s")
    finally:
        _stop(proc)
    seconds = time.monotonic() - started
    if proc.returncode == 0:
        return Outcome("survived", seconds, "")
    if proc.returncode == 1:
        return Outcome("caught", seconds, _first_failure(output))
    return Outcome(f"error (exit {proc.returncode})", seconds, output[-2000:])


def _stop(proc: subprocess.Popen) -> None:
    """Kill the run's process group (it was started in a session of its own)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _apply(copy: Path, mutation: Mutation, originals: dict[Path, str]) -> None:
    """Apply the mutation's edits to the copy, keeping each file's text in ``originals``
    before its first change."""
    for edit in mutation.edits:
        path = copy / edit.path
        text = path.read_text(encoding="utf-8")
        originals.setdefault(path, text)
        if text.count(edit.old) != 1:
            raise RuntimeError(f"{mutation.name}: {edit.path}: the text is not there once")
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def mutate(copy: Path, mutation: Mutation, tests: list[str], timeout: float) -> Outcome:
    """One mutation: applied to the copy, tested, and always written back."""
    originals: dict[Path, str] = {}
    try:
        _apply(copy, mutation, originals)
        return run_tests(copy, tests, timeout)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")


def imports_the_copy(copy: Path) -> bool:
    """Whether Python started as the test runs are imports the package from the copy."""
    where = subprocess.run(
        [sys.executable, "-c", "import optin_analysis; print(optin_analysis.__file__)"],
        cwd=copy, env=_env(copy), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(where.stdout.strip()).resolve().is_relative_to(copy.resolve())


def _line(mutation: Mutation | None, out: Outcome | None, width: int) -> str:
    """One row of the results table (the heading without a mutation)."""
    if mutation is None or out is None:
        return f"{'mutation':<{width}}  {'rule':<20}  {'result':<16}  {'s':>5}  caught by"
    detail = out.detail if out.result.startswith("caught") else ""
    return (
        f"{mutation.name:<{width}}  {mutation.rule:<20}  {out.result:<16}  "
        f"{out.seconds:5.1f}  {detail}"
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutations only")
    parser.add_argument("--tests", nargs="+", default=list(TESTS), metavar="PATH")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutation")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    return parser.parse_args(argv)


def _terminate(signum: int, frame: object) -> None:
    """Ctrl-C and termination: unwind through every ``finally`` (the run is killed, the
    copy's files written back and the copy removed)."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    chosen = tuple(m for m in MUTATIONS if not args.only or m.name in args.only)
    unknown = sorted(set(args.only or ()) - {m.name for m in MUTATIONS})
    problems = check(MUTATIONS, ROOT) + [f"{n}: no such mutation" for n in unknown]
    if problems:
        print("Problems with the mutation list:", *problems, sep="\n  ")
        return 2
    if args.list:
        print("\n".join(f"{m.name}  [rule {m.rule}]" for m in chosen))
        return 0
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="optin-mutate-") as scratch:
        copy = copy_repository(Path(scratch))
        if not imports_the_copy(copy):
            print("The copy's tests would import the package from elsewhere: stopping.")
            return 2
        baseline = run_tests(copy, args.tests, args.timeout)
        if baseline.result != "survived":  # i.e. some test fails with no mutation
            print("The tests fail without any mutation:", baseline.detail, sep="\n")
            return 2
        print(f"Unmutated: the tests pass in {baseline.seconds:.0f} s. Mutations:", flush=True)
        width = max(len(m.name) for m in chosen)
        print(_line(None, None, width), flush=True)
        rows = []
        for mutation in chosen:
            rows.append((mutation, mutate(copy, mutation, args.tests, args.timeout)))
            print(_line(*rows[-1], width), flush=True)
    caught = sum(out.result.startswith("caught") for _, out in rows)
    print(f"\n{caught} of {len(rows)} mutations caught in {time.monotonic() - started:.0f} s")
    for mutation, out in rows:
        if not out.result.startswith("caught"):
            print(f"\n{mutation.name}: {out.result}\n{out.detail}")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
