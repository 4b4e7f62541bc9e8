"""The pseudo-label's error against the dataset's 3D ground truth (MPJPE, PA-MPJPE in mm).

Where a dataset has 3D joints (Human3.6M, MPI-INF-3DHP: SPIN's ``S``; Human3.6M json's
``joint_3d``), the fused SMPL-X body is compared on the joints both conventions share (by name,
through the convention table): the label's 3D OpenPose-137 points (metres) against the
dataset's joints (metres, validity in the 4th column). Both sets are centred on the mean of the
hips they share before MPJPE (the usual root alignment, with the hip midpoint as root because
SMPL-X's pelvis and the datasets' pelvis are regressed differently); PA-MPJPE first solves the
similarity (rotation, scale, translation) that best aligns the label to the truth (Umeyama).
The joint regressors differ (no H36M regressor exists for SMPL-X without licensed files), so the
numbers rank labels and thresholds; they are not benchmark-comparable MPJPEs.
"""

from __future__ import annotations

import numpy as np
import torch

from furpe_label.experts.fusion.fuse import FusedSmplx
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, mapping
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.vocabulary import Part
from furpe_label.pipeline.shard_inputs import ShardInputs

__all__ = ["MIN_SHARED_JOINTS", "gt_errors_mm", "label_errors_mm", "procrustes_align"]

MIN_SHARED_JOINTS = 6
"""Fewer valid shared joints than this give no error (NaN)."""

_HIPS = ("left_hip", "right_hip")


def procrustes_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity-align (K, 3) ``source`` to (K, 3) ``target`` (Umeyama); returns the moved
    source (K, 3)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    xs, xt = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(xt.T @ xs)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    var = (xs**2).sum()
    scale = float((sigma * np.diag(fix)).sum() / var) if var > 0 else 1.0
    return scale * xs @ rotation.T + mu_t


def gt_errors_mm(
    label_points: np.ndarray,
    gt_joints: np.ndarray,
    gt_convention: str,
    label_convention: str = "openpose137",
) -> tuple[np.ndarray, np.ndarray]:
    """MPJPE and PA-MPJPE of N labels, millimetres (NaN where they cannot be computed).

    Args:
        label_points: (N, K_label, 3) the label's 3D keypoints, metres (NaN rows: no label).
        gt_joints: (N, K_gt, 4) ground-truth joints x, y, z (metres) + validity (NaN rows:
            no ground truth).
        gt_convention: the convention name of ``gt_joints`` (e.g. ``spin24``, ``h36m17``).
        label_convention: the convention of ``label_points``.

    Returns:
        (mpjpe (N,), pa_mpjpe (N,)) float32 millimetres.
    """
    src, dst = mapping(label_convention, gt_convention)
    count = len(label_points)
    mpjpe = np.full(count, np.nan, np.float32)
    pa_mpjpe = np.full(count, np.nan, np.float32)
    names = KEYPOINT_NAMES[gt_convention]
    hips_dst = [
        int(np.flatnonzero(dst == names.index(hip))[0])
        for hip in _HIPS
        if hip in names and names.index(hip) in dst
    ]
    for row in range(count):
        label = np.asarray(label_points[row], np.float64)[src]
        truth = np.asarray(gt_joints[row], np.float64)[dst]
        ok = np.isfinite(label).all(1) & np.isfinite(truth).all(1) & (truth[:, 3] > 0)
        if ok.sum() < MIN_SHARED_JOINTS:
            continue
        hips = [h for h in hips_dst if ok[h]]
        root_label = label[hips].mean(0) if hips else label[ok].mean(0)
        root_truth = truth[hips, :3].mean(0) if hips else truth[ok, :3].mean(0)
        centred = label[ok] - root_label
        target = truth[ok, :3] - root_truth
        mpjpe[row] = 1000.0 * np.linalg.norm(centred - target, axis=1).mean()
        aligned = procrustes_align(label[ok], truth[ok, :3])
        pa_mpjpe[row] = 1000.0 * np.linalg.norm(aligned - truth[ok, :3], axis=1).mean()
    return mpjpe, pa_mpjpe


def label_errors_mm(
    layer: OpenPoseFromSMPLX,
    stored: FusedSmplx,
    candidate: FusedSmplx,
    kept: np.ndarray,
    inputs: ShardInputs,
) -> tuple[np.ndarray, np.ndarray]:
    """MPJPE and PA-MPJPE (mm) of the label of every shard row that reached fusion.

    Which SMPL-X parameters are measured:

    * a kept row: its stored label (the fusion of the parts selection kept), the label a
      trainer reads;
    * any other row that reached fusion (the candidate has a usable body: its body expert gave
      a finite output after step 1): the candidate, the fusion of every part with a finite
      output, the one step 3 scored (what a looser selection would weigh);
    * a row without a usable body (dropped at input, keypoints, step 1 or the body expert): no
      label, NaN.

    Args:
        layer: OpenPose-137 keypoints of SMPL-X (``flat_hand_mean=True``), metres.
        stored: the shard's stored labels (N rows).
        candidate: the shard's candidate labels (N rows): the fusion of every finite part.
        kept: (N,) bool rows kept by selection.
        inputs: the shard's manifest rows (``joints3d`` and ``joints3d_convention``).

    Returns:
        (mpjpe (N,), pa_mpjpe (N,)) float32; NaN where a row did not reach fusion, has no ground
        truth or its convention is unknown to the convention table.
    """
    kept = np.asarray(kept, dtype=bool)
    reached = candidate.part_valid[:, Part.BODY.column] & ~kept
    kept_mpjpe, kept_pa = _errors_mm(layer, stored, kept, inputs)
    other_mpjpe, other_pa = _errors_mm(layer, candidate, reached, inputs)
    return np.where(kept, kept_mpjpe, other_mpjpe), np.where(kept, kept_pa, other_pa)


def _errors_mm(
    layer: OpenPoseFromSMPLX, fused: FusedSmplx, measured: np.ndarray, inputs: ShardInputs
) -> tuple[np.ndarray, np.ndarray]:
    """MPJPE and PA-MPJPE (mm) of ``fused``'s (N,) bool ``measured`` rows against the ground
    truth; (N,) float32 each, NaN elsewhere and where a row has no (known) ground truth."""
    count = len(inputs)
    nan = np.full(count, np.nan, np.float32)
    conventions = inputs.table.column("joints3d_convention").to_pylist()
    rows = [r for r in range(count) if conventions[r] and measured[r]]
    if not rows:
        return nan, nan.copy()
    joints = inputs.float_column("joints3d")
    params = {
        name: torch.as_tensor(value[rows], dtype=torch.float32)
        for name, value in fused.smplx_params().items()
    }
    with torch.no_grad():
        points, _ = layer(**params)
    mpjpe, pa_mpjpe = nan.copy(), nan.copy()
    for convention in {conventions[r] for r in rows}:
        chosen = [i for i, r in enumerate(rows) if conventions[r] == convention]
        try:
            a, b = gt_errors_mm(
                points.numpy()[chosen], joints[[rows[i] for i in chosen]], convention
            )
        except KeyError:  # a convention the table does not know: no error, not a crash
            continue
        mpjpe[[rows[i] for i in chosen]], pa_mpjpe[[rows[i] for i in chosen]] = a, b
    return mpjpe, pa_mpjpe
