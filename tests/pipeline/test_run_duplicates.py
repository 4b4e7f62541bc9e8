"""One candidate per person, end to end: no image keeps two labels of the same person (the demo
on the shipped photos, and a run whose OpenPose files list one person three times), the
duplicates are in the audit as ``duplicate_person`` at the keypoint stage, and the decision is
the same whether an image's people share a shard or each sit in their own, on 1 or 2 workers."""

from __future__ import annotations

import json
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import DEFAULT_DUPLICATE_OKS, pairwise_oks
from furpe_label.selection.step1_keypoints import confident_mask
from tests.support.pipeline_support import audit_frame, run_cli, store_arrays
from tests.support.real_data import SPIN_EXAMPLE

pytestmark = pytest.mark.slow

HEAD_AND_SHOULDERS = [0, 1, 2, 5, 15, 16, 17, 18]
"""OpenPose BODY_25 nose, neck, shoulders, eyes and ears: what a head-and-shoulders box holds."""


def _same_person_pairs(out: Path) -> list[tuple[str, int, int, float]]:
    """(image, sample, sample, OKS) of every two rows of one image that both got past the
    keypoint stage's duplicate rule (kept, or dropped later) with OKS at the threshold."""
    frame = audit_frame(out)
    keypoints = store_arrays(out)["keypoints2d"]
    confident = confident_mask(keypoints, SelectionConfig())
    alive = frame[~frame["drop_reason"].isin(["duplicate_person"]) & (frame["n_confident_kp"] > 0)]
    pairs = []
    for image, rows in alive.groupby("image_path"):
        samples = rows["sample_idx"].tolist()
        for a, b in combinations(samples, 2):
            oks = pairwise_oks(keypoints[[a, b]], confident[[a, b]])[0, 1]
            if oks >= DEFAULT_DUPLICATE_OKS:
                pairs.append((image, a, b, oks))
    return pairs


def test_the_demo_keeps_no_person_twice(demo_run):
    frame = audit_frame(demo_run)
    assert (frame["drop_stage"] == "kept").any()
    assert _same_person_pairs(demo_run) == []
    kept = frame[frame["drop_stage"] == "kept"]
    assert not kept.duplicated(["image_path", "person_idx"]).any()


def _openpose_person(body: np.ndarray) -> dict:
    return {
        "person_id": [-1],
        "pose_keypoints_2d": body.reshape(-1).tolist(),
        "face_keypoints_2d": [0.0] * 70 * 3,
        "hand_left_keypoints_2d": [0.0] * 21 * 3,
        "hand_right_keypoints_2d": [0.0] * 21 * 3,
    }


def _inputs(root: Path) -> tuple[Path, Path]:
    """``three.jpg``: SPIN's real photo, its OpenPose file listing the man three times (as
    found, 1.5 px off, and only his head and shoulders); ``two.jpg``: the same photo, the file
    listing him and a second person 60 px to his right (two people)."""
    images, keypoints = root / "images", root / "openpose"
    images.mkdir(parents=True)
    keypoints.mkdir()
    people = json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())["people"]
    body = np.asarray(people[0]["pose_keypoints_2d"], np.float64).reshape(25, 3)
    shifted = body.copy()
    shifted[body[:, 2] > 0, :2] += 1.5
    head = np.zeros_like(body)
    head[HEAD_AND_SHOULDERS] = body[HEAD_AND_SHOULDERS]
    beside = body.copy()
    beside[body[:, 2] > 0, 0] += 60.0
    for name, bodies in (("three", (body, shifted, head)), ("two", (body, beside))):
        shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / f"{name}.jpg")
        listed = {"version": 1.3, "people": [_openpose_person(b) for b in bodies]}
        (keypoints / f"{name}_keypoints.json").write_text(json.dumps(listed))
    return images, keypoints


def _run(images: Path, keypoints: Path, out: Path, *extra: str) -> Path:
    """``furpe-label run`` on the image folder and its OpenPose files (``extra`` appended; the
    executor inline unless ``extra`` names one)."""
    executor = () if "--executor" in extra else ("--executor", "inline")
    code, output = run_cli(
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(images),
        "--openpose",
        str(keypoints),
        "--out",
        str(out),
        "--models",
        "synthetic",
        *executor,
        "--fitting-iterations",
        "4",
        *extra,
    )
    assert code == 0, output
    return out


def test_duplicates_are_audited_and_the_shard_plan_does_not_change_them(tmp_path):
    images, keypoints = _inputs(tmp_path)
    out = _run(images, keypoints, tmp_path / "one-shard")
    frame = audit_frame(out)
    by_image = {Path(p).name: rows for p, rows in frame.groupby("image_path")}
    three, two = by_image["three.jpg"], by_image["two.jpg"]
    assert len(three) == 3 and len(two) == 2
    duplicates = three[three["drop_reason"] == "duplicate_person"]
    assert len(duplicates) == 2, three[["sample_idx", "drop_reason", "drop_detail"]]
    assert (duplicates["drop_stage"] == "keypoints").all() and duplicates["drop_step"].isna().all()
    survivor = three[three["drop_reason"] != "duplicate_person"].iloc[0]
    # the most complete candidate stays: the full body, not the head and shoulders
    assert int(survivor["n_confident_kp"]) == int(three["n_confident_kp"].max()) >= 12
    assert all(
        f"same person as sample {survivor['sample_idx']}" in d for d in duplicates["drop_detail"]
    )
    labels = store_arrays(out)
    assert not labels["valid"][duplicates["sample_idx"].to_numpy()].any()
    assert (two["drop_reason"] != "duplicate_person").all()  # two people stay two
    assert _same_person_pairs(out) == []
    # every row in its own shard, on 2 Dask workers: each shard reads its image's other rows and
    # decides the same, whichever worker runs it
    split_run = _run(
        images,
        keypoints,
        tmp_path / "split",
        "--shard-size",
        "1",
        "--executor",
        "dask",
        "--workers",
        "2",
    )
    split = audit_frame(split_run)
    assert split["shard"].nunique() == len(split) == len(frame)
    assert split["drop_reason"].tolist() == frame["drop_reason"].tolist()
    assert split["drop_stage"].tolist() == frame["drop_stage"].tolist()
    assert np.array_equal(store_arrays(split_run)["valid"], labels["valid"])
