"""The temporal signal: a label whose body pose jumps between the frames of its track.

Along a track (one person over a video, ``track_id``), a true body moves smoothly: each joint's
rotation changes at a nearly constant rate over a frame or two. A gross error in one frame (a
limb flipped, the body turned about its axis, a pose from another person) makes the joint's
rotation jump there and back. The score of a row is the largest **angular acceleration** over
its SMPL-X body rotations (the root ``global_orient`` and the 21 ``body_pose`` joints), in
rad/frame², from the row and its previous and next rows of the same track::

    w1 = log(R_prev^T R) / dt1,   w2 = log(R^T R_next) / dt2          (rad/frame, per joint)
    temporal_accel_rad = max over joints |w2 - w1| / ((dt1 + dt2) / 2)

``dt`` is the frame difference (a track may skip frames). A single wrong frame with a rotation
off by ``theta`` scores about ``2 theta`` itself and ``theta`` at its two neighbours, so the
keep rule (:func:`temporal_status`, ``max_temporal_accel``) drops the frame and, above
``theta`` = the limit, its neighbours too; the default 4 rad/frame² drops a frame flipped by
180° (2 pi) and not its neighbours (pi), and any single frame off by more than 2 rad.

**Where it is computed.** Inside the shard, on the candidate labels of the shard's own rows
(the fusion of every finite part output, as step 3 scores them), after fusion: a row whose
previous or next track row is in another shard, or has no candidate body, or a row of no track,
scores null and the rule keeps it (no evidence). The score therefore depends on the shard plan
(``--shard-size``, fixed for a run and checked on resume) but not on the worker count; a
resumed shard computes the same values. Choose a shard size that holds whole videos where the
signal matters (the default 10 240 rows hold most clips).

**What-if.** The rule reads the stored score only, so ``audit --what-if
temporal.max_temporal_accel=...`` and the report's slider re-decide it exactly. The score itself
reads the neighbours' candidate bodies, which exist where the run's step 1 let the experts run:
a what-if that changes ``step1.min_count`` keeps the run's scores (a fresh run with that count
could score a few rows next to the changed ones differently).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from furpe_label.experts.vocabulary import Reason

__all__ = ["temporal_acceleration", "temporal_status"]


def temporal_acceleration(
    track_id: np.ndarray, frame: np.ndarray, rotations: np.ndarray, usable: np.ndarray
) -> np.ndarray:
    """Per-row angular acceleration along its track (see the module docstring).

    Args:
        track_id: (N,) int64, -1 for rows of no track.
        frame: (N,) int64 frame number of each row in its video (rows of one track with equal
            frames count as one frame apart).
        rotations: (N, J, 3) axis-angle radians of the label's body rotations (root first).
        usable: (N,) bool, the row has a candidate body label.

    Returns:
        (N,) float32 rad/frame², NaN where the row has no usable previous and next track row.
    """
    track_id = np.asarray(track_id, np.int64)
    frame = np.asarray(frame, np.int64)
    rotations = np.asarray(rotations, np.float64)
    count = len(track_id)
    if frame.shape != (count,) or np.shape(usable) != (count,) or rotations.ndim != 3:
        raise ValueError(
            f"track_id {track_id.shape}, frame {frame.shape}, usable {np.shape(usable)} must be "
            f"(N,) and rotations (N, J, 3), got {rotations.shape}"
        )
    scores = np.full(count, np.nan, np.float32)
    ok = (track_id >= 0) & np.asarray(usable, bool) & np.isfinite(rotations).all(axis=(1, 2))
    for track in np.unique(track_id[ok]):
        rows = np.flatnonzero(ok & (track_id == track))
        rows = rows[np.lexsort((rows, frame[rows]))]
        if len(rows) < 3:
            continue
        joints = rotations.shape[1]
        matrices = Rotation.from_rotvec(rotations[rows].reshape(-1, 3))
        steps = (matrices[:-joints].inv() * matrices[joints:]).as_rotvec()
        dt = np.maximum(np.diff(frame[rows]), 1).astype(np.float64)
        velocity = steps.reshape(len(rows) - 1, joints, 3) / dt[:, None, None]
        change = np.linalg.norm(velocity[1:] - velocity[:-1], axis=-1).max(axis=1)
        scores[rows[1:-1]] = change / ((dt[1:] + dt[:-1]) / 2.0)
    return scores


def temporal_status(accel: np.ndarray, max_accel: float | None) -> np.ndarray:
    """(N,) :class:`Reason`: ``temporal_spike`` where ``accel > max_accel`` (a float32 score
    compared in float32, as numpy compares the stored column), else ``ok`` (a null score is
    no evidence; ``max_accel`` None turns the rule off)."""
    accel = np.asarray(accel, np.float32)
    status = np.full(accel.shape, Reason.OK, dtype=object)
    if max_accel is not None:
        status[accel > np.float32(max_accel)] = Reason.TEMPORAL_SPIKE
    return status
