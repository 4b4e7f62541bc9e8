"""The person pre-pass as chunk tasks: the plan, the same manifest whatever the chunking or the
worker count (inline, Dask 1 and 2 workers), failed chunks named, and a killed pre-pass
resumed by redoing only the chunks without a result."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from furpe_label.pipeline.executors import InlineExecutor, ShardOutcome
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.pipeline.prepass_tasks import PrepassError, plan_chunks
from furpe_label.pipeline.progress import Progress
from furpe_label.storage.manifest import build_manifest_table
from furpe_label.storage.prepass_files import read_chunk_people
from furpe_label.storage.run_dir import RunDir
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

FRAMES = 6


def _video(path: Path, frames: int = FRAMES) -> Path:
    """A clip of a real photo of a person (SPIN's example), moving right by 4 px a frame."""
    image = cv2.imread(str(SPIN_EXAMPLE / "im1010.jpg"))
    height, width = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (width, height))
    for k in range(frames):
        writer.write(np.roll(image, 4 * k, axis=1))
    writer.release()
    return path


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> pa.Table:
    """Box-less rows: three photos, a missing image, a 6-frame video (frame 9 past its end),
    and one row that already has a box (kept as it is)."""
    folder = tmp_path_factory.mktemp("media")
    images = [folder / "im1010.jpg", folder / "messi5.jpg", folder / "basketball1.png"]
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images[0])
    shutil.copy(OPENCV_SAMPLES / "messi5.jpg", images[1])
    shutil.copy(OPENCV_SAMPLES / "basketball1.png", images[2])
    video = str(_video(folder / "clip.avi"))
    frames = [4, 0, 2, 9, 1, 3, 5]
    image_paths = [str(p) for p in images] + [str(folder / "missing.jpg"), str(images[0])]
    n_images, n_frames = len(image_paths), len(frames)
    box = np.full((n_images + n_frames, 4), np.nan)
    box[n_images - 1] = [10, 10, 100, 200]
    return build_manifest_table(
        {
            "dataset": ["test"] * (n_images + n_frames),
            "image_path": image_paths + [None] * n_frames,
            "video_path": [None] * n_images + [video] * n_frames,
            "frame_index": [None] * n_images + frames,
            "person_idx": [None] * (n_images - 1) + [7] + [None] * n_frames,
            "box_xywh": box,
        }
    )


def test_plan_cuts_images_and_each_videos_frames_into_chunks(manifest):
    missing = np.flatnonzero(~manifest.column("box_xywh").is_valid().to_numpy(False))
    plan = plan_chunks(manifest, missing, images_per_chunk=2, frames_per_chunk=3)
    chunks = plan.column("chunk").to_pylist()
    frames = plan.column("frame_index").to_pylist()
    images = [p for p in plan.column("image_path").to_pylist() if p is not None]
    assert len(images) == 4 and chunks[:4] == [0, 0, 1, 1]  # 4 box-less image rows, 2 a chunk
    video = [(c, f) for c, f in zip(chunks, frames, strict=True) if f is not None]
    assert video == [(2, 0), (2, 1), (2, 2), (3, 3), (3, 4), (3, 5), (4, 9)]
    assert sorted(plan.column("row").to_pylist()) == missing.tolist()


def _expected_rows(manifest: pa.Table, expanded: pa.Table) -> None:
    """People found in the photos and frames; the unreadable rows and the boxed row kept."""
    assert expanded.column("sample_idx").to_pylist() == list(range(expanded.num_rows))
    names = [
        image or f"{video}#{frame}"
        for image, video, frame in zip(
            expanded.column("image_path").to_pylist(),
            expanded.column("video_path").to_pylist(),
            expanded.column("frame_index").to_pylist(),
            strict=True,
        )
    ]
    boxes = expanded.column("box_xywh").to_pylist()
    by_name: dict[str, list] = {}
    for name, box in zip(names, boxes, strict=True):
        by_name.setdefault(name, []).append(box)
    assert by_name[next(n for n in by_name if n.endswith("missing.jpg"))] == [None]
    assert by_name[next(n for n in by_name if n.endswith("clip.avi#9"))] == [None]
    for frame in range(FRAMES):
        found = by_name[next(n for n in by_name if n.endswith(f"clip.avi#{frame}"))]
        assert found and all(box is not None for box in found)
    assert expanded.num_rows >= manifest.num_rows


def test_chunking_and_executor_do_not_change_the_expanded_manifest(manifest, tmp_path):
    here = expand_people(manifest, progress=False)
    _expected_rows(manifest, here)
    run_dir = RunDir(tmp_path / "out")
    tasks = expand_people(
        manifest, progress=False, executor=InlineExecutor(), run_dir=run_dir, chunk_sizes=(1, 2)
    )
    assert tasks.equals(here, check_metadata=True)
    assert len(list(run_dir.prepass.glob("0*.parquet"))) == 4 + 4  # 4 image, 4 frame chunks


