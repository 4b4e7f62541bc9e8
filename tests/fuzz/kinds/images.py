"""Fuzz kind ``images``: damaged image files through the decoder a run uses
(:func:`furpe_label.pipeline.decode.decode_image`).

Seeds are a real photo (SPIN's im1010.jpg) and re-encodings of it as PNG (RGB, grey, 16-bit,
palette with transparency), BMP, TIFF, WebP and GIF. Each case truncates, flips, drops,
duplicates or inserts bytes, patches the declared size in the header (a PNG IHDR with its CRC
fixed, a JPEG SOF0) up to 65535 x 65535 or 10^5 x 10^5 pixels, gives the file a suffix of
another format, or writes zero bytes. An accepted image must be (H, W, 3) uint8 within the
side limits; a refusal is the named reason with a detail naming the file.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from furpe_label.pipeline.decode import DEFAULT_LIMITS, decode_image
from tests.support.fuzz_harness import FuzzCase
from tests.support.real_data import SHIPPED

_SUFFIXES = (".jpg", ".png", ".bmp", ".tif", ".webp", ".gif")


@cache
def _seeds() -> list[tuple[str, bytes]]:
    photo = Image.open(SHIPPED / "spin_example" / "im1010.jpg").convert("RGB")
    small = photo.resize((64, 96))
    out = [(".jpg", (SHIPPED / "spin_example" / "im1010.jpg").read_bytes())]

    def encoded(image: Image.Image, fmt: str, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        return buffer.getvalue()

    palette = small.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    sixteen = Image.fromarray(np.asarray(small.convert("L"), np.uint16) * 257)
    out += [
        (".png", encoded(small, "PNG")),
        (".png", encoded(small.convert("L"), "PNG")),
        (".png", encoded(sixteen, "PNG")),
        (".png", encoded(palette, "PNG", transparency=0)),
        (".bmp", encoded(small, "BMP")),
        (".tif", encoded(small, "TIFF")),
        (".webp", encoded(small, "WEBP")),
        (".gif", encoded(palette, "GIF")),
    ]
    return out


def _png_size(data: bytes, width: int, height: int) -> bytes | None:
    """``data`` with its PNG IHDR declaring width x height (CRC recomputed), or None."""
    if not data.startswith(b"\x89PNG") or data[12:16] != b"IHDR":
        return None
    body = struct.pack(">II", width, height) + data[24:29]
    return data[:16] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + data[33:]


def _jpeg_size(data: bytes, width: int, height: int) -> bytes | None:
    """``data`` with its first SOF0/SOF2 declaring width x height, or None."""
    if max(width, height) > 65535:  # a JPEG side has 16 bits
        return None
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]
    return None


def _mutate(suffix: str, data: bytes, rng: random.Random) -> tuple[str, str, bytes]:
    buffer = bytearray(data)
    how = rng.choice(
        ("flip", "flip", "drop", "duplicate", "insert", "truncate", "size", "suffix", "zero")
    )
    position = rng.randrange(len(buffer))
    if how == "flip":
        for _ in range(rng.randint(1, 6)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    elif how == "drop":
        del buffer[position : position + rng.randint(1, 64)]
    elif how == "duplicate":
        buffer[position:position] = buffer[position : position + rng.randint(1, 64)]
    elif how == "insert":
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif how == "truncate":
        del buffer[position:]
    elif how == "size":
        width, height = rng.choice(((65535, 65535), (100_000, 100_000), (1, 70000), (0, 0)))
        patched = _png_size(data, width, height) or _jpeg_size(data, width, height)
        if patched is not None:
            return f"size {width}x{height}", suffix, patched
        buffer[position] ^= 0xFF
        how = "flip (no size field)"
    elif how == "suffix":
        other = rng.choice([s for s in _SUFFIXES if s != suffix])
        return f"as {other}", other, data
    else:
        return "zero bytes", suffix, b""
    return f"{how}@{position}", suffix, bytes(buffer)


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    seeds = _seeds()
    for index in range(count):
        which = rng.randrange(len(seeds))
        how, suffix, data = _mutate(*seeds[which], rng)

        def build(folder: Path, data: bytes = data, suffix: str = suffix) -> Path:
            path = folder / f"image{suffix}"
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: seed {which} ({seeds[which][0]}) {how}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    decoded = decode_image(target)
    if decoded.image is not None:
        image = decoded.image
        height, width = image.shape[:2]
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise AssertionError(f"decoded as {image.dtype} {image.shape}")
        if (
            not DEFAULT_LIMITS.min_side
            <= min(height, width)
            <= max(height, width)
            <= (DEFAULT_LIMITS.max_side)
        ):
            raise AssertionError(f"accepted a {width}x{height} image outside the limits")
        return "accepted"
    if target.name not in decoded.detail:
        raise AssertionError(f"{decoded.reason} detail does not name the file: {decoded.detail!r}")
    return f"refused: {decoded.reason}: {decoded.detail}"
