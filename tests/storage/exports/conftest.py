"""The FuRPE export of one network-expert run, shared by the FuRPE export tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.export_support import network_run, photo_folder
from tests.support.pipeline_support import run_cli


@pytest.fixture(scope="package")
def furpe_exported(tmp_path_factory) -> tuple[Path, Path, str]:
    """(run folder, export folder, the export command's output) of a network-expert run on
    SPIN's example photo and messi5 (+ an unreadable file)."""
    base = tmp_path_factory.mktemp("furpe")
    experts = write_experts_folder(base / "experts", seed=0)
    images = photo_folder(base / "images", ("im1010.jpg", "messi5.jpg"))
    out = network_run(images, base / "run", experts)
    dest = base / "export"
    code, output = run_cli("export", str(out), "--format", "furpe", "--dest", str(dest))
    assert code == 0, output
    return out, dest, output
