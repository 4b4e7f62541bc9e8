"""Library logs of a run go to ``OUT/logs/``, not to the console.

Three kinds of lines reach a process's output besides what the run says to its user: Python
``logging`` records (furpe_label, dask/distributed, smplx, ...), ``print`` and
``warnings`` of libraries, and the C++ logs of MediaPipe / TFLite (glog / absl), which write to
file descriptor 2 directly and ignore every Python setting. So a log capture works at the file
descriptor level: fds 1 and 2 (and ``sys.stdout`` / ``sys.stderr``) point at the log file while
a run goes on, and the console keeps its own duplicates of the descriptors it had.

* The driver: :func:`capture_driver_logs` (``OUT/logs/driver.log``). Processes it starts
  (the LocalCluster's nanny and workers) inherit the redirected descriptors, so even their
  start-up lines land in ``driver.log``.
* Each worker process: :class:`WorkerLogs` wraps the shard task (:meth:`WorkerLogs.wrap`); the
  task, at its start, sends the worker's output to ``OUT/logs/worker-<host>-<pid>.log`` and
  restores it when the worker's last running task ends (a worker of a scheduler the run only
  joined goes back to its own output). In the driver's process (the inline executor) the
  wrapper does nothing: the driver's capture already holds.

``verbose`` > 0 shows it all on the console as well: the driver's descriptors then lead to a
pipe whose lines a thread copies to ``driver.log`` and to the console (the LocalCluster's
workers inherit that pipe: with ``verbose`` they keep their descriptors, so their C++ lines
reach the console and ``driver.log``), and Python records are also shown on the console.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "DRIVER_LOG",
    "LOG_FORMAT",
    "ConsoleStreams",
    "WorkerLogs",
    "capture_driver_logs",
    "file_log_level",
    "worker_log_name",
]

DRIVER_LOG = "driver.log"
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
LIBRARY_LOGGERS = ("distributed", "bokeh", "tornado")
"""Loggers that dask configures with their own stderr handler; a capture sends them to the
root logger's handlers instead (one format, one place)."""


def file_log_level(verbose: int) -> int:
    """Level of the log files: INFO, DEBUG from ``-vv``."""
    return logging.DEBUG if verbose >= 2 else logging.INFO


def worker_log_name() -> str:
    """This process's worker log file name: ``worker-<host>-<pid>.log`` (hosts of a SLURM run
    share ``OUT/logs``)."""
    return f"worker-{socket.gethostname()}-{os.getpid()}.log"


@dataclass(frozen=True)
class ConsoleStreams:
    """The console as it was before a capture: the run's own lines go here."""

    out: TextIO
    err: TextIO


