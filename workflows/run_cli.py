"""``furpe-label run``: label a dataset into OUT (laptop or cluster), resumable."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from furpe_label.experts.bodymodels.locate import MODELS_ENV
from furpe_label.experts.fusion.config import DEFAULT_WRIST_RULE, WRIST_RULES, FusionConfig
from furpe_label.experts.networks.layout import EXPERTS_ENV
from furpe_label.experts.networks.runners import DEFAULT_BATCH_SIZE
from furpe_label.experts.part_experts import DEFAULT_FITTING_ITERATIONS
from furpe_label.pipeline.cluster import ClusterOptions, connected, dashboard_link, slurm_job_script
from furpe_label.pipeline.config import (
    DEFAULT_KEYPOINT_SOURCE,
    KEYPOINT_SOURCES,
    OPENPOSE_SOURCE,
    SYNTHETIC_MODELS,
    RunConfig,
    RunResources,
)
from furpe_label.selection.selection_file import resolve_selection
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunConfigChangedError
from furpe_label.storage.run_lock import RunLockedError
from furpe_label.storage.shards import DEFAULT_SHARD_SIZE
from furpe_label.workflows.cli_paths import file_in_the_way
from furpe_label.workflows.cluster_options import cluster_options
from furpe_label.workflows.console import run_console
from furpe_label.workflows.datasets import ADAPTERS, create_adapter

RUN_REFUSALS = (RunConfigChangedError, RunLockedError, FileNotFoundError, ValueError)
"""Errors that mean the run cannot start as asked (missing or damaged files, a dataset that
cannot be read, another run on OUT, other settings in OUT): reported without a traceback."""
DEMO_DATASET = "samples"
logger = logging.getLogger(__name__)


def _models(models: str | None, dataset: str) -> str:
    """The models folder; the demo falls back to the synthetic family, others must ask."""
    if models is None:
        if dataset == DEMO_DATASET:
            return SYNTHETIC_MODELS
        raise click.UsageError(
            f"--models DIR (or ${MODELS_ENV}) is required: download SMPL-X, SMPL, MANO and "
            "FLAME from https://smpl-x.is.tue.mpg.de, https://smpl.is.tue.mpg.de, "
            "https://mano.is.tue.mpg.de and https://flame.is.tue.mpg.de (layout: README), or "
            "pass --models synthetic to use the synthetic family on purpose."
        )
    if models == SYNTHETIC_MODELS:
        return models
    if not Path(models).is_dir():
        raise click.BadParameter(f"{models} is not a folder", param_hint="--models")
    return RunConfig.absolute(models)


def _detector(detector: str | None, openpose: Path | None) -> str:
    """The keypoint source: ``--detector`` when given; else the OpenPose files the user handed
    in with ``--openpose`` (``openpose-json``), else ``mediapipe``."""
    if detector is not None:
        return detector
    return OPENPOSE_SOURCE if openpose is not None else DEFAULT_KEYPOINT_SOURCE


def _group_verbosity() -> int:
    """``furpe-label -v run ...``: the group's -v adds to the command's own --verbose."""
    context = click.get_current_context()
    root = context.find_root()
    return root.params.get("verbose", 0) if root is not context else 0


@click.command()
@click.option(
    "--dataset",
    required=True,
    type=click.Choice(sorted(ADAPTERS)),
    help="Dataset adapter (README: what each reads).",
)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Dataset root folder (--dataset video: a video file or a folder of videos).",
)
@click.option(
    "--annotations",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Annotation file (default: the official name under --root).",
)
@click.option(
    "--allow-outside-root",
    is_flag=True,
    help="Label files the annotations name outside --root (default: reason outside_root, "
    "not opened); recorded in run.json.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (resumed when it holds the same run).",
)
@click.option("--models", envvar=MODELS_ENV, help="Body-model folder, or 'synthetic'.")
@click.option(
    "--experts",
    "experts_dir",
    envvar=EXPERTS_ENV,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Expert checkpoints (SPIN/DECA/FrankMocap); default: keypoint fitters.",
)
@click.option(
    "--detector",
    type=click.Choice(KEYPOINT_SOURCES),
    default=None,
    help="Whole-body keypoint source [default: openpose-json with --openpose, else mediapipe].",
)
@click.option(
    "--openpose",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of OpenPose JSON files named after the images.",
)
@click.option(
    "--shard-size", type=click.IntRange(min=1), default=DEFAULT_SHARD_SIZE, show_default=True
)
@click.option(
    "--wrist",
    type=click.Choice(WRIST_RULES),
    default=DEFAULT_WRIST_RULE,
    show_default=True,
    help="Wrist integration rule.",
)
@click.option(
    "--selection",
    "selection",
    default="default",
    show_default=True,
    metavar="default|furpe|FILE",
    help="Selection thresholds: 'default' (FuRPE's three steps and the signal rules beyond "
    "them), 'furpe' (FuRPE's three steps alone) or a JSON selection file (SelectionConfig "
    "fields; what `audit --what-if FILE` takes).",
)
@click.option(
    "--fitting-iterations",
    type=click.IntRange(min=1),
    default=DEFAULT_FITTING_ITERATIONS,
    show_default=True,
)
@click.option(
    "--agreement-fit/--no-agreement-fit",
    default=True,
    show_default=True,
    help="With --experts: also fit each part to its keypoints from the network's output "
    "(the agreement scores, agreement_*_mm); --no-agreement-fit saves that cost.",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA when present).")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True
)
@cluster_options
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show the library logs (dask, MediaPipe, ...) here too, not only in OUT/logs/ "
    "(-vv: debug).",
)
def run(**options) -> None:
    """Label --dataset into --out: detect keypoints, run the part experts, select, fuse.

    Re-running the same command resumes (completed shards are skipped); another config on the
    same --out refuses. Without --experts the keypoint-fitting experts label the parts.
    The console shows one line per phase, a progress bar and the summary; library logs go
    to OUT/logs/ (--verbose: here too).
    """
    cluster = ClusterOptions(
        cluster=options["cluster"],
        scheduler=options["scheduler"],
        scheduler_file=str(options["scheduler_file"]) if options["scheduler_file"] else None,
        workers=options["workers"],
        gpus=options["gpus"],
        queue=options["queue"],
        account=options["account"],
        walltime=options["walltime"],
        jobs=options["jobs"],
        split=options["split"],
    )
    if options["dry_run"]:
        if options["cluster"] != "slurm":
            raise click.UsageError("--dry-run prints the SLURM job script: add --cluster slurm")
        click.echo(slurm_job_script(cluster))
        return
    dataset = options["dataset"]
    try:
        selection = resolve_selection(options["selection"])
    except (FileNotFoundError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="--selection") from None
    config = RunConfig(
        dataset=dataset,
        root=RunConfig.absolute(options["root"]),
        annotations=RunConfig.absolute(options["annotations"]),
        openpose=RunConfig.absolute(options["openpose"]),
        models=_models(options["models"], dataset),
        experts=RunConfig.absolute(options["experts_dir"]),
        detector=_detector(options["detector"], options["openpose"]),
        shard_size=options["shard_size"],
        fitting_iterations=options["fitting_iterations"],
        agreement_fit=options["agreement_fit"],
        fusion=FusionConfig(wrist=options["wrist"]),
        allow_outside_root=options["allow_outside_root"],
        selection=selection,
    )
    resources = RunResources(device=options["device"], batch_size=options["batch_size"])
    chosen_by = (
        "--detector"
        if options["detector"]
        else ("--openpose" if options["openpose"] else "default")
    )
    click.echo(f"keypoint detector: {config.detector} ({chosen_by})")
    out = options["out"].expanduser().resolve()
    blocking = file_in_the_way(out)
    if blocking is not None:
        raise click.BadParameter(f"{blocking} is a file, not a folder", param_hint="--out")
    adapter_options = {"openpose": config.openpose} if dataset == "image-folder" else {}
    if dataset == DEMO_DATASET:
        adapter_options["work_dir"] = out

    def make_adapter():
        return create_adapter(
            dataset, root=config.root, annotations=config.annotations, **adapter_options
        )

    from furpe_label.pipeline.driver import run_labels  # heavy: torch, models
    from furpe_label.pipeline.executors import DaskExecutor, InlineExecutor
    from furpe_label.pipeline.prepass_tasks import PrepassError
    from furpe_label.pipeline.run_logging import WorkerLogs

    verbose = options["verbose"] + _group_verbosity()
    if options["executor"] == "dask":
        import distributed  # noqa: F401 - sets up its loggers before the console adopts them
    try:
        RunDir(out).refuse_foreign()  # before the console writes OUT/logs
        with run_console(out, verbose) as console:
            if options["executor"] == "inline":
                summary = run_labels(
                    config,
                    resources,
                    out,
                    make_adapter,
                    InlineExecutor(),
                    console.progress,
                    options["split"],
                )
            else:
                with connected(cluster) as client:
                    link = dashboard_link(client)
                    if link:
                        console.line(f"dashboard: {link}")
                    logs = WorkerLogs(str(console.logs), verbose, os.getpid())
                    executor = DaskExecutor(client, needs_gpu=options["gpus"] > 0, worker_logs=logs)
                    summary = run_labels(
                        config,
                        resources,
                        out,
                        make_adapter,
                        executor,
                        console.progress,
                        options["split"],
                    )
            console.summary(summary)
    except (*RUN_REFUSALS, PrepassError) as error:  # one clear message, no traceback
        logger.debug("run refused", exc_info=True)
        raise click.ClickException(str(error)) from None
    if summary.failed:
        raise SystemExit(1)


__all__ = ["run"]
