"""``.npz`` members are inflated only when used, and only within the limits of
:mod:`furpe_label.experts.safe_load.limits` (checked before inflating)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.safe_load import (
    NpzMembers,
    SafeLoadError,
    SizeLimitError,
    npz_archive,
    safe_load_npz,
)
from furpe_label.experts.safe_load import limits as safe_limits
from furpe_label.workflows.datasets.readers import DatasetError, load_npz
from tests.support.doubles.npz_bombs import lie_about_size, npy_header, write_zero_bomb_npz
from tests.support.paths import REPO_ROOT
from tests.support.pipeline_support import spin_layout_h36m

BOMB_BYTES = 128 * 2**20  # over NPZ_INFLATION_CHECKED_FROM, ~1000-fold: 130 kB on disk


@pytest.fixture(scope="module")
def bomb_npz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bombs") / "bomb.npz"
    return write_zero_bomb_npz(path, BOMB_BYTES, plain={"small": np.arange(6.0)})


def test_a_zip_bomb_member_is_refused_before_inflating(bomb_npz):
    assert bomb_npz.stat().st_size < BOMB_BYTES / 500
    members = NpzMembers(bomb_npz)
    assert sorted(members) == ["bomb", "small"]
    np.testing.assert_array_equal(members["small"], np.arange(6.0))  # the rest stays readable
    with pytest.raises(SizeLimitError, match=r"bomb\.npz:bomb: refused: the member inflates"):
        members["bomb"]
    with pytest.raises(SizeLimitError, match="MAX_NPZ_INFLATION"):
        safe_load_npz(bomb_npz)


def test_a_member_declaring_more_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, big=np.random.default_rng(0).normal(size=4096))
    monkeypatch.setattr(npz_archive, "MAX_NPZ_MEMBER_BYTES", 4096)
    with pytest.raises(SizeLimitError, match=r"big\.npz:big: refused: .*declares 32896 bytes"):
        NpzMembers(path)["big"]
    assert safe_limits.MAX_NPZ_MEMBER_BYTES >= 2**31  # the real limit reads real files


def _member(path: Path, shape: tuple[int, ...], data_bytes: int) -> Path:
    """Member ``x``: a header for ``shape`` float64, then ``data_bytes`` zero bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header(shape) + bytes(data_bytes))
    return path


def test_a_stream_inflating_past_its_declared_size_stops_there(tmp_path):
    path = _member(tmp_path / "lie.npz", (1000,), 8000 + 2**22)
    lie_about_size(path, "x.npy", len(npy_header((1000,))) + 8000)  # the directory says small
    with pytest.raises(SafeLoadError, match=r"lie\.npz:x: cannot be read: BadZipFile.*CRC"):
        NpzMembers(path)["x"]


def test_a_header_announcing_more_than_the_declared_size_is_refused(tmp_path):
    path = _member(tmp_path / "short.npz", (10**12,), 64)
    with pytest.raises(SafeLoadError, match=r"short\.npz:x: .*more than the \d+ bytes"):
        NpzMembers(path)["x"]
    _member(path, (10**5,), 64)  # 800 kB announced, 64 bytes stored ...
    lie_about_size(path, "x.npy", 10**6)  # ... and the directory says 1 MB
    with pytest.raises(SafeLoadError, match=r"short\.npz:x: cannot be read: .*truncated"):
        NpzMembers(path)["x"]


def test_a_dataset_bomb_member_is_named_in_a_dataset_error(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    path = root / "h36m_train.npz"
    names = np.load(path)["imgname"]
    rebuilt = {key: value for key, value in np.load(path).items() if key != "scale"}
    write_zero_bomb_npz(path, BOMB_BYTES, bomb="scale", plain=rebuilt)
    assert len(names) == 2
    data = load_npz(path)
    with pytest.raises(DatasetError, match=r"h36m_train\.npz:scale: refused: the member inflates"):
        data["scale"]


MEMORY_DRIVER = """
import resource, sys
from pathlib import Path
from furpe_label.workflows.datasets.npz_layouts import npz_columns
path = Path(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
columns = npz_columns(path, path.parent, lambda name: ("S1", "seq", 0))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(columns["image_path"]), (after - before) * 1024)
"""


def test_unused_members_of_a_dataset_npz_are_never_inflated(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    path = root / "h36m_train.npz"
    write_zero_bomb_npz(path, BOMB_BYTES, bomb="unused_padding", append=True)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_DRIVER, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=True,
    )
    rows, grown = map(int, result.stdout.split())
    assert rows == 2
    assert grown < BOMB_BYTES / 2, f"reading the dataset grew the process by {grown} bytes"


def test_many_small_bombs_are_refused_together(tmp_path):
    path = tmp_path / "many.npz"
    data = npy_header((6 * 2**20 // 8,)) + bytes(6 * 2**20)  # 6 MiB each: under the member check
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(12):
            archive.writestr(f"m{index}.npy", data)
    members = NpzMembers(path)
    assert members["m0"].shape == (6 * 2**20 // 8,)  # one is fine
    with pytest.raises(SizeLimitError, match=r"many\.npz:m\d+: refused: .*archive's members"):
        safe_load_npz(path)
