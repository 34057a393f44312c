"""One run per reports folder at a time: an exclusive ``flock`` on a file in that folder.

The lock file (``<reports>/.optin-run.lock``) holds the pid and start time of the run
that has the lock, so that a second run can say which run is writing; the second run
then stops without touching anything. The operating system releases a ``flock`` when
the process holding it ends, however it ends (``kill -9`` included), so the lock of a
dead run is simply taken over: the file's contents are information, never the lock
itself. The file is never removed (removing a lock file lets two runs each lock a
different file of the same name).

A process may take the same folder's lock again (nested calls); it keeps it until
:func:`release_all`. The lock is for this machine's processes (on network folders
``flock`` depends on the file system).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

LOCK_FILE = ".optin-run.lock"


class LockError(Exception):
    """The folder cannot be locked: another run is writing it, or it cannot be written."""


@dataclass
class _Held:
    handle: TextIO
    depth: int = 1


_held: dict[Path, _Held] = {}


def acquire(folder: Path) -> None:
    """Lock ``folder`` for this process, or raise :class:`LockError` saying who has it.

    The folder is created if needed, and must be writable (checked here, so that a
    read-only folder stops the run before anything is done).
    """
    key = Path(folder).resolve()
    if key in _held:
        _held[key].depth += 1
        return
    handle = _open(Path(folder))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _describe(_read(handle))
        handle.close()
        raise LockError(_busy(folder, owner)) from None
    except OSError as exc:  # e.g. a network file system without locks
        handle.close()
        raise LockError(f"cannot lock the reports folder {folder}: {exc.strerror}") from None
    try:
        _write_owner(handle)
        writable(Path(folder), "reports folder")
    except BaseException:
        handle.close()  # closing releases the lock
        raise
    _held[key] = _Held(handle)


def check_free(folder: Path) -> None:
    """Raise :class:`LockError` naming the run that holds ``folder``'s lock, if a run does.

    For commands that only read what a run writes (``history list``): nothing is created
    or written, so a read-only folder is fine, and the lock is not kept.
    """
    if Path(folder).resolve() in _held:
        return
    try:
        handle = open(Path(folder) / LOCK_FILE, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return  # no lock file: no run has written here
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(_busy(folder, _describe(_read(handle)))) from None
        except OSError:
            return  # a file system without locks: as acquire, nothing can be told


def _busy(folder: Path, owner: str) -> str:
    return (
        f"another run ({owner}) is writing {folder}; wait for it to finish (or stop it) "
        "and run again"
    )


def release(folder: Path) -> None:
    """Give back one :func:`acquire` of ``folder``; the lock goes with the last one."""
    key = Path(folder).resolve()
    held = _held.get(key)
    if held is None:
        return
    held.depth -= 1
    if held.depth <= 0:
        del _held[key]
        held.handle.close()


def release_all() -> None:
    """Give back every lock this process holds (at the end of a command)."""
    while _held:
        _, held = _held.popitem()
        held.handle.close()


def holder(folder: Path) -> dict | None:
    """What the lock file of ``folder`` says about the last run that locked it."""
    try:
        with open(Path(folder) / LOCK_FILE, encoding="utf-8") as handle:
            return _read(handle)
    except OSError:
        return None


def writable(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and check a file can be created in it (else LockError)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise LockError(_cannot_write(folder, what, exc)) from None


def _cannot_write(folder: Path, what: str, exc: OSError) -> str:
    return f"cannot write in the {what} {folder}: {exc.strerror or exc}"


def _open(folder: Path) -> TextIO:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return open(folder / LOCK_FILE, "a+", encoding="utf-8")
    except OSError as exc:
        raise LockError(_cannot_write(folder, "reports folder", exc)) from None


def _write_owner(handle: TextIO) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(owner) + "\n")
        handle.flush()
    except OSError as exc:
        folder = Path(handle.name).parent
        raise LockError(_cannot_write(folder, "reports folder", exc)) from None


def _read(handle: TextIO) -> dict | None:
    try:
        handle.seek(0)
        owner = json.loads(handle.read() or "null")
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _describe(owner: dict | None) -> str:
    if not owner:
        return "pid unknown"
    where = "" if owner.get("host") in (None, socket.gethostname()) else f" on {owner['host']}"
    return f"pid {owner.get('pid', '?')}{where}, started {owner.get('started', '?')}"
