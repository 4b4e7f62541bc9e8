"""Every convention change between the label store and the export formats, in one place.

The store (:data:`~furpe_label.storage.schema.CONVENTIONS`) holds absolute finger rotations
(``flat_hand_mean=True``), OpenPose-137 keypoints with NaN-free pixels, a weak-perspective
camera ``x = s * (X[:2] + [tx, ty])`` in the body crop's normalised frame where ``X`` are the
SMPL-X points *with* ``transl``, and per-part validity in ``part_valid``. The formats differ:

==========  ==============  ======================  ==================================
format      hand poses      2D keypoints            a missing (suppressed) part
==========  ==============  ======================  ==================================
furpe       mean-relative   (not in the file)       its keys are left out of the dict
expose      absolute        OpenPose-137 (ExPose's  the part's keypoint confidences are
                            ``openpose25+hands+     0 (ExPose decides hand / head
                            face``)                 presence from them)
humandata   absolute,       mmhuman3d's 190-point   the part's keypoint confidences and
            ``misc.flat_    ``human_data`` (see     box 5th column are 0, ``meta``
            hand_mean``     :mod:`.humandata_       ``*_valid`` False; SMPLer-X's files
                            keypoints`)             (``smplerx/``, one per set of usable
                                                    parts) leave the part's pose keys out
                                                    and its points out of the mask
==========  ==============  ======================  ==================================
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.keypoints.conventions import convert
from furpe_label.experts.vocabulary import Part

__all__ = [
    "FORMAT_KEYPOINTS",
    "camera_translation_without_transl",
    "export_keypoints",
    "finite_keypoints",
    "hands_relative_to_mean",
    "zero_missing_part_confidences",
]

STORE_KEYPOINTS = "openpose137"
"""The store's 2D keypoint convention (:mod:`furpe_label.experts.keypoints.conventions`)."""

FORMAT_KEYPOINTS: dict[str, tuple[str, str]] = {
    "expose": ("openpose137", "openpose25+hands+face"),
}
"""format -> (this project's convention, the name the format's own code uses for it)."""


def export_keypoints(keypoints2d: np.ndarray, fmt: str) -> np.ndarray:
    """The store's detected keypoints in format ``fmt``'s convention.

    Args:
        keypoints2d: (B, 137, 3) float32 ``(x, y, confidence)``, image pixels.

    Returns:
        (B, K, 3) float32 with non-finite points replaced by ``(0, 0, 0)`` (no detection).
    """
    points = np.asarray(keypoints2d, dtype=np.float32)
    converted, _ = convert(points, STORE_KEYPOINTS, FORMAT_KEYPOINTS[fmt][0])
    return finite_keypoints(converted)


def finite_keypoints(keypoints2d: np.ndarray) -> np.ndarray:
    """Keypoints with every non-finite point replaced by ``(0, 0, 0)`` (no detection).

    Args:
        keypoints2d: (B, K, 3) ``(x, y, confidence)``, image pixels.

    Returns:
        A float32 copy, (B, K, 3).
    """
    out = np.array(keypoints2d, dtype=np.float32, copy=True)
    out[~np.isfinite(out).all(axis=-1)] = 0.0
    return out


def zero_missing_part_confidences(keypoints: np.ndarray, part_valid: np.ndarray) -> np.ndarray:
    """OpenPose-137 keypoints with the confidence of every keypoint of an invalid part set to 0.

    Args:
        keypoints: (B, 137, 3) ``(x, y, confidence)``.
        part_valid: (B, 4) bool in ``Part`` order.

    Returns:
        A copy, (B, 137, 3).
    """
    out = np.array(keypoints, copy=True)
    for part in Part:
        out[~part_valid[:, part.column], part.keypoint_slice, 2] = 0.0
    return out


def hands_relative_to_mean(hand_pose: np.ndarray, hand_mean: np.ndarray) -> np.ndarray:
    """Absolute finger rotations -> rotations relative to the mean hand (``flat_hand_mean=False``
    meaning, what FuRPE's files hold and ``smplx.SMPLX`` adds its ``hands_mean`` back to).

    Args:
        hand_pose: (B, 15, 3) absolute axis-angle, radians.
        hand_mean: (15, 3) the SMPL-X model's ``hands_meanl`` / ``hands_meanr`` (same side).

    Returns:
        (B, 15, 3) float32 ``hand_pose - hand_mean``.
    """
    return (np.asarray(hand_pose, np.float32) - np.asarray(hand_mean, np.float32)).astype(
        np.float32
    )


def camera_translation_without_transl(camera: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """The weak-perspective translation for a mesh posed *without* ``transl``.

    The store's camera projects ``X + transl``: ``s * (X[:2] + transl[:2] + [tx, ty])``; a
    format whose vertices leave ``transl`` out (FuRPE) gets ``[tx, ty] + transl[:2]`` so the
    projection is unchanged (weak perspective ignores depth).

    Args:
        camera: (B, 3) ``[s, tx, ty]``.
        transl: (B, 3) metres.

    Returns:
        (B, 2) float32 translation in the body crop's normalised frame.
    """
    return (np.asarray(camera, np.float64)[:, 1:] + np.asarray(transl, np.float64)[:, :2]).astype(
        np.float32
    )
