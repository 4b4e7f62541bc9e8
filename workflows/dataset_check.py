"""``furpe-label check --dataset NAME --root DIR``: can this dataset be labelled as it is?

Builds the manifest the run would build (without finding people) and reports the annotation
files read, the person instances and images found, image files the run could not open, under
the reason the run gives them (:func:`furpe_label.experts.input_files.input_file_problem`, the
run's own check: ``image_missing`` for a missing file or a dangling link,
``not_a_regular_file`` for a FIFO, socket, device or folder, ``image_unreadable`` for a path that
cannot be looked at; none of them is opened), annotations skipped with their reasons, and
whether the dataset carries ground truth (3D joints, fits, whole-body keypoints).

Rows the manifest already gives a reason (``input_reason``: ``outside_root``, ``invalid_box``)
are reported on their own (``rows_with_reason``, with examples); files outside the root are
counted apart (``files_outside_root``) and never looked at, not even to see if they exist.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from furpe_label.experts.input_files import input_file_problem
from furpe_label.experts.vocabulary import Reason
from furpe_label.storage.manifest_stream import iter_row_groups
from furpe_label.storage.path_text import text_to_path
from furpe_label.workflows.datasets import create_adapter

__all__ = ["check_dataset"]

MISSING_LISTED = 5
_TRUTH = ("joints3d", "smpl_betas", "smplx_betas", "keypoints2d", "focal")
_READ = ("image_path", "video_path", "box_xywh", "input_reason", "input_detail", *_TRUTH)


def check_dataset(
    name: str, root: Path | None, annotations: Path | None, allow_outside_root: bool = False
) -> dict[str, Any]:
    """The dataset report (see the module docstring); raises the adapter's error when the
    dataset cannot be read at all (message names the file).

    The manifest is written to a temporary folder block by block and read back a row group at
    a time (its rows sorted by file: a file's rows are adjacent), so the memory does not grow
    with the number of rows."""
    adapter = create_adapter(name, root=root, annotations=annotations)
    truth = dict.fromkeys(_TRUTH, 0)
    rows = files = no_box = 0
    missing: list[str] = []
    file_reasons: Counter[str] = Counter()
    file_examples: dict[str, list[str]] = {}
    outside: set[str] = set()
    named: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    previous = None
    with tempfile.TemporaryDirectory(prefix="furpe-check-") as folder:
        manifest = Path(folder) / "manifest.parquet"
        adapter.write_manifest(manifest, allow_outside_root=allow_outside_root)
        for group in iter_row_groups(manifest, _READ):
            rows += group.num_rows
            reasons = group.column("input_reason").to_pylist()
            details = group.column("input_detail").to_pylist()
            boxless = ~group.column("box_xywh").is_valid().to_numpy(zero_copy_only=False)
            no_box += sum(1 for b, why in zip(boxless, reasons, strict=True) if b and why is None)
            for column in _TRUTH:
                truth[column] += group.num_rows - group.column(column).null_count
            media = [
                image if image is not None else video
                for image, video in zip(
                    group.column("image_path").to_pylist(),
                    group.column("video_path").to_pylist(),
                    strict=True,
                )
            ]
            for path, why, detail in zip(media, reasons, details, strict=True):
                if why is not None:
                    named[why] += 1
                    listed = examples.setdefault(why, [])
                    if len(listed) < MISSING_LISTED:
                        listed.append(detail)
                if why == Reason.OUTSIDE_ROOT:
                    outside.add(path)  # never looked at, not even to see if it exists
                    continue
                if path is None or path == previous:
                    continue
                previous = path
                files += 1
                problem = input_file_problem(Path(text_to_path(path)))
                if problem is None:
                    continue
                file_reasons[problem.reason.value] += 1
                listed = file_examples.setdefault(problem.reason.value, [])
                if len(listed) < MISSING_LISTED:
                    listed.append(problem.detail)
                if problem.reason is Reason.IMAGE_MISSING and len(missing) < MISSING_LISTED:
                    missing.append(path)
    info = adapter.info()
    return {
        "dataset": name,
        "annotations": info["annotations"],
        "person_instances": rows,
        "files": files + len(outside),
        "files_missing": file_reasons[Reason.IMAGE_MISSING.value],
        "missing_examples": missing,
        "files_with_reason": dict(sorted(file_reasons.items())),
        "file_reason_examples": file_examples,
        "files_outside_root": len(outside),
        "rows_outside_root_allowed": adapter.outside_root if allow_outside_root else 0,
        "rows_with_reason": dict(sorted(named.items())),
        "reason_examples": examples,
        "rows_without_person_box": no_box,
        "rows_with": truth,
        "skipped_annotations": info["skipped"],
    }
