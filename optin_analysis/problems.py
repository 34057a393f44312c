"""Problems found in input files, reported in words a data lead understands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, spreadsheet row, column heading) and what is wrong.

    ``row`` is the row number a user sees when opening the file in a spreadsheet
    (the header row of a file with no preamble is row 1). ``None`` means the whole file
    or the whole column.
    """

    file: Path
    message: str
    row: int | None = None
    column: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = [self.file.name]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{self.severity.upper()}: {', '.join(where)}: {self.message}"


class InputError(Exception):
    """Input that cannot be used; carries every problem found (errors and warnings)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        shown = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in the input:\n{shown}{more}")


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems that stop a run."""
    return [p for p in problems if p.severity is Severity.ERROR]


def os_error(exc: BaseException | None) -> OSError | None:
    """The file-system error ``exc`` is, or was raised from (a library may wrap one in its
    own exception, as XlsxWriter's ``FileCreateError`` did), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return None


@contextlib.contextmanager
def naming(final: Path) -> Iterator[None]:
    """A file-system error in the block names ``final``, the file the user knows, rather
    than a temporary file or no file at all (pandas and the workbook writer give none)."""
    try:
        yield
    except Exception as exc:
        cause = os_error(exc)
        if cause is None:
            raise
        raise OSError(cause.errno, cause.strerror or str(cause), str(final)) from exc