def _console_copy(stream: TextIO) -> tuple[TextIO, bool]:
    """A stream that keeps writing where ``stream`` writes once its descriptor is redirected:
    a new text stream on a duplicate of the descriptor, or ``stream`` itself when it has none
    (click's CliRunner). The flag says whether the copy owns a descriptor to close."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream, False
    stream.flush()
    copy = open(  # noqa: SIM115 - closed by the capture that made it
        os.dup(descriptor),
        "w",
        buffering=1,
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors="replace",
    )
    return copy, True


def _pump(source: int, path: Path, echo: int) -> None:
    """Copy what arrives on the pipe ``source`` to ``path`` and to ``echo`` until every writer
    has closed the pipe (children that inherited it included); closes both descriptors."""
    try:
        with open(path, "ab") as log:
            while chunk := os.read(source, 65536):
                log.write(chunk)
                log.flush()
                with suppress(OSError):  # a console that went away does not stop the log
                    while chunk:
                        chunk = chunk[os.write(echo, chunk) :]
    finally:
        os.close(source)
        os.close(echo)


@contextmanager
def _process_output_to(path: Path, echo: int | None = None) -> Iterator[None]:
    """fds 1 and 2, ``sys.stdout`` and ``sys.stderr`` write to ``path`` (appended) inside;
    with ``echo`` (a descriptor, e.g. 2), to what it was as well: a pipe and a copying thread.
    """
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    saved = (os.dup(1), os.dup(2))
    old_streams = (sys.stdout, sys.stderr)
    pump = None
    if echo is None:
        target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    else:
        source, target = os.pipe()
        pump = threading.Thread(
            target=_pump,
            args=(source, path, os.dup(echo)),
            daemon=True,
            name="furpe-label-log-copy",
        )
        pump.start()
    log = open(target, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        sys.stdout = sys.stderr = log
        yield
    finally:
        log.flush()
        for stream in (sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
        sys.stdout, sys.stderr = old_streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)
        log.close()
        os.close(target)
        if pump is not None:
            pump.join(timeout=5.0)  # a child still holding the pipe: copied until it exits


@contextmanager
def _records_to(path: Path, level: int, console: TextIO | None) -> Iterator[None]:
    """Python logging (and ``warnings``) of this process go to ``path``, and to ``console``
    when given; the root logger's own handlers are set aside meanwhile."""
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    adopted = []
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        adopted.append((library, library.handlers[:], library.propagate))
        library.handlers.clear()
        library.propagate = True
    handler = logging.FileHandler(path, encoding="utf-8")
    handlers: list[logging.Handler] = [handler]
    if console is not None:
        shown = logging.StreamHandler(console)
        shown.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handlers.append(shown)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.handlers = handlers
    root.setLevel(level)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers, root.level = old_handlers, old_level
        handler.close()
        for library, library_handlers, propagate in adopted:
            library.handlers[:] = library_handlers
            library.propagate = propagate


@contextmanager
def capture_driver_logs(
    folder: str | os.PathLike[str], verbose: int = 0
) -> Iterator[ConsoleStreams]:
    """The driver's library logs go to ``folder/driver.log`` inside (see the module docstring).

    Yields:
        The console streams the run writes its own lines to.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DRIVER_LOG
    with ExitStack() as stack:
        out, owns_out = _console_copy(sys.stdout)
        err, owns_err = _console_copy(sys.stderr)
        for stream, owned in ((out, owns_out), (err, owns_err)):
            if owned:
                stack.callback(stream.close)
        console = ConsoleStreams(out, err)
        stack.enter_context(_process_output_to(path, echo=2 if verbose else None))
        stack.enter_context(
            _records_to(path, file_log_level(verbose), console.err if verbose else None)
        )
        yield console


_lock = threading.Lock()
_active: dict[str, Any] = {"tasks": 0, "stack": None}


@dataclass(frozen=True)
class WorkerLogs:
    """Where worker processes write their library logs (see the module docstring).

    Attributes:
        folder: ``OUT/logs`` (shared with the workers, as ``OUT`` is).
        verbose: the run's verbosity.
        driver_pid: the driver's process id (tasks running there are left alone).
    """

    folder: str
    verbose: int = 0
    driver_pid: int = 0

    def wrap(self, task: Callable[..., Any]) -> Callable[..., Any]:
        """``task`` (called with the task's arguments: a shard id, and for the split run's
        expert task the keypoint result's digest) with this process's output captured while it
        runs (picklable)."""
        return functools.partial(_run_with_logs, self, task)

    @contextmanager
    def captured(self) -> Iterator[None]:
        """This worker process writes to its log file inside (nested and concurrent tasks of
        one process share one capture; the last one out restores the output)."""
        if os.getpid() == self.driver_pid:
            yield
            return
        with _lock:
            if _active["tasks"] == 0:
                folder = Path(self.folder)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / worker_log_name()
                stack = ExitStack()
                if not self.verbose:
                    stack.enter_context(_process_output_to(path))
                console = sys.stderr if self.verbose else None
                stack.enter_context(_records_to(path, file_log_level(self.verbose), console))
                _active["stack"] = stack
            _active["tasks"] += 1
        try:
            yield
        finally:
            with _lock:
                _active["tasks"] -= 1
                if _active["tasks"] == 0:
                    _active.pop("stack").close()
                    _active["stack"] = None


def _run_with_logs(logs: WorkerLogs, task: Callable[..., Any], *args: Any) -> Any:
    with logs.captured():
        return task(*args)
