"""Decoding: every bad file gets its named reason; odd-but-valid images are converted."""

from __future__ import annotations

import os
import struct
import zlib

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.decode import DecodeLimits, decode_image, decode_video_frames


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def test_good_and_convertible_images(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "rgb.png")
    Image.fromarray(astronaut[:, :, 0]).save(tmp_path / "gray.png")
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    sixteen = astronaut[:, :, 1].astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "sixteen.png"), sixteen)
    rgb = decode_image(tmp_path / "rgb.png")
    assert rgb.reason is Reason.OK and np.array_equal(rgb.image, astronaut)
    gray = decode_image(tmp_path / "gray.png").image
    assert gray.shape == astronaut.shape and np.array_equal(gray[:, :, 2], astronaut[:, :, 0])
    alpha = decode_image(tmp_path / "rgba.png").image
    assert alpha[:10, :10].max() == 0 and np.array_equal(alpha[20:, 20:], astronaut[20:, 20:])
    deep = decode_image(tmp_path / "sixteen.png").image
    assert deep.dtype == np.uint8 and np.array_equal(deep[:, :, 0], astronaut[:, :, 1])


def test_bad_files_get_named_reasons(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "good.jpg")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image at all")
    Image.new("RGB", (8, 8)).save(tmp_path / "tiny.png")
    Image.new("L", (12000, 20)).save(tmp_path / "huge.png")
    expected = {
        "missing.jpg": Reason.IMAGE_MISSING,
        "truncated.jpg": Reason.IMAGE_UNREADABLE,
        "empty.jpg": Reason.IMAGE_UNREADABLE,
        "text.jpg": Reason.IMAGE_UNREADABLE,
        "tiny.png": Reason.IMAGE_TOO_SMALL,
        "huge.png": Reason.IMAGE_TOO_LARGE,
    }
    for name, reason in expected.items():
        decoded = decode_image(tmp_path / name)
        assert decoded.image is None and decoded.reason is reason, name
        assert name in decoded.detail
    assert decode_image(tmp_path / "huge.png", DecodeLimits(max_side=16000)).reason is Reason.OK


def test_video_frames_in_order_with_unreadable_ones(tmp_path, astronaut):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for value in range(6):
        writer.write(np.full((48, 64, 3), value * 40, np.uint8))
    writer.release()
    got = dict(decode_video_frames(path, [4, 1, 1, 9]))
    assert sorted(got) == [1, 4, 9]
    assert got[9].reason is Reason.FRAME_UNREADABLE
    assert abs(int(got[1].image.mean()) - 40) <= 2 and abs(int(got[4].image.mean()) - 160) <= 2
    missing = dict(decode_video_frames(tmp_path / "nope.avi", [0]))
    assert missing[0].reason is Reason.IMAGE_MISSING
    (tmp_path / "bad.avi").write_text("garbage")
    assert dict(decode_video_frames(tmp_path / "bad.avi", [0]))[0].reason is Reason.IMAGE_UNREADABLE


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height RGB pixels and that holds no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_header_claiming_ten_billion_pixels_is_too_large_not_unreadable(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header(100_000, 100_000))
    decoded = decode_image(tmp_path / "bomb.png")
    assert decoded.reason is Reason.IMAGE_TOO_LARGE and "bomb.png" in decoded.detail
    limits = DecodeLimits(max_side=200_000)  # above the side limit, still above the pixel one
    assert decode_image(tmp_path / "bomb.png", limits).reason is Reason.IMAGE_TOO_LARGE


def test_dangling_links_and_fifos_are_named_and_never_opened(tmp_path):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")  # opening it for reading would wait for a writer forever
    gone = decode_image(tmp_path / "gone.jpg")
    assert gone.reason is Reason.IMAGE_MISSING and "deleted.jpg" in gone.detail
    pipe = decode_image(tmp_path / "pipe.jpg")
    assert pipe.reason is Reason.NOT_A_REGULAR_FILE and "FIFO" in pipe.detail
    assert decode_image(tmp_path).reason is Reason.NOT_A_REGULAR_FILE
    frames = dict(decode_video_frames(tmp_path / "pipe.jpg", [0, 2]))
    assert [frames[f].reason for f in (0, 2)] == [Reason.NOT_A_REGULAR_FILE] * 2
