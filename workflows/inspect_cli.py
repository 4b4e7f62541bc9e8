"""``furpe-label inspect OUT --sample N``: one sample's audit picture as a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from furpe_label.workflows.cli_paths import file_in_the_way


@click.command("inspect")
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--sample",
    "samples",
    type=click.IntRange(0),
    multiple=True,
    required=True,
    help="sample_idx to draw (repeat for several).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="PNG file (one sample) or folder (default: OUT/inspect/<sample>.png).",
)
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Body-model folder for the mesh silhouette (default: the one the run used).",
)
@click.option(
    "--max-side",
    type=click.IntRange(64, 8192),
    default=1200,
    show_default=True,
    help="Longer side of the picture, pixels.",
)
def inspect_sample(
    out: Path,
    samples: tuple[int, ...],
    output: Path | None,
    models_dir: Path | None,
    max_side: int,
) -> None:
    """Draw samples of the run in OUT as the report's gallery does: the image with the
    labelled SMPL-X mesh silhouette, detected vs projected SMPL-X keypoints and the part crop
    boxes, under the sample's outcome."""
    import cv2

    from furpe_label.workflows.report.overlay import render_overlay
    from furpe_label.workflows.report.samples import RunSamples  # heavy: torch, smplx

    single_file = output is not None and output.suffix.lower() == ".png"
    if single_file and len(samples) > 1:
        raise click.UsageError("--output is one PNG file: give a folder for several samples")
    folder = output.parent if single_file else (output or out / "inspect")
    blocking = file_in_the_way(folder)
    if blocking is not None:
        what = "an existing file that is not a PNG" if blocking == output else "a file"
        raise click.BadParameter(
            f"{blocking} is {what}: give a new .png file name or a folder",
            param_hint="--output",
        )
    try:
        run = RunSamples(out, models_dir)
        for sample in samples:
            run.row(sample)  # KeyError before any drawing
    except (FileNotFoundError, KeyError) as error:  # no such run or sample: usage (exit 2)
        raise click.UsageError(str(error).strip("'\"")) from None
    except ValueError as error:  # a damaged run file, named by the error (exit 1)
        raise click.ClickException(str(error)) from None
    if run.mesh_note:
        click.echo(run.mesh_note, err=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            f"cannot write the pictures into {folder}: {error.strerror or error}"
        ) from None
    try:
        for sample, overlay in zip(samples, run.overlays(list(samples)), strict=True):
            path = output if single_file else folder / f"{sample:07d}.png"
            if not cv2.imwrite(str(path), render_overlay(overlay, max_side)[:, :, ::-1]):
                raise click.ClickException(f"could not write {path}")
            click.echo(f"{path}: {overlay.title}")
    except ValueError as error:  # a damaged run file met while drawing, named by the error
        raise click.ClickException(str(error)) from None
