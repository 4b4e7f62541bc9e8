"""Committing one shard's outputs to the run folder, in the safe order: the label rows, the
audit part, the stats and, last, the marker that records every file's SHA-256
(:meth:`furpe_label.storage.run_dir.RunDir.commit_shard`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from furpe_label.experts.vocabulary import Stage
from furpe_label.storage.audit import audit_table, stored_stages, write_audit_shard
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.shard_digest import shard_file_names, shared_file_names
from furpe_label.storage.stats import ShardStats

if TYPE_CHECKING:
    from furpe_label.storage.run_dir import RunDir

__all__ = ["commit_shard"]


def commit_shard(
    run: RunDir,
    store: LabelStore,
    dataset: str,
    shard_id: int,
    labels: Mapping[str, np.ndarray],
    audit: Mapping[str, Any],
    extra_seconds: Mapping[str, float] | None = None,
) -> ShardStats:
    """Write all of one shard's outputs in the safe order and return its stats.

    Checks first (nothing is written on error) that the audit has exactly the shard's
    samples in order and that ``labels["valid"]`` is True exactly where ``drop_stage`` is kept;
    then writes the label rows, the audit file, the stats and, last, the marker.

    Args:
        store: the run's label store (opened "r+").
        dataset: the audit partition (dataset adapter name).
        labels: every label field, ``(L, *shape)`` (see :meth:`LabelStore.write_shard`).
        audit: the shard's audit columns (see :func:`audit_table`).
        extra_seconds: stage timings without an audit column (e.g. {"write": 1.2}).
    """
    table = audit_table(audit)
    start, stop = store.plan.bounds(shard_id)
    rows = table.column("sample_idx").to_numpy()
    if not np.array_equal(rows, np.arange(start, stop)):
        raise ValueError(
            f"shard {shard_id}: the audit must have one row per sample "
            f"{start}..{stop - 1} in order, got {len(rows)} rows"
        )
    kept = stored_stages(table) == Stage.KEPT
    valid = np.asarray(labels.get("valid", kept))
    if valid.shape != kept.shape or not np.array_equal(valid, kept):
        raise ValueError(
            f"shard {shard_id}: labels['valid'] must be True exactly where "
            "the audit's drop_stage is kept"
        )
    store.write_shard(shard_id, labels)
    part = write_audit_shard(run.audit, dataset, shard_id, table, run.journal)
    stats = ShardStats.from_audit(table, extra_seconds)
    audit_part = part.relative_to(run.root).as_posix()
    files = shared_file_names(store.names) + shard_file_names(
        store.names, audit_part, shard_id, stats=False
    )
    run.finish_shard(shard_id, stats, files)
    return stats
