"""One Jupyter kernel per process, kept for many report notebooks (:class:`KernelSession`).

Light on purpose (the standard library and ``jupyter_client``): ``run`` starts its kernel
from here before it imports pandas and the rest of the package (about a second), so the
kernel starts and imports on the other core meanwhile. A kept kernel saves its start and
imports (~2.5 s) on every notebook after the first; its namespace is reset before each.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.resources
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_client import KernelManager

if TYPE_CHECKING:
    import nbformat

#: The notebooks, wherever the package is installed (a wheel, or editable from a checkout).
NOTEBOOK_DIR = Path(str(importlib.resources.files("optin_analysis.notebooks")))
KERNEL = "python3"
#: Quieten the kernel's start-up warnings (ipykernel 7 warns about local TCP transport).
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]
#: Forget the previous notebook's names (silently; cheaper than ``%reset -f``, which
#: also collects garbage and flushes caches: half a second per notebook).
RESET = (
    "[get_ipython().user_ns.pop(k) for k in list(get_ipython().user_ns)"
    " if not k.startswith('_') and k not in get_ipython().user_ns_hidden]"
)
#: What every report notebook imports, and vl-convert's engine started with the reports'
#: fonts (about a second for the first chart of a process): done once a kernel is up,
#: while this process reads and measures the first practice.
WARM_UP = (
    "import optin_analysis.reports.views, optin_analysis.reports.dpia_views, "
    "optin_analysis.reports.rollup_views\n"
    "optin_analysis.reports.render.warm_up()"
)


class ReportError(Exception):
    """A report notebook failed; the message names the notebook, cell and error."""


STOPPING = "the run is stopping: no notebook is started"


@functools.cache
def _socket_folder() -> str:
    """A private folder for this process's kernel sockets, removed when it exits."""
    folder = tempfile.mkdtemp(prefix="optin-kernel-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _transport() -> dict[str, str]:
    """How the kernel and its client talk: Unix sockets in a private folder (an absolute
    path: the kernel runs in the notebooks' folder), so no TCP port can be lost to another
    process starting a kernel at the same moment (two workers or two runs: ZMQ "Address
    already in use", papermill#511); TCP on Windows, which has no such sockets."""
    if os.name == "nt":
        return {}
    return {"transport": "ipc", "ip": os.path.join(_socket_folder(), "kernel")}


class KernelSession:
    """One kernel, and one connected client, kept alive for many notebooks; started
    lazily, restarted if the kernel died."""

    def __init__(self) -> None:
        self.km: KernelManager | None = None
        self.kc = None
        self._warming: threading.Thread | None = None
        self._starting = threading.Lock()  #: one start at a time (notebooks run in a thread)
        self.stopped = False  #: set by :meth:`kill`: no kernel is started until closed

    def warm(self) -> None:
        """Start the kernel and its imports in the background (nothing if started): it
        starts on the other core while this process reads and measures a practice, and
        the first notebook finds it ready. A failure is left to the first notebook."""
        with self._starting:
            if self._warming is None and self.km is None:
                self._warming = threading.Thread(target=self._warm_up, daemon=True)
                self._warming.start()

    def _warm_up(self) -> None:
        with contextlib.suppress(Exception):
            self._start_once_more()
            self.kc.execute(WARM_UP, silent=True, store_history=False)  # not waited for:
            # the kernel runs it before the first notebook, whose client skips its replies

    def _kernel(self) -> KernelManager:
        with self._starting:
            if self.stopped:
                raise ReportError(STOPPING)
            if self._warming is not None:
                self._warming.join()
                self._warming = None
            started = self.km is None or not self.km.is_alive()
            if started:
                self._start_once_more()
            if self.stopped:  # killed while a kernel was starting: it runs nothing
                self.kill()
                raise ReportError(STOPPING)
            if started:
                return self.km
        # Not waited for (no reply to hang on if the kernel is killed meanwhile): the
        # kernel runs it before the notebook's first cell, whose client skips its replies.
        self.kc.execute(RESET, silent=True, store_history=False)
        return self.km

    def _start_once_more(self) -> None:
        """Start a kernel; if it dies at start, once more."""
        try:
            self._start()
        except RuntimeError:
            if self.stopped:
                raise
            self._start()

    def _start(self) -> None:
        """A new kernel and its connected client (any earlier one stopped first)."""
        self._stop_client()
        if self.km is not None:
            with contextlib.suppress(Exception):
                self.km.shutdown_kernel(now=True)
        self.km = KernelManager(kernel_name=KERNEL, **_transport())
        self.km.start_kernel(cwd=str(NOTEBOOK_DIR), extra_arguments=KERNEL_ARGS)
        self.kc = self.km.blocking_client()
        self.kc.allow_stdin = False
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, notebook: Path, parameters: dict, output: Path | None) -> nbformat.NotebookNode:
        """Execute ``notebook`` with ``parameters``; raise :class:`ReportError` on failure."""
        import papermill

        from optin_analysis.reports import notebooks  # noqa: F401 - registers the engine

        km = self._kernel()
        try:
            return papermill.execute_notebook(
                notebook, output, parameters=parameters, engine_name="optin-reuse",
                km=km, kc=_Watched(self.kc, self._alive), kernel_name=KERNEL,
                progress_bar=False,
            )  # fmt: skip
        except papermill.PapermillExecutionError as exc:
            raise ReportError(
                f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            ) from None
        except ReportError as exc:  # the kernel died or was stopped (see _Channel)
            raise ReportError(f"{notebook.name}: {exc}") from None

    def _alive(self) -> bool:
        return not self.stopped and self.km is not None and self.km.is_alive()

    def _stop_client(self) -> None:
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        self.kc = None

    def close(self) -> None:
        """Disconnect and shut the kernel down."""
        with self._starting:
            if self._warming is not None:
                self._warming.join()
                self._warming = None
        self._stop_client()
        if self.km is not None and self.km.is_alive():
            self.km.shutdown_kernel(now=True)
        self.km, self.stopped = None, False  # a later run starts a kernel again

    def kill(self) -> None:
        """Kill the kernel and anything it started, at once (safe in a signal handler).

        Kernels run in a session of their own, so their process group is theirs alone.
        """
        self.stopped = True
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


