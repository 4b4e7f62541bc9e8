"""Selection step 3: the fused SMPL-X body reprojects onto the detected keypoints.

FuRPE's paper drops a sample when "the MSE" of the reprojected keypoints exceeds 1.5, without
units, frame or code (its public repository has no step 3). Here the error is defined and
stored in two frames so the threshold can be chosen, and changed, from data:

* keypoints compared: OpenPose-137 keypoints that are confident by the step-1 rule (conf >=
  part threshold), have finite detected x, y, and have an SMPL-X counterpart (pupils never;
  the face contour only for a layer built with ``use_face_contour``);
* per keypoint, the Euclidean distance ``d`` between the projected and the detected point;
  per part: count, mean squared distance ``mean(d^2)`` (the x and y squares summed: twice
  the per-coordinate MSE of ``torch.nn.MSELoss``) and mean distance ``mean(d)``;
* in image **pixels**, and in the body crop's **normalised** frame ([-1, 1] across the crop,
  SPIN's "edges" convention by default), through the body crop's image -> crop affine;
* overall values are recomputed from the per-part ones over the parts valid after step 2
  (:func:`overall_reprojection`), so a what-if on step 2 re-derives them exactly. Contract:
  step 3 scores the fusion of every part expert with a finite output; the written label then
  suppresses parts by ``part_valid``. Suppressing a hand leaves every body keypoint in place,
  so the per-part errors do not depend on any threshold (with PyMAF-X's head-from-face option
  a suppressed face does move the head: score with the candidate fusion, as stated).

Cameras: :class:`WeakPerspectiveCamera` (SPIN's ``[s, tx, ty]``) and :class:`D2SCamera` map to
the normalised body crop; :class:`PerspectiveCamera` (dataset intrinsics, e.g. Human3.6M's
focal length and principal point, with a translation) maps to image pixels.

Default threshold: ``max_mse = 0.08`` in the normalised frame (RMS distance 0.28, i.e. 14% of
the crop side), chosen from a measured distribution (``tests/benchmarks/bench_selection.py``,
synthetic truth of ``tests/benchmarks/reprojection_study.py``: 8 192 people, pinhole cameras,
detector noise and outliers, 30% gross errors — facing backwards, random pose, camera off,
mirrored). With SPIN-like expert errors the good labels' mean squared distance has median
0.023 / 95th percentile 0.091 and the gross errors' 10th percentile is 0.078; 0.08 maximises
Youden's J there (keeps 93% of good labels, drops 90% of gross errors: 92% backwards, 96%
random pose, 98% camera, 73% mirrored). With experts half or zero as wrong the best threshold
is lower (0.046, 0.026) but 0.08 still keeps >= 99.8% of good labels and drops 88%. The
normalised frame is used because it does not scale with the person's size in pixels: in
pixels the same study keeps 95% of good labels only while dropping 65% of gross errors.
FuRPE's 1.5 drops nothing in this frame (and everything in pixels^2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from furpe_label.experts.geometry.cameras import D2SCamera, PerspectiveCamera, WeakPerspectiveCamera
from furpe_label.experts.geometry.crop_transform import (
    NormalizedConvention,
    crop_to_normalized,
    normalized_to_crop,
    transform_points,
)
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.step1_keypoints import check_keypoints2d, confident_mask

__all__ = [
    "BodyCropFrame",
    "Camera",
    "overall_reprojection",
    "project_keypoints",
    "reprojection_status",
    "score_reprojection",
]

Camera = WeakPerspectiveCamera | PerspectiveCamera | D2SCamera
_STATS = ("mse_px", "mse_norm", "mean_px", "mean_norm")
_FIRST_HAND_JOINT = 25  # smplx full-pose row of the first left-hand joint
# Parts are contiguous in OpenPose-137: their slice starts (sorted) for np.add.reduceat, and
# the Part order of the reduced columns.
_BY_START = sorted(Part, key=lambda part: part.keypoint_slice.start)
_PART_STARTS = np.array([part.keypoint_slice.start for part in _BY_START])
_PART_ORDER = np.array([_BY_START.index(part) for part in Part])


@dataclass(frozen=True)
class BodyCropFrame:
    """The body crop of N persons: the frame of weak-perspective cameras.

    Attributes:
        affine: (N, 2, 3) image -> crop pixels (pixel-centre convention, as
            :mod:`furpe_label.experts.geometry.crop_transform`).
        size: crop side, pixels (SPIN 224).
        convention: crop-normalised convention ("edges": SPIN; see ``NORMALIZED_CONVENTIONS``).
    """

    affine: np.ndarray
    size: int = 224
    convention: NormalizedConvention = "edges"

    def __post_init__(self) -> None:
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.ndim != 3 or affine.shape[1:] != (2, 3):
            raise ValueError(f"body crop affine must be (N, 2, 3), got {affine.shape}")
        object.__setattr__(self, "affine", affine)
        (a, b), (c, d) = affine[:, 0, :2].T, affine[:, 1, :2].T  # closed-form 2x2 inverse
        with np.errstate(divide="ignore", invalid="ignore"):
            linear = (
                np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], 1)
                / (a * d - b * c)[:, None, None]
            )
        shift = -(linear @ affine[:, :, 2:])
        object.__setattr__(self, "_inverse", np.concatenate([linear, shift], axis=-1))

    def take(self, index: np.ndarray) -> BodyCropFrame:
        """The rows ``index`` only."""
        return dataclasses.replace(self, affine=self.affine[index])

    def image_to_norm(self, points: np.ndarray) -> np.ndarray:
        """(N, K, 2) image pixels -> normalised crop coordinates."""
        crop = transform_points(points, self.affine)
        return crop_to_normalized(crop, self.size, self.convention)

    def norm_to_image(self, points: np.ndarray) -> np.ndarray:
        """(N, K, 2) normalised crop coordinates -> image pixels."""
        crop = normalized_to_crop(np.asarray(points, dtype=np.float64), self.size, self.convention)
        return transform_points(crop, self._inverse)


def _take_camera(camera: Camera, index: np.ndarray, n_rows: int) -> Camera:
    """The rows ``index`` of every per-row tensor of ``camera`` (first dimension N)."""
    values = {}
    for field in dataclasses.fields(camera):
        value = getattr(camera, field.name)
        if value is None:
            values[field.name] = None
            continue
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.shape[0] != n_rows:
            raise ValueError(f"camera {field.name} has {value.shape[0]} rows, expected {n_rows}")
        values[field.name] = value[torch.as_tensor(index)]
    return type(camera)(**values)


def _check_layer(layer: OpenPoseFromSMPLX) -> None:
    if layer.pose_mean[_FIRST_HAND_JOINT:].abs().max() > 0:
        raise ValueError(
            "step 3 needs a keypoint layer built from a model loaded with "
            "flat_hand_mean=True: fused hand poses are absolute rotations"
        )


def _project(
    layer: OpenPoseFromSMPLX,
    params: Mapping[str, np.ndarray],
    camera: Camera,
    frame: BodyCropFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """(b, 137, 2) float64 projected keypoints in image pixels and in the normalised crop."""
    tensors = {name: torch.as_tensor(value, dtype=torch.float32) for name, value in params.items()}
    with torch.no_grad():
        points, _ = layer(**tensors)
        projected = camera.project(points).double().numpy()
    if isinstance(camera, PerspectiveCamera):
        return projected, frame.image_to_norm(projected)
    return frame.norm_to_image(projected), projected


def score_reprojection(
    layer: OpenPoseFromSMPLX,
    params: Mapping[str, np.ndarray],
    camera: Camera,
    frame: BodyCropFrame,
    keypoints2d: np.ndarray,
    part_valid: np.ndarray,
    config: SelectionConfig,
    rows: np.ndarray | None = None,
    chunk_size: int = 4096,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Step 3 scores of N persons.

    Args:
        layer: OpenPose-137 keypoints of SMPL-X, built with ``flat_hand_mean=True``.
        params: fused SMPL-X parameters by smplx name, each (N, ...) (global_orient (N, 3),
            body_pose (N, 21, 3), betas (N, B), left/right_hand_pose (N, 15, 3) absolute,
            jaw/leye/reye_pose (N, 3), expression (N, E), transl (N, 3) metres optional),
            axis-angle radians.
        camera: per-row camera (module docstring), tensors with first dimension N.
        frame: the body crops (N rows).
        keypoints2d: (N, 137, 3) detected ``(x, y, conf)``, image pixels.
        part_valid: (N, 4) bool, parts valid after step 2 (they form the overall values).
        config: the confidence thresholds.
        rows: optional (N,) bool, the rows to score (``step3_scored``); default all.
        chunk_size: rows per batched forward.

    Returns:
        The step 3 columns of ``METRIC_COLUMNS`` ((N,) each, NaN / 0 for rows not scored),
        and (N, 137, 2) float32 projected keypoints in image pixels (NaN where unmapped or
        not scored).
    """
    _check_layer(layer)
    detected = check_keypoints2d(keypoints2d)
    n = len(detected)
    part_valid = np.asarray(part_valid, dtype=bool)
    if part_valid.shape != (n, len(Part)):
        raise ValueError(f"part_valid must be ({n}, 4), got {part_valid.shape}")
    for name, value in params.items():
        if len(value) != n:
            raise ValueError(f"parameter {name} has {len(value)} rows, expected {n}")
    scored = np.ones(n, bool) if rows is None else np.asarray(rows, dtype=bool).reshape(n)
    det_px = detected[..., :2].astype(np.float64)
    use = confident_mask(detected, config) & np.isfinite(det_px).all(-1)
    use &= layer.op_mask.cpu().numpy()[None] & scored[:, None]
    proj_px = np.full((n, 137, 2), np.nan)
    proj_norm = np.full((n, 137, 2), np.nan)
    index = np.flatnonzero(scored)
    for start in range(0, len(index), chunk_size):
        chunk = index[start : start + chunk_size]
        chunk_params = {name: np.asarray(value)[chunk] for name, value in params.items()}
        proj_px[chunk], proj_norm[chunk] = _project(
            layer, chunk_params, _take_camera(camera, chunk, n), frame.take(chunk)
        )
    det_norm = frame.image_to_norm(det_px)
    out: dict[str, np.ndarray] = {"step3_scored": scored}
    counts = np.add.reduceat(use, _PART_STARTS, axis=1)[:, _PART_ORDER]  # (N, 4) Part order
    safe = np.where(counts > 0, counts, 1)
    for part in Part:
        out[f"reproj_n_kp_{part.value}"] = counts[:, part.column].astype(np.int16)
    for frame_name, projected, target in (("px", proj_px, det_px), ("norm", proj_norm, det_norm)):
        with np.errstate(invalid="ignore"):
            squared = np.where(use, ((projected - target) ** 2).sum(-1), 0.0)  # (N, 137)
        sums = {"mse": squared, "mean": np.sqrt(squared)}
        for stat, values in sums.items():
            per_part = np.add.reduceat(values, _PART_STARTS, axis=1)[:, _PART_ORDER] / safe
            per_part = np.where(counts > 0, per_part, np.nan).astype(np.float32)
            for part in Part:
                out[f"reproj_{stat}_{frame_name}_{part.value}"] = per_part[:, part.column]
    out.update({k: v.astype(np.float32) for k, v in overall_reprojection(out, part_valid).items()})
    mapped = layer.op_mask.cpu().numpy()[None, :, None] & scored[:, None, None]
    return out, np.where(mapped, proj_px, np.nan).astype(np.float32)


