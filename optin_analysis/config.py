"""Run configuration: the practices of a run, where their extracts are, and output settings.

One YAML file per run (``data/sample/config.yaml`` is an example). Relative paths in it
are resolved against the folder holding the file, so a configuration can be moved with
its extracts. :func:`load_config` validates everything and raises :class:`ConfigError`
with every problem in words, naming the file and the key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ODS_PATTERN = r"^[A-Z][0-9A-Z]{4,5}$"


class Supplier(StrEnum):
    """The practice's clinical system supplier."""

    EMIS = "emis"
    TPP = "tpp"


class GoLiveStatus(StrEnum):
    """Where the practice is with automatic prospective access ("go-live")."""

    LIVE = "live"  #: gone live: automatic access was (or is) given
    DUE = "due"  #: due to go live soon
    NOT_PLANNED = "not_planned"  #: no plan to go live; access is provisioned manually


class Model(StrEnum):
    """The access model the practice's DPIA chose."""

    OPT_IN = "opt_in"
    DEFAULT = "default"


class ConfigError(Exception):
    """A run configuration that cannot be used; the message lists every problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Disclosure(Strict):
    """Statistical disclosure control of outgoing figures (on by default)."""

    enabled: bool = True
    redact_at_or_below: Annotated[int, Field(ge=0)] = 7
    round_to: Annotated[int, Field(ge=1)] = 5

    @model_validator(mode="after")
    def _published_values_mean_what_they_say(self) -> Disclosure:
        if self.enabled and (problem := rule_problem(self.redact_at_or_below, self.round_to)):
            raise ValueError(problem)
        return self


def rule_problem(redact_at_or_below: int, round_to: int) -> str | None:
    """Why a disclosure rule cannot be used, or None: it would publish a count above 0 as
    0 (:func:`zero_problem`), or a rounded value that is an exact count (:func:`step_problem`)."""
    return zero_problem(redact_at_or_below, round_to) or step_problem(redact_at_or_below, round_to)


def zero_problem(redact_at_or_below: int, round_to: int) -> str | None:
    """Why a rule would publish a count above 0 as 0, or None ([rule sdc-zero]).

    A published 0 means none: the smallest count shown, ``redact_at_or_below + 1``, must
    round to at least ``round_to``, so ``round_to`` is at most twice that count.
    """
    shown = redact_at_or_below + 1
    if round_to <= 2 * shown:
        return None
    return (
        f"rounding to {round_to} with counts 1 to {redact_at_or_below} hidden would "
        f"publish a count of {shown} as 0: round to at most {2 * shown}, or hide more"
    )


def lowest_step(redact_at_or_below: int, round_to: int) -> tuple[int, int]:
    """(the lowest value published above 0, the largest count published as it): the
    smallest count shown, ``redact_at_or_below + 1``, rounded half up to ``round_to``."""
    steps = (2 * (redact_at_or_below + 1) + round_to) // (2 * round_to)
    return steps * round_to, ((2 * steps + 1) * round_to - 1) // 2


def step_problem(redact_at_or_below: int, round_to: int) -> str | None:
    """Why a rule's lowest rounded value would stand for one count only, or None
    ([rule sdc-step]; a rule rounding that count to 0 is :func:`zero_problem`'s).

    Counts 1 to ``redact_at_or_below`` are hidden, so the lowest value shown stands for
    the counts from ``redact_at_or_below + 1`` to the largest that rounds to it. Rounded
    to 2 or more, that must be two counts at least, or the published value pins its count
    (hidden below 8, rounded to 6: a published 6 can only be 8). Rounding to 1 is no
    rounding: every count shown is exact, as the rule says.
    """
    if not pins_lowest(redact_at_or_below, round_to):
        return None
    shown, value = redact_at_or_below + 1, lowest_step(redact_at_or_below, round_to)[0]
    one_more = pins_lowest(shown, round_to) or zero_problem(shown, round_to)
    hide = "hide more" if one_more else f"hide 1 to {shown}"
    return (
        f"rounding to {round_to} with counts 1 to {redact_at_or_below} hidden would "
        f"publish only a count of {shown} as {value}, so a published {value} would be "
        f"exact: {hide}, or round to {_nearest_usable(redact_at_or_below, round_to)}"
    )


def pins_lowest(redact_at_or_below: int, round_to: int) -> bool:
    """Whether the lowest value above 0 the rule publishes stands for one count only."""
    value, top = lowest_step(redact_at_or_below, round_to)
    return round_to > 1 and value > 0 and top <= redact_at_or_below + 1


def _nearest_usable(redact_at_or_below: int, round_to: int) -> str:
    """The one or two roundings nearest ``round_to`` that pin no count and round none to 0
    (searched outwards, so a huge ``redact_at_or_below`` costs no more than a small one)."""
    limit, found = 2 * (redact_at_or_below + 1), []
    for distance in range(1, limit):
        for r in (round_to - distance, round_to + distance):
            if 2 <= r <= limit and not pins_lowest(redact_at_or_below, r):
                found.append(r)
        if found:
            return " or ".join(map(str, found))
    return str(limit)


class Limits(Strict):
    """Bounds on an extract, checked as it is read, before its rows take memory.

    No honest extract comes near them: two million patients are about 200 MB in lines of
    about 100 bytes. A file over a limit is refused naming the file, the row and the
    column. Lengths are in bytes of the file (UTF-8: a character is 1 to 4), identifiers'
    in characters; a spreadsheet cell holds at most 32,767 characters.
    """

    file_size_mb: Annotated[int, Field(ge=1)] = 256  #: MB (2**20 bytes) of one extract
    line_length: Annotated[int, Field(ge=256)] = 65_536  #: bytes of one line
    field_length: Annotated[int, Field(ge=64, le=32_767)] = 4_096  #: bytes of one cell
    identifier_length: Annotated[int, Field(ge=8, le=32_767)] = 64  #: patient ids and codes


class Signer(Strict):
    """Who signed a part of the DPIA off, in which role, and when."""

    name: str = ""
    role: str = ""
    date: dt.date | None = None


RiskLevel = Literal["low", "medium", "high"]
#: Written by ``init`` where the practice has still to fill the sign-off in: read as not
#: recorded (the DPIA shows "TO COMPLETE"), and listed by line, but it does not stop a run.
SIGN_OFF_TODO = "TODO"


def _without_todo(value: object) -> object:
    """``value`` with every ``TODO`` left by init dropped (a mapping's key, at any depth)."""
    if isinstance(value, dict):
        return {k: _without_todo(v) for k, v in value.items() if v != SIGN_OFF_TODO}
    return value


class DpiaSignOff(Strict):
    """Step 7 of the ICO's sample DPIA template: who approved what, and the DPO's advice.

    ``approved_residual_risks`` is the state of the evidence the approval covers: the
    residual risk of each risk of the register (its id) as the approved DPIA gave it.
    When a risk is higher now, the DPIA says re-approval is needed (see
    :mod:`optin_analysis.outgoing.dpia_approval`). A ``TODO`` anywhere in it (as ``init``
    writes) counts as not recorded.
    """

    measures_approved_by: Signer = Signer()
    residual_risks_approved_by: Signer = Signer()
    approved_residual_risks: dict[str, RiskLevel] = {}
    dpo_advice_provided_by: Signer = Signer()
    dpo_advice: str = ""  #: summary of the DPO's advice
    dpo_advice_accepted: bool | None = None  #: None: not decided yet
    dpo_advice_accepted_by: Signer = Signer()  #: who accepted (or overruled) the advice
    dpo_advice_overruled_reason: str = ""
    consultation_reviewed_by: Signer = Signer()
    kept_under_review_by: Signer = Signer()
    next_review: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _todo_is_not_recorded(cls, data: object) -> object:
        return _without_todo(data)

    def __hash__(self) -> int:  # a practice profile is hashed (a cache key): so is this
        return hash(self.model_dump_json())


class Practice(Strict):
    """A practice profile: who the practice is, what it has done, and where its extracts are.

    ``supplier_setting_date`` is the date the supplier setting the guidance names was made:
    for EMIS practices that have gone live (or are due), the bulk addition of 104 codes;
    for EMIS practices not going live, the global setting allowing per-patient access;
    for TPP practices, unticking "By default give prospective access to the full clinical
    record". Empty means not done.
    """

    ods_code: Annotated[str, Field(pattern=ODS_PATTERN)]
    name: str
    pcn: str | None = None  #: the Primary Care Network it belongs to (roll-ups group by it)
    supplier: Supplier
    model: Model = Model.OPT_IN
    go_live_status: GoLiveStatus
    go_live_date: dt.date | None = None
    extract_date: dt.date
    supplier_setting_date: dt.date | None = None
    website_updated: dt.date | None = None
    icb_informed: dt.date | None = None
    dpia_approved: dt.date | None = None
    patients: Path
    events: Path
    mapping: Path | None = None
    risk_register: Path | None = None
    dpia_narrative: Path | None = None
    dpia_sign_off: DpiaSignOff = DpiaSignOff()
    limits: Limits = Limits()  #: the run's ``limits:`` unless the practice has its own

    @model_validator(mode="after")
    def _live_needs_date(self) -> Practice:
        if self.go_live_status is GoLiveStatus.LIVE and self.go_live_date is None:
            raise ValueError("go_live_status is 'live' but go_live_date is missing")
        return self


class RunConfig(Strict):
    """A whole run configuration."""

    source: Path = Field(default=Path("."), exclude=True)
    reports_dir: Path = Path("reports")
    worklists_dir: Path = Path("worklists")
    history_db: Path | None = None
    codelist: Path | None = None
    disclosure: Disclosure = Disclosure()
    limits: Limits = Limits()
    practices: list[Practice]

    @field_validator("practices")
    @classmethod
    def _unique_codes(cls, practices: list[Practice]) -> list[Practice]:
        codes = [p.ods_code for p in practices]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"practice ods_code listed more than once: {', '.join(dupes)}")
        if not practices:
            raise ValueError("no practices listed")
        return practices

    @property
    def history_path(self) -> Path:
        """The DuckDB history store (default: ``history.duckdb`` in the reports folder)."""
        return self.history_db or self.reports_dir / "history.duckdb"

    def practice(self, ods_code: str) -> Practice:
        """The profile of one practice, or a :class:`ConfigError` naming the known ones."""
        for p in self.practices:
            if p.ods_code == ods_code:
                return p
        known = ", ".join(p.ods_code for p in self.practices)
        raise ConfigError(f"{self.source}: no practice {ods_code!r} (known: {known})")


def _resolve(base: Path, path: Path | None) -> Path | None:
    return None if path is None else (base / path).resolve()


def _absolute(cfg: RunConfig, base: Path) -> RunConfig:
    practices = [
        p.model_copy(
            update={
                **{
                    k: _resolve(base, getattr(p, k))
                    for k in ("patients", "events", "mapping", "risk_register", "dpia_narrative")
                    if getattr(p, k) is not None
                },
                "limits": p.limits if "limits" in p.model_fields_set else cfg.limits,
            }
        )
        for p in cfg.practices
    ]
    update = {
        k: _resolve(base, getattr(cfg, k))
        for k in ("reports_dir", "worklists_dir", "history_db", "codelist")
        if getattr(cfg, k) is not None
    }
    return cfg.model_copy(update={**update, "practices": practices})


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _shown(path: Path) -> str:
    """A folder as configured, and where it leads when a symbolic link takes it elsewhere."""
    real = path.resolve()
    return str(path) if real == path else f"{path}, through a symbolic link {real}"


def overlap(
    reports: Path, worklists: Path, names: tuple[str, str] = ("reports_dir", "worklists_dir")
) -> str | None:
    """Why the reports folder (for the ICB) and the worklists folder (patient identifiers)
    cannot be used together, or None when they are apart: neither may hold the other, as
    written or once symbolic links are followed. ``names`` are the two settings' names."""
    folders = dict(
        zip(names, (Path(os.path.abspath(reports)), Path(os.path.abspath(worklists))), strict=True)
    )
    for follow in (False, True):
        (r_name, r), (w_name, w) = ((n, p.resolve() if follow else p) for n, p in folders.items())
        if _inside(w, r):
            inner, outer, relation = w_name, r_name, "the same folder as" if r == w else "inside"
        elif _inside(r, w):
            inner, outer, relation = r_name, w_name, "inside"
        else:
            continue
        return (
            f"{inner} ({_shown(folders[inner])}) is {relation} {outer} "
            f"({_shown(folders[outer])}): worklists carry patient identifiers and everything "
            f"under {names[0]} is for the ICB; keep them in separate folders"
        )
    return None


def setting_line(root: yaml.Node | None, loc: tuple | list) -> int | None:
    """The line (from 1) of the setting at ``loc`` (keys and list positions) in a composed
    YAML file; for a setting that is missing, the line of the nearest enclosing one."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pairs = (p for p in node.value if isinstance(p[0], yaml.ScalarNode))
            pair = next((p for p in pairs if p[0].value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def compose(text: str) -> yaml.Node | None:
    """The YAML text as nodes (with their lines), or None when it cannot be read."""
    try:
        return yaml.compose(text)
    except yaml.YAMLError:
        return None


def _describe(err: ValidationError, raw: dict, root: yaml.Node | None = None) -> list[str]:
    lines = []
    for e in err.errors():
        loc = list(e["loc"])
        where = ".".join(str(x) for x in loc)
        if len(loc) >= 2 and loc[0] == "practices" and isinstance(loc[1], int):
            with contextlib.suppress(IndexError, AttributeError, KeyError):
                where = f"practice {raw['practices'][loc[1]].get('ods_code', loc[1])}: " + ".".join(
                    str(x) for x in loc[2:]
                )
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown setting (misspelt?)"
        line = setting_line(root, loc)
        lines.append(f"{f'line {line}: ' if line else ''}{where}: {msg}")
    return lines


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run configuration; relative paths become absolute."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'practices' list")
    try:
        cfg = RunConfig.model_validate({**raw, "source": path})
    except ValidationError as exc:
        lines = _describe(exc, raw, compose(text))
        problems = "\n".join(f"  - {line}" for line in lines)
        raise ConfigError(f"{path}: invalid run configuration:\n{problems}") from None
    base = path.resolve().parent
    if problem := overlap(base / cfg.reports_dir, base / cfg.worklists_dir):
        raise ConfigError(f"{path}: invalid run configuration:\n  - {problem}")
    return _absolute(cfg, base)


def dump_config(cfg_dict: dict, path: Path) -> None:
    """Write a configuration dictionary as YAML with a short header comment."""
    header = "# optin-analysis run configuration (paths are relative to this file)\n"
    body = yaml.safe_dump(cfg_dict, sort_keys=False, default_flow_style=False)
    path.write_text(header + body, encoding="utf-8")
