"""Step 3's camera per row: the dataset's intrinsics (perspective) where the manifest has them,
else the body expert's weak-perspective camera in the body crop.

The experts predict SPIN's weak-perspective camera ``[s, tx, ty]`` in the normalised body crop.
Where the manifest gives the image's focal length and principal point (Human3.6M,
MPI-INF-3DHP, HumanData ``cam_param``), that camera becomes the full-image pinhole camera that
agrees with it at the body's root (CLIFF's crop -> full-image conversion): with the crop centre
``c`` (px) and ``h`` image pixels per normalised crop unit,

    Tz = mean(f / (h s)),   Tx = tx + (c_x - p_x) Tz / f_x,   Ty = ty + (c_y - p_y) Tz / f_y,

and the fused body projects through ``K [I | T]``: the perspective of a close or wide-angle
shot (Human3.6M: f ~ 1 145 px on 1 000 px images) is then scored as the camera saw it, not as
an orthographic image. Rows without intrinsics keep the weak-perspective camera, scored in the
same call so the stored columns do not depend on which rows share a shard.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch

from furpe_label.experts.geometry.cameras import PerspectiveCamera, WeakPerspectiveCamera
from furpe_label.experts.vocabulary import Part
from furpe_label.selection import BodyCropFrame, score_reprojection
from furpe_label.selection.step3_inputs import Step3Inputs
from furpe_label.storage.manifest import column_array

__all__ = ["intrinsics", "perspective_from_weak", "score_step3", "weak_step3_inputs"]


def intrinsics(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 2) focal px, (N, 2) principal point px and (N,) bool: both given and usable."""
    n = table.num_rows
    if "focal" not in table.column_names or "principal_point" not in table.column_names:
        return np.full((n, 2), np.nan), np.full((n, 2), np.nan), np.zeros(n, bool)
    focal, has_focal = column_array(table, "focal")
    centre, has_centre = column_array(table, "principal_point")
    usable = has_focal & has_centre & np.isfinite(focal).all(-1) & np.isfinite(centre).all(-1)
    usable &= (np.nan_to_num(focal) > 0).all(-1)
    return focal.astype(np.float64), centre.astype(np.float64), usable


def perspective_from_weak(
    cam: np.ndarray, frame: BodyCropFrame, focal: np.ndarray, principal: np.ndarray
) -> PerspectiveCamera:
    """The pinhole camera equal to weak-perspective ``cam`` at the root (module docstring).

    Args:
        cam: (B, 3) ``[s, tx, ty]`` (normalised crop units per metre, metres).
        frame: the B body crops.
        focal: (B, 2) px; principal: (B, 2) px (the original image).

    Returns:
        :class:`PerspectiveCamera` with (B, 3) translation in metres.
    """
    corners = frame.norm_to_image(
        np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]).repeat(len(cam), 0)
    )
    centre = corners[:, 0]
    half = np.stack(
        [
            np.linalg.norm(corners[:, 1] - centre, axis=-1),
            np.linalg.norm(corners[:, 2] - centre, axis=-1),
        ],
        axis=-1,
    )  # (B, 2) image px per normalised unit
    scale = np.asarray(cam[:, 0], np.float64)
    depth = (focal / (half * scale[:, None])).mean(-1)
    shift = np.asarray(cam[:, 1:3], np.float64) + (centre - principal) * depth[:, None] / focal
    translation = np.concatenate([shift, depth[:, None]], axis=-1)
    return PerspectiveCamera(
        translation=torch.as_tensor(translation, dtype=torch.float32),
        focal=torch.as_tensor(focal, dtype=torch.float32),
        principal=torch.as_tensor(principal, dtype=torch.float32),
    )


def score_step3(models, fused, transl, experts, keypoints, usable, step3_rows, table):
    """Step 3 of the fused labels ``fused`` (the candidates: the fusion of every part with a
    finite output, the what-if contract; or the stored labels, for their projection), each row
    with its camera (module docstring); ``usable`` (N, 4) bool: the parts the overall values
    cover. Returns the step 3 columns and (N, 137, 2) projected keypoints (image pixels)."""
    params = {**fused.smplx_params(), "transl": np.nan_to_num(transl)}
    cam = np.nan_to_num(fused.camera, nan=1.0)
    affines = experts.affines[:, Part.BODY.column].copy()
    no_crop = ~np.isfinite(affines).all(axis=(1, 2))
    affines[no_crop] = np.eye(2, 3)  # rows step 3 does not score: any invertible frame
    frame = BodyCropFrame(affines)
    focal, principal, has = intrinsics(table)
    perspective = step3_rows & has & (cam[:, 0] > 0)
    runs = [(WeakPerspectiveCamera(torch.as_tensor(cam)), step3_rows & ~perspective)]
    if perspective.any():
        fill = np.where(has[:, None], focal, 1.0), np.where(has[:, None], principal, 0.0)
        runs.append((perspective_from_weak(cam, frame, *fill), perspective))
    out, projected = None, None
    for camera, rows in runs:
        scores, points = score_reprojection(
            models.openpose_layer,
            params,
            camera,
            frame,
            keypoints,
            usable,
            models.selection,
            rows=rows,
        )
        if out is None:
            out, projected = scores, points
            continue
        for name, values in scores.items():
            out[name] = (
                np.where(rows, values, out[name]) if name != "step3_scored" else out[name] | values
            )
        projected = np.where(rows[:, None, None], points, projected)
    return out, projected


def weak_step3_inputs(models, candidate, transl, experts, keypoints, step3_rows) -> Step3Inputs:
    """What the signal scores reproject with: the weak-perspective camera in the body crop
    (step 3 itself uses each row's camera, :mod:`furpe_label.pipeline.step3_cameras`)."""
    camera = WeakPerspectiveCamera(torch.as_tensor(np.nan_to_num(candidate.camera, nan=1.0)))
    affines = experts.affines[:, Part.BODY.column].copy()
    no_crop = ~np.isfinite(affines).all(axis=(1, 2))
    affines[no_crop] = np.eye(2, 3)  # rows step 3 does not score: any invertible frame
    return Step3Inputs(
        models.openpose_layer,
        camera,
        BodyCropFrame(affines),
        keypoints,
        np.nan_to_num(transl),
        models.selection,
        step3_rows,
    )
