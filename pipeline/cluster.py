"""Cluster start-up: an embedded LocalCluster, a running scheduler, or SLURM batch jobs.

:func:`connect` returns a ``distributed.Client``: it joins a running scheduler when given an
address or a scheduler file, starts SLURM jobs through dask-jobqueue for ``cluster="slurm"``,
and otherwise starts a LocalCluster of processes on this machine. Workers advertise Dask
resources: every LocalCluster / SLURM worker ``CPU`` (its threads: the split run's keypoint
tasks ask for one), and those that own a GPU ``GPU`` (the expert tasks of a split run, or every
shard task of an unsplit run that uses a GPU, ask for one); ``split=True`` gives local workers
one ``GPU`` slot each even without a GPU (the experts then run on the CPU), so that a forced
split runs on a laptop (:mod:`.split_run`). Each
worker's library threads (BLAS, torch, OpenCV) are capped at its ``threads_per_worker``
(:mod:`.worker_threads`).

The LocalCluster's dashboard listens on a free port of 127.0.0.1 (never a fight over 8787);
:func:`dashboard_link` gives its address, or None where no dashboard is served.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "LOCAL_DASHBOARD",
    "ClusterOptions",
    "connect",
    "connected",
    "dashboard_link",
    "slurm_job_script",
    "worker_resources",
]

LOCAL_DASHBOARD = "127.0.0.1:0"
"""The LocalCluster's dashboard: this machine only, on a port the system picks."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterOptions:
    """Where shard tasks run (none of this changes the labels, so it is not in the run hash).

    Attributes:
        cluster: ``"local"`` (LocalCluster on this machine) or ``"slurm"`` (dask-jobqueue).
        scheduler: address of a running scheduler (``tcp://host:8786``) to join.
        scheduler_file: a scheduler file written by ``dask scheduler --scheduler-file``.
        workers: local worker processes (local) / workers per job (slurm).
        threads_per_worker: threads of each worker process.
        gpus: GPUs per local worker (advertised as the ``GPU`` resource) or per SLURM job.
        split: the run's ``--split`` choice (None: automatic), for the local workers'
            resources.
        queue, account, walltime, jobs, memory, cores: SLURM job settings.
    """

    cluster: Literal["local", "slurm"] = "local"
    scheduler: str | None = None
    scheduler_file: str | None = None
    workers: int = 1
    threads_per_worker: int = 1
    gpus: int = 0
    queue: str | None = None
    account: str | None = None
    walltime: str = "04:00:00"
    jobs: int = 1
    memory: str = "32GB"
    cores: int = 8
    split: bool | None = None

    def __post_init__(self) -> None:
        if self.cluster not in ("local", "slurm"):
            raise ValueError(f"unknown cluster {self.cluster!r}; use local or slurm")
        if self.scheduler and self.scheduler_file:
            raise ValueError("give either a scheduler address or a scheduler file, not both")
        if self.workers < 1 or self.threads_per_worker < 1 or self.jobs < 1 or self.gpus < 0:
            raise ValueError("workers, threads per worker and jobs must be >= 1, gpus >= 0")


def _slurm_cluster(options: ClusterOptions):  # -> dask_jobqueue.SLURMCluster
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as error:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "--cluster slurm needs dask-jobqueue: pip install 'furpe-label[slurm]'"
        ) from error
    extra = [f"--resources {_resources_text(worker_resources(options))}"]
    directives = [f"--gres=gpu:{options.gpus}"] if options.gpus else []
    return SLURMCluster(
        queue=options.queue,
        account=options.account,
        walltime=options.walltime,
        cores=options.cores,
        processes=options.workers,
        memory=options.memory,
        worker_extra_args=extra,
        job_extra_directives=directives,
    )


def worker_resources(options: ClusterOptions) -> dict[str, int]:
    """The Dask resources each local or SLURM worker advertises (see the module docstring)."""
    threads = options.threads_per_worker
    if options.cluster == "slurm":  # dask-jobqueue: a job's cores shared by its processes
        threads = max(1, options.cores // options.workers)
    resources = {"CPU": threads}
    gpus = options.gpus or (1 if options.split and options.cluster == "local" else 0)
    if gpus:
        resources["GPU"] = gpus
    return resources


def _resources_text(resources: dict[str, int]) -> str:
    """``CPU=1,GPU=1`` (``dask worker --resources``)."""
    return ",".join(f"{name}={count}" for name, count in resources.items())


def slurm_job_script(options: ClusterOptions) -> str:
    """The SLURM batch script one job would run (for ``--dry-run``); starts nothing."""
    cluster = _slurm_cluster(options)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def connect(options: ClusterOptions):  # -> distributed.Client
    """A Dask client for the options (see the module docstring). Every worker's library
    threads are capped at ``threads_per_worker`` (:mod:`.worker_threads`)."""
    from distributed import Client, LocalCluster

    from furpe_label.pipeline.worker_threads import ThreadCaps, thread_env

    if options.scheduler_file:
        logger.info("joining the scheduler in %s", options.scheduler_file)
        client = Client(scheduler_file=options.scheduler_file)
    elif options.scheduler:
        logger.info("joining the scheduler at %s", options.scheduler)
        client = Client(options.scheduler)
    elif options.cluster == "slurm":
        cluster = _slurm_cluster(options)
        cluster.scale(jobs=options.jobs)
        logger.info("submitted %d SLURM job(s)", options.jobs)
        client = Client(cluster)
    else:
        resources = worker_resources(options)
        cluster = LocalCluster(
            n_workers=options.workers,
            threads_per_worker=options.threads_per_worker,
            processes=True,
            resources=resources,
            dashboard_address=LOCAL_DASHBOARD,
            env=thread_env(options.threads_per_worker),
        )
        client = Client(cluster)
    client.register_plugin(ThreadCaps(options.threads_per_worker))
    return client


@contextmanager
def connected(options: ClusterOptions) -> Iterator:  # Iterator[distributed.Client]
    """:func:`connect` for a ``with`` block: on leaving, closes the client and the cluster it
    started (a LocalCluster or SLURM jobs; a joined scheduler stays up)."""
    client = connect(options)
    try:
        yield client
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()


def dashboard_link(client) -> str | None:  # client: distributed.Client
    """The dashboard's address; None when this process runs the scheduler without bokeh (the
    scheduler then serves no dashboard page)."""
    if client.cluster is not None and importlib.util.find_spec("bokeh") is None:
        return None
    return client.dashboard_link or None
