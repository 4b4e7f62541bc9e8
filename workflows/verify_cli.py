"""``furpe-label verify OUT``: is every file of a run as the run wrote it?"""

from __future__ import annotations

import time
from pathlib import Path

import click

from furpe_label.storage.run_check import check_run

__all__ = ["verify"]


@click.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
def verify(out: Path) -> None:
    """Check the run in OUT: every complete shard's label arrays, audit part and stats against
    the SHA-256 its completion marker recorded, run.json, the manifest and the store's
    metadata against what the shards recorded, the manifest's rows against the store's, and
    that no file the run did not write sits among the audit parts or markers.

    Exit code 0 when nothing is damaged (an unfinished run says so), 1 when anything is: each
    problem is listed, naming the shard and the file. Rerunning the same `furpe-label run`
    command redoes damaged shards.
    """
    started = time.perf_counter()
    try:
        check = check_run(out)
    except FileNotFoundError as error:
        raise click.UsageError(str(error)) from None
    seconds = time.perf_counter() - started
    for problem in check.problems:
        click.echo(f"  {problem}")
    state = "finished" if len(check.done) == check.shards else "UNFINISHED"
    if check.problems:
        click.secho(
            f"{out}: DAMAGED, {len(check.problems)} problem(s); {check.progress_line()} and "
            f"intact ({seconds:.1f} s). Rerun the same `furpe-label run` command to redo "
            "damaged shards.",
            fg="red",
            bold=True,
        )
        raise SystemExit(1)
    click.echo(f"{out}: intact, {state}: {check.progress_line()} ({seconds:.1f} s)")
