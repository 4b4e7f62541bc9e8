"""``furpe-label calibrate OUT --max-error-mm E``: thresholds chosen on ground truth.

Reads the run's audit (no model is run), chooses every keep rule's threshold so that the most
labels with ground-truth error <= E are kept at precision >= P
(:func:`furpe_label.selection.calibration.calibrate`), prints the chosen values, the funnel
before and after, precision and recall, and the ``audit --what-if`` line that shows the same,
and writes a selection file (``run --selection FILE`` and ``audit --what-if FILE`` read it) so
thresholds learned where ground truth exists carry over to a dataset without.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from furpe_label.selection.calibration import CalibrationResult, OperatingPoint, calibrate
from furpe_label.selection.selection_file import write_selection_file
from furpe_label.storage.run_dir import RunDir
from furpe_label.workflows.audit import load_audit, stored_input_reasons, stored_metrics
from furpe_label.workflows.calibration_record import write_calibration_record


def _point(point: OperatingPoint) -> dict[str, float | int]:
    return {
        "max_mse": point.config.max_mse,
        "kept": point.kept,
        "kept_judged": point.kept_judged,
        "kept_good": point.kept_good,
        "precision": point.precision,
        "recall": point.recall,
    }


def calibration_record(result: CalibrationResult, max_error_mm: float, min_precision: float):
    """The selection file's ``calibrated_on`` block (also what the report draws)."""
    return {
        "max_error_mm": max_error_mm,
        "min_precision": min_precision,
        "judged_rows": result.judged,
        "feasible": result.feasible,
        "run": _point(result.base),
        "chosen": _point(result.chosen),
        "curve": [_point(point) for point in result.curve],
    }


def _value(value: object) -> str:
    """A threshold as ``audit --what-if`` takes it (``off`` for a rule turned off)."""
    return "off" if value is None else f"{value:g}"


def _line(name: str, point: OperatingPoint) -> str:
    return (
        f"  {name:<7} kept {point.kept:>7} rows, of those with ground truth {point.kept_judged:>7}"
        f"; precision {point.precision:6.3f}, recall {point.recall:6.3f}"
    )


@click.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--max-error-mm",
    type=float,
    required=True,
    help="A label is good when its ground-truth error (gt_mpjpe_mm) is at most this.",
)
@click.option(
    "--min-precision",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.9,
    show_default=True,
    help="Fraction of kept labels (with ground truth) that must be good.",
)
@click.option(
    "--write",
    "write_to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the selection file [default: OUT/calibrated_selection.json]; what "
    "calibrate measured goes to OUT/calibration.json, whose curve the report draws.",
)
def calibrate_command(
    out: Path, max_error_mm: float, min_precision: float, write_to: Path | None
) -> None:
    """Choose the selection thresholds on the run's rows with ground truth (no model is run)."""
    try:
        table, base = load_audit(out)
        error = table.column("gt_mpjpe_mm").to_numpy(zero_copy_only=False).astype(np.float64)
        result = calibrate(
            stored_metrics(table, base),
            stored_input_reasons(table),
            error,
            base,
            max_error_mm,
            min_precision,
        )
    except (FileNotFoundError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    target = write_to or RunDir(out).calibrated_selection
    write_selection_file(target, result.chosen.config)
    write_calibration_record(
        RunDir(out).calibration, calibration_record(result, max_error_mm, min_precision)
    )
    click.echo(
        f"{out}: {table.num_rows} rows, {result.judged} with a ground-truth error; good = error "
        f"<= {max_error_mm:g} mm, target precision {min_precision:g}"
    )
    if not result.feasible:
        click.echo(
            f"no thresholds reach precision {min_precision:g}; the highest found is "
            f"{result.chosen.precision:.3f}"
        )
    changed = result.changed()
    click.echo("thresholds (run -> chosen):" if changed else "thresholds: the run's are best")
    for key, (before, after) in changed.items():
        click.echo(f"  {key}: {_value(before)} -> {_value(after)}")
    click.echo(_line("run", result.base))
    click.echo(_line("chosen", result.chosen))
    what_if = " ".join(f"--what-if {key}={_value(after)}" for key, (_, after) in changed.items())
    click.echo(f"see it: furpe-label audit {out} {what_if}".rstrip())
    click.echo(f"selection file: {target} (furpe-label run --selection {target} ...)")
