"""A SPIN-layout Human3.6M ``h36m_train.npz`` of any size, written member by member in row
blocks (the writer stays small at 10^6 rows): ``imgname`` (Human3.6M's names in SPIN's order:
subject, action as listed, take, camera, every 5th frame), ``center``, ``scale``, ``part``,
``S`` and ``openpose`` (about 2.1 KB a row, as SPIN's file). No image is written."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

from tests.support.real_data import SPIN_EXAMPLE

ACTIONS = (
    "Directions",
    "Discussion",
    "Eating",
    "Greeting",
    "Phoning",
    "Posing",
    "Purchases",
    "Sitting",
    "SittingDown",
    "Smoking",
    "Photo",
    "Waiting",
    "Walking",
    "WalkDog",
    "WalkTogether",
)
CAMERAS = ("54138969", "55011271", "58860488", "60457274")
SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
BLOCK = 65_536


def h36m_names(rows: int) -> np.ndarray:
    """``rows`` Human3.6M image names in SPIN's order (every 5th frame of each sequence)."""
    sequences = [
        f"{subject}_{action}_{take}.{camera}"
        for subject in SUBJECTS
        for action in ACTIONS
        for take in (1, 2)
        for camera in CAMERAS
    ]
    frames = -(-rows // len(sequences))
    names = [
        f"images/{sequence}_{5 * k + 1:06d}.jpg" for sequence in sequences for k in range(frames)
    ]
    return np.array(names[:rows])


def _write_member(archive: zipfile.ZipFile, name: str, dtype, shape, block) -> None:
    """One ``.npy`` member written block by block: ``block(start, stop)`` gives the rows."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
    header["shape"] = shape
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(member, header)
        for start in range(0, shape[0], BLOCK):
            stop = min(start + BLOCK, shape[0])
            member.write(np.ascontiguousarray(block(start, stop), dtype=dtype).tobytes())


def write_spin_h36m(path: Path, rows: int, seed: int = 0) -> Path:
    """A SPIN-layout ``h36m_train.npz`` of ``rows`` rows (see the module docstring)."""
    names = h36m_names(rows)
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        _write_member(archive, "imgname", names.dtype, (rows,), lambda a, b: names[a:b])
        _write_member(
            archive,
            "center",
            np.float64,
            (rows, 2),
            lambda a, b: 500 + rng.normal(0, 20, (b - a, 2)),
        )
        _write_member(
            archive, "scale", np.float64, (rows,), lambda a, b: 4 + rng.normal(0, 0.2, b - a)
        )
        _write_member(
            archive, "part", np.float64, (rows, 24, 3), lambda a, b: rng.random((b - a, 24, 3))
        )
        _write_member(
            archive,
            "S",
            np.float64,
            (rows, 24, 4),
            lambda a, b: np.concatenate(
                [rng.normal(0, 0.3, (b - a, 24, 3)), np.ones((b - a, 24, 1))], -1
            ),
        )
        _write_member(
            archive,
            "openpose",
            np.float64,
            (rows, 25, 3),
            lambda a, b: rng.random((b - a, 25, 3)) * [1000, 1000, 1],
        )
    return path


def spin_h36m_with_photos(root: Path, rows: int) -> Path:
    """A SPIN-layout ``h36m_train.npz`` of ``rows`` rows, each its own hard link to SPIN's
    example photo (so every row is its own image, as in Human3.6M), with the photo's OpenPose
    body keypoints (``openpose``), its box and random 3D joints."""
    names = h36m_names(rows)
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(SPIN_EXAMPLE / "im1010.jpg", target)
        except OSError:
            shutil.copy(SPIN_EXAMPLE / "im1010.jpg", target)
    people = json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())["people"]
    body = np.asarray(people[0]["pose_keypoints_2d"], np.float64).reshape(25, 3)
    x, y, w, h = json.loads((SPIN_EXAMPLE / "im1010_bbox.json").read_text())["bbox"]
    rng = np.random.default_rng(0)
    joints = np.concatenate([rng.normal(0, 0.3, (rows, 24, 3)), np.ones((rows, 24, 1))], -1)
    np.savez(
        root / "h36m_train.npz",
        imgname=names,
        center=np.tile([x + w / 2, y + h / 2], (rows, 1)),
        scale=np.full(rows, max(w, h) / 200.0),
        S=joints,
        openpose=np.tile(body, (rows, 1, 1)),
    )
    return root
