"""The `furpe-label` command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from furpe_label.experts.bodymodels.folder_check import check_models_folder
from furpe_label.experts.bodymodels.locate import MODELS_ENV
from furpe_label.experts.bodymodels.specs import GENDERS
from furpe_label.experts.filecheck import any_blocking
from furpe_label.experts.networks.layout import EXPERTS_ENV
from furpe_label.workflows.check_table import render_rows


@click.group()
@click.version_option(package_name="furpe-label")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """furpe-label: SMPL-X pseudo-labels from part experts (FuRPE)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=MODELS_ENV,
    help=f"Body-model folder (default ${MODELS_ENV}).",
)
@click.option(
    "--experts",
    "experts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=EXPERTS_ENV,
    help=f"Expert-checkpoint folder (default ${EXPERTS_ENV}).",
)
@click.option("--dataset", help="Also check a dataset: adapter name (see `run --help`).")
@click.option("--root", type=click.Path(path_type=Path), help="The dataset's root.")
@click.option("--annotations", type=click.Path(path_type=Path), help="Its annotation file.")
@click.option(
    "--allow-outside-root",
    is_flag=True,
    help="Accept annotation paths that lead outside --root (default: reason outside_root).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def check(
    models_dir: Path | None,
    experts_dir: Path | None,
    dataset: str | None,
    root: Path | None,
    annotations: Path | None,
    allow_outside_root: bool,
    as_json: bool,
) -> None:
    """Validate the user-provided folders (and a dataset) before any work starts.

    Lists every expected file (official names, where found, sizes, synthetic or real) and
    what is missing or broken with where to download it; for --dataset, the annotation files
    read, person instances, missing image files and ground truth found. Exit code 1 when
    anything required is missing or any file is invalid (including a pickle that names a
    forbidden global: it is refused, never executed).
    """
    if models_dir is None and experts_dir is None and dataset is None:
        raise click.UsageError(
            f"give --models, --experts and/or --dataset (or ${MODELS_ENV}/${EXPERTS_ENV})"
        )
    blocking = False
    report = {}
    if dataset is not None:
        blocking |= _check_dataset(dataset, root, annotations, allow_outside_root, as_json, report)
    for title, folder, checker in _folder_checks(models_dir, experts_dir):
        if not folder.is_dir():
            raise click.BadParameter(f"{folder} is not a folder", param_hint=title)
        rows = checker(folder)
        blocking |= any_blocking(rows)
        if as_json:
            report[title] = [row.as_dict() for row in rows]
        else:
            click.echo(render_rows(f"{title}: {folder}", rows) + "\n")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if blocking:
        raise SystemExit(1)


def _check_dataset(
    name, root, annotations, allow_outside_root: bool, as_json: bool, report: dict
) -> bool:
    """Report one dataset; True when it cannot be labelled as it is (unreadable, or no file
    that is inside the root and a readable regular file)."""
    from furpe_label.workflows.dataset_check import check_dataset

    try:
        found = check_dataset(name, root, annotations, allow_outside_root)
    except (ValueError, FileNotFoundError) as error:
        found = {"dataset": name, "error": str(error)}
    if as_json:
        report["dataset"] = found
    else:
        click.echo(f"dataset {name}:")
        for key, value in found.items():
            click.echo(f"  {key}: {value}")
        click.echo("")
    unusable = sum(found.get("files_with_reason", {}).values()) + found.get("files_outside_root", 0)
    return "error" in found or unusable == found.get("files", -1)


def _folder_checks(models_dir: Path | None, experts_dir: Path | None) -> list:
    checks = []
    if models_dir is not None:
        checks.append(("body models", models_dir, check_models_folder))
    if experts_dir is not None:
        from furpe_label.experts.networks.folder_check import check_experts_folder

        checks.append(("experts", experts_dir, check_experts_folder))
    return checks


def _parse_genders(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    """``"neutral,male"`` -> ``("neutral", "male")``; anything unknown is a usage error."""
    wanted = tuple(dict.fromkeys(g.strip() for g in value.split(",") if g.strip()))
    unknown = [g for g in wanted if g not in GENDERS]
    choices = ",".join(GENDERS)
    if unknown:
        shown = ", ".join(repr(g) for g in unknown)
        raise click.BadParameter(f"{shown}: not a gender; choose among {choices}")
    if not wanted:
        raise click.BadParameter(f"no gender given; choose among {choices}")
    return wanted


@main.command("synth-models")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Generator seed, 0 .. 2**32-1 (deterministic).",
)
@click.option(
    "--genders",
    default="neutral",
    show_default=True,
    callback=_parse_genders,
    help="Comma-separated genders to write: neutral,male,female.",
)
def synth_models(out_dir: Path, seed: int, genders: tuple[str, ...]) -> None:
    """Write the SYNTHETIC body-model family (SMPL, SMPL-X, MANO, FLAME, SMPL->SMPL-X
    correspondence) in the official formats to OUT_DIR, for tests and demos.

    Every file is marked synthetic; anything produced with them says so.
    """
    from furpe_label.experts.bodymodels.synthetic.family import write_synthetic_family

    info = write_synthetic_family(out_dir, seed=seed, genders=genders)
    for path in info.paths:
        click.echo(str(path))
    click.echo(
        f"synthetic family (seed {seed}) written to {out_dir}; "
        f"check it with: furpe-label check --models {out_dir}"
    )


def _register() -> None:
    """The commands that live in their own modules."""
    from furpe_label.workflows.audit_cli import audit
    from furpe_label.workflows.calibrate_cli import calibrate_command
    from furpe_label.workflows.export_cli import export
    from furpe_label.workflows.inspect_cli import inspect_sample
    from furpe_label.workflows.report_cli import report
    from furpe_label.workflows.run_cli import run
    from furpe_label.workflows.transfer_cli import transfer
    from furpe_label.workflows.verify_cli import verify

    main.add_command(run)
    main.add_command(audit)
    main.add_command(calibrate_command, name="calibrate")
    main.add_command(transfer)
    main.add_command(export)
    main.add_command(report)
    main.add_command(inspect_sample)
    main.add_command(verify)


_register()

if __name__ == "__main__":
    main()
