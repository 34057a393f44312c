"""The ICB's side: the summaries practices sent, checked, then rolled up.

``optin-analysis rollup INBOX --period YYYY-MM`` reads whatever practices sent: a folder
per practice holding its ``summary.json`` (and reports), files named by ODS code
(``Y90001.json``, ``Y90001-summary.json``), or zip files holding either. Each summary is
checked before it is used, and one that fails is refused, listed with its reason, never
silently dropped:

* it is JSON and matches ``summary.schema.json`` (:mod:`optin_analysis.outgoing.schema`)
  at a ``format_version`` this version knows;
* it is for the period asked, for the ICB (not a practice's exact copy), with disclosure
  control on, and every count is a value its own rule publishes (an edited figure is not);
* one summary per practice: two for one ODS code are both refused.

Accepted summaries are recorded in the ICB's own history store (DuckDB), so trends span
the months it has received. An optional ``practices.csv`` (ODS code, name, PCN) names
the practices expected, so those that sent nothing are listed, and groups by PCN. Totals
are sums of published figures only ("at least" where a practice reads "[c]").
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fastjsonschema

from optin_analysis.config import Disclosure, lowest_step, pins_lowest, zero_problem
from optin_analysis.outgoing.schema import (
    FORMAT_VERSION,
    published_value_problems,
    summary_schema,
)

#: A file or zip member read as a practice's summary (larger is refused unread).
MAX_SUMMARY_BYTES = 5_000_000
ODS = re.compile(r"(?<![A-Z0-9])([A-Z][0-9A-Z]{4,5})(?![A-Z0-9])")


@dataclass(frozen=True)
class Refused:
    """A summary the ICB cannot use: where it came from, its practice if known, why."""

    where: str
    ods_code: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"where": self.where, "ods_code": self.ods_code, "reason": self.reason}


def _wanted(name: str) -> bool:
    """A file name that holds a practice's summary: summary.json, or named by ODS code."""
    lower = name.lower()
    return lower.endswith(".json") and (lower.endswith("summary.json") or bool(ODS.search(name)))


#: What the inbox holds for one summary: where, and its bytes or why they cannot be read.
Sent = tuple[str, bytes | str]


def sent(inbox: Path) -> list[Sent]:
    """Every summary the inbox holds: (where, its bytes, or why it cannot be read)."""
    out: list[Sent] = []
    for path in sorted(inbox.rglob("*")):
        where = str(path.relative_to(inbox))
        if path.is_file() and path.suffix.lower() == ".zip":
            out += _zipped(path, where)
        elif path.is_file() and _wanted(path.name):
            out.append((where, _read(path)))
    return out


def _read(path: Path) -> bytes | str:
    """A file's bytes, or why they cannot be read."""
    try:
        return _too_big(path.stat().st_size) or path.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"


def _too_big(size: int) -> str | None:
    if size > MAX_SUMMARY_BYTES:
        return f"larger than {MAX_SUMMARY_BYTES:,} bytes: not a summary"
    return None


def _zipped(path: Path, where: str) -> list[Sent]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if _wanted(Path(m.filename).name)]
            return [(f"{where}:{m.filename}", _too_big(m.file_size) or archive.read(m))
                    for m in members]  # fmt: skip
    except (zipfile.BadZipFile, OSError) as exc:
        return [(where, f"a zip file that cannot be read ({exc})")]


class RosterError(ValueError):
    """The ICB's list of practices cannot be read; the message names the file and why."""


def check(where: str, raw: bytes | str, period: str, rule: Disclosure) -> dict | Refused:
    """The summary in ``raw`` (or why it cannot be read) if the ICB can use it for
    ``period`` under its disclosure ``rule``, else why not."""
    guess = (ODS.search(where) or [None, None])[1]
    if isinstance(raw, str):
        return Refused(where, guess, raw)
    try:
        summary = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Refused(where, guess, f"not JSON ({exc})")
    if not isinstance(summary, dict):
        return Refused(where, guess, "not a summary (JSON, but not an object)")
    practice = summary.get("practice")
    code = practice.get("ods_code") if isinstance(practice, dict) else None
    code = code if isinstance(code, str) else guess
    if (version := summary.get("format_version")) != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        return Refused(where, code, f"format version {version!r}; this optin-analysis reads "
                       f"version {FORMAT_VERSION}" + ("; upgrade it to read this summary"
                                                      if newer else ""))  # fmt: skip
    if summary.get("period") != period:
        return Refused(where, code, f"for {summary.get('period')}, not {period}")
    try:
        _validator()(summary)
    except fastjsonschema.JsonSchemaValueException as error:
        said = error.message.removeprefix("data.").replace("data must", "the summary must", 1)
        return Refused(where, code, f"{said} (summary.schema.json)")
    if summary.get("audience") != "icb" or not summary["disclosure"]["enabled"]:
        return Refused(where, code, "a practice's exact copy, not for sending: it holds "
                       "figures without disclosure control")  # fmt: skip
    if weaker := _weaker(summary["disclosure"], rule):
        return Refused(where, code, weaker)
    if problems := published_value_problems(summary):
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Refused(where, code, f"{problems[0]}{more}: edited after it was made?")
    return summary


