"""furpe_label.pipeline: the labelling run — config, decoding, the person pre-pass, the keypoint
stage, the shard runner (every stage of one shard on one worker), executors (inline, Dask),
cluster start-up and the driver."""

from __future__ import annotations

from furpe_label.pipeline.cluster import ClusterOptions, connect, slurm_job_script
from furpe_label.pipeline.config import SYNTHETIC_MODELS, RunConfig, RunResources
from furpe_label.pipeline.decode import DecodeLimits, decode_image, decode_video_frames
from furpe_label.pipeline.driver import RunSummary, run_labels
from furpe_label.pipeline.executors import DaskExecutor, InlineExecutor, ShardOutcome
from furpe_label.pipeline.shard_runner import ShardTask, run_shard

__all__ = [
    "SYNTHETIC_MODELS",
    "ClusterOptions",
    "DaskExecutor",
    "DecodeLimits",
    "InlineExecutor",
    "RunConfig",
    "RunResources",
    "RunSummary",
    "ShardOutcome",
    "ShardTask",
    "connect",
    "decode_image",
    "decode_video_frames",
    "run_labels",
    "run_shard",
    "slurm_job_script",
]
