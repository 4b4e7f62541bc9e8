"""furpe_label.pipeline: the labelling run — config, decoding, the person pre-pass, the keypoint
stage, the shard runner (every stage of one shard on one worker), executors (inline, Dask),
cluster start-up, the driver, its progress lines and the log files of a run (``OUT/logs``).

Names are exported lazily (PEP 562): ``from furpe_label.pipeline import RunConfig`` does not
import the driver, the executors or the shard runner. (It does import torch: the typed members
of :class:`RunConfig` come from the ``selection`` and ``experts.fusion`` packages, whose
``__init__`` import their torch modules.)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClusterOptions": "cluster",
    "connect": "cluster",
    "connected": "cluster",
    "slurm_job_script": "cluster",
    "SYNTHETIC_MODELS": "config",
    "RunConfig": "config",
    "RunResources": "config",
    "DecodeLimits": "decode",
    "decode_image": "decode",
    "decode_video_frames": "decode",
    "RunSummary": "driver",
    "run_labels": "driver",
    "DaskExecutor": "executors",
    "InlineExecutor": "executors",
    "ShardOutcome": "executors",
    "Progress": "progress",
    "WorkerLogs": "run_logging",
    "capture_driver_logs": "run_logging",
    "ShardTask": "shard_runner",
    "run_shard": "shard_runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'furpe_label.pipeline' has no attribute {name!r}")
    module = importlib.import_module(f"furpe_label.pipeline.{_EXPORTS[name]}")
    return getattr(module, name)
