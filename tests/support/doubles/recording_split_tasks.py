"""Test doubles of the split run's two tasks: they sleep, record where and when they ran, and
pass a made-up digest from the keypoint task to the expert task (no pixels, no models).

Each call writes ``<folder>/<kind>-<shard:05d>.json``: ``{"kind", "shard", "worker", "start",
"end"}`` (``worker``: the Dask worker's name or ``here``; ``time.time()`` seconds). The
keypoint double also creates ``<folder>/intermediate-<shard>`` and the expert double removes
it, like the real tasks' intermediate file; ``<folder>/most-intermediates`` keeps the largest
count seen.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


def _record(folder: str, kind: str, shard_id: int, start: float) -> None:
    from distributed import get_worker

    try:
        worker = str(get_worker().name)
    except ValueError:  # not on a Dask worker (the inline executor)
        worker = "here"
    record = {
        "kind": kind,
        "shard": shard_id,
        "worker": worker,
        "start": start,
        "end": time.time(),
    }
    path = Path(folder) / f"{kind}-{shard_id:05d}.json"
    path.write_text(json.dumps(record))


def _note_intermediates(folder: Path) -> None:
    count = len(list(folder.glob("intermediate-*")))
    most = folder / "most-intermediates"
    seen = int(most.read_text()) if most.exists() else 0
    if count > seen:
        tmp = folder / f".most.{os.getpid()}"
        tmp.write_text(str(count))
        os.replace(tmp, most)


@dataclass(frozen=True)
class RecordingKeypointTask:
    """``task(shard) -> "digest-<shard>"`` after ``seconds``; fails for ``failing`` shards."""

    folder: str
    seconds: float = 0.5
    failing: tuple[int, ...] = ()
    task_name = "keypoints"
    resource = "CPU"

    def __call__(self, shard_id: int) -> str:
        start = time.time()
        if shard_id in self.failing:
            raise RuntimeError(f"keypoints of shard {shard_id} failed on purpose")
        time.sleep(self.seconds)
        (Path(self.folder) / f"intermediate-{shard_id}").touch()
        _note_intermediates(Path(self.folder))
        _record(self.folder, "keypoints", shard_id, start)
        return f"digest-{shard_id}"


@dataclass(frozen=True)
class RecordingExpertTask:
    """``task(shard, digest) -> shard`` after ``seconds``, checking the digest it was given."""

    folder: str
    seconds: float = 0.5
    task_name = "experts"
    resource = "GPU"

    def __call__(self, shard_id: int, digest: str | None = None) -> int:
        start = time.time()
        if digest != f"digest-{shard_id}":
            raise RuntimeError(f"shard {shard_id} got digest {digest!r}")
        time.sleep(self.seconds)
        (Path(self.folder) / f"intermediate-{shard_id}").unlink(missing_ok=True)
        _record(self.folder, "experts", shard_id, start)
        return shard_id
