"""Every person in an image, from the BlazePose person detector that MediaPipe's wheel ships.

``mediapipe/modules/pose_detection/pose_detection.tflite`` is an SSD over 2254 anchors; the
MediaPipe pose solution keeps only its best detection. Here every detection survives
(:mod:`.ssd_decoding`: MediaPipe's anchors, decoding and weighted non-maximum suppression),
so each person in the image gets a box.

How the network runs: OpenCV 4.11's ``cv2.dnn.readNetFromTFLite`` cannot load this model (its
weights are sparse and the importer has no ``DENSIFY`` operator), and no standalone TFLite
runtime (``tflite_runtime``, ``ai_edge_litert``) is installed, so the model runs in the TFLite
interpreter bundled in MediaPipe, through a three-node MediaPipe graph: float conversion
(``ImageToTensorCalculator``, [-1, 1] as the pose graph), ``InferenceCalculator`` (XNNPACK
with one thread: the raw outputs do not depend on the machine's load or thread count), and
``TensorsToFloatsCalculator`` for each of the two output tensors. Letterboxing, anchors,
decoding, suppression and the person box are this project's code.

The detector's own box is the face/head; the person's extent comes from its two alignment
keypoints: keypoint 0 is the hip centre and keypoint 1 lies on the circle around it that holds
the whole body (MediaPipe's ``AlignmentPointsRectsCalculator`` makes the pose landmark ROI a
square of side 2 x that radius, centred on the hip centre, then enlarges it 1.25 x). The person
box is that square scaled by ``box_scale`` (the circle is rotation-invariant, so the body's
tilt does not change it), clipped to the image.
"""

from __future__ import annotations

import functools
import importlib.resources
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from furpe_label.experts.detectors.ssd_decoding import (
    Detections,
    SsdOptions,
    decode_detections,
    ssd_anchors,
    weighted_nms,
)
from furpe_label.experts.geometry.boxes import clip_boxes

_MODEL = "modules/pose_detection/pose_detection.tflite"
_OPTIONS = SsdOptions()
_HIP_CENTRE, _BODY_CIRCLE = 0, 1  # alignment keypoints of the pose detector


@dataclass(frozen=True)
class BlazePoseConfig:
    """Settings of the BlazePose person detector.

    Attributes:
        min_score: detection score threshold (MediaPipe's pose graph: 0.5).
        nms_iou: IoU above which two face boxes are one person (MediaPipe: 0.3).
        box_scale: person-box side / diameter of the whole-body circle. 1.0 (the person's
            extent) matches hand-drawn person boxes best; MediaPipe's pose landmark ROI is
            1.25, which the person pre-pass uses (``person_finder.DEFAULT_BLAZEPOSE``).
        tile_fraction: the detector also runs on square tiles of this fraction of the
            image's shorter side (half a tile apart): the network needs a person about a
            third of its input tall, so people far smaller than the image (a street video)
            are only found in tiles. 0 turns tiles off.
        min_tile_px: tiles smaller than this are not tried. On the hand-labelled photos,
            tiles of 114-171 px (upscaled to 224) found no one the whole image missed and
            one false person; vtest.avi's 192-px tiles find 14 of its 24 labelled people,
            the whole image none.
        same_body: see :func:`one_per_body`.
    """

    min_score: float = 0.5
    nms_iou: float = 0.3
    box_scale: float = 1.0
    tile_fraction: float = 1 / 3
    min_tile_px: int = 180
    same_body: float = 0.25


def model_path() -> Path:
    """The pose detector model inside the installed mediapipe package."""
    path = Path(str(importlib.resources.files("mediapipe").joinpath(_MODEL)))
    if not path.is_file():
        raise FileNotFoundError(f"the mediapipe package has no {_MODEL} (looked at {path})")
    return path


