"""People followed over a real street video: 12 frames of OpenCV's ``vtest.avi`` (cropped, 2x,
``tests/data/opencv_samples/vtest_crop12.mp4``) through ``furpe-label run``, then the tracks
read back from the manifest, the audit (with the temporal score) and the label store.

Hand-checked on the frames (drawn with their boxes and ids): a man standing at the left
(x ~ 75-95 px) is in all 12 frames; a man in black walks right below the centre (box x from
~247 to ~370 px over frames 0-8; the BlazePose box around him is square and wider, HOG's
tight); a couple walks at the top right."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.storage.manifest import column_array, read_manifest
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.samplers import TrackClipSampler
from tests.support.pipeline_support import audit_frame, store_arrays

pytestmark = pytest.mark.slow


def test_people_keep_their_track_over_the_frames_of_a_real_video(crop12_run):
    out = crop12_run
    manifest = read_manifest(out)
    frames = np.array(manifest.column("frame_index").to_pylist())
    tracks = np.array(manifest.column("track_id").to_pylist())
    boxes = column_array(manifest, "box_xywh")[0]
    assert set(frames) == set(range(12)) and (tracks >= 0).all()
    for frame in range(12):  # one id per person of a frame
        assert len(set(tracks[frames == frame])) == (frames == frame).sum()
    standing = boxes[:, 0] < 150
    assert [f for f in range(12) if (standing & (frames == f)).sum() == 1] == list(range(12))
    assert len(set(tracks[standing])) == 1
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    walking = (frames <= 8) & (centre[:, 1] > 250) & (centre[:, 0] > 250)
    assert len(set(frames[walking])) >= 8, boxes[walking]
    assert len(set(tracks[walking])) == 1 and set(tracks[walking]) != set(tracks[standing])

    audit = audit_frame(out).sort_values("sample_idx")
    assert audit["track_id"].astype(int).tolist() == tracks.tolist()
    accel = audit["temporal_accel_rad"].to_numpy(dtype=float)  # scored inside each shard
    first = [int(np.flatnonzero(tracks == track)[0]) for track in set(tracks.tolist())]
    assert np.isnan(accel[first]).all()  # no previous frame
    assert np.isfinite(accel[standing]).sum() >= 4  # frames with both neighbours in the shard
    stored = store_arrays(out)["track_id"]
    assert stored.dtype == np.int64 and stored.tolist() == tracks.tolist()

    dataset = LabelDataset(out / "labels.zarr", kept_only=False)
    followed = {track.track_id: track for track in dataset.tracks(min_valid=0)}
    man = followed[int(tracks[standing][0])]
    assert man.sample_idx.tolist() == np.flatnonzero(standing).tolist()  # in frame order
    assert man.frame.tolist() == list(range(12))
    clips = list(TrackClipSampler([man], clip_length=4, shuffle=False))
    assert [frames[clip].tolist() for clip in clips] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
