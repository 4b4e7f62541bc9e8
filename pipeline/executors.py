"""Executors: run one task per shard inline or on Dask, yield results as shards complete.

A shard task is a picklable callable ``task(shard_id) -> ShardStats`` (the driver's
:class:`~furpe_label.pipeline.shard_runner.ShardTask`, which carries the run's config and
resources): only the task and the shard id go to the worker and only the shard's stats come
back. The person pre-pass's chunks run the same way
(:class:`~furpe_label.pipeline.prepass_tasks.PrepassTask`); a task's ``task_name`` attribute
goes into its Dask key (``shard-people-00003``) and ``needs_gpu = False`` keeps it off the
``GPU`` resource. Failures are yielded, not raised, so the driver can report every failed
shard and the completed ones stay completed (a re-run resumes). On Dask, each task first
sends its worker process's library logs to ``OUT/logs/``
(:class:`~furpe_label.pipeline.run_logging.WorkerLogs`). The split run's two tasks per shard
(:mod:`.split_run`) are submitted with a DaskExecutor's client, retries, key prefix and worker
logs by :mod:`.split_dask`, and run in turn through ``run`` on any other executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from furpe_label.pipeline.run_logging import WorkerLogs

__all__ = ["DaskExecutor", "InlineExecutor", "ShardExecutor", "ShardOutcome"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardOutcome:
    """One finished shard: its ``result``, or the ``error`` text after the retries."""

    shard_id: int
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ShardExecutor(Protocol):
    """Runs ``task`` for each shard id; yields outcomes in completion order. ``where`` says
    where, for the run's console (``on 2 Dask workers``)."""

    @property
    def where(self) -> str: ...

    def run(
        self, task: Callable[[int], Any], shard_ids: Sequence[int]
    ) -> Iterator[ShardOutcome]: ...


class InlineExecutor:
    """In this process, in order (tests, debugging, single-image runs)."""

    where = "in this process"

    def run(self, task: Callable[[int], Any], shard_ids: Sequence[int]) -> Iterator[ShardOutcome]:
        for shard_id in shard_ids:
            try:
                yield ShardOutcome(shard_id, task(shard_id))
            except Exception as error:  # reported by the driver; other shards go on
                logger.exception("shard %d failed", shard_id)
                yield ShardOutcome(shard_id, error=f"{type(error).__name__}: {error}")


class DaskExecutor:
    """Futures on a ``distributed.Client``: retries, GPU resources, ``as_completed``.

    Args:
        client: a connected client (:func:`furpe_label.pipeline.cluster.connect`).
        retries: times a failed task (including a killed worker) is re-run.
        needs_gpu: ask for the ``GPU`` resource (one per task).
        key_prefix: task key prefix (the run's config hash keeps runs apart).
        worker_logs: where worker processes write their library logs (None: left as they are).
    """

    def __init__(
        self,
        client: Any,
        retries: int = 2,
        needs_gpu: bool = False,
        key_prefix: str = "shard",
        worker_logs: WorkerLogs | None = None,
    ) -> None:
        self.client = client
        self.retries = retries
        self.resources = {"GPU": 1} if needs_gpu else None
        self.key_prefix = key_prefix
        self.worker_logs = worker_logs

    @property
    def where(self) -> str:
        workers = len(self.client.nthreads())
        return f"on {workers} Dask worker(s)" if workers else "on Dask (no worker has joined yet)"

    def run(self, task: Callable[[int], Any], shard_ids: Sequence[int]) -> Iterator[ShardOutcome]:
        from distributed import as_completed

        prefix = "-".join(filter(None, (self.key_prefix, getattr(task, "task_name", ""))))
        resources = self.resources if getattr(task, "needs_gpu", True) else None
        if self.worker_logs is not None:
            task = self.worker_logs.wrap(task)
        futures = {
            self.client.submit(
                task,
                shard_id,
                key=f"{prefix}-{shard_id:05d}",
                retries=self.retries,
                resources=resources,
                pure=False,
            ): shard_id
            for shard_id in shard_ids
        }
        for future in as_completed(futures):
            shard_id = futures[future]
            try:
                yield ShardOutcome(shard_id, future.result())
            except Exception as error:
                logger.error("shard %d failed after %d retries: %s", shard_id, self.retries, error)
                yield ShardOutcome(shard_id, error=f"{type(error).__name__}: {error}")
            finally:
                future.release()
