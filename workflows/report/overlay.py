"""One sample's audit picture (OpenCV): the image with the labelled SMPL-X mesh silhouette,
the detected keypoints against the projected SMPL-X keypoints, and the part crop boxes.

Drawn at the output scale (lines stay one pixel wide on large photos), under a title band with
the sample's outcome and a legend. Colours (RGB): mesh blue, detected keypoints green (hollow
grey below their part's confidence threshold), projected SMPL-X keypoints red crosses joined to
their detection by yellow residual lines, crop boxes one colour per part (dashed when the
part's label is not usable, with its step 2 status).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from furpe_label.experts.vocabulary import Part
from furpe_label.workflows.report.mesh import silhouette_mask

__all__ = ["PART_COLOURS", "SampleOverlay", "render_overlay"]

PART_COLOURS: dict[Part, tuple[int, int, int]] = {
    Part.BODY: (255, 255, 255),
    Part.FACE: (255, 215, 0),
    Part.LEFT_HAND: (255, 140, 0),
    Part.RIGHT_HAND: (200, 80, 255),
}
MESH = (60, 140, 255)
DETECTED = (40, 230, 40)
UNSURE = (150, 150, 150)
PROJECTED = (255, 40, 40)
RESIDUAL = (255, 240, 60)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_LINE = 20  # title band pixels per text line
_PLACEHOLDER_HW = (360, 480)
_MAX_UPSCALE = 4.0
_MIN_WIDTH = 440


@dataclass(frozen=True)
class SampleOverlay:
    """What one picture shows (original-image pixels throughout).

    Attributes:
        image: (H, W, 3) uint8 RGB, or None when it could not be read (a grey placeholder).
        keypoints2d: (137, 3) detected OpenPose-137 ``(x, y, conf)`` (NaN: none).
        confident: (137,) bool, detected keypoints confident by the run's part thresholds.
        projected: (137, 2) projected SMPL-X keypoints (NaN: none).
        boxes: (4, 4) crop boxes xywh in :class:`Part` order (NaN: no crop).
        part_valid: (4,) bool, the part's label is usable.
        part_status: 4 step 2 statuses in Part order (``ok`` or a reason value).
        vertices: (V, 2) projected mesh vertices, or None; faces: (F, 3) vertex indices.
        title: first line of the band (sample and outcome); lines: more caption lines.
    """

    image: np.ndarray | None
    keypoints2d: np.ndarray
    confident: np.ndarray
    projected: np.ndarray
    boxes: np.ndarray
    part_valid: np.ndarray
    part_status: Sequence[str]
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None
    title: str = ""
    lines: Sequence[str] = ()


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _to_canvas(points: np.ndarray, scale: float) -> np.ndarray:
    """Original pixel centres -> output pixel centres."""
    return (np.asarray(points, np.float64) + 0.5) * scale - 0.5


def _dashed_rectangle(canvas, corner0, corner1, colour, thickness: int, dash: int) -> None:
    (x0, y0), (x1, y1) = corner0, corner1
    for a, b in (
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ):
        length = float(np.hypot(b[0] - a[0], b[1] - a[1]))
        steps = max(1, int(length // dash))
        for k in range(0, steps, 2):
            p = np.add(a, np.subtract(b, a) * (k / steps)).astype(int)
            q = np.add(a, np.subtract(b, a) * (min(k + 1, steps) / steps)).astype(int)
            cv2.line(canvas, tuple(p), tuple(q), colour, thickness, cv2.LINE_AA)


def _draw_boxes(canvas, sample: SampleOverlay, scale: float, size: int) -> None:
    thickness = max(1, size // 400)
    for part in Part:
        box = sample.boxes[part.column]
        if not np.isfinite(box).all():
            continue
        corner0 = np.round(box[:2] * scale - 0.5).astype(int)  # region edges, not centres
        corner1 = np.round((box[:2] + box[2:]) * scale - 0.5).astype(int)
        colour = PART_COLOURS[part]
        status = sample.part_status[part.column]
        if sample.part_valid[part.column]:
            cv2.rectangle(canvas, tuple(corner0), tuple(corner1), colour, thickness, cv2.LINE_AA)
            label = part.value
        else:
            _dashed_rectangle(canvas, corner0, corner1, colour, thickness, 3 + 3 * thickness)
            label = f"{part.value}: {status}" if status != "ok" else f"{part.value}: unused"
        anchor = (max(int(corner0[0]), 0) + 2, max(int(corner0[1]) - 4, 10))
        cv2.putText(canvas, label, anchor, _FONT, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(canvas, label, anchor, _FONT, 0.4, colour, 1, cv2.LINE_AA)


def _draw_keypoints(canvas, sample: SampleOverlay, scale: float, size: int) -> None:
    radius = max(2, size // 250)
    detected = _to_canvas(sample.keypoints2d[:, :2], scale)
    projected = _to_canvas(sample.projected, scale)
    has_det = np.isfinite(detected).all(1)
    has_proj = np.isfinite(projected).all(1)
    for k in np.flatnonzero(has_det & has_proj & sample.confident):
        cv2.line(
            canvas,
            tuple(detected[k].round().astype(int)),
            tuple(projected[k].round().astype(int)),
            RESIDUAL,
            1,
            cv2.LINE_AA,
        )
    for k in np.flatnonzero(has_det):
        centre = tuple(detected[k].round().astype(int))
        if sample.confident[k]:
            cv2.circle(canvas, centre, radius, DETECTED, -1, cv2.LINE_AA)
        else:
            cv2.circle(canvas, centre, radius, UNSURE, 1, cv2.LINE_AA)
    for k in np.flatnonzero(has_proj):
        x, y = projected[k].round().astype(int)
        cv2.line(canvas, (x - radius, y), (x + radius, y), PROJECTED, 1, cv2.LINE_AA)
        cv2.line(canvas, (x, y - radius), (x, y + radius), PROJECTED, 1, cv2.LINE_AA)


def _draw_mesh(canvas, sample: SampleOverlay, scale: float) -> None:
    if sample.vertices is None or sample.faces is None:
        return
    mask = silhouette_mask(sample.vertices, sample.faces, canvas.shape[:2], scale)
    inside = mask > 0
    canvas[inside] = (0.55 * canvas[inside] + 0.45 * np.array(MESH)).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(canvas, contours, -1, MESH, 1, cv2.LINE_AA)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines that fit ``width`` pixels, broken at " | " then at spaces."""
    text = _ascii(text)
    lines: list[str] = []
    for word in text.replace(" | ", " |\n").split("\n"):
        if lines and cv2.getTextSize(lines[-1] + " " + word, _FONT, 0.45, 1)[0][0] < width - 12:
            lines[-1] = lines[-1] + " " + word
        else:
            lines.append(word)
    return lines


