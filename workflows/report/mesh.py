"""The labelled SMPL-X mesh in image pixels: drive the run's SMPL-X with stored parameters and
project its vertices the way selection step 3 projects its keypoints.

The store keeps the weak-perspective camera ``[s, tx, ty]`` of the body crop's normalised
frame (``x = s (X[:2] + [tx, ty])``, SPIN's "edges" convention: -1 / +1 are the crop's outer
edges) and ``box_body``, the realised crop region in image pixels (xywh, SPIN's integer box;
not always exactly square). The crop affine is not stored; it is the resize of that region to
the crop, so normalised ``n`` maps to the image pixel ``x0 - 0.5 + (n + 1) / 2 * w`` (and the
same in y with ``y0``, ``h``). Through that frame the stored ``keypoints2d_proj`` are
reproduced to ~1e-4 px (tests/workflows/report/test_report_pictures.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.geometry.cameras import SPIN_CROP_SIZE, WeakPerspectiveCamera
from furpe_label.selection.step3_reprojection import BodyCropFrame
from furpe_label.storage.schema import SMPLX_PARAMS

__all__ = ["MeshProjector", "body_crop_frame", "silhouette_mask"]

_CROP = int(SPIN_CROP_SIZE)
_SUBPIXEL_BITS = 4  # cv2 fixed-point fraction bits for the triangle corners


def body_crop_frame(boxes: np.ndarray) -> BodyCropFrame:
    """The body crops of N rows from their realised regions.

    Args:
        boxes: (N, 4) ``box_body`` pixel xywh of the original image.

    Returns:
        :class:`BodyCropFrame` (image -> crop affines of a 224 px crop, "edges" convention).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0, y0, width, height = boxes.T
    sx, sy = _CROP / width, _CROP / height
    affine = np.zeros((len(boxes), 2, 3))
    affine[:, 0, 0], affine[:, 0, 2] = sx, (0.5 - x0) * sx - 0.5
    affine[:, 1, 1], affine[:, 1, 2] = sy, (0.5 - y0) * sy - 0.5
    return BodyCropFrame(affine, size=_CROP, convention="edges")


class MeshProjector:
    """The run's SMPL-X (``flat_hand_mean=True``: stored hand poses are absolute rotations).

    Args:
        models_dir: the body-model folder the run used.
    """

    def __init__(self, models_dir: str | Path) -> None:
        model = load_body_model(models_dir, "smplx", flat_hand_mean=True)
        self.layer = model.layer.eval()
        self.synthetic = model.synthetic is not None
        self.faces = np.asarray(self.layer.faces, dtype=np.int64)  # (F, 3) vertex indices

    def vertices(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """(B, V, 3) float32 vertices, metres, of B rows of stored parameters (smplx names,
        shapes of ``LABEL_FIELDS`` with the leading B)."""
        tensors = {
            name: torch.as_tensor(
                np.asarray(params[name], np.float32).reshape(len(params[name]), -1)
            )
            for name in SMPLX_PARAMS
        }
        with torch.no_grad():
            output = self.layer(**tensors, return_verts=True)
        return output.vertices.numpy()

    def project(
        self, params: Mapping[str, np.ndarray], camera: np.ndarray, box_body: np.ndarray
    ) -> np.ndarray:
        """(B, V, 2) float64 vertex positions in image pixels.

        Args:
            params: B rows of stored SMPL-X parameters by smplx name.
            camera: (B, 3) stored weak-perspective ``[s, tx, ty]``.
            box_body: (B, 4) stored body crop regions, pixel xywh.
        """
        points = torch.as_tensor(self.vertices(params))
        camera_t = torch.as_tensor(np.asarray(camera, np.float32).reshape(-1, 3))
        normalised = WeakPerspectiveCamera(camera_t).project(points).double().numpy()
        return body_crop_frame(box_body).norm_to_image(normalised)


def silhouette_mask(
    points: np.ndarray, faces: np.ndarray, shape: tuple[int, int], scale: float = 1.0
) -> np.ndarray:
    """Filled union of the projected triangles.

    Args:
        points: (V, 2) vertex positions, original-image pixels (pixel-centre convention).
        faces: (F, 3) vertex indices.
        shape: (height, width) of the output mask.
        scale: output pixels per original-image pixel.

    Returns:
        (height, width) uint8 mask, 255 inside the mesh's silhouette.
    """
    mask = np.zeros(shape, np.uint8)
    scaled = (np.asarray(points, np.float64) + 0.5) * scale - 0.5
    if not np.isfinite(scaled).all():
        return mask
    limit = 4 * max(shape)  # keep far-off corners inside cv2's fixed-point range
    fixed = np.rint(np.clip(scaled, -limit, limit) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    triangles = fixed[faces]  # (F, 3, 2)
    for triangle in triangles:
        cv2.fillConvexPoly(mask, triangle, 255, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return mask