def _weaker(theirs: dict, rule: Disclosure) -> str | None:
    """Why a summary's disclosure rule cannot be accepted, or None: it publishes small
    counts as 0 ([rule sdc-zero]) or an exact count as its lowest rounded value
    ([rule sdc-step]), or it is weaker than the ICB's."""
    k, r = theirs["redact_at_or_below"], theirs["round_to"]
    if zero_problem(k, r):
        return (f"made under a disclosure rule that publishes small counts as 0 (1 to {k} "
                f"hidden, rounded to {r}, so {k + 1} reads 0): ask the practice to run again "
                "with the ICB's rule")  # fmt: skip
    if pins_lowest(k, r):
        value = lowest_step(k, r)[0]
        return (f"made under a disclosure rule whose lowest rounded value is an exact count "
                f"(1 to {k} hidden, rounded to {r}, so a published {value} can only be "
                f"{k + 1}): ask the practice to run again with the ICB's rule")  # fmt: skip
    if k >= rule.redact_at_or_below and r % rule.round_to == 0:
        return None
    return (f"made under a weaker disclosure rule (1 to {k} hidden, rounded to {r}) than the "
            f"ICB's (1 to {rule.redact_at_or_below}, rounded to {rule.round_to}): ask the "
            "practice to run again with the ICB's rule")  # fmt: skip


@functools.cache
def _validator() -> Callable[[dict], object]:
    """The schema compiled to a function (fastjsonschema: a summary in about 3 ms)."""
    return fastjsonschema.compile(summary_schema())


def receive(
    inbox: Path, period: str, rule: Disclosure | None = None
) -> tuple[list[dict], list[Refused]]:
    """The usable summaries for ``period`` in ``inbox`` (one per practice, by ODS code,
    made under ``rule`` or a stricter one) and every one refused, with its reason."""
    rule = rule or Disclosure()
    accepted: dict[str, list[tuple[str, dict]]] = {}
    refused: list[Refused] = []
    for where, raw in sent(inbox):
        result = check(where, raw, period, rule)
        if isinstance(result, Refused):
            refused.append(result)
        else:
            accepted.setdefault(result["practice"]["ods_code"], []).append((where, result))
    summaries = []
    for code, found in sorted(accepted.items()):
        if len(found) == 1:
            summaries.append(found[0][1])
            continue
        places = ", ".join(w for w, _ in found)
        refused += [Refused(w, code, f"{len(found)} summaries for {code} ({places}): which "
                            "one is meant cannot be told; send one") for w, _ in found]  # fmt: skip
    return summaries, refused


def read_roster(path: Path) -> dict[str, dict]:
    """The ICB's practices from a CSV with columns for the ODS code, name and PCN (headings
    such as ``ods_code``/``ODS``, ``name``, ``pcn``/``PCN``): ODS code -> name and PCN.
    Raises :class:`RosterError` naming the file when it cannot be read or has no column
    of ODS codes."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot be read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    headings = {h.strip().lower().replace(" ", "_"): h for h in reader.fieldnames or [] if h}
    column = next((headings[h] for h in ("ods_code", "ods", "code") if h in headings), None)
    if column is None:
        found = ", ".join(reader.fieldnames or []) or "none"
        raise RosterError(
            f"{path}: no column of ODS codes (a heading 'ODS code', 'ODS' or 'code'); found {found}"
        )
    out = {}
    for row in reader:
        norm = {k.strip().lower().replace(" ", "_"): (v or "").strip() for k, v in row.items() if k}
        if code := (row.get(column) or "").strip():
            out[code.upper()] = {"name": norm.get("name") or code, "pcn": norm.get("pcn") or None}
    return out


def not_sent(roster: dict[str, dict], summaries: list[dict], refused: list[Refused]) -> list:
    """Practices on the roster with no usable summary: why (nothing sent, or refused)."""
    have = {s["practice"]["ods_code"] for s in summaries}
    why = {r.ods_code: r.reason for r in refused if r.ods_code}
    return [
        {"ods_code": code, "name": entry["name"],
         "reason": f"refused: {why[code]}" if code in why else "nothing received"}
        for code, entry in sorted(roster.items()) if code not in have
    ]  # fmt: skip
