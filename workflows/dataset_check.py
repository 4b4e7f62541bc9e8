"""``furpe-label check --dataset NAME --root DIR``: can this dataset be labelled as it is?

Builds the manifest the run would build (without finding people) and reports the annotation
files read, the person instances and images found, image files that are missing on disk (the
run would drop them with ``image_missing``), annotations skipped with their reasons, and whether
the dataset carries ground truth (3D joints, fits, whole-body keypoints).

Rows the manifest already gives a reason (``input_reason``: ``outside_root``, ``invalid_box``)
are reported on their own (``rows_with_reason``, with examples); files outside the root are
counted apart (``files_outside_root``) and never looked at, not even to see if they exist.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from furpe_label.experts.vocabulary import Reason
from furpe_label.storage.path_text import text_to_path
from furpe_label.workflows.datasets import create_adapter

__all__ = ["check_dataset"]

MISSING_LISTED = 5


def check_dataset(
    name: str, root: Path | None, annotations: Path | None, allow_outside_root: bool = False
) -> dict[str, Any]:
    """The dataset report (see the module docstring); raises the adapter's error when the
    dataset cannot be read at all (message names the file)."""
    adapter = create_adapter(name, root=root, annotations=annotations)
    table = adapter.build_manifest(allow_outside_root=allow_outside_root)
    media = [
        image if image is not None else video
        for image, video in zip(
            table.column("image_path").to_pylist(),
            table.column("video_path").to_pylist(),
            strict=True,
        )
    ]
    reasons = table.column("input_reason").to_pylist()
    details = table.column("input_detail").to_pylist()
    files = sorted(set(media))
    outside = sorted(
        {path for path, why in zip(media, reasons, strict=True) if why == Reason.OUTSIDE_ROOT}
    )
    missing = [
        path for path in sorted(set(files) - set(outside)) if not Path(text_to_path(path)).is_file()
    ]
    named = Counter(why for why in reasons if why is not None)
    examples = {why: [] for why in named}
    for why, detail in zip(reasons, details, strict=True):
        if why is not None and len(examples[why]) < MISSING_LISTED:
            examples[why].append(detail)
    truth = {
        column: int(table.column(column).is_valid().to_numpy(zero_copy_only=False).sum())
        for column in ("joints3d", "smpl_betas", "smplx_betas", "keypoints2d", "focal")
    }
    boxless = ~table.column("box_xywh").is_valid().to_numpy(zero_copy_only=False)
    no_box = int((boxless & ~table.column("input_reason").is_valid().to_numpy()).sum())
    return {
        "dataset": name,
        "annotations": adapter.info()["annotations"],
        "person_instances": table.num_rows,
        "files": len(files),
        "files_missing": len(missing),
        "missing_examples": missing[:MISSING_LISTED],
        "files_outside_root": len(outside),
        "rows_outside_root_allowed": adapter.outside_root if allow_outside_root else 0,
        "rows_with_reason": dict(sorted(named.items())),
        "reason_examples": examples,
        "rows_without_person_box": no_box,
        "rows_with": truth,
        "skipped_annotations": adapter.info()["skipped"],
    }