def project_keypoints(
    layer: OpenPoseFromSMPLX,
    params: Mapping[str, np.ndarray],
    camera: Camera,
    frame: BodyCropFrame,
    rows: np.ndarray,
    chunk_size: int = 4096,
) -> np.ndarray:
    """(N, 137, 2) float64 keypoints of ``params`` projected as step 3 projects them, in the
    normalised body crop, on ``rows`` ((N,) bool; NaN elsewhere and where unmapped); no
    scores (for the signals that project variants of the candidate many times)."""
    _check_layer(layer)
    n = len(frame.affine)
    out = np.full((n, 137, 2), np.nan)
    index = np.flatnonzero(np.asarray(rows, dtype=bool).reshape(n))
    for start in range(0, len(index), chunk_size):
        chunk = index[start : start + chunk_size]
        chunk_params = {name: np.asarray(value)[chunk] for name, value in params.items()}
        _, out[chunk] = _project(
            layer, chunk_params, _take_camera(camera, chunk, n), frame.take(chunk)
        )
    return np.where(layer.op_mask.cpu().numpy()[None, :, None], out, np.nan)


def overall_reprojection(
    metrics: Mapping[str, np.ndarray], part_valid: np.ndarray
) -> dict[str, np.ndarray]:
    """Overall step 3 values over the parts in ``part_valid``, from the per-part columns.

    Args:
        metrics: ``reproj_n_kp_{part}``, ``reproj_{mse,mean}_{px,norm}_{part}`` (N,) each.
        part_valid: (N, 4) bool.

    Returns:
        float64 (N,) ``reproj_n_kp``, ``reproj_mse_px``, ``reproj_mse_norm``,
        ``reproj_mean_px``, ``reproj_mean_norm``, ``reproj_rms_px``, ``reproj_rms_norm``
        (NaN where no keypoint is compared).
    """
    part_valid = np.asarray(part_valid, dtype=bool)
    counts = (
        np.stack(
            [np.asarray(metrics[f"reproj_n_kp_{part.value}"], np.float64) for part in Part], axis=1
        )
        * part_valid
    )
    total = counts.sum(1)
    out = {"reproj_n_kp": total}
    for stat in _STATS:
        values = np.stack(
            [np.asarray(metrics[f"reproj_{stat}_{part.value}"], np.float64) for part in Part], 1
        )
        weighted = np.where(counts > 0, counts * values, 0.0).sum(1)
        mean = weighted / np.where(total > 0, total, 1)
        out[f"reproj_{stat}"] = np.where(total > 0, mean, np.nan)
    for frame_name in ("px", "norm"):
        out[f"reproj_rms_{frame_name}"] = np.sqrt(out[f"reproj_mse_{frame_name}"])
    return out


def reprojection_status(overall_mse: np.ndarray, config: SelectionConfig) -> np.ndarray:
    """Step 3 keep rule: (N,) :class:`Reason` from the overall mean squared distance in
    ``config.mse_frame``: ``ok`` when ``<= max_mse``, ``reprojection_error`` when greater
    (inf included), ``reprojection_unverifiable`` when NaN (nothing to compare)."""
    mse = np.asarray(overall_mse, dtype=np.float64)
    status = np.full(mse.shape, Reason.OK, dtype=object)
    status[mse > config.max_mse] = Reason.REPROJECTION_ERROR
    status[np.isnan(mse)] = Reason.REPROJECTION_UNVERIFIABLE
    return status
