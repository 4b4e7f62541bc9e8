"""Track linking (pipeline.tracking): crossing people, gaps, people entering and leaving, ids
that do not depend on the row order, and the manifest's track_id column."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.pipeline.tracking import TrackingConfig, link_tracks, with_track_ids
from furpe_label.storage.manifest import build_manifest_table

BOX = np.array([0.0, 0.0, 50.0, 100.0])


def _rows(people: dict[str, list[tuple[int, float, float]]], video: str = "/v.mp4"):
    """Rows (video, frame, box) of people given as name -> [(frame, x, y)], and the names."""
    videos, frames, boxes, names = [], [], [], []
    for name, track in people.items():
        for frame, x, y in track:
            videos.append(video)
            frames.append(frame)
            boxes.append(BOX + np.array([x, y, 0.0, 0.0]))
            names.append(name)
    return videos, frames, np.array(boxes), names


def _ids_by_name(ids: np.ndarray, names: list[str]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for track, name in zip(ids.tolist(), names, strict=True):
        out.setdefault(name, set()).add(track)
    return out


def test_crossing_people_keep_their_ids():
    """A walks right, B walks left, 10 px apart vertically: their boxes overlap most at the
    crossing (IoU 0.75 at frame 5), where the constant-velocity prediction keeps them apart."""
    people = {
        "a": [(f, 20.0 * f, 0.0) for f in range(11)],
        "b": [(f, 200.0 - 20.0 * f, 10.0) for f in range(11)],
    }
    videos, frames, boxes, names = _rows(people)
    ids = link_tracks(videos, frames, boxes)
    by_name = _ids_by_name(ids, names)
    assert len(by_name["a"]) == len(by_name["b"]) == 1 and by_name["a"] != by_name["b"]


def test_keypoints_separate_people_whose_boxes_coincide():
    """Two people standing still in one box each, the boxes identical, the keypoints apart:
    OKS matches each to itself whatever order the rows come in."""
    rng = np.random.default_rng(0)
    left, right = np.zeros((137, 3)), np.zeros((137, 3))
    body = np.arange(25)
    left[body, :2] = rng.uniform([0, 0], [20, 100], (25, 2))
    right[body, :2] = rng.uniform([30, 0], [50, 100], (25, 2))
    left[body, 2] = right[body, 2] = 0.9
    videos, frames, boxes, points, names = [], [], [], [], []
    for frame in range(6):
        order = [("l", left), ("r", right)][:: 1 if frame % 2 else -1]
        for name, kp in order:
            videos.append("/v.mp4")
            frames.append(frame)
            boxes.append(BOX)
            points.append(kp + np.array([0.5 * frame, 0.0, 0.0]))
            names.append(name)
    ids = link_tracks(videos, frames, np.array(boxes), np.array(points))
    by_name = _ids_by_name(ids, names)
    assert len(by_name["l"]) == len(by_name["r"]) == 1 and by_name["l"] != by_name["r"]
    iou_only = _ids_by_name(link_tracks(videos, frames, np.array(boxes)), names)
    assert iou_only["l"] == iou_only["r"] == {0, 1}  # without keypoints the boxes are a tie


def test_a_short_gap_keeps_the_track_a_long_one_ends_it():
    config = TrackingConfig(max_missed_frames=2)
    short = [(f, 5.0 * f, 0.0) for f in (0, 1, 2, 5, 6)]  # frames 3, 4 missed
    long = [(f, 300 + 5.0 * f, 0.0) for f in (0, 1, 2, 6, 7)]  # frames 3, 4, 5 missed
    anchor = [(f, 900.0, 0.0) for f in range(8)]  # every frame 0..7 is in the video's rows
    videos, frames, boxes, names = _rows({"short": short, "long": long, "anchor": anchor})
    ids = link_tracks(videos, frames, boxes, config=config)
    assert len(_ids_by_name(ids, names)["short"]) == 1
    long_ids = ids[np.array(names) == "long"].tolist()
    assert long_ids[:3] == [long_ids[0]] * 3 and long_ids[3] == long_ids[4] != long_ids[0]


def test_frames_without_anybody_count_for_the_gap():
    """An empty frame is a manifest row with no box: it is a frame of the video all the same."""
    videos, frames, boxes, _ = _rows({"a": [(0, 0.0, 0.0), (1, 0.0, 0.0), (4, 0.0, 0.0)]})
    empty = np.full((2, 4), np.nan)
    ids = link_tracks(
        [*videos, "/v.mp4", "/v.mp4"],
        [*frames, 2, 3],
        np.concatenate([boxes, empty]),
        config=TrackingConfig(max_missed_frames=1),
    )
    assert ids.tolist() == [0, 0, 1, -1, -1]


def test_people_entering_and_leaving_get_new_ids_never_reused():
    people = {
        "stays": [(f, 0.0, 0.0) for f in range(8)],
        "leaves": [(f, 200.0, 0.0) for f in range(3)],
        "enters": [(f, 400.0, 0.0) for f in range(4, 8)],
        "late": [(f, 200.0, 0.0) for f in range(7, 8)],  # where "leaves" was, 4 frames later
    }
    videos, frames, boxes, names = _rows(people)
    ids = link_tracks(videos, frames, boxes, config=TrackingConfig(max_missed_frames=3), first_id=7)
    by_name = _ids_by_name(ids, names)
    assert by_name == {"stays": {7}, "leaves": {8}, "enters": {9}, "late": {10}}


def test_ids_do_not_depend_on_row_order_and_videos_are_separate():
    people = {
        "a": [(f, 10.0 * f, 0.0) for f in range(5)],
        "b": [(f, 150.0, 5.0 * f) for f in range(5)],
    }
    v1 = _rows(people, "/b.mp4")
    v2 = _rows(people, "/a.mp4")
    videos = v1[0] + v2[0] + [None, "/a.mp4"]
    frames = v1[1] + v2[1] + [None, 9]
    boxes = np.concatenate([v1[2], v2[2], BOX[None], np.full((1, 4), np.nan)])
    ids = link_tracks(videos, frames, boxes)
    assert ids[-2:].tolist() == [-1, -1]  # a still image; a frame without a box
    assert set(ids[len(v1[0]) : -2].tolist()) == {0, 1}  # /a.mp4 comes first
    assert set(ids[: len(v1[0])].tolist()) == {2, 3}
    order = np.random.default_rng(3).permutation(len(videos))
    shuffled = link_tracks([videos[i] for i in order], [frames[i] for i in order], boxes[order])
    assert shuffled.tolist() == ids[order].tolist()


def test_a_tall_box_does_not_hand_its_track_to_a_smaller_person_it_overlaps():
    """The person pre-pass's boxes on vtest.avi frames 220-228 (pixels): a 239-px HOG box at
    the top right, over the walking couple (208 px tall in frame 222), then, after two frames
    without it, a 107-px BlazePose box around a man in dark clothes walking below (inside the
    tall box: IoU 0.46, heights 1.94x apart). Before the height gate the man took the tall
    box's track."""
    videos = ["/vtest.avi"] * 7
    frames = [220, 221, 222, 225, 226, 227, 228]
    boxes = np.array(
        [
            [679, 122, 89, 239],
            [679, 122, 89, 239],
            [685, 148, 83, 208],
            [664, 215, 104, 107],
            [654, 210, 114, 116],
            [637, 197, 131, 141],
            [640, 200, 125, 125],
        ],
        np.float64,
    )
    ids = link_tracks(videos, frames, boxes)
    assert len(set(ids[:3].tolist())) == 1 and len(set(ids[3:].tolist())) == 1
    assert ids[0] != ids[3]
    loose = link_tracks(videos, frames, boxes, config=TrackingConfig(max_height_ratio=2.5))
    assert len(set(loose.tolist())) == 1  # without the height gate: one track


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one entry per row"):
        link_tracks(["/v.mp4"], [0, 1], BOX[None])
    with pytest.raises(ValueError, match="without a frame index"):
        link_tracks(["/v.mp4"], [None], BOX[None])
    with pytest.raises(ValueError, match=r"keypoints must be \(N=1, 137, 3\)"):
        link_tracks(["/v.mp4"], [0], BOX[None], np.zeros((1, 137, 2)))
    with pytest.raises(ValueError, match="min_iou must be in"):
        TrackingConfig(min_iou=0.0)
    with pytest.raises(ValueError, match="max_missed_frames must be a non-negative integer"):
        TrackingConfig(max_missed_frames=-1)
    for ratio in (0.5, float("nan"), True):
        with pytest.raises(ValueError, match="max_height_ratio must be a"):
            TrackingConfig(max_height_ratio=ratio)


