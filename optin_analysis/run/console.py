"""Printing for the command line: everything is printed literally, never read as markup.

Practice names, file names, codes and problem messages come from users' files, and the
suppressed-value mark "[c]" looks like Rich markup. Both consoles here have markup and
emoji codes switched off, so ``Dr Smith [branch surgery]`` or ``[/red]`` print as
written; colour is given as a style (:func:`say`, :func:`styled`), never inside the text.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def _console(stderr: bool) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


out = _console(stderr=False)
err = _console(stderr=True)


def styled(text: str, style: str | None = None) -> Text:
    """``text`` as it is, in ``style`` (a colour such as "red"), for tables and messages."""
    return Text(text, style=style or "")


def say(text: str, style: str | None = None, *, stderr: bool = False) -> None:
    """Print one literal message (to stderr when ``stderr``), optionally coloured."""
    (err if stderr else out).print(styled(text, style))


def fail(text: str) -> None:
    """Print an error message in red on stderr."""
    say(text, "red", stderr=True)
