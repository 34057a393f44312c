"""Files written whole or not at all: what the reports and the PDF helpers share."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_bytes_atomically(data: bytes, path: Path | str) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder + ``os.replace``.

    Readers see either the old file or the complete new one, never a partial write; on
    any error the temp file is removed and an existing file is left untouched. Creates
    the folder if needed. Keeps the mode of a file it replaces (new files: 0644).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # persist the rename (best effort; POSIX only)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path
