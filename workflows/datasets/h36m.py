"""``h36m``: Human3.6M in any of its three public annotation layouts.

* SPIN npz (``h36m_train.npz``, ``h36m_valid_protocol{1,2}.npz``; :mod:`.spin_npz`): box from
  ``center`` / ``scale``, 3D joints ``S`` (spin24, root-centred), OpenPose ``openpose``.
* mmhuman3d HumanData npz (also named ``h36m_train.npz``; :mod:`.humandata`): told apart from
  SPIN's by its keys; ``cam_param`` gives each camera's intrinsics and extrinsics.
* COCO-style JSON (``annotations/Human36M_subject{S}_data.json`` + ``_camera.json`` +
  ``_joint_3d.json``; :mod:`.h36m_json`): real intrinsics, joints in camera coordinates.

Image paths in every layout are relative to ``--root`` (the JSON layout: ``root/images``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.h36m_json import h36m_json_columns
from furpe_label.workflows.datasets.npz_blocks import npz_column_blocks
from furpe_label.workflows.datasets.npz_layouts import npz_columns
from furpe_label.workflows.datasets.readers import DatasetError
from furpe_label.workflows.datasets.spin_npz import parse_h36m_name

_SUBJECT_CAMERA = re.compile(r"(S\d+)_[^/]*\.(\d{8})_\d+\.\w+$")


def _subject_camera(image_path: str) -> tuple[str, str] | None:
    """HumanData's cam_param key (subject, camera id) from an H36M image name."""
    match = _SUBJECT_CAMERA.search(image_path)
    return (match.group(1), match.group(2)) if match else None


class H36MAdapter(DatasetAdapter):
    """Human3.6M: SPIN npz, HumanData npz, or the COCO-style JSON trio (see module doc)."""

    name = "h36m"
    has_ground_truth = True
    gives_boxes = True
    official_files = (
        "h36m_train.npz",
        "dataset_extras/h36m_train.npz",
        "h36m_single_train_openpose.npz",
        "annotations/Human36M_subject*_data.json",
        "Human36M_subject*_data.json",
        "h36m_valid_protocol1.npz",
        "h36m_valid_protocol2.npz",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        files = self.annotation_files()
        if all(f.suffix == ".json" for f in files):
            return h36m_json_columns(files, root)
        if len(files) != 1 or files[0].suffix != ".npz":
            raise DatasetError(
                f"h36m: expected one .npz file or subject .json files, got "
                f"{', '.join(map(str, files))}"
            )
        return npz_columns(files[0], root, parse_h36m_name, _subject_camera)

    def column_blocks(self) -> Iterator[dict[str, ColumnValues]]:
        """SPIN's npz in row blocks (:mod:`.npz_blocks`); the other layouts whole."""
        files = self.annotation_files()
        if len(files) == 1 and files[0].suffix == ".npz":
            yield from npz_column_blocks(
                files[0], self.require_root(), parse_h36m_name, _subject_camera
            )
        else:
            yield self.read_columns()
