"""Decoding images and video frames into (H, W, 3) uint8 RGB, with a named reason on failure.

Every input becomes either an image or a :class:`Reason` plus a ``detail`` string: a missing
file or dangling link, a FIFO or device (never opened), a zero-byte or truncated file, a file
that is not an image, an image below the smallest or above the largest accepted side.
Grayscale, palette, RGBA (alpha dropped: composited on black) and 16-bit images (scaled to 8
bit) are converted, not refused. The image size is read from the header before any pixel is
decoded, so a huge image is refused without allocating it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image

from furpe_label.experts.input_files import InputFileError, input_file_problem, open_regular
from furpe_label.experts.vocabulary import Reason

__all__ = ["DEFAULT_LIMITS", "DecodeLimits", "Decoded", "decode_image", "decode_video_frames"]


@dataclass(frozen=True)
class DecodeLimits:
    """Accepted image sides, pixels."""

    min_side: int = 16
    max_side: int = 8192


DEFAULT_LIMITS = DecodeLimits()


@dataclass(frozen=True)
class Decoded:
    """One decoded input: ``image`` (H, W, 3) uint8 RGB, or None with ``reason``/``detail``."""

    image: np.ndarray | None
    reason: Reason = Reason.OK
    detail: str = ""

    @classmethod
    def failed(cls, reason: Reason, detail: str) -> Decoded:
        return cls(None, reason, detail)


def _to_rgb8(pil: Image.Image) -> np.ndarray:
    """Any PIL mode -> (H, W, 3) uint8 RGB (16-bit scaled by 1/257, alpha on black)."""
    if pil.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(pil, dtype=np.float64)
        peak = 65535.0 if pil.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if pil.mode == "F":
        gray = np.clip(np.rint(np.asarray(pil, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = np.asarray(pil.convert("RGBA"), dtype=np.float64)
        rgb = rgba[:, :, :3] * (rgba[:, :, 3:] / 255.0)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.asarray(pil.convert("RGB"), dtype=np.uint8))


def _too_large(path: Path, width: int, height: int, limits: DecodeLimits) -> Decoded:
    return Decoded.failed(
        Reason.IMAGE_TOO_LARGE,
        f"{path}: {width}x{height} px ({width * height} pixels), limit {limits.max_side} px a side",
    )


def _decode_stream(path: Path, stream: BinaryIO, limits: DecodeLimits) -> Decoded:
    """Decode an open regular file; the size comes from the header before any pixel."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(stream) as pil:
            width, height = pil.size
            if max(width, height) > limits.max_side:
                return _too_large(path, width, height, limits)
            if min(width, height) < limits.min_side:
                return Decoded.failed(
                    Reason.IMAGE_TOO_SMALL,
                    f"{path}: {width}x{height} px, minimum {limits.min_side} px",
                )
            pil.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES stays False)
            return Decoded(_to_rgb8(pil))


def decode_image(path: str | Path, limits: DecodeLimits = DEFAULT_LIMITS) -> Decoded:
    """Read one image file (any format Pillow reads) as (H, W, 3) uint8 RGB.

    Only a regular file is opened (:mod:`furpe_label.experts.input_files`: a dangling link is
    ``image_missing``, a FIFO ``not_a_regular_file``). An image whose header declares more than
    Pillow's decompression-bomb limit is ``image_too_large`` like any side beyond
    ``limits.max_side``, never decoded.
    """
    path = Path(path)
    try:
        stream = open_regular(path)
    except InputFileError as error:
        return Decoded.failed(error.reason, error.detail)
    try:
        with stream:
            if os.fstat(stream.fileno()).st_size == 0:
                return Decoded.failed(Reason.IMAGE_UNREADABLE, f"{path}: zero bytes")
            return _decode_stream(path, stream, limits)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return Decoded.failed(
            Reason.IMAGE_TOO_LARGE,
            f"{path}: the header declares more pixels than any accepted image ({error})",
        )
    except (OSError, ValueError, SyntaxError) as error:
        return Decoded.failed(Reason.IMAGE_UNREADABLE, f"{path}: {error}")


def decode_video_frames(
    path: str | Path, frames: Sequence[int], limits: DecodeLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, Decoded]]:
    """Decode the wanted frame indices of one video, in ascending order, reading sequentially.

    Yields ``(frame_index, Decoded)`` for every wanted index (each exactly once), a
    ``FRAME_UNREADABLE`` (or ``IMAGE_MISSING`` / ``IMAGE_UNREADABLE`` for the whole file) reason
    where a frame cannot be had. Once the stream ends, the later wanted frames fail at once (a
    damaged header may claim millions of frames).
    """
    path = Path(path)
    wanted = sorted(set(int(f) for f in frames))
    problem = input_file_problem(path)
    if problem is not None:  # never hand a FIFO to the video decoder: it would block
        for frame in wanted:
            yield frame, Decoded.failed(problem.reason, problem.detail)
        return
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            for frame in wanted:
                yield frame, Decoded.failed(Reason.IMAGE_UNREADABLE, f"{path}: not a video")
            return
        position = 0
        if wanted and wanted[0] > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, wanted[0])
            position = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        ended = False  # the stream ended: later frames fail without asking the decoder again
        for frame in wanted:
            while not ended and position < frame:
                ended = not capture.grab()
                position += 0 if ended else 1
            ok, bgr = False, None
            if not ended and position == frame:
                ended = not capture.grab()
                position += 0 if ended else 1
                ok, bgr = (False, None) if ended else capture.retrieve()
            if not ok or bgr is None:
                past = " (the stream ends before it)" if ended else ""
                yield frame, Decoded.failed(Reason.FRAME_UNREADABLE, f"{path}: frame {frame}{past}")
                continue
            height, width = bgr.shape[:2]
            if max(height, width) > limits.max_side or min(height, width) < limits.min_side:
                why = (
                    Reason.IMAGE_TOO_LARGE
                    if max(height, width) > limits.max_side
                    else (Reason.IMAGE_TOO_SMALL)
                )
                yield frame, Decoded.failed(why, f"{path}: frame {frame} is {width}x{height}")
                continue
            yield frame, Decoded(np.ascontiguousarray(bgr[:, :, ::-1]))
    finally:
        capture.release()
