"""What a run tells its user while it goes: one line per phase and one progress bar at a time.

On a terminal the bar is tqdm's, redrawn in place and removed when its phase ends (the phase's
line replaces it). Elsewhere (a pipe, a SLURM log) the bar is a plain line every 10 % of the
work or every 30 s, whichever comes first, and never a carriage return. Every phase line also
goes to the log (``logging`` INFO), so the log files tell the same story.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from tqdm import tqdm

__all__ = ["LineBar", "Progress", "ProgressBar", "as_progress"]

logger = logging.getLogger(__name__)


class ProgressBar(Protocol):
    """A bar of one phase: ``update`` with work done, ``note`` a short status, ``close``."""

    def update(self, count: int = 1) -> None: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


class _NoBar:
    def update(self, count: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _terminal_width(stream: TextIO) -> int:
    """Columns of the terminal behind ``stream``; 0 when it does not say (a bare pty)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class _TerminalBar:
    """tqdm, redrawn in place on ``stream`` and cleared when closed (80 x 24 where the terminal
    reports no size, which tqdm would take for 0 x 0 and draw nothing)."""

    def __init__(self, stream: TextIO, total: int, desc: str, unit: str) -> None:
        sized = _terminal_width(stream) > 0
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            file=stream,
            leave=False,
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            nrows=None if sized else 24,
        )

    def update(self, count: int = 1) -> None:
        self._bar.update(count)

    def note(self, text: str) -> None:
        self._bar.set_postfix_str(text)

    def close(self) -> None:
        self._bar.close()


class LineBar:
    """Plain progress lines: ``desc: done/total unit (pct %), rate, note``.

    A line is written when the work done crosses the next ``every_fraction`` of ``total`` or
    ``every_seconds`` have passed since the last line, and at the end if the last line was not
    there yet.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        desc: str,
        unit: str,
        every_fraction: float = 0.1,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.total, self.desc, self.unit = stream, total, desc, unit
        self.every_fraction, self.every_seconds, self.clock = every_fraction, every_seconds, clock
        self.done = 0
        self._note = ""
        self._start = self._last_time = clock()
        self._last_step = 0
        self._last_done = -1

    def update(self, count: int = 1) -> None:
        self.done += count
        step = int(self.done / max(self.total, 1) / self.every_fraction + 1e-9)
        now = self.clock()
        if step > self._last_step or now - self._last_time >= self.every_seconds:
            self._last_step = step
            self._write(now)

    def note(self, text: str) -> None:
        self._note = text

    def close(self) -> None:
        if self.total and self.done != self._last_done:
            self._write(self.clock())

    def _write(self, now: float) -> None:
        self._last_time, self._last_done = now, self.done
        percent = 100.0 * self.done / max(self.total, 1)
        elapsed = now - self._start
        rate = f", {self.done / elapsed:.2f} {self.unit}/s" if elapsed > 0 else ""
        note = f", {self._note}" if self._note else ""
        self.stream.write(
            f"{self.desc}: {self.done}/{self.total} {self.unit} ({percent:.0f} %){rate}{note}\n"
        )
        self.stream.flush()


class Progress:
    """Phase lines and progress bars of a run on ``stream`` (None: the log only).

    Args:
        stream: the console stream (the run's own lines; library logs go elsewhere).
        interactive: draw tqdm bars in place; default: whether ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream
        if interactive is None:
            interactive = bool(stream is not None and getattr(stream, "isatty", bool)())
        self.interactive = interactive

    def phase(self, text: str) -> None:
        """One line about a phase of the run (also logged)."""
        logger.info(text)
        if self.stream is not None:
            self.stream.write(text + "\n")
            self.stream.flush()

    def bar(self, total: int, desc: str, unit: str) -> ProgressBar:
        """A bar for ``total`` units of work (close it before the next phase line)."""
        if self.stream is None or total <= 0:
            return _NoBar()
        if self.interactive:
            return _TerminalBar(self.stream, total, desc, unit)
        return LineBar(self.stream, total, desc, unit)


def as_progress(progress: bool | Progress) -> Progress:
    """``True``: lines and bars on stderr; ``False``: nothing on the console; or as given."""
    if isinstance(progress, Progress):
        return progress
    return Progress(sys.stderr if progress else None)
