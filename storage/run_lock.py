"""``OUT/.lock``: one driver per output folder.

The driver holds an exclusive ``fcntl.flock`` on ``OUT/.lock`` for the whole run; a second
run on the same folder (same or another process, same machine or a shared filesystem that
supports flock) refuses at once with the holder's pid and host. The kernel drops the lock when
the holder exits, however it exits (kill -9 included), so no stale lock blocks a resume.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from types import TracebackType

__all__ = ["RunLock", "RunLockedError"]


class RunLockedError(RuntimeError):
    """Another run holds the output folder's lock."""


class RunLock:
    """Exclusive, non-blocking lock on ``out/.lock``; use as a context manager."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.path = Path(out) / ".lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunLockedError` naming the holder."""
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(
                f"another run is writing {self.path.parent} ({holder}); wait for it to finish "
                "or use another --out"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
