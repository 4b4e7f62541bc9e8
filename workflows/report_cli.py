"""``furpe-label report OUT``: the static, offline audit page of a run (OUT/report/index.html)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Body-model folder for the mesh silhouettes (default: the one the run used).",
)
@click.option(
    "--gallery",
    type=click.IntRange(0, 100_000),
    default=48,
    show_default=True,
    help="How many kept and dropped samples to picture (0: none).",
)
@click.option(
    "--picture-size",
    type=click.IntRange(64, 4096),
    default=640,
    show_default=True,
    help="Longer side of a gallery picture, pixels.",
)
def report(out: Path, models_dir: Path | None, gallery: int, picture_size: int) -> None:
    """Write OUT/report/index.html: the selection funnel per dataset and subject, drop reasons
    with their meanings, each step's score histogram with its threshold, what-if sliders that
    re-decide the stored scores in the browser (and print the `furpe-label audit --what-if`
    command that reproduces the choice), the label error against ground truth where the
    dataset has it, timings, provenance and a gallery of kept and dropped samples with
    overlays. The page works offline: everything is inline or beside it."""
    from furpe_label.storage.run_check import RunDamagedError
    from furpe_label.workflows.report.page import build_report  # heavy: torch, smplx

    try:
        page = build_report(out, models_dir=models_dir, gallery=gallery, max_side=picture_size)
    except RunDamagedError as error:  # a file differs from what the run wrote (exit 1)
        raise click.ClickException(str(error)) from None
    except FileNotFoundError as error:  # not a run folder, no audit: a usage error (exit 2)
        raise click.UsageError(str(error)) from None
    except ValueError as error:  # a damaged run file: named by the error (exit 1)
        raise click.ClickException(str(error)) from None
    click.echo(f"report written to {page} (open it in a browser; it needs no network)")