def test_manifest_track_ids_keep_the_dataset_ones_and_number_the_rest_after_them():
    table = build_manifest_table(
        {
            "dataset": ["d"] * 6,
            "image_path": ["/i.jpg", None, None, None, None, "/p.jpg"],
            "video_path": [None, "/v.mp4", "/v.mp4", "/v.mp4", "/v.mp4", None],
            "frame_index": [None, 0, 1, 2, 3, None],
            "person_idx": [0, 0, 0, 0, None, 0],
            "track_id": [None, None, None, None, None, 4],
            "box_xywh": np.array([BOX, BOX, BOX + 2, BOX + 4, [np.nan] * 4, BOX]),
        }
    )
    linked = with_track_ids(table)
    assert linked.column("track_id").to_pylist() == [None, 4, 5, 5, 5, None]  # sorted by path
    assert linked.schema == table.schema
    images = build_manifest_table({"dataset": ["d"], "image_path": ["/i.jpg"]})
    assert with_track_ids(images) is images


def test_track_oks_is_the_duplicate_rule_oks():
    """The tracker's (A, B) OKS equals selection.duplicates.pairwise_oks of each pair."""
    from furpe_label.pipeline.track_matching import _oks_matrix
    from furpe_label.selection.duplicates import pairwise_oks

    rng = np.random.default_rng(5)
    points = rng.uniform(0, 200, (5, 137, 3))
    points[..., 2] = rng.uniform(0, 1, (5, 137))
    points[1, :40] = np.nan
    config = TrackingConfig()
    oks, shared = _oks_matrix(points[:2], points[2:], config)
    for a in range(2):
        for b in range(3):
            pair = points[[a, 2 + b]]
            confident = np.isfinite(pair).all(-1) & (np.nan_to_num(pair[..., 2]) >= 0.2)
            assert shared[a, b] == (confident[0] & confident[1]).sum()
            assert oks[a, b] == pytest.approx(pairwise_oks(pair, confident)[0, 1], abs=1e-12)
