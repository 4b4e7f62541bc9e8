"""``furpe-label check --dataset NAME --root DIR``: can this dataset be labelled as it is?

Builds the manifest the run would build (without finding people) and reports the annotation
files read, the person instances and images found, image files that are missing on disk (the
run would drop them with ``image_missing``), annotations skipped with their reasons, and whether
the dataset carries ground truth (3D joints, fits, whole-body keypoints).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from furpe_label.storage.manifest_stream import iter_row_groups
from furpe_label.workflows.datasets import create_adapter

__all__ = ["check_dataset"]

MISSING_LISTED = 5
_TRUTH = ("joints3d", "smpl_betas", "smplx_betas", "keypoints2d", "focal")


def check_dataset(name: str, root: Path | None, annotations: Path | None) -> dict[str, Any]:
    """The dataset report (see the module docstring); raises the adapter's error when the
    dataset cannot be read at all (message names the file).

    The manifest is written to a temporary folder block by block and read back a row group at
    a time (its rows sorted by file: a file's rows are adjacent), so the memory does not grow
    with the number of rows."""
    adapter = create_adapter(name, root=root, annotations=annotations)
    truth = dict.fromkeys(_TRUTH, 0)
    rows = files = no_box = 0
    missing: list[str] = []
    missing_count = 0
    previous = None
    with tempfile.TemporaryDirectory(prefix="furpe-check-") as folder:
        manifest = Path(folder) / "manifest.parquet"
        adapter.write_manifest(manifest)
        for group in iter_row_groups(manifest, ("image_path", "video_path", "box_xywh", *_TRUTH)):
            rows += group.num_rows
            no_box += group.column("box_xywh").null_count
            for column in _TRUTH:
                truth[column] += group.num_rows - group.column(column).null_count
            images = group.column("image_path").to_pylist()
            videos = group.column("video_path").to_pylist()
            for path in (
                image if image is not None else video
                for image, video in zip(images, videos, strict=True)
            ):
                if path is None or path == previous:
                    continue
                previous = path
                files += 1
                if not Path(path).is_file():
                    missing_count += 1
                    if len(missing) < MISSING_LISTED:
                        missing.append(path)
    info = adapter.info()
    return {
        "dataset": name,
        "annotations": info["annotations"],
        "person_instances": rows,
        "files": files,
        "files_missing": missing_count,
        "missing_examples": missing,
        "rows_without_person_box": no_box,
        "rows_with": truth,
        "skipped_annotations": info["skipped"],
    }
