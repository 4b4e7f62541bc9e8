"""What ``furpe-label run`` shows its user, and nothing else.

The console gets one line per phase, one progress bar at a time (in place on a terminal, plain
lines elsewhere: :mod:`furpe_label.pipeline.progress`), the dashboard's address once, the
summary table, and the SYNTHETIC banner once. Library logs of the driver and of every worker go
to ``OUT/logs/`` (:mod:`furpe_label.pipeline.run_logging`); ``--verbose`` shows them here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from furpe_label.pipeline.progress import Progress
from furpe_label.pipeline.run_logging import ConsoleStreams, capture_driver_logs
from furpe_label.storage.run_dir import RunDir

__all__ = ["SYNTHETIC_BANNER", "RunConsole", "run_console"]

SYNTHETIC_BANNER = (
    "SYNTHETIC BODY MODELS: these labels come from the synthetic SMPL-X family made by "
    "`furpe-label synth-models`; they show the pipeline working and are NOT real labels."
)


@dataclass
class RunConsole:
    """The run's console (see the module docstring).

    Attributes:
        streams: the console's stdout / stderr (library output is elsewhere meanwhile).
        progress: phase lines and bars, on ``streams.out``.
        logs: the folder of the log files.
    """

    streams: ConsoleStreams
    progress: Progress
    logs: Path

    def line(self, text: str) -> None:
        """One line for the user (also in ``driver.log``)."""
        self.progress.phase(text)

    def summary(self, summary) -> None:  # a pipeline.driver.RunSummary
        """The closing table: counts, drops by stage and reason, failed shards, and the
        SYNTHETIC banner when the run's body models are (``RunConfig.synthetic_labels``)."""
        stats = summary.stats
        kept = 100.0 * stats.kept / max(stats.samples, 1)
        self.line(
            f"done in {summary.seconds:.0f} s: {stats.samples} person instances in "
            f"{summary.shards} shard(s) ({summary.skipped} already complete), kept {stats.kept} "
            f"({kept:.1f} %)"
        )
        out = self.streams.out
        for stage, reasons in sorted(stats.drops.items()):
            for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
                click.echo(f"  dropped at {stage:<13} {reason:<28} {count}", file=out)
        for shard, error in sorted(summary.failed.items()):
            click.echo(f"  shard {shard} FAILED: {error}", file=self.streams.err)
        self.line(f"labels in {summary.out}, logs in {self.logs}")
        if summary.synthetic:
            click.secho(SYNTHETIC_BANNER, fg="red", bold=True, file=self.streams.err)


@contextmanager
def run_console(out: Path, verbose: int = 0) -> Iterator[RunConsole]:
    """The console of a run into ``out``: library logs go to ``out/logs`` inside."""
    logs = RunDir(out).logs
    with capture_driver_logs(logs, verbose) as streams:
        yield RunConsole(streams, Progress(streams.out), logs)
