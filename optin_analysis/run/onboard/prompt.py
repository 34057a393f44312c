"""Asking one question at the terminal: the :class:`Prompter` init's questions go
through, and Rich's prompts behind it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.text import Text


class Prompter(Protocol):
    """Asks one question at the terminal (see :class:`RichPrompter`)."""

    def text(self, question: str, default: str = "") -> str: ...

    def choose(self, question: str, choices: Sequence[str], default: str | None = None) -> str: ...

    def confirm(self, question: str, default: bool = True) -> bool: ...


class RichPrompter:
    """Rich's prompts; questions are printed literally (no markup)."""

    def __init__(self, console: Console):
        self.console = console

    def text(self, question: str, default: str = "") -> str:
        from rich.prompt import Prompt

        return Prompt.ask(
            Text(question), console=self.console, default=default, show_default=bool(default)
        ).strip()

    def choose(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        from rich.prompt import Prompt

        if default is None:
            return Prompt.ask(Text(question), console=self.console, choices=list(choices))
        return Prompt.ask(
            Text(question), console=self.console, choices=list(choices), default=default
        )

    def confirm(self, question: str, default: bool = True) -> bool:
        from rich.prompt import Confirm

        return Confirm.ask(Text(question), console=self.console, default=default)


def is_terminal() -> bool:
    """Whether someone can answer questions: standard input is a terminal."""
    return sys.stdin.isatty()
