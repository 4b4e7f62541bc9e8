"""The report's run-level blocks: provenance (``run.json``) and throughput / stage timings
(``stats/*.json``, else the audit's per-row ``seconds_<stage>`` shares)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo
from furpe_label.storage.schema import TIMED_STAGES
from furpe_label.storage.stats import ShardStats

__all__ = ["provenance", "timings"]


def provenance(info: RunInfo, out: Path) -> dict[str, Any]:
    """What the labels depend on, for the page's provenance block.

    Returns:
        ``out`` (absolute run folder), ``code_version``, ``config_hash``, ``synthetic``,
        ``detector``, ``experts`` (part -> name), ``model_sha256`` and ``checkpoint_sha256``
        (file -> hex digest), ``config`` (the whole run config).
    """
    return {
        "out": str(Path(out).resolve()),
        "code_version": info.code_version,
        "config_hash": info.config_hash,
        "synthetic": bool(info.synthetic),
        "detector": info.detector,
        "experts": dict(info.experts),
        "model_sha256": dict(info.model_sha256),
        "checkpoint_sha256": dict(info.checkpoint_sha256),
        "config": json.loads(json.dumps(info.config)),
    }


def _merged_stats(run_dir: RunDir) -> ShardStats | None:
    files = sorted(run_dir.stats.glob("*.json")) if run_dir.stats.is_dir() else []
    total = None
    for path in files:
        try:
            stats = ShardStats.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise ValueError(f"{path} is damaged: {error}") from None
        total = stats if total is None else total + stats
    return total


def timings(run_dir: RunDir, table: pa.Table) -> dict[str, Any]:
    """Seconds per stage and throughput.

    Stage seconds are the sums over shards of each task's stage time (the shards' stats, or
    the audit rows' ``seconds_<stage>`` shares when no stats file exists): work time, which is
    the wall time only for one worker.

    Returns:
        ``samples``, ``shards``, ``stages``: [{``stage``, ``seconds``, ``ms_per_sample``,
        ``share``}] (the timed stages, then extra ones such as ``write``), ``total_seconds``,
        ``samples_per_second`` (samples / total work seconds), ``source``.
    """
    stats = _merged_stats(run_dir)
    samples = table.num_rows
    if stats is not None:
        seconds, shards, source = dict(stats.seconds), stats.shards, "stats/*.json"
    else:
        seconds = {
            stage.name.lower(): float(
                pc.sum(table.column(f"seconds_{stage.name.lower()}")).as_py() or 0.0
            )
            for stage in TIMED_STAGES
        }
        shards = len(set(table.column("shard").to_pylist())) if samples else 0
        source = "audit seconds_<stage> columns"
    order = [s.name.lower() for s in TIMED_STAGES] + sorted(
        k for k in seconds if k not in {s.name.lower() for s in TIMED_STAGES}
    )
    total = float(sum(seconds.get(name, 0.0) for name in order))
    stages = [
        {
            "stage": name,
            "seconds": float(seconds.get(name, 0.0)),
            "ms_per_sample": 1000.0 * float(seconds.get(name, 0.0)) / max(samples, 1),
            "share": float(seconds.get(name, 0.0)) / total if total > 0 else 0.0,
        }
        for name in order
    ]
    rate = samples / total if total > 0 else float("nan")
    return {
        "samples": samples,
        "shards": shards,
        "stages": stages,
        "total_seconds": total,
        "samples_per_second": None if not np.isfinite(rate) else rate,
        "source": source,
    }
