"""The split run's intermediate: one shard's keypoint result, ``OUT/shard_keypoints/<shard>.npz``.

Written by the keypoint task (CPU slot), read by the expert task (GPU slot), removed once the
shard is committed. An uncompressed ``.npz`` (NumPy, ``allow_pickle=False``) with the arrays of
:class:`~furpe_label.pipeline.shard_observe.ShardKeypointResult`:

=====================  ================  =================================================
entry                  shape, dtype      meaning
=====================  ================  =================================================
``sample_idx``         (N,) int64        the shard's own rows
``chunk_rows``         (C,) int64        own rows of each decoded chunk
``keypoints``          (N, 137, 3) f4    OpenPose-137 ``(x, y, conf)``, pixels
``world_landmarks``    (N, 33, 3) f4     MediaPipe world landmarks, metres (NaN: none)
``step1_ok``           (N,) bool         kept by step 1
``step1.<name>``       (N,) int16        step 1 scores
``text``               (B,) uint8        UTF-8 JSON: ``failure`` (N reasons), ``detail``
                                         (N strings), ``detector``, ``seconds`` (stage ->
                                         wall seconds of the keypoint task)
``sha256``             (64,) uint8       hex SHA-256 of every other entry (name, dtype,
                                         shape, bytes, in name order)
=====================  ================  =================================================

About 2.1 KB per row (21 MB for a 10 240-row shard, measured). The file is written to a journalled
hidden name and renamed into place (a killed task leaves no half file); :func:`read_keypoints`
gives None for a file that is missing, unreadable, fails its digest, or holds other rows than
the shard's, and the shard's keypoint task is then run again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from furpe_label.experts.vocabulary import Reason, Stage
from furpe_label.pipeline.keypoint_stage import ShardKeypoints
from furpe_label.pipeline.shard_observe import ShardKeypointResult
from furpe_label.storage.run_journal import RunJournal

__all__ = ["KEYPOINTS_FOLDER", "keypoints_file", "read_keypoints", "write_keypoints"]

logger = logging.getLogger(__name__)

KEYPOINTS_FOLDER = "shard_keypoints"
"""The split run's intermediates, under OUT."""


def keypoints_file(out: str | os.PathLike[str], shard_id: int) -> Path:
    """``OUT/shard_keypoints/<shard:05d>.npz``."""
    return Path(out) / KEYPOINTS_FOLDER / f"{shard_id:05d}.npz"


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """Hex SHA-256 over the entries' names, dtypes, shapes and bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        sha.update(value.tobytes())
    return sha.hexdigest()


def _arrays(result: ShardKeypointResult) -> dict[str, np.ndarray]:
    kp = result.keypoints
    text = {
        "failure": [str(why.value) for why in kp.failure],
        "detail": list(kp.detail),
        "detector": kp.detector,
        "seconds": {stage.name: value for stage, value in result.seconds.items()},
    }
    blob = json.dumps(text, ensure_ascii=True).encode("ascii")  # lone surrogates as \\udcxx
    return {
        "sample_idx": np.asarray(result.sample_idx, np.int64),
        "chunk_rows": np.asarray(result.chunk_rows, np.int64),
        "keypoints": np.asarray(kp.keypoints, np.float32),
        "world_landmarks": np.asarray(kp.world_landmarks, np.float32),
        "step1_ok": np.asarray(result.step1_ok, bool),
        **{f"step1.{name}": np.asarray(value) for name, value in result.step1.items()},
        "text": np.frombuffer(blob, np.uint8),
    }


def write_keypoints(path: Path, result: ShardKeypointResult, journal: RunJournal) -> str:
    """Write ``result`` to ``path`` atomically (see the module docstring); returns its digest."""
    arrays = _arrays(result)
    digest = _digest(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal.temp_name(path)
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays, sha256=np.frombuffer(digest.encode("ascii"), np.uint8))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def read_keypoints(
    path: Path, sample_idx: np.ndarray, expected_digest: str | None = None
) -> tuple[ShardKeypointResult, str] | None:
    """The result stored at ``path`` and its digest, or None (logged: why) when the file is
    missing, unreadable, fails its digest (or differs from ``expected_digest``), or does not
    hold exactly the rows ``sample_idx`` ((N,) int64, the shard's own rows)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        stored = bytes(arrays.pop("sha256")).decode("ascii")
        digest = _digest(arrays)
        if digest != stored or (expected_digest is not None and digest != expected_digest):
            raise ValueError("its digest does not match its contents")
        result = _result(arrays)
    except FileNotFoundError:
        return None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        EOFError,
        zipfile.BadZipFile,
    ) as error:
        logger.warning("%s is damaged (%s): its keypoints are redone", path, error)
        return None
    if not np.array_equal(result.sample_idx, np.asarray(sample_idx)):
        logger.warning("%s holds other rows than its shard: its keypoints are redone", path)
        return None
    return result, digest


def _result(arrays: dict[str, np.ndarray]) -> ShardKeypointResult:
    """The arrays back as a result (ValueError when an entry has the wrong shape or type)."""
    text = json.loads(bytes(arrays["text"]).decode("ascii"))
    count = len(arrays["sample_idx"])
    keypoints = ShardKeypoints(
        keypoints=arrays["keypoints"],
        failure=[Reason(value) for value in text["failure"]],
        detail=[str(value) for value in text["detail"]],
        world_landmarks=arrays["world_landmarks"],
        detector=str(text["detector"]),
    )
    step1 = {name[6:]: value for name, value in arrays.items() if name.startswith("step1.")}
    shapes = {
        "keypoints": (keypoints.keypoints.shape, (count, 137, 3)),
        "world_landmarks": (keypoints.world_landmarks.shape, (count, 33, 3)),
        "step1_ok": (arrays["step1_ok"].shape, (count,)),
        "failure": ((len(keypoints.failure),), (count,)),
        "detail": ((len(keypoints.detail),), (count,)),
        "chunk_rows sum": ((int(arrays["chunk_rows"].sum()),), (count,)),
        **{f"step1.{name}": (value.shape, (count,)) for name, value in step1.items()},
    }
    wrong = [name for name, (got, want) in shapes.items() if got != want]
    if wrong or arrays["step1_ok"].dtype != bool or not step1:
        raise ValueError(f"wrong shape or type of {', '.join(wrong) or 'step 1'}")
    return ShardKeypointResult(
        sample_idx=arrays["sample_idx"],
        chunk_rows=arrays["chunk_rows"],
        keypoints=keypoints,
        step1=step1,
        step1_ok=arrays["step1_ok"],
        seconds={Stage[name]: float(value) for name, value in text["seconds"].items()},
    )
