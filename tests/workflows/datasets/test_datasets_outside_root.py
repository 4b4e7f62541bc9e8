"""Issue 15 item 4: annotation paths that leave --root are named (``outside_root``), never opened,
and reported apart by `check`; ``--allow-outside-root`` lets them through on purpose."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline import prepass_tasks, shard_inputs
from furpe_label.pipeline.decode import DEFAULT_LIMITS
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.pipeline.shard_inputs import ShardInputs
from furpe_label.storage.manifest import column_array
from furpe_label.workflows.datasets import ADAPTERS
from tests.support.dataset_fixtures import write_coco_wholebody, write_image
from tests.support.pipeline_support import run_cli

ESCAPES = (
    "../" * 12 + "etc/passwd",
    "/etc/shadow",
    "../../outside/secret.jpg",
    "linked/secret.jpg",
)


def _escaping_coco(tmp_path: Path) -> tuple[Path, Path]:
    """A COCO-WholeBody root whose annotation names one image inside it and four that leave
    it: ``..`` climbs, an absolute path, a real image beside the root, and a symlinked folder
    inside the root that points out of it."""
    root = tmp_path / "coco"
    annotations = root / "annotations" / "coco_wholebody_val_v1.0.json"
    person = write_coco_wholebody(annotations)
    write_image(root / "val2017" / "000000000001.jpg")
    write_image(tmp_path / "outside" / "secret.jpg")
    os.symlink(tmp_path / "outside", root / "val2017" / "linked")
    data = json.loads(annotations.read_text())
    data["annotations"] = [person]
    for i, name in enumerate(ESCAPES, start=2):
        data["images"].append({"id": i, "file_name": name, "width": 640, "height": 480})
        data["annotations"].append({**person, "id": 100 + i, "image_id": i})
    annotations.write_text(json.dumps(data))
    return root, annotations


def _reasons(table: pa.Table) -> dict[str, str | None]:
    return dict(
        zip(
            table.column("image_path").to_pylist(),
            table.column("input_reason").to_pylist(),
            strict=True,
        )
    )


def test_paths_leaving_the_root_get_outside_root(tmp_path):
    root, annotations = _escaping_coco(tmp_path)
    table = ADAPTERS["coco-wholebody"](root=root, annotations=annotations).build_manifest()
    reasons = _reasons(table)
    inside = str(root / "val2017" / "000000000001.jpg")
    assert reasons.pop(inside) is None
    assert sorted(reasons.values()) == [Reason.OUTSIDE_ROOT.value] * len(ESCAPES)
    assert "/etc/passwd" in reasons and "/etc/shadow" in reasons
    details = " ".join(table.column("input_detail").drop_null().to_pylist())
    assert "resolves to" in details and str(tmp_path / "outside" / "secret.jpg") in details
    assert "--allow-outside-root" in details
    # the boxes stay as given: only the file is refused
    assert column_array(table, "box_xywh")[1].all()

    allowed = ADAPTERS["coco-wholebody"](root=root, annotations=annotations)
    table = allowed.build_manifest(allow_outside_root=True)
    assert table.column("input_reason").null_count == table.num_rows
    assert allowed.info()["outside_root"] == len(ESCAPES)


def test_check_reports_outside_files_apart_and_never_looks_at_them(tmp_path):
    root, annotations = _escaping_coco(tmp_path)
    args = ["check", "--dataset", "coco-wholebody", "--root", str(root)]
    code, output = run_cli(*args, "--annotations", str(annotations), "--json")
    assert code == 0, output
    found = json.loads(output)["dataset"]
    assert found["files"] == 5 and found["files_outside_root"] == 4
    assert found["files_missing"] == 0  # /etc/shadow & co are not even stat'ed
    assert found["rows_with_reason"] == {"outside_root": 4}
    assert len(found["reason_examples"]["outside_root"]) == 4
    code, output = run_cli(
        *args, "--annotations", str(annotations), "--json", "--allow-outside-root"
    )
    found = json.loads(output)["dataset"]
    assert found["files_outside_root"] == 0 and found["rows_outside_root_allowed"] == 4


def test_check_blocks_when_every_file_is_outside_the_root(tmp_path):
    root = tmp_path / "folder"
    write_image(tmp_path / "elsewhere.png")
    root.mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text("../elsewhere.png\n")
    args = ["check", "--dataset", "image-folder", "--root", str(root), "--annotations"]
    code, output = run_cli(*args, str(listing), "--json")
    assert code == 1 and json.loads(output)["dataset"]["files_outside_root"] == 1


def test_a_symlinked_image_in_a_scanned_folder_is_outside(tmp_path):
    root = tmp_path / "images"
    write_image(root / "own.png")
    write_image(tmp_path / "private" / "photo.png")
    os.symlink(tmp_path / "private" / "photo.png", root / "link.png")
    table = ADAPTERS["image-folder"](root=root).build_manifest()
    assert _reasons(table) == {str(root / "link.png"): "outside_root", str(root / "own.png"): None}


def test_outside_rows_are_never_decoded_by_the_prepass_or_the_shard(tmp_path, monkeypatch):
    root = tmp_path / "images"
    write_image(root / "own.png")
    write_image(tmp_path / "private.png")
    listing = tmp_path / "list.txt"
    listing.write_text(f"own.png\n../private.png\n{tmp_path / 'private.png'}\n")
    table = ADAPTERS["image-folder"](root=root, annotations=listing).build_manifest()
    opened: list[str] = []
    real_decode = shard_inputs.decode_image

    def recording_decode(path, limits=DEFAULT_LIMITS):
        opened.append(str(path))
        return real_decode(path, limits)

    monkeypatch.setattr(shard_inputs, "decode_image", recording_decode)
    monkeypatch.setattr(prepass_tasks, "decode_image", recording_decode)
    expanded = expand_people(table, progress=False)
    assert opened == [str(root / "own.png")]
    opened.clear()
    boxes = column_array(expanded, "box_xywh")[0].astype(np.float64)
    names = expanded.column("image_path").to_pylist()
    inputs = ShardInputs(table=expanded, boxes=boxes, names=names, limits=DEFAULT_LIMITS)
    (chunk,) = list(inputs.chunks())
    assert opened == [str(root / "own.png")]
    outside = [i for i, name in enumerate(names) if "private" in name]
    assert len(outside) == 2
    for row in outside:
        assert chunk.failure[row] is Reason.OUTSIDE_ROOT
        assert "outside the dataset root" in chunk.detail[row]
        assert chunk.images[chunk.image_index[row]] is None


def test_a_symlinked_video_leaving_the_root_is_not_opened(tmp_path, monkeypatch):
    from furpe_label.workflows.datasets import video as video_module
    from tests.workflows.datasets.test_datasets_media import _write_video

    root = tmp_path / "videos"
    root.mkdir()
    _write_video(root / "own.avi", frames=3)
    _write_video(tmp_path / "private.avi", frames=5)
    os.symlink(tmp_path / "private.avi", root / "link.avi")
    counted: list[str] = []
    real_count = video_module.frame_count

    def recording_count(path):
        counted.append(Path(path).name)
        return real_count(path)

    monkeypatch.setattr(video_module, "frame_count", recording_count)
    table = ADAPTERS["video"](root=root).build_manifest()
    assert counted == ["own.avi"]
    videos = [Path(p).name for p in table.column("video_path").to_pylist()]
    reasons = dict(zip(videos, table.column("input_reason").to_pylist(), strict=True))
    assert reasons == {"own.avi": None, "link.avi": "outside_root"}
    assert table.num_rows == 4
    counted.clear()
    allowed = ADAPTERS["video"](root=root).build_manifest(allow_outside_root=True)
    assert sorted(counted) == ["link.avi", "own.avi"] and allowed.num_rows == 8


def test_outside_rows_handles_dots_prefixes_and_relative_paths(tmp_path):
    from furpe_label.workflows.datasets.containment import outside_rows

    root = tmp_path / "root"
    (root / "x").mkdir(parents=True)
    paths = [
        str(root),
        f"{root}x/a",  # a sibling whose name starts with the root's
        f"{root}/a",
        f"{root}/..",
        f"{root}/x/.",
        f"{root}/x/..",
        f"{root}/x/../..",
        f"{root}/a/b/../../../c",
        f"{root}//x//a",
        None,
    ]
    assert sorted(outside_rows(paths, root)) == [1, 3, 6, 7]
    many = [f"{root}/x/{i}.jpg" for i in range(40)] + [f"{root}/x/link.jpg"]
    os.symlink(tmp_path / "elsewhere.jpg", root / "x" / "link.jpg")  # a scanned folder
    assert outside_rows(many, root) == {40: str(tmp_path / "elsewhere.jpg")}
