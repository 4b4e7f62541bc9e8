"""SPIN npz files read in row blocks: the same manifest as read whole, members streamed from
stored and deflated archives, and what cannot stream read whole."""

from __future__ import annotations

import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from furpe_label.storage.manifest import read_manifest
from furpe_label.workflows.datasets import create_adapter
from furpe_label.workflows.datasets.npz_blocks import npz_column_blocks
from furpe_label.workflows.datasets.npz_stream import npz_row_blocks, streamable_members
from furpe_label.workflows.datasets.readers import DatasetError
from furpe_label.workflows.datasets.spin_npz import parse_h36m_name
from tests.support.spin_h36m import write_spin_h36m


def _same_file(tmp_path, table, path) -> None:
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole)
    assert read_manifest(path).equals(read_manifest(whole), check_metadata=True)


def test_h36m_written_in_blocks_equals_the_manifest_built_whole(tmp_path):
    root = tmp_path / "h36m"
    npz = write_spin_h36m(root / "h36m_train.npz", 1000)
    with np.load(npz) as data:  # two rows of one image: person_idx 0 and 1 in file order
        names = data["imgname"].copy()
        members = {name: data[name] for name in data.files}
    names[7] = names[900]
    np.savez(npz, **{**members, "imgname": names})
    adapter = create_adapter("h36m", root=root)
    path = tmp_path / "manifest.parquet"
    assert adapter.write_manifest(path, row_group_rows=128) == 1000
    _same_file(tmp_path, adapter.build_manifest(), path)
    table = read_manifest(path, columns=["image_path", "person_idx"]).to_pylist()
    shared = [row["person_idx"] for row in table if row["image_path"].endswith(str(names[900]))]
    assert shared == [0, 1]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_blocks_of_stored_and_deflated_members(tmp_path, compression):
    npz = write_spin_h36m(tmp_path / "stored.npz", 300)
    copy = tmp_path / "copy.npz"
    with zipfile.ZipFile(npz) as source, zipfile.ZipFile(copy, "w", compression) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    with np.load(npz) as data:
        expected = {name: data[name] for name in ("imgname", "S")}
    blocks = list(npz_row_blocks(copy, ["imgname", "S"], block_rows=128))
    assert [len(block["S"]) for block in blocks] == [128, 128, 44]
    for name, value in expected.items():
        np.testing.assert_array_equal(np.concatenate([b[name] for b in blocks]), value)
    columns = list(npz_column_blocks(copy, tmp_path, parse_h36m_name, block_rows=128))
    assert len(columns) == 3 and "person_idx" not in columns[0]


def test_object_members_and_lying_headers_are_not_streamed(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, good=np.zeros((5, 2)), objects=np.array([{"a": 1}], dtype=object))
    with zipfile.ZipFile(path, "a") as archive:  # header says 100 rows, data holds 5
        header = (
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (100,), }"
        )
        archive.writestr("liar.npy", header.ljust(10 + 118, b" ")[:127] + b"\n" + bytes(40))
    assert sorted(streamable_members(path)) == ["good"]
    with pytest.raises(DatasetError, match="cannot be read in blocks"):
        next(npz_row_blocks(path, ["good", "objects"]))
    with pytest.raises(DatasetError, match=r"odd\.npz"):  # read whole by the safe loader: refused
        list(npz_column_blocks(path, tmp_path, parse_h36m_name))


def _constant_spin(path, rows: int, members: tuple[str, ...]) -> None:
    """A SPIN-layout npz of ``rows`` rows whose values are all alike (deflated ~1000-fold):
    ``imgname``, ``center``, ``scale`` and ``members`` (each SPIN's shape, float64 zeros)."""
    shapes = {"S": (24, 4), "openpose": (25, 3), "part": (24, 3)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        columns = {"imgname": np.array(["images/S1_Walking.54138969_000001.jpg"] * 8192)}
        columns |= {"center": np.full((8192, 2), 500.0), "scale": np.full(8192, 4.0)}
        columns |= {name: np.zeros((8192, *shapes[name])) for name in members}
        for name, block in columns.items():
            header = {"descr": np.lib.format.dtype_to_descr(block.dtype), "fortran_order": False}
            header["shape"] = (rows, *block.shape[1:])
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_2_0(member, header)
                for start in range(0, rows, len(block)):
                    member.write(block[: min(len(block), rows - start)].tobytes())


@pytest.mark.parametrize(
    ("rows", "members", "refusal"),
    [
        (90_000, ("S",), r"h36m_train\.npz:S: refused: the member inflates \d+-fold"),
        (60_000, ("S", "openpose"), r"h36m_train\.npz:openpose: refused: .*archive's members"),
    ],
    ids=["one bomb member", "members inflating together"],
)
def test_streamed_members_are_held_to_the_safe_loaders_limits(tmp_path, rows, members, refusal):
    root = tmp_path / "h36m"
    root.mkdir()
    path = root / "h36m_train.npz"
    _constant_spin(path, rows, members)
    assert path.stat().st_size < 400_000  # 70 to 90 MB of rows inflated
    assert "S" in streamable_members(path)  # the headers are honest: it would stream
    with pytest.raises(DatasetError, match=refusal + ".*MAX_NPZ_INFLATION"):
        next(npz_row_blocks(path, ["imgname", "center", "scale", *members]))
    adapter = create_adapter("h36m", root=root)
    with pytest.raises(DatasetError, match=refusal):  # what check and run say
        adapter.write_manifest(tmp_path / "manifest.parquet")


def test_members_beyond_the_whole_member_cap_still_stream(tmp_path, monkeypatch):
    """The member size cap bounds a whole-member read; a streamed member is read one block at a
    time, so a member past the cap (here lowered to 64 kB) streams in full, while the whole-member
    loader refuses the same member."""
    from furpe_label.experts.safe_load import SizeLimitError, npz_archive, safe_load_npz

    root = tmp_path / "h36m"
    npz = write_spin_h36m(root / "h36m_train.npz", 1000)  # S: 1000 x 24 x 4 float64, 768 kB
    monkeypatch.setattr(npz_archive, "MAX_NPZ_MEMBER_BYTES", 65_536)
    with np.load(npz) as data:
        expected = data["S"]
    blocks = list(npz_row_blocks(npz, ["S"], block_rows=256))
    np.testing.assert_array_equal(np.concatenate([block["S"] for block in blocks]), expected)
    with pytest.raises(SizeLimitError, match="MAX_NPZ_MEMBER_BYTES"):
        safe_load_npz(npz)["S"]
