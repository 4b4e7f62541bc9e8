"""``furpe-label check --dataset NAME --root DIR``: can this dataset be labelled as it is?

Builds the manifest the run would build (without finding people) and reports the annotation
files read, the person instances and images found, image files that are missing on disk (the
run would drop them with ``image_missing``), annotations skipped with their reasons, and whether
the dataset carries ground truth (3D joints, fits, whole-body keypoints).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from furpe_label.storage.path_text import text_to_path
from furpe_label.workflows.datasets import create_adapter

__all__ = ["check_dataset"]

MISSING_LISTED = 5


def check_dataset(name: str, root: Path | None, annotations: Path | None) -> dict[str, Any]:
    """The dataset report (see the module docstring); raises the adapter's error when the
    dataset cannot be read at all (message names the file)."""
    adapter = create_adapter(name, root=root, annotations=annotations)
    table = adapter.build_manifest()
    images = [p for p in table.column("image_path").to_pylist() if p is not None]
    videos = [p for p in table.column("video_path").to_pylist() if p is not None]
    files = sorted(set(images) | set(videos))
    missing = [path for path in files if not Path(text_to_path(path)).is_file()]
    truth = {
        column: int(table.column(column).is_valid().to_numpy(zero_copy_only=False).sum())
        for column in ("joints3d", "smpl_betas", "smplx_betas", "keypoints2d", "focal")
    }
    no_box = int((~table.column("box_xywh").is_valid().to_numpy(zero_copy_only=False)).sum())
    return {
        "dataset": name,
        "annotations": adapter.info()["annotations"],
        "person_instances": table.num_rows,
        "files": len(files),
        "files_missing": len(missing),
        "missing_examples": missing[:MISSING_LISTED],
        "rows_without_person_box": no_box,
        "rows_with": truth,
        "skipped_annotations": adapter.info()["skipped"],
    }
