"""``furpe-label export OUT --format F --dest DIR``: a finished run in a trainer's format."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from furpe_label.experts.bodymodels.locate import MODELS_ENV
from furpe_label.pipeline.config import RunConfig
from furpe_label.pipeline.worker_models import models_folder
from furpe_label.storage.exports import (
    EXPORT_FORMATS,
    FORMATS_NEEDING_MODELS,
    ExportError,
    ExportSkip,
    check_export_paths,
    export_run,
)
from furpe_label.storage.run_dir import RunDir

__all__ = ["export"]

logger = logging.getLogger(__name__)

SYNTHETIC_NOTE = (
    "SYNTHETIC BODY MODELS: this export holds labels made with the synthetic SMPL-X family; "
    "it shows the pipeline working and is NOT training data."
)


def _run_models(out: Path, models: str | None) -> Path:
    """The SMPL-X folder: --models, else the run's (the synthetic family's cache folder)."""
    if models is not None:
        if not Path(models).is_dir():
            raise click.BadParameter(f"{models} is not a folder", param_hint="--models")
        return Path(models)
    config = RunConfig.from_dict(dict(RunDir(out).read_info().config))
    return models_folder(config)


def _sentence(error: Exception) -> str:
    """The refusal as one sentence: an OS error (no permission, a file where a folder goes)
    as "cannot ... PATH: reason" rather than its errno form."""
    if isinstance(error, OSError) and error.strerror:
        return f"cannot use {error.filename}: {error.strerror.lower()}"
    return str(error)


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(EXPORT_FORMATS),
    help="furpe: the data/ tree FuRPE's training reads (params3d_v/curated_fits/<image>.npy, "
    "curated_fits/train.npz + image lists); expose: train.npz + vertices; "
    "humandata: mmhuman3d HumanData <dataset>.npz + SMPLer-X smplerx/<dataset>_<parts>.npz.",
)
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New or empty output folder, outside OUT.",
)
@click.option(
    "--all",
    "include_all",
    is_flag=True,
    help="Every row with masks (kept / per-part valid), not only kept rows.",
)
@click.option(
    "--models", envvar=MODELS_ENV, help="SMPL-X folder the run used (default: the run's --models)."
)
@click.option(
    "--dataset-name",
    help="Dataset folder / file name in the export (default: the "
    "run's dataset), e.g. h36m or mpi/S1_Seq2.",
)
def export(
    out: Path, fmt: str, dest: Path, include_all: bool, models: str | None, dataset_name: str | None
) -> None:
    """Export the finished run in OUT to --dest in a trainer's format.

    Kept rows only by default; a suppressed part is marked the way each format marks a missing
    part. DEST/export.json lists the rows set aside (e.g. FuRPE holds one person per image)
    and the warnings printed (e.g. the FuRPE options an export without features needs).
    DEST must be new or empty and outside OUT.
    """
    try:
        check_export_paths(out, dest)  # before the models are prepared
        models_dir = _run_models(out, models) if fmt in FORMATS_NEEDING_MODELS else None
        summary = export_run(
            out,
            fmt,
            dest,
            include_all=include_all,
            models_dir=models_dir,
            dataset_name=dataset_name,
        )
    except (ExportError, OSError, ValueError) as error:
        logger.debug("export refused", exc_info=True)
        raise click.ClickException(_sentence(error)) from None
    click.echo(
        f"{dest}: {summary.rows} row(s) in {fmt} format ({summary.kept_rows} kept by the selection)"
    )
    for reason, count in sorted(summary.skip_counts().items()):
        click.echo(f"  not written: {count} {reason} ({ExportSkip(reason).meaning})")
    for note in summary.notes:
        click.secho(f"warning: {note}", fg="yellow", err=True)
    if summary.synthetic:
        click.secho(SYNTHETIC_NOTE, fg="red", bold=True, err=True)