def _band(width: int, sample: SampleOverlay) -> np.ndarray:
    """Title band: outcome, caption lines, legend."""
    lines = [part for line in (sample.title, *sample.lines) for part in _wrap(line, width)]
    band = np.zeros(((len(lines) + 1) * _LINE + 6, width, 3), np.uint8)
    for row, text in enumerate(lines):
        cv2.putText(
            band, text, (6, (row + 1) * _LINE - 4), _FONT, 0.45, (255, 255, 255), 1, cv2.LINE_AA
        )
    y = (len(lines) + 1) * _LINE - 4
    x = 6
    for label, draw in (
        ("detected", "dot"),
        ("projected SMPL-X", "cross"),
        ("residual", "line"),
        ("mesh", "fill"),
    ):
        if draw == "dot":
            cv2.circle(band, (x + 4, y - 4), 4, DETECTED, -1, cv2.LINE_AA)
        elif draw == "cross":
            cv2.line(band, (x, y - 4), (x + 8, y - 4), PROJECTED, 1)
            cv2.line(band, (x + 4, y - 8), (x + 4, y), PROJECTED, 1)
        elif draw == "line":
            cv2.line(band, (x, y - 4), (x + 8, y - 4), RESIDUAL, 1)
        else:
            cv2.rectangle(band, (x, y - 9), (x + 9, y), MESH, -1)
        cv2.putText(band, label, (x + 13, y), _FONT, 0.4, (220, 220, 220), 1, cv2.LINE_AA)
        x += 20 + cv2.getTextSize(label, _FONT, 0.4, 1)[0][0]
    return band


def render_overlay(sample: SampleOverlay, max_side: int = 800) -> np.ndarray:
    """The picture, (H', W', 3) uint8 RGB: the image scaled so its longer side is at most
    ``max_side`` (small images enlarged up to 4x), overlays, and the title band on top."""
    if sample.image is None:
        height, width = _PLACEHOLDER_HW
        base = np.full((height, width, 3), 90, np.uint8)
    else:
        base = np.ascontiguousarray(sample.image[:, :, :3], dtype=np.uint8)
        height, width = base.shape[:2]
    scale = min(max_side / max(height, width), _MAX_UPSCALE)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = cv2.resize(base, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if sample.image is None:
        scale = 0.0  # nothing to place on a placeholder
        cv2.putText(
            canvas,
            "image not readable",
            (20, size[1] // 2),
            _FONT,
            0.8,
            (230, 230, 230),
            2,
            cv2.LINE_AA,
        )
    else:
        _draw_mesh(canvas, sample, scale)
        _draw_boxes(canvas, sample, scale, max(size))
        _draw_keypoints(canvas, sample, scale, max(size))
    if canvas.shape[1] < _MIN_WIDTH:  # room for the legend beside a narrow image
        pad = np.full((canvas.shape[0], _MIN_WIDTH - canvas.shape[1], 3), 40, np.uint8)
        canvas = np.concatenate([canvas, pad], axis=1)
    return np.concatenate([_band(canvas.shape[1], sample), canvas], axis=0)
