"""The split run's intermediate file: written atomically with its digest, read back exactly,
and refused (None: the keypoint task runs again) when missing, damaged or for other rows."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason, Stage
from furpe_label.pipeline.keypoint_files import keypoints_file, read_keypoints, write_keypoints
from furpe_label.pipeline.keypoint_stage import ShardKeypoints
from furpe_label.pipeline.shard_observe import ShardKeypointResult
from furpe_label.storage.run_journal import RunJournal


def _result(start: int = 10, count: int = 5) -> ShardKeypointResult:
    rng = np.random.default_rng(3)
    keypoints = ShardKeypoints(
        keypoints=rng.normal(size=(count, 137, 3)).astype(np.float32),
        failure=[Reason.OK, Reason.NO_PERSON, Reason.OK, Reason.IMAGE_UNREADABLE, Reason.OK],
        detail=["", "no person box was found", "grown box [1, 2, 3, 4]", "caf\udcc3.jpg: bad", ""],
        world_landmarks=np.full((count, 33, 3), np.nan, np.float32),
        detector="mediapipe 0.10.21",
    )
    keypoints.world_landmarks[0] = 0.25
    return ShardKeypointResult(
        sample_idx=np.arange(start, start + count, dtype=np.int64),
        chunk_rows=np.array([3, 2], np.int64),
        keypoints=keypoints,
        step1={"n_confident_kp": np.arange(count, dtype=np.int16)},
        step1_ok=np.array([True, False, True, False, True]),
        seconds={Stage.INPUT: 0.5, Stage.KEYPOINTS: 2.0},
    )


def _written(tmp_path, result: ShardKeypointResult):
    path = keypoints_file(tmp_path, 2)
    digest = write_keypoints(path, result, RunJournal(tmp_path))
    return path, digest


def test_round_trip_is_exact_and_leaves_no_temporary(tmp_path):
    result = _result()
    path, digest = _written(tmp_path, result)
    assert path == tmp_path / "shard_keypoints" / "00002.npz"
    assert sorted(p.name for p in path.parent.iterdir()) == ["00002.npz"]
    back, read_digest = read_keypoints(path, result.sample_idx, digest)
    assert read_digest == digest
    np.testing.assert_array_equal(back.keypoints.keypoints, result.keypoints.keypoints)
    np.testing.assert_array_equal(back.keypoints.world_landmarks, result.keypoints.world_landmarks)
    assert back.keypoints.failure == result.keypoints.failure
    assert back.keypoints.detail == result.keypoints.detail  # a lone surrogate survives
    assert back.keypoints.detector == result.keypoints.detector
    np.testing.assert_array_equal(back.step1_ok, result.step1_ok)
    np.testing.assert_array_equal(back.step1["n_confident_kp"], result.step1["n_confident_kp"])
    np.testing.assert_array_equal(back.chunk_rows, result.chunk_rows)
    assert back.seconds == result.seconds
    np.testing.assert_array_equal(back.chunk(1).step1_ok, result.step1_ok[3:])


def test_the_same_result_gives_the_same_bytes_and_digest(tmp_path):
    first, digest = _written(tmp_path / "a", _result())
    second, again = _written(tmp_path / "b", _result())
    assert digest == again
    assert first.read_bytes() == second.read_bytes()


def _flip_a_byte_inside_an_array(path):
    data = bytearray(path.read_bytes())
    position = data.index(b"\x93NUMPY") + 200  # inside the first array's data
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def _change_a_value_keeping_the_zip_valid(path):
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["keypoints"][0, 0, 0] += 1.0  # the stored sha256 entry is kept as it was
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _not_a_zip(path):
    path.write_bytes(b"not an npz file")


def _drop_an_entry(path):
    with zipfile.ZipFile(path) as old:
        entries = {name: old.read(name) for name in old.namelist() if name != "step1_ok.npy"}
    with zipfile.ZipFile(path, "w") as new:
        for name, data in entries.items():
            new.writestr(name, data)


@pytest.mark.parametrize(
    "damage",
    [
        _flip_a_byte_inside_an_array,
        _change_a_value_keeping_the_zip_valid,
        _truncate,
        _not_a_zip,
        _drop_an_entry,
    ],
)
def test_a_damaged_file_is_refused_with_a_warning(tmp_path, caplog, damage):
    result = _result()
    path, _ = _written(tmp_path, result)
    damage(path)
    assert read_keypoints(path, result.sample_idx) is None
    assert "damaged" in caplog.text and str(path) in caplog.text


def test_missing_file_other_rows_or_another_digest_are_refused(tmp_path):
    result = _result()
    assert read_keypoints(keypoints_file(tmp_path, 2), result.sample_idx) is None
    path, digest = _written(tmp_path, result)
    assert read_keypoints(path, result.sample_idx + 1) is None
    assert read_keypoints(path, result.sample_idx, "0" * 64) is None
    assert read_keypoints(path, result.sample_idx, digest) is not None
