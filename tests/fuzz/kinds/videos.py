"""Fuzz kind ``videos``: damaged video files through the frame counting of the ``video``
adapter (:func:`furpe_label.pipeline.video_frames.frame_count`) and the frame decoding a run
uses (:func:`furpe_label.pipeline.decode.decode_video_frames`).

Seeds: two tiny real clips cut from OpenCV's ``vtest.avi`` (``tests/data/opencv_samples/
vtest_tiny.avi``, Motion-JPEG, and ``vtest_tiny.mp4``, MPEG-4 Part 2; six 96x72 frames each).
Each case flips, drops, duplicates, inserts or zeroes bytes, truncates the file, or gives it
the other container's suffix. Every wanted frame (those the count gives, plus two beyond)
must come back exactly once, decoded as (H, W, 3) uint8 or with a named reason naming the file,
and the count may never exceed the header's claim.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.decode import decode_video_frames
from furpe_label.pipeline.video_frames import frame_count
from tests.support.fuzz_harness import FuzzCase
from tests.support.real_data import SHIPPED

SEEDS = (
    SHIPPED / "opencv_samples" / "vtest_tiny.avi",
    SHIPPED / "opencv_samples" / "vtest_tiny.mp4",
)


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    buffer = bytearray(data)
    how = rng.choice(("flip", "flip", "drop", "duplicate", "insert", "zero", "truncate"))
    position = rng.randrange(len(buffer))
    if how == "flip":
        for _ in range(rng.randint(1, 8)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    elif how == "drop":
        del buffer[position : position + rng.randint(1, 256)]
    elif how == "duplicate":
        buffer[position:position] = buffer[position : position + rng.randint(1, 256)]
    elif how == "insert":
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif how == "zero":
        length = rng.randint(1, 512)
        buffer[position : position + length] = bytes(len(buffer[position : position + length]))
    else:
        del buffer[position:]
    return f"{how}@{position}", bytes(buffer)


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    seeds = [(path.suffix, path.read_bytes()) for path in SEEDS]
    for index in range(count):
        which = rng.randrange(len(seeds))
        suffix, data = seeds[which]
        how, data = _mutate(data, rng)
        if rng.random() < 0.1:
            suffix = ".mp4" if suffix == ".avi" else ".avi"
            how += f" as {suffix}"

        def build(folder: Path, data: bytes = data, suffix: str = suffix) -> Path:
            path = folder / f"clip{suffix}"
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: {SEEDS[which].name} {how}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    found = frame_count(target)
    count = found.frames
    if found.claimed and count > found.claimed:
        raise AssertionError(f"{count} frames counted, more than the {found.claimed} claimed")
    wanted = list(range(max(count, 1) + 2))
    frames = list(decode_video_frames(target, wanted))
    if [frame for frame, _ in frames] != wanted:
        raise AssertionError(f"frames {[f for f, _ in frames]} for wanted {wanted}")
    failed: list[tuple[int, str]] = []
    for frame, decoded in frames:
        if decoded.image is None:
            if decoded.reason is Reason.OK or target.name not in decoded.detail:
                raise AssertionError(f"frame {frame}: {decoded.reason} {decoded.detail!r}")
            failed.append((frame, f"frame {frame}: {decoded.reason}: {decoded.detail}"))
        elif decoded.image.dtype != np.uint8 or decoded.image.shape[2:] != (3,):
            raise AssertionError(f"frame {frame} decoded as {decoded.image.shape}")
    if all(frame >= count for frame, _ in failed):  # only frames past the end failed, as they must
        return "accepted"
    return "refused: " + "; ".join(sentence for _, sentence in failed[:3])
