"""The manifest table: schema, sorting, sample_idx, null rows, Parquet round trip, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from furpe_label.storage.manifest import (
    MANIFEST_FILENAME,
    ManifestError,
    build_manifest_table,
    column_array,
    manifest_info,
    read_manifest,
    write_manifest,
)
from furpe_label.storage.manifest_columns import MANIFEST_COLUMNS, manifest_schema


def _table(n_people: int = 3) -> pa.Table:
    rng = np.random.default_rng(0)
    boxes = rng.uniform(0, 100, (n_people, 4))
    boxes[1] = np.nan
    return build_manifest_table(
        {
            "dataset": ["x"] * n_people,
            "image_path": ["/data/b.jpg", "/data/a.jpg", "/data/b.jpg"][:n_people],
            "person_idx": [1, 0, 0][:n_people],
            "box_xywh": boxes,
            "joints3d": rng.normal(size=(n_people, 17, 4)),
            "smpl_betas": rng.normal(size=(n_people, 10)),
            "keypoints2d": rng.uniform(size=(n_people, 137, 3)),
        },
        {"dataset": "x", "root": "/data"},
    )


def test_rows_sorted_by_image_then_person_and_numbered():
    table = _table()
    assert table.column("sample_idx").to_pylist() == [0, 1, 2]
    assert table.column("image_path").to_pylist() == ["/data/a.jpg", "/data/b.jpg", "/data/b.jpg"]
    assert table.column("person_idx").to_pylist() == [0, 0, 1]
    assert table.schema.names == [c.name for c in MANIFEST_COLUMNS]


def test_all_nan_row_is_null_and_values_follow_their_row():
    rng = np.random.default_rng(0)
    boxes = rng.uniform(0, 100, (3, 4))
    table = _table()
    values, valid = column_array(table, "box_xywh")
    # a.jpg (input row 1) had the NaN box; b.jpg person 0 is input row 2, person 1 input row 0
    assert valid.tolist() == [False, True, True]
    np.testing.assert_allclose(values[1], boxes[2], rtol=1e-6)
    np.testing.assert_allclose(values[2], boxes[0], rtol=1e-6)
    assert np.isnan(values[0]).all()


def test_parquet_round_trip_keeps_schema_metadata_and_values(tmp_path):
    table = _table()
    path = write_manifest(table, tmp_path)
    assert path == tmp_path / MANIFEST_FILENAME
    assert not list(tmp_path.glob(".*tmp"))
    back = read_manifest(tmp_path)
    assert back.equals(table.select(back.schema.names))
    assert manifest_info(back) == {"format_version": 1, "dataset": "x", "root": "/data"}
    for name in ("joints3d", "keypoints2d", "smpl_betas"):
        np.testing.assert_array_equal(column_array(back, name)[0], column_array(table, name)[0])
    assert column_array(back, "joints3d")[0].shape == (3, 17, 4)
    frame = pd.read_parquet(path)
    assert list(frame["sample_idx"]) == [0, 1, 2] and frame["box_xywh"][0] is None


def test_unknown_column_wrong_shape_and_missing_media_are_refused():
    with pytest.raises(ValueError, match="not manifest columns"):
        build_manifest_table({"dataset": ["x"], "image_path": ["/a"], "bbox": [[0, 0, 1, 1]]})
    with pytest.raises(ValueError, match="box_xywh"):
        build_manifest_table({"dataset": ["x"], "image_path": ["/a"], "box_xywh": np.zeros((1, 5))})
    with pytest.raises(ValueError, match="exactly one of image_path / video_path"):
        build_manifest_table({"dataset": ["x"], "frame": [1]})
    with pytest.raises(ValueError, match="frame_index"):
        build_manifest_table({"dataset": ["x"], "video_path": ["/v.mp4"]})


def test_video_rows_sort_by_frame(tmp_path):
    table = build_manifest_table(
        {"dataset": ["v"] * 3, "video_path": ["/v.mp4"] * 3, "frame_index": [2, 0, 1]}
    )
    assert table.column("frame_index").to_pylist() == [0, 1, 2]


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(ManifestError, match="manifest file not found"):
        read_manifest(tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(ManifestError, match=r"bad\.parquet: not a readable Parquet"):
        read_manifest(bad)
    other = tmp_path / "other.parquet"
    pq.write_table(_table().drop_columns(["focal"]).append_column("extra", pa.nulls(3)), other)
    with pytest.raises(ManifestError, match=r"missing column focal.*unexpected column extra"):
        read_manifest(other)


def test_schema_types_are_lists_of_the_documented_depth():
    schema = manifest_schema()
    assert schema.field("keypoints2d").type == pa.list_(pa.list_(pa.float32()))
    assert schema.field("box_xywh").type == pa.list_(pa.float32())
    assert not schema.field("sample_idx").nullable and schema.field("box_xywh").nullable


def test_read_selected_columns_and_row_range(tmp_path):
    n = 25
    table = build_manifest_table(
        {
            "dataset": ["x"] * n,
            "image_path": [f"/i/{k:03d}.jpg" for k in range(n)],
            "keypoints2d": np.ones((n, 137, 3)),
        }
    )
    path = write_manifest(table, tmp_path, row_group_size=10)
    assert pq.ParquetFile(path).num_row_groups == 3
    part = read_manifest(path, columns=["sample_idx", "keypoints2d"], rows=(10, 20))
    assert part.schema.names == ["sample_idx", "keypoints2d"]
    assert part.column("sample_idx").to_pylist() == list(range(10, 20))
    assert column_array(part, "keypoints2d")[0].shape == (10, 137, 3)
    with pytest.raises(ValueError, match="not manifest columns"):
        read_manifest(path, columns=["bbox"])
