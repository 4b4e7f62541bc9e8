"""The split run on Dask: keypoint futures on ``CPU`` slots feeding expert futures on ``GPU``
slots, at most :func:`~furpe_label.pipeline.split_run.lookahead` shards in flight.

See :mod:`furpe_label.pipeline.split_run` for the task graph, the bound and resume.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from furpe_label.pipeline.executors import DaskExecutor, ShardOutcome
from furpe_label.pipeline.split_run import cluster_slots, lookahead
from furpe_label.pipeline.split_tasks import ExpertTask, KeypointTask

__all__ = ["on_dask"]

logger = logging.getLogger(__name__)

EXPERT_PRIORITY = 1
"""Expert tasks before keypoint tasks where a worker could run either (a shard finishes and
its intermediate goes before another shard's keypoints start)."""


def _submit(executor: DaskExecutor, task: Any, *args: Any, name: str, **options: Any) -> Any:
    """One future of ``task(*args)`` with the executor's retries, key prefix and worker logs."""
    shard_id = args[0]
    call = executor.worker_logs.wrap(task) if executor.worker_logs is not None else task
    return executor.client.submit(
        call,
        *args,
        key=f"{executor.key_prefix}-{name}-{shard_id:05d}",
        retries=executor.retries,
        pure=False,
        **options,
    )


def on_dask(
    executor: DaskExecutor,
    keypoint: KeypointTask,
    expert: ExpertTask,
    pending: Sequence[int],
    reusable: dict[int, str],
) -> Iterator[ShardOutcome]:
    """Submit the shards in order, keeping at most the look-ahead in flight; yield each
    shard's outcome as its expert task ends (a failed keypoint task fails its expert task)."""
    from distributed import as_completed

    queue = list(pending)
    running: dict[Any, int] = {}
    finished = as_completed()
    while queue or running:
        bound = lookahead(*cluster_slots(executor.client))
        while queue and len(running) < bound:
            shard_id = queue.pop(0)
            found = reusable.get(shard_id)
            if found is None:
                found = _submit(
                    executor,
                    keypoint,
                    shard_id,
                    name=keypoint.task_name,
                    resources={keypoint.resource: 1},
                )
            future = _submit(
                executor,
                expert,
                shard_id,
                found,
                name=expert.task_name,
                resources={expert.resource: 1},
                priority=EXPERT_PRIORITY,
            )
            running[future] = shard_id
            finished.add(future)
        future = next(finished)
        shard_id = running.pop(future)
        try:
            yield ShardOutcome(shard_id, future.result())
        except Exception as error:
            logger.error("shard %d failed after %d retries: %s", shard_id, executor.retries, error)
            yield ShardOutcome(shard_id, error=f"{type(error).__name__}: {error}")
        finally:
            future.release()