ALIVE_CHECK_SECONDS = 1.0  #: how often a wait for the kernel checks that it is alive


class _Channel:
    """A blocking client's channel whose waits end, raising :class:`ReportError`, once
    the kernel is dead or killed. (nbclient checks that itself, but a blocking client's
    wait holds nbclient's event loop, so its check never ran: a kernel killed by a
    signal mid-cell left the run waiting for ever.)"""

    def __init__(self, channel, alive: Callable[[], bool]) -> None:
        self._channel, self._alive = channel, alive

    def get_msg(self, timeout: float | None = None) -> dict:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = ALIVE_CHECK_SECONDS if end is None else end - time.monotonic()
            step = min(ALIVE_CHECK_SECONDS, left)
            try:
                return self._channel.get_msg(timeout=max(step, 0.0))
            except queue.Empty:
                if not self._alive():
                    raise ReportError("the kernel died or was stopped mid-notebook") from None
                if end is not None and time.monotonic() >= end:
                    raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._channel, name)


class _Watched:
    """A blocking kernel client whose shell and IOPub channels are watched (:class:`_Channel`)."""

    def __init__(self, client, alive: Callable[[], bool]) -> None:
        self._client = client
        self.shell_channel = _Channel(client.shell_channel, alive)
        self.iopub_channel = _Channel(client.iopub_channel, alive)

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


_session: KernelSession | None = None  # one per process, reused across practices


def session() -> KernelSession:
    """This process's kernel session (made on first use)."""
    global _session
    if _session is None:
        _session = KernelSession()
    return _session


def current() -> KernelSession | None:
    """This process's kernel session, if one was made."""
    return _session
