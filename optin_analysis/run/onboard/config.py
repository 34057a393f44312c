"""The configuration init writes: each practice's settings with a comment on where each
came from, ``TODO`` where nobody said, and the TODOs left in a written file."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from optin_analysis import __version__
from optin_analysis.run.onboard.branches import branch_help

TODO = "TODO"
COMMENT_WIDTH = 88
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


@dataclass
class Setting:
    """One line of a practice's entry: key, value (``TODO`` when unanswered) and a comment."""

    key: str
    value: Any
    comment: str = ""


@dataclass
class Entry:
    """A practice's entry in the configuration; ``label`` names it while its ODS code is
    TODO (the folder its files are in); ``tail``: lines written after its settings (the
    DPIA sign-off block, :mod:`.dpia`)."""

    ods: str
    settings: list[Setting]
    label: str = ""
    tail: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return next((s.value for s in self.settings if s.key == key), None)

    @property
    def who(self) -> str:
        """The practice in messages: its ODS code and name, as far as known."""
        ods = self.ods if self.ods != TODO else f"(ODS code TODO) in {self.label}"
        name = self.get("name")
        return ods if name in (None, TODO) else f"{ods} {name}"


def scalar(value: Any) -> str:
    """A value as YAML: dates ISO, plain words bare, other text double-quoted."""
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.as_posix() if isinstance(value, Path) else str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _lines(prefix: str, setting: Setting) -> list[str]:
    """``key: value``, with its comment beside it when short, else wrapped above it."""
    text = f"{prefix}{setting.key}: {scalar(setting.value)}"
    if not setting.comment:
        return [text]
    if len(text) + len(setting.comment) + 4 <= COMMENT_WIDTH + 12:
        return [f"{text}  # {setting.comment}"]
    wrapped = textwrap.wrap(setting.comment, COMMENT_WIDTH - 4)
    return [f"  # {line}" for line in wrapped] + [text]


def render_config(entries: list[Entry], run: list[Setting], source: str, todos: int) -> str:
    """The configuration's text: a header (saying how many TODOs are left), the run
    settings, then each practice with a comment on where each value came from."""
    lines = [
        f"# optin-analysis run configuration, written by `optin-analysis init {source}`",
        f"# (optin-analysis {__version__}). Paths are relative to this file. Dates are",
        "# YYYY-MM-DD; null means not done (yet).",
    ]
    if todos:
        lines += [
            "#",
            f"# NOT READY: {todos} setting(s) below are TODO (init was not asked them: --yes",
            "# or no terminal). Replace each TODO with the practice's answer; validate fails",
            "# until every TODO is filled in. Then: optin-analysis validate <this file>",
        ]
    for setting in run:
        lines += _lines("", setting)
    lines.append("practices:")
    for entry in entries:
        for i, setting in enumerate(entry.settings):
            if setting.key == "model" and TODO in (setting.value, entry.get("go_live_status")):
                lines += branch_help(entry.get("supplier"))
            lines += _lines("- " if i == 0 else "  ", setting)
        lines += entry.tail
    return "\n".join(lines) + "\n"


#: Settings under this key are TODO until the practice fills its DPIA's sign-off in: found
#: by line and shown in the DPIA as "TO COMPLETE", they do not stop a run.
SIGN_OFF = "dpia_sign_off"


@dataclass(frozen=True)
class Todo:
    """A setting still ``TODO`` in a configuration file (``key``: dotted below a practice's
    own settings, e.g. ``dpia_sign_off.dpo_advice``)."""

    line: int
    practice: str | None
    key: str

    @property
    def blocking(self) -> bool:
        """Whether the configuration cannot be used until it is filled in."""
        return not self.key.startswith(f"{SIGN_OFF}.")

    def __str__(self) -> str:
        where = f"practice {self.practice}: " if self.practice else ""
        return f"line {self.line}: {where}{self.key} is TODO"


def find_todos(path: Path, sign_off: bool = False) -> list[Todo]:
    """Every value written ``TODO`` in a configuration file, with its line (none if the
    file is not YAML: loading it then says why): those that stop a run, or with
    ``sign_off`` those of the DPIA sign-off (which do not)."""
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    todos: list[Todo] = []
    if root is not None:
        _walk(root, None, todos)
    return [t for t in todos if t.blocking != sign_off]


def _walk(node: yaml.Node, practice: str | None, todos: list[Todo], prefix: str = "") -> None:
    """Add the TODOs under ``node`` to ``todos``, each with the practice it is in."""
    if isinstance(node, yaml.MappingNode):
        keys = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        code = keys.get("ods_code")
        if isinstance(code, yaml.ScalarNode):
            practice = code.value if code.value != TODO else f"{practice} (ODS code TODO)"
        for key, value in node.value:
            if isinstance(value, yaml.ScalarNode) and value.value == TODO:
                todos.append(Todo(value.start_mark.line + 1, practice, prefix + key.value))
            elif isinstance(value, yaml.MappingNode):
                _walk(value, practice, todos, f"{prefix}{key.value}.")
            else:
                _walk(value, practice, todos)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value, start=1):
            _walk(item, f"#{number}", todos)


def todo_summary(todos: list[Todo]) -> list[str]:
    """The TODOs one line per practice: which settings, on which lines."""
    by_practice: dict[str | None, list[Todo]] = {}
    for todo in todos:
        by_practice.setdefault(todo.practice, []).append(todo)
    out = []
    for practice, items in by_practice.items():
        where = f"practice {practice}" if practice else "run settings"
        lines = ", ".join(str(t.line) for t in items)
        out.append(f"{where}: {', '.join(t.key for t in items)} (lines {lines})")
    return out


READY_NOTE = "# NOT READY:"  #: how the note render_config writes while TODOs are left begins


def clear_ready_note(path: Path) -> bool:
    """Take init's "NOT READY" note out of a configuration whose every TODO is filled in
    (it would otherwise keep saying so); the rest of the file is left as it is. Returns
    whether the note was there (and is gone)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return False
    start = next((i for i, line in enumerate(lines) if line.startswith(READY_NOTE)), None)
    if start is None or find_todos(path):
        return False
    end = start + 1
    while end < len(lines) and lines[end].startswith("# "):
        end += 1
    if start and lines[start - 1].strip() == "#":
        start -= 1
    text = "".join(lines[:start] + lines[end:])
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
    return True


def sign_off_summary(todos: list[Todo]) -> list[str]:
    """The DPIA sign-off TODOs one line per practice: how many, on which lines."""
    by_practice: dict[str | None, list[int]] = {}
    for todo in todos:
        by_practice.setdefault(todo.practice, []).append(todo.line)
    return [
        f"practice {practice}: {len(lines)} in {SIGN_OFF} (lines {min(lines)}-{max(lines)})"
        for practice, lines in by_practice.items()
    ]
