"""The cluster options of ``furpe-label run`` (executor, workers, scheduler, SLURM, GPUs, the
CPU/GPU split): one decorator, :func:`cluster_options`, so the run command's own options stay
readable. What each does: the README's "On a cluster"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["cluster_options"]

_OPTIONS = (
    click.option(
        "--executor",
        type=click.Choice(["dask", "inline"]),
        default="dask",
        show_default=True,
        help="dask: LocalCluster / scheduler / SLURM; inline: here.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Local worker processes (or processes per SLURM job).",
    ),
    click.option("--scheduler", help="Join a running Dask scheduler (tcp://host:8786)."),
    click.option("--scheduler-file", type=click.Path(dir_okay=False, path_type=Path)),
    click.option(
        "--cluster", type=click.Choice(["local", "slurm"]), default="local", show_default=True
    ),
    click.option("--queue", help="SLURM partition."),
    click.option("--account", help="SLURM account."),
    click.option(
        "--gpus",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="GPUs per worker (local) or per job (slurm).",
    ),
    click.option(
        "--split/--no-split",
        default=None,
        help="Keypoint tasks on CPU slots, expert + fusion + step-3 tasks on GPU slots (Dask "
        "resources CPU / GPU), pipelined [default: split when the cluster's workers advertise "
        "both, e.g. --gpus 1; README].",
    ),
    click.option("--walltime", default="04:00:00", show_default=True),
    click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True),
    click.option("--dry-run", is_flag=True, help="With --cluster slurm: print the job script."),
)
"""In the order ``--help`` lists them."""


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the cluster options to a click command (the innermost option last, as stacked
    decorators would)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
