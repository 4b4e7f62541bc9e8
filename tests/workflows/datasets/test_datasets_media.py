"""Box-less adapters (image folder with OpenPose JSON, video, samples) and the common errors."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from furpe_label.storage.manifest import read_manifest, write_manifest
from furpe_label.workflows.datasets import ADAPTERS, DatasetError, adapter_class, create_adapter
from furpe_label.workflows.datasets import samples as samples_module
from tests.support.dataset_fixtures import write_image


def test_image_folder_finds_images_and_openpose_files(tmp_path):
    root, openpose = tmp_path / "images", tmp_path / "openpose"
    for name in ("a.jpg", "sub/b.png", "c.JPEG", ".hidden/d.jpg"):
        write_image(root / name)
    (root / "zero_bytes.jpg").write_bytes(b"")  # kept: the run reports it
    (root / "notes.txt").write_text("not an image")
    openpose.mkdir()
    (openpose / "a_keypoints.json").write_text(json.dumps({"version": 1.3, "people": []}))
    (openpose / "sub").mkdir()
    (openpose / "sub" / "b.json").write_text(json.dumps({"version": 1.3, "people": []}))
    adapter = ADAPTERS["image-folder"](root=root, openpose=openpose)
    table = adapter.build_manifest()
    paths = table.column("image_path").to_pylist()
    assert paths == [str(root / n) for n in ("a.jpg", "c.JPEG", "sub/b.png", "zero_bytes.jpg")]
    assert table.column("openpose_json").to_pylist() == [
        str(openpose / "a_keypoints.json"),
        None,
        str(openpose / "sub" / "b.json"),
        None,
    ]
    assert table.column("person_idx").null_count == 4  # people are found at run time
    assert table.column("box_xywh").null_count == 4
    assert adapter.skipped["not_an_image_file_name"] == 1
    assert not ADAPTERS["image-folder"].gives_boxes


def test_dangling_links_and_fifos_named_like_media_are_rows_not_silently_skipped(tmp_path):
    root = tmp_path / "images"
    write_image(root / "a.jpg")
    (root / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    os.mkfifo(root / "pipe.png")
    os.mkfifo(root / "pipe.txt")  # counted with the other non-image names
    adapter = ADAPTERS["image-folder"](root=root)
    paths = adapter.build_manifest().column("image_path").to_pylist()
    assert paths == [str(root / n) for n in ("a.jpg", "gone.jpg", "pipe.png")]
    assert adapter.skipped["not_an_image_file_name"] == 1
    videos = tmp_path / "videos"
    videos.mkdir()
    _write_video(videos / "walk.avi", frames=2)
    os.mkfifo(videos / "pipe.avi")  # listed with one row, never handed to the decoder
    (videos / "gone.mp4").symlink_to(tmp_path / "deleted.mp4")
    table = ADAPTERS["video"](root=videos).build_manifest()
    rows = table.column("video_path").to_pylist()
    assert rows.count(str(videos / "pipe.avi")) == 1 and rows.count(str(videos / "gone.mp4")) == 1


def test_image_folder_list_file(tmp_path):
    write_image(tmp_path / "x.jpg")
    listing = tmp_path / "list.txt"
    listing.write_text("# my images\nx.jpg\n\nmissing.jpg\n")
    table = ADAPTERS["image-folder"](root=tmp_path, annotations=listing).build_manifest()
    assert table.column("image_path").to_pylist() == [
        str(tmp_path / "missing.jpg"),
        str(tmp_path / "x.jpg"),
    ]


def _write_video(path, frames: int = 7, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
    writer.release()


def test_video_frames_are_samples_with_sequence_and_frame_ids(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    _write_video(videos / "walk.avi", frames=7)
    _write_video(videos / "run.avi", frames=4)
    (videos / "broken.avi").write_bytes(b"not a video")
    table = ADAPTERS["video"](root=videos).build_manifest()
    assert table.num_rows == 7 + 4 + 1  # the unreadable video keeps one row for the report
    sequences = table.column("sequence").to_pylist()
    assert sequences.count("walk") == 7 and sequences.count("run") == 4
    walk = [i for i, s in enumerate(sequences) if s == "walk"]
    assert [table.column("frame_index")[i].as_py() for i in walk] == list(range(7))
    assert table.column("video_path")[walk[0]].as_py() == str(videos / "walk.avi")
    assert table.column("image_path").null_count == table.num_rows
    assert table.column("sample_idx").to_pylist() == list(range(12))
    single = ADAPTERS["video"](root=videos / "walk.avi", frame_step=3).build_manifest()
    assert single.column("frame_index").to_pylist() == [0, 3, 6]
    write_manifest(single, tmp_path / "out")
    assert read_manifest(tmp_path / "out").num_rows == 3


def test_samples_uses_shipped_and_package_photos(tmp_path, monkeypatch):
    shipped = tmp_path / "tests_data"
    write_image(shipped / "person.jpg")
    monkeypatch.setattr(samples_module, "REPOSITORY_SAMPLES", shipped)
    photos = samples_module.package_photos()
    assert [p[0] for p in photos] == ["astronaut", "camera", "grace_hopper"]
    assert all(p[1] is not None and p[1].is_file() for p in photos)  # installed with the deps
    table = ADAPTERS["samples"](work_dir=tmp_path / "out").build_manifest()
    names = [p.rsplit("/", 1)[-1] for p in table.column("image_path").to_pylist()]
    assert sorted(names) == ["astronaut.png", "camera.png", "grace_hopper.jpg", "person.jpg"]


def test_samples_writes_array_only_photos_under_the_work_dir(tmp_path, monkeypatch):
    import skimage.data

    monkeypatch.setattr(samples_module, "REPOSITORY_SAMPLES", tmp_path / "absent")
    monkeypatch.setattr(
        samples_module, "package_photos", lambda: [("astronaut", None, skimage.data.astronaut)]
    )
    table = ADAPTERS["samples"](work_dir=tmp_path / "out").build_manifest()
    written = tmp_path / "out" / "samples" / "astronaut.png"
    assert table.column("image_path").to_pylist() == [str(written)]
    image = cv2.imread(str(written))[..., ::-1]
    np.testing.assert_array_equal(image, skimage.data.astronaut())
    with pytest.raises(DatasetError, match="only an array; give a work folder"):
        ADAPTERS["samples"]().build_manifest()


def test_root_and_annotation_errors_are_specific(tmp_path):
    with pytest.raises(DatasetError, match="needs --root DIR"):
        ADAPTERS["h36m"]()
    with pytest.raises(DatasetError, match=r"nowhere: dataset root does not exist"):
        ADAPTERS["h36m"](root=tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"absent\.npz: annotation file not found"):
        ADAPTERS["h36m"](root=tmp_path, annotations=tmp_path / "absent.npz")
    with pytest.raises(DatasetError, match=r"no h36m annotation file found.*h36m_train\.npz"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    with pytest.raises(DatasetError, match="has no annotation file; leave --annotations out"):
        ADAPTERS["video"](root=tmp_path, annotations=tmp_path / "x.json")
    with pytest.raises(DatasetError, match="unknown dataset 'h36'; known datasets: coco-wholebody"):
        adapter_class("h36")
    (tmp_path / "ochuman.json").write_text(json.dumps({"images": [], "keypoint_names": []}))
    with pytest.raises(DatasetError, match=r"ochuman\.json: no person instances"):
        ADAPTERS["ochuman"](root=tmp_path).build_manifest()


def test_every_adapter_declares_its_kind():
    assert set(ADAPTERS) == {
        "h36m",
        "mpi-inf-3dhp",
        "coco-wholebody",
        "ochuman",
        "posetrack",
        "eft",
        "curated-fits",
        "image-folder",
        "video",
        "samples",
    }
    with_gt = {name for name, cls in ADAPTERS.items() if cls.has_ground_truth}
    assert with_gt == {"h36m", "mpi-inf-3dhp", "eft", "curated-fits"}
    for name, cls in ADAPTERS.items():
        assert cls.name == name
        assert cls.gives_boxes == (name not in {"image-folder", "video", "samples"})


def test_create_adapter_passes_given_options_and_names_foreign_ones(tmp_path):
    write_image(tmp_path / "a.jpg")
    adapter = create_adapter("image-folder", root=tmp_path, openpose=None, frame_step=None)
    assert adapter.build_manifest().num_rows == 1
    assert create_adapter("video", root=tmp_path, frame_step=2).frame_step == 2
    with pytest.raises(DatasetError, match=r"'h36m' does not take \['openpose'\]; it takes: no"):
        create_adapter("h36m", root=tmp_path, openpose=tmp_path)
