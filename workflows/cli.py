"""The `furpe-label` command line."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="furpe-label")
def main() -> None:
    """furpe-label: SMPL-X pseudo-labels from part experts (FuRPE)."""
