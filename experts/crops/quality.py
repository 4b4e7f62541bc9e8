"""Per-crop quality records, so the audit can explain bad crops.

Crop scale and alignment drive part-expert error (RoboSMPLX), so every crop gets a record of its
pixel size, how much of it falls outside the image and how many of the part's confident keypoints
it contains. A crop is ``degenerate`` when it cannot be trusted at all; ``reason`` names why.

Box convention: ``xywh`` in pixels of the original image; the image occupies
``[0, W] x [0, H]`` (the clipping range used by the detectors and FrankMocap). A keypoint is
inside the box when ``x0 <= x <= x0 + w`` and ``y0 <= y <= y0 + h``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from furpe_label.experts.vocabulary import Reason

MIN_KEYPOINTS = 2

# Crop reasons are members of the project's one Reason enum (EMPTY_BOX, ZERO_AREA,
# OUTSIDE_IMAGE, TOO_FEW_KEYPOINTS).


@dataclass(frozen=True)
class CropQuality:
    """Quality of one crop.

    Attributes:
        side_px: longer box side, pixels (NaN for an empty box).
        outside_fraction: fraction of the box area outside the image, in [0, 1] (1 if empty).
        num_keypoints: confident keypoints of the part.
        num_inside: confident keypoints of the part inside the box.
        inside_fraction: ``num_inside / num_keypoints`` (0 when there is none).
        degenerate: the crop should not be used.
        reason: ``Reason.OK`` or the first failing check, in the order empty box, zero area,
            outside image, too few keypoints.
    """

    side_px: float
    outside_fraction: float
    num_keypoints: int
    num_inside: int
    inside_fraction: float
    degenerate: bool
    reason: Reason

    def as_dict(self) -> dict[str, float | int | bool | str]:
        """Plain dict (for tables / parquet rows)."""
        return asdict(self)


def outside_fraction(xywh: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(N, 4) boxes -> (N,) fraction of each box's area outside ``[0, W] x [0, H]``.

    Boxes with non-finite coordinates or zero area give 1.0.
    """
    box = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
    height, width = image_hw
    x0, y0, w, h = box.T
    ix = np.clip(x0 + w, 0.0, width) - np.clip(x0, 0.0, width)
    iy = np.clip(y0 + h, 0.0, height) - np.clip(y0, 0.0, height)
    area = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = 1.0 - np.clip(ix, 0.0, None) * np.clip(iy, 0.0, None) / area
    ok = np.isfinite(frac) & (w > 0) & (h > 0)
    return np.where(ok, np.clip(frac, 0.0, 1.0), 1.0)


def assess_crops(
    xywh: np.ndarray,
    part_keypoints: np.ndarray,
    image_hw: tuple[int, int],
    conf_thresh: float = 0.2,
    min_keypoints: int = MIN_KEYPOINTS,
) -> list[CropQuality]:
    """Quality record of each of N crops.

    Args:
        xywh: (N, 4) boxes, pixels of the original image (e.g. ``PartBoxes.xywh``).
        part_keypoints: (N, K, 3) keypoints ``(x, y, conf)`` of the cropped part, pixels
            (e.g. ``part_keypoints.part_keypoints(kp137, "left_hand")``).
        image_hw: original image ``(H, W)``.
        conf_thresh: keypoints with confidence > this count as confident.
        min_keypoints: fewer confident keypoints than this makes the crop degenerate.

    Returns:
        N :class:`CropQuality` records.
    """
    box = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
    kp = np.asarray(part_keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[0] != box.shape[0] or kp.shape[2] != 3:
        raise ValueError(f"keypoints {kp.shape} do not match boxes {box.shape}")
    conf = kp[..., 2] > conf_thresh
    x0, y0, w, h = (box[:, i : i + 1] for i in range(4))
    inside = (
        conf
        & (kp[..., 0] >= x0)
        & (kp[..., 0] <= x0 + w)
        & (kp[..., 1] >= y0)
        & (kp[..., 1] <= y0 + h)
    )
    n_conf = conf.sum(axis=1)
    n_in = inside.sum(axis=1)
    out_frac = outside_fraction(box, image_hw)
    records = []
    for i in range(box.shape[0]):
        finite = bool(np.all(np.isfinite(box[i])))
        if not finite:
            reason = Reason.EMPTY_BOX
        elif box[i, 2] <= 0 or box[i, 3] <= 0:
            reason = Reason.ZERO_AREA
        elif out_frac[i] >= 1.0:
            reason = Reason.OUTSIDE_IMAGE
        elif n_conf[i] < min_keypoints:
            reason = Reason.TOO_FEW_KEYPOINTS
        else:
            reason = Reason.OK
        records.append(
            CropQuality(
                side_px=float(max(box[i, 2], box[i, 3])) if finite else float("nan"),
                outside_fraction=float(out_frac[i]),
                num_keypoints=int(n_conf[i]),
                num_inside=int(n_in[i]),
                inside_fraction=float(n_in[i] / n_conf[i]) if n_conf[i] else 0.0,
                degenerate=reason != Reason.OK,
                reason=reason,
            )
        )
    return records