class _Recording:
    """A test double of an executor: runs inline, records the chunk ids it was given, and
    fails the chunks named in ``fail``."""

    where = "in this process"

    def __init__(self, fail: set[int] = frozenset()) -> None:
        self.ids: list[int] = []
        self.fail = set(fail)

    def run(self, task, ids):
        for chunk_id in ids:
            self.ids.append(chunk_id)
            if chunk_id in self.fail:
                yield ShardOutcome(chunk_id, error="RuntimeError: worker died")
            else:
                yield ShardOutcome(chunk_id, task(chunk_id))


def test_failed_chunks_are_named_and_a_rerun_redoes_only_them(manifest, tmp_path):
    run_dir = RunDir(tmp_path / "out")
    first = _Recording(fail={1, 3})
    with pytest.raises(PrepassError, match=r"2 chunk\(s\) failed \(chunk 1: .*chunk 3: "):
        expand_people(manifest, progress=False, executor=first, run_dir=run_dir, chunk_sizes=(2, 3))
    assert first.ids == [0, 1, 2, 3, 4]
    stamps = {p.name: p.stat().st_mtime_ns for p in run_dir.prepass.glob("0*.parquet")}
    assert sorted(stamps) == ["00000.parquet", "00002.parquet", "00004.parquet"]
    lines = []
    progress = Progress(_Lines(lines), interactive=False)
    again = _Recording()
    table = expand_people(
        manifest, progress=progress, executor=again, run_dir=run_dir, chunk_sizes=(2, 3)
    )
    assert again.ids == [1, 3]
    assert any("(2 chunk(s), 3 already done)" in line for line in lines), lines
    now = {p.name: p.stat().st_mtime_ns for p in run_dir.prepass.glob("0*.parquet")}
    assert sorted(now) == [f"{chunk:05d}.parquet" for chunk in range(5)]
    assert {name: now[name] for name in stamps} == stamps  # the finished chunks not rewritten
    assert table.equals(expand_people(manifest, progress=False), check_metadata=True)


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.extend(text.splitlines())

    def flush(self) -> None:
        pass


def test_a_chunk_file_for_other_rows_is_redone(manifest, tmp_path):
    run_dir = RunDir(tmp_path / "out")
    expand_people(
        manifest, progress=False, executor=InlineExecutor(), run_dir=run_dir, chunk_sizes=(2, 3)
    )
    plan = pq.read_table(run_dir.prepass_plan)
    chunk = plan.filter(pc.equal(plan.column("chunk"), 0))
    assert read_chunk_people(run_dir.prepass_chunk(0), chunk) is not None
    assert read_chunk_people(run_dir.prepass_chunk(0), chunk.take([1, 0])) is None
    other = chunk.set_column(2, "image_path", pa.array(["/elsewhere.jpg", None], pa.string()))
    assert read_chunk_people(run_dir.prepass_chunk(0), other) is None  # the folder changed
    shutil.copy(run_dir.prepass_chunk(1), run_dir.prepass_chunk(0))  # rows of another chunk
    again = _Recording()
    expand_people(manifest, progress=False, executor=again, run_dir=run_dir, chunk_sizes=(2, 3))
    assert again.ids == [0]


@pytest.mark.slow
def test_one_and_two_dask_workers_give_the_same_manifest(manifest, tmp_path):
    from distributed import Client, LocalCluster

    from furpe_label.pipeline.executors import DaskExecutor

    here = expand_people(manifest, progress=False)
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            run_dir = RunDir(tmp_path / f"dask{workers}")
            table = expand_people(
                manifest,
                progress=False,
                executor=DaskExecutor(client),
                run_dir=run_dir,
                chunk_sizes=(1, 2),
            )
            spread = client.run(lambda: None)  # every worker answered: both took part
            assert len(spread) == workers
        assert table.equals(here, check_metadata=True), workers


_KILLED = """
import sys, pyarrow.parquet as pq
from furpe_label.pipeline.executors import InlineExecutor
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.storage.run_dir import RunDir
table = pq.read_table(sys.argv[1])
run_dir = RunDir(sys.argv[2])
expand_people(table, progress=False, executor=InlineExecutor(), run_dir=run_dir, chunk_sizes=(1, 1))
"""


@pytest.mark.slow
def test_kill_9_during_the_prepass_then_resume_redoes_only_missing_chunks(manifest, tmp_path):
    source = tmp_path / "manifest.parquet"
    pq.write_table(manifest, source)
    run_dir = RunDir(tmp_path / "out")
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(source), str(run_dir.root)], start_new_session=True
    )
    deadline = time.monotonic() + 600
    while len(list(run_dir.prepass.glob("0*.parquet"))) < 3 and time.monotonic() < deadline:
        assert process.poll() is None, "the pre-pass ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stamps = {p.name: p.stat().st_mtime_ns for p in run_dir.prepass.glob("0*.parquet")}
    assert 3 <= len(stamps) < 11, stamps  # 4 image chunks + 7 frame chunks in all
    run_dir.remove_leftovers()
    again = _Recording()
    table = expand_people(
        manifest, progress=False, executor=again, run_dir=run_dir, chunk_sizes=(1, 1)
    )
    assert sorted(again.ids) == [c for c in range(11) if f"{c:05d}.parquet" not in stamps]
    for name, stamp in stamps.items():
        assert (run_dir.prepass / name).stat().st_mtime_ns == stamp  # not rewritten
    assert table.equals(expand_people(manifest, progress=False), check_metadata=True)
