"""The fixed top-level folders install as furpe_label.<folder>, in wheels and editable."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT as ROOT

TOP_FOLDERS = ("pipeline", "experts", "selection", "storage", "workflows")


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {f"furpe_label.{f}": f for f in TOP_FOLDERS}
    return set(config["packages"])


def test_every_package_folder_is_declared():
    on_disk = {
        "furpe_label." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in TOP_FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert on_disk == _declared_packages()


def test_installed_package_resolves_to_repository_folders():
    import furpe_label.experts.bodymodels.loading as module

    assert Path(module.__file__).resolve() == ROOT / "experts/bodymodels/loading.py"


@pytest.mark.slow
def test_wheel_maps_folders_under_furpe_label(tmp_path):
    source = tmp_path / "source"
    ignored = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=ignored)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("furpe_label-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _declared_packages():
        assert package.replace(".", "/") + "/__init__.py" in names
    assert "furpe_label/workflows/cli.py" in names
    assert not any(name.split("/")[0] in (*TOP_FOLDERS, "tests") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "furpe-label = furpe_label.workflows.cli:main" in text