_GRAPH = """
input_stream: "image"
output_stream: "regressors"
output_stream: "classificators"
node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image"
  output_stream: "TENSORS:input"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
    output_tensor_width: {size} output_tensor_height: {size} keep_aspect_ratio: false
    output_tensor_float_range {{ min: -1.0 max: 1.0 }} border_mode: BORDER_ZERO }} }} }}
node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:input"
  output_stream: "TENSORS:output"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}"
    cpu_num_thread: 1 delegate {{ xnnpack {{ num_threads: 1 }} }} }} }} }}
node {{ calculator: "SplitTensorVectorCalculator" input_stream: "output"
  output_stream: "regressor_tensor" output_stream: "classificator_tensor"
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{
    ranges {{ begin: 0 end: 1 }} ranges {{ begin: 1 end: 2 }} }} }} }}
node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:regressor_tensor"
  output_stream: "FLOATS:regressors" }}
node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:classificator_tensor"
  output_stream: "FLOATS:classificators" }}
"""


class _Network:
    """The model in a running MediaPipe graph; one at a time (a lock) per process."""

    def __init__(self) -> None:
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import calculator_graph, image_frame

        text = _GRAPH.format(size=_OPTIONS.input_size, model=model_path().as_posix())
        config = text_format.Parse(text, calculator_pb2.CalculatorGraphConfig())
        self._graph = calculator_graph.CalculatorGraph(graph_config=config)
        self._outputs: dict[str, np.ndarray] = {}
        for name in ("regressors", "classificators"):
            self._graph.observe_output_stream(
                name,
                lambda _, packet, name=name: self._outputs.__setitem__(
                    name, np.asarray(packet_getter.get_float_list(packet), np.float32)
                ),
            )
        self._make_packet = functools.partial(
            packet_creator.create_image_frame, image_format=image_frame.ImageFormat.SRGB
        )
        self._graph.start_run()
        self._timestamp = 0
        self._lock = threading.Lock()

    def __call__(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for a (S, S, 3) uint8 RGB input: regressors (N, 12), logits (N,)."""
        with self._lock:
            self._outputs.clear()
            self._timestamp += 1
            packet = self._make_packet(data=np.ascontiguousarray(square))
            self._graph.add_packet_to_input_stream("image", packet.at(self._timestamp))
            self._graph.wait_until_idle()
            regressors = self._outputs["regressors"]
            logits = self._outputs["classificators"]
        count = logits.size
        return regressors.reshape(count, -1), logits


@functools.cache
def _network() -> _Network:
    return _Network()


@functools.cache
def _anchors() -> np.ndarray:
    return ssd_anchors(_OPTIONS)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit an (H, W, 3) uint8 image into a black (size, size, 3) square, centred.

    Returns:
        the square, the (2,) x, y scale (square px per image px) and the (2,) x, y offset of
        the image in the square, px: ``square = image * scale + offset`` (pixel edges).
    """
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    square = np.zeros((size, size, 3), np.uint8)
    x0, y0 = (size - new_w) // 2, (size - new_h) // 2
    square[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return square, np.array([new_w / width, new_h / height]), np.array([x0, y0], np.float64)


def _detect_window(image: np.ndarray, config: BlazePoseConfig) -> Detections:
    """Detections of one (H, W, 3) image in its pixels, before suppression."""
    square, scale, offset = letterbox(image, _OPTIONS.input_size)
    raw_boxes, logits = _network()(square)
    found = decode_detections(raw_boxes, logits, _anchors(), _OPTIONS, config.min_score)
    to_pixels = _OPTIONS.input_size / scale
    shift = offset / scale
    return Detections(
        found.boxes * np.tile(to_pixels, 2) - np.tile(shift, 2),
        found.keypoints * to_pixels - shift,
        found.scores,
    )


def tile_windows(image_hw: tuple[int, int], config: BlazePoseConfig) -> list[tuple[int, int, int]]:
    """The whole image, then square tiles: (x0, y0, side) px; tiles overlap by half a side
    and the last row / column is flush with the image's edge."""
    height, width = image_hw
    windows = [(0, 0, 0)]
    side = round(config.tile_fraction * min(height, width))
    if config.tile_fraction <= 0 or side < config.min_tile_px:
        return windows
    step = max(1, side // 2)

    def starts(extent: int) -> list[int]:
        last = max(0, extent - side)
        return sorted({*range(0, last, step), last})

    windows += [(x, y, side) for y in starts(height) for x in starts(width)]
    return windows


def _inside_tile(found: Detections, side: int) -> Detections:
    """The detections of a tile whose whole-body circle lies inside it: a person the tile's
    edge cuts is whole in an overlapping tile or in the whole image, and a cut body is where
    the detector guesses worst."""
    centre = found.keypoints[:, _HIP_CENTRE]
    radius = np.linalg.norm(found.keypoints[:, _BODY_CIRCLE] - centre, axis=-1)
    inside = np.all((centre - radius[:, None] >= 0) & (centre + radius[:, None] <= side), -1)
    return Detections(found.boxes[inside], found.keypoints[inside], found.scores[inside])


def detect_poses(image: np.ndarray, config: BlazePoseConfig) -> Detections:
    """All pose detections of an (H, W, 3) uint8 RGB image (whole image and tiles), in its
    pixels; detections of the same person in several windows are merged by weighted
    non-maximum suppression of their face boxes.

    Returns:
        :class:`~.ssd_decoding.Detections`: face boxes (D, 4) x0, y0, x1, y1 px, the four
        keypoints (D, 4, 2) px (hip centre, whole-body circle point, shoulder centre,
        upper-body circle point) and scores (D,), best first.
    """
    parts = []
    for x0, y0, side in tile_windows((int(image.shape[0]), int(image.shape[1])), config):
        window = image if side == 0 else np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side])
        found = _detect_window(window, config)
        if side:
            found = _inside_tile(found, side)
        shift = np.array([x0, y0], np.float64)
        parts.append(
            Detections(found.boxes + np.tile(shift, 2), found.keypoints + shift, found.scores)
        )
    merged = Detections(
        np.concatenate([part.boxes for part in parts]),
        np.concatenate([part.keypoints for part in parts]),
        np.concatenate([part.scores for part in parts]),
    )
    return one_per_body(weighted_nms(merged, config.nms_iou), config.same_body)


def one_per_body(found: Detections, same_body: float) -> Detections:
    """Drop a detection whose hip centre lies within ``same_body`` x the radius of a better
    detection's whole-body circle from that circle's centre, with a radius within 25 % of it:
    one body seen from two windows whose face boxes overlap too little to be merged (two
    people side by side are a body width, about half a radius, apart)."""
    centre = found.keypoints[:, _HIP_CENTRE]
    radius = np.linalg.norm(found.keypoints[:, _BODY_CIRCLE] - centre, axis=-1)
    kept: list[int] = []
    for index in range(len(found.scores)):  # best first (weighted_nms)
        if not any(
            np.linalg.norm(centre[index] - centre[k]) <= same_body * radius[k]
            and 0.8 <= radius[index] / max(radius[k], 1e-9) <= 1.25
            for k in kept
        ):
            kept.append(index)
    return Detections(found.boxes[kept], found.keypoints[kept], found.scores[kept])


def person_boxes(detections: Detections, image_hw: tuple[int, int], box_scale: float) -> np.ndarray:
    """Whole-person boxes (D, 4) xywh px from the alignment keypoints, clipped to the image."""
    centre = detections.keypoints[:, _HIP_CENTRE]
    radius = np.linalg.norm(detections.keypoints[:, _BODY_CIRCLE] - centre, axis=-1)
    half = box_scale * radius
    boxes = np.concatenate([centre - half[:, None], 2 * np.stack([half, half], 1)], axis=1)
    return clip_boxes(boxes.reshape(-1, 4), image_hw)


def blazepose_people(
    image: np.ndarray, config: BlazePoseConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every person of an (H, W, 3) uint8 RGB image: boxes (P, 4) xywh px, scores (P,)."""
    config = config or BlazePoseConfig()
    detections = detect_poses(image, config)
    image_hw = (int(image.shape[0]), int(image.shape[1]))
    return person_boxes(detections, image_hw, config.box_scale), detections.scores
