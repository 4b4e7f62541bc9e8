"""``furpe-label audit OUT``: the funnel, drop reasons with meanings, score quantiles, what-if."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from furpe_label.storage.run_check import RunDamagedError
from furpe_label.workflows.audit import (
    WHAT_IF_KEYS,
    load_checked_audit,
    parse_what_if,
    recompute,
    report,
)


def _table(title: str, frame: pd.DataFrame) -> str:
    body = "(none)" if frame.empty else frame.to_string(index=False)
    return f"{title}\n{body}\n"


@click.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--what-if",
    "what_if",
    multiple=True,
    metavar="FILE|KEY=VALUE",
    help="Recompute decisions under new thresholds: a selection file (JSON of SelectionConfig "
    "fields, as `run --selection FILE` takes), then KEY=VALUE with KEY one of "
    f"{', '.join(WHAT_IF_KEYS)} (a signals.* rule takes 'off').",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the charts (funnel, reasons, score histograms with thresholds, GT error, "
    "timings) as PNG files into this folder, under the --what-if thresholds.",
)
def audit(out: Path, what_if: tuple[str, ...], plots_dir: Path | None) -> None:
    """Summarise what the run in OUT kept and dropped, and why (no model is run)."""
    try:
        table, base, check = load_checked_audit(out)
        config = parse_what_if(what_if, base)
    except RunDamagedError as error:
        raise click.ClickException(str(error)) from None
    except (FileNotFoundError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    if table.num_rows == 0:
        raise click.UsageError(f"{out}: no completed shard yet (audit is empty)")
    note = check.unfinished_note()
    if note:
        click.secho(note + "\n", fg="yellow", bold=True)
    frame = recompute(table, base, config) if what_if else table.to_pandas()
    result = report(frame, config)
    kept = 100.0 * result.kept / max(result.total, 1)
    header = "what-if " + " ".join(what_if) if what_if else "stored decisions"
    click.echo(
        f"{out}: {result.total} person instances, kept {result.kept} ({kept:.1f} %) [{header}]\n"
    )
    click.echo(_table("funnel (rows leaving at each stage; kept = labelled)", result.funnel))
    click.echo(_table("drop reasons", result.reasons))
    click.echo(_table("per dataset / subject", result.by_subject))
    quantiles = (
        result.quantiles.reset_index(names="score")
        if not result.quantiles.empty
        else (result.quantiles)
    )
    click.echo(_table("score quantiles (5, 25, 50, 75, 95 %)", quantiles))
    if plots_dir is not None:
        from furpe_label.workflows.report.plots import write_plots  # matplotlib

        for path in write_plots(out, table, base, config, plots_dir):
            click.echo(f"plot: {path}")
