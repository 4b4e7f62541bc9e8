"""Fuzz harness: run crafted inputs of one kind in a child process and tally what happened.

A *kind* is a module under ``tests/fuzz/kinds/`` with two functions::

    def cases(seed: int, count: int) -> Iterator[FuzzCase]: ...
    def exercise(case: FuzzCase, workdir: Path) -> str: ...

``exercise`` feeds one case to the product and returns ``"accepted"`` or
``"refused: <the sentence the user saw>"``; anything it lets escape is a *traceback* (a bug: the
user would have seen one). The cases run in a child process (``python -m
tests.support.fuzz_worker``) so that a case that kills the interpreter (SIGSEGV, stack
overflow, out of memory) is counted as a *crash* and the run goes on with the next case.

Every run's tally is appended as one JSON line to ``$FUZZ_REPORT`` when that is set (the
figures of the issue notes: cases tried, refused with a sentence, tracebacks, crashes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.support.paths import REPO_ROOT

__all__ = ["FuzzCase", "FuzzTally", "run_fuzz"]

QUICK_CASES = 60
"""Cases per kind in the default test run (the whole quick set stays under two minutes)."""

MANY_CASES = 2000
"""Cases per kind under ``pytest -m fuzz``."""

MIN_SENTENCE_CHARS = 12
"""A refusal shorter than this is no sentence (an errno, a bare key name)."""


@dataclass(frozen=True)
class FuzzCase:
    """One crafted input.

    Attributes:
        name: what was done to it (``"nested tuple key depth 10^6"``), unique within a run.
        build: writes the input into the given folder and returns the path to feed the
            product (a file or a folder).
    """

    name: str
    build: Callable[[Path], Path]


@dataclass
class FuzzTally:
    """What a run of ``count`` cases of one kind gave."""

    kind: str
    seed: int
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    tracebacks: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    bad_sentences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """One line per case that went wrong (empty when the run is clean)."""
        return (
            [f"traceback: {line}" for line in self.tracebacks]
            + [f"crash: {line}" for line in self.crashes]
            + [f"refusal is no sentence: {line}" for line in self.bad_sentences]
        )

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.tried} tried, {self.accepted} accepted, {self.refused} refused "
            f"with a sentence, {len(self.tracebacks)} tracebacks, {len(self.crashes)} crashes, "
            f"{len(self.bad_sentences)} bad refusals, {self.seconds:.1f} s"
        )


def _record(tally: FuzzTally, event: dict) -> None:
    outcome, name, detail = event["outcome"], event["name"], event.get("detail", "")
    tally.tried += 1
    if outcome == "accepted":
        tally.accepted += 1
    elif outcome == "refused":
        if len(detail.strip()) < MIN_SENTENCE_CHARS or "Traceback" in detail:
            tally.bad_sentences.append(f"{name}: {detail!r}")
        else:
            tally.refused += 1
    else:
        tally.tracebacks.append(f"{name}: {detail}")


def run_fuzz(kind: str, seed: int, count: int, timeout_s: float = 1800.0) -> FuzzTally:
    """Run cases ``0..count-1`` of ``tests.fuzz.kinds.<kind>`` (seeded) in child processes.

    A child that dies mid-case has that case counted as a crash (with its exit status) and a
    new child resumes at the next case.
    """
    import time

    tally = FuzzTally(kind=kind, seed=seed)
    start_time = time.perf_counter()
    start = 0
    env = {**os.environ, "PYTHONFAULTHANDLER": ""}
    while start < count:
        command = [sys.executable, "-m", "tests.support.fuzz_worker", kind, str(seed), str(count)]
        process = subprocess.run(
            [*command, str(start)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",  # decoders print binary garbage of damaged files to stderr
            timeout=timeout_s,
        )
        started: dict | None = None
        next_start = count
        for line in process.stdout.splitlines():
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event["outcome"] == "start":
                started = event
            else:
                _record(tally, event)
                started = None
        if process.returncode != 0:
            if started is None:
                raise RuntimeError(f"fuzz worker for {kind} failed:\n{process.stderr[-3000:]}")
            tally.tried += 1
            tally.crashes.append(f"{started['name']}: exit status {process.returncode}")
            next_start = started["index"] + 1
        start = next_start
    tally.seconds = time.perf_counter() - start_time
    report = os.environ.get("FUZZ_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(asdict(tally)) + "\n")
    return tally


def assert_clean(tally: FuzzTally) -> None:
    """Fail with every problem listed (tracebacks, crashes, refusals that are no sentence)."""
    problems = tally.problems()
    assert not problems, tally.summary() + "\n" + "\n".join(problems[:40])
    assert tally.tried > 0, f"{tally.kind}: no case was tried"
