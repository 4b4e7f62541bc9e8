"""Run folders written directly (no model runs): the run's own files through the run's own
writers (``RunDir.start`` / ``write_manifest`` / ``commit_shard``), label and audit values from
:mod:`tests.support.storage_data`. For the damaged-store tests, the ``run_folders`` fuzz kind
and the verify benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import build_manifest_table
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo
from tests.support.storage_data import audit_columns, label_rows

DATASET = "h36m"


def run_info(shard_size: int, synthetic: bool = True) -> RunInfo:
    """A run.json for a run written by :func:`write_run_folder`."""
    return RunInfo(
        config={"dataset": DATASET, "shard_size": shard_size, "models": "synthetic"},
        code_version="furpe-label test",
        synthetic=synthetic,
        detector="test double",
        experts={"body": "fit-smpl"},
        model_sha256={"SMPLX_NEUTRAL.npz": "11" * 32},
    )


def write_run_folder(
    out: Path, rows: int = 8, shard_size: int = 2, shards: Iterable[int] | None = None
) -> RunDir:
    """A run of ``rows`` person instances in shards of ``shard_size`` with ``shards`` complete
    (default: all). Sample ``i`` is image ``img_<i>.jpg``; its labels identify it
    (:func:`~tests.support.storage_data.label_rows`), kept when ``i % 3 == 0``."""
    run = RunDir(out)
    run.root.mkdir(parents=True, exist_ok=True)
    run.start(run_info(shard_size))
    names = [f"/data/h36m/img_{i:07d}.jpg" for i in range(rows)]
    run.write_manifest(
        build_manifest_table(
            {"dataset": [DATASET] * rows, "image_path": names, "person_idx": [0] * rows}
        )
    )
    store = LabelStore.create(
        run.labels, rows, shard_size, chunk_size=_chunk(shard_size), journal=run.journal
    )
    for shard_id in store.plan.ids() if shards is None else shards:
        start, stop = store.plan.bounds(shard_id)
        audit = audit_columns(start, stop, shard_id)
        labels = label_rows(store.fields, start, stop)
        labels["valid"] = np.array(audit["drop_stage"]) == "kept"
        run.commit_shard(store, DATASET, shard_id, labels, audit)
    return run


def _chunk(shard_size: int) -> int:
    return max(c for c in (1, 2, 4, 8, 16, 32) if shard_size % c == 0)
