"""Helpers of the pipeline tests: input folders with good and bad files, run invocations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import skimage.data
from click.testing import CliRunner
from PIL import Image

from furpe_label.storage.audit import read_audit
from furpe_label.storage.label_store import LabelStore
from furpe_label.workflows.cli import main
from tests.support.real_data import REAL_DATA, SPIN_EXAMPLE

TIMING_COLUMNS = (
    "seconds_input",
    "seconds_keypoints",
    "seconds_experts",
    "seconds_fusion",
    "seconds_reprojection",
    "seconds_signals",
)

BAD_FILES = {
    "zero_bytes.jpg": "image_unreadable",
    "truncated.jpg": "image_unreadable",
    "not_an_image.png": "image_unreadable",
    "tiny.png": "image_too_small",
    "huge.png": "image_too_large",
}


def image_folder_with_bad_files(folder: Path) -> Path:
    """Real photos (as files in odd formats: grey, RGBA, 16-bit) plus broken files."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", folder / "im1010.jpg")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "astronaut_rgba.png")  # RGB, alpha added below
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(folder / "astronaut_rgba.png")
    grey = cv2.imread(str(REAL_DATA / "opencv_samples" / "basketball1.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(folder / "basketball_grey.png"), grey)
    cv2.imwrite(str(folder / "camera16.png"), skimage.data.camera().astype(np.uint16) * 257)
    (folder / "zero_bytes.jpg").write_bytes(b"")
    data = (folder / "im1010.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "not_an_image.png").write_text("hello")
    Image.new("RGB", (8, 8)).save(folder / "tiny.png")
    Image.new("L", (12000, 24)).save(folder / "huge.png")
    return folder


def run_cli(*args: str) -> tuple[int, str]:
    """``furpe-label ARGS`` in this process (models stay cached between runs)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def audit_frame(out: Path):
    """The run's audit as a pandas frame sorted by sample_idx, timing columns dropped."""
    table: pa.Table = read_audit(Path(out) / "audit")
    frame = table.to_pandas().sort_values("sample_idx").reset_index(drop=True)
    return frame.drop(columns=list(TIMING_COLUMNS))


def store_arrays(out: Path) -> dict[str, np.ndarray]:
    """Every label array of the run."""
    store = LabelStore.open(Path(out) / "labels.zarr")
    return {name: store.array(name)[:] for name in store.names}


def spin_layout_h36m(root: Path, *, drops: bool = False) -> Path:
    """A SPIN-layout Human3.6M fixture (``h36m_train.npz``) on the real SPIN example photo:
    its real OpenPose body keypoints, its box, and 3D joints (S) for the ground-truth error.

    Two rows (S1, S9) on the photo; with ``drops`` three more rows that leave the pipeline at
    known places: ``S11`` names a missing image (dropped at input), ``S5`` has no confident
    keypoint (dropped at the keypoints, before fusion) and ``S6`` has the photo's keypoints with
    the head moved down to the feet, so its body is fused but reprojects far from them.
    """
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    names = ["images/S1_Directions_1.54138969_000001.jpg", "images/S9_Walking.60457274_000006.jpg"]
    for name in names:
        shutil.copy(SPIN_EXAMPLE / "im1010.jpg", root / name)
    people = json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())["people"]
    body = np.asarray(people[0]["pose_keypoints_2d"], np.float64).reshape(25, 3)
    x, y, w, h = json.loads((SPIN_EXAMPLE / "im1010_bbox.json").read_text())["bbox"]
    keypoints = [body, body]
    if drops:
        extra = ["images/S11_Eating.55011271_000001.jpg", "images/S5_Phoning.58860488_000001.jpg"]
        extra.append("images/S6_Posing.55011271_000001.jpg")
        for name in extra[1:]:
            shutil.copy(SPIN_EXAMPLE / "im1010.jpg", root / name)
        names += extra
        keypoints += [body, body * [1.0, 1.0, 0.0], _head_at_feet(body)]
    count = len(names)
    rng = np.random.default_rng(0)
    joints = np.concatenate([rng.normal(0, 0.3, (count, 24, 3)), np.ones((count, 24, 1))], -1)
    np.savez(
        root / "h36m_train.npz",
        imgname=np.array(names),
        center=np.array([[x + w / 2, y + h / 2]] * count),
        scale=np.array([max(w, h) / 200.0] * count),
        part=np.zeros((count, 24, 3)),
        S=joints,
        openpose=np.stack(keypoints),
    )
    return root


_HEAD = (0, 15, 16, 17, 18)
"""BODY_25 nose, eyes and ears."""
_ANKLES = (11, 14)


def _head_at_feet(body: np.ndarray) -> np.ndarray:
    """(25, 3) BODY_25 keypoints (x, y, conf) with the head moved down to the ankles: no body
    can bend its neck that far, so a fitted body reprojects far from them."""
    out = body.copy()
    shift = body[list(_ANKLES), :2].mean(0) - body[0, :2]
    out[list(_HEAD), :2] += shift
    return out
