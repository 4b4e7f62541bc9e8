"""An ``.npz`` annotation file in SPIN's or mmhuman3d's HumanData layout, told apart by keys.

SPIN's files name images ``imgname`` (:mod:`.spin_npz`); HumanData's ``image_path``
(:mod:`.humandata`). Both tools write files with the same names (e.g. ``h36m_train.npz``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.humandata import humandata_cameras, humandata_columns
from furpe_label.workflows.datasets.readers import DatasetError, load_npz, strings
from furpe_label.workflows.datasets.spin_npz import NameParser, is_spin_npz, spin_columns

CameraKey = Callable[[str], tuple[str, str] | None]
"""image path -> HumanData ``cam_param`` key (subject, camera id), or None."""


def npz_columns(
    path: Path, root: Path, parse_name: NameParser, camera_key: CameraKey | None = None
) -> dict[str, ColumnValues]:
    """Manifest columns of a SPIN or HumanData npz.

    Args:
        path: the npz file.
        root: dataset root the image paths are relative to.
        parse_name: image path -> (subject, sequence, frame).
        camera_key: for HumanData files with ``cam_param``, the per-row camera key.

    Raises:
        DatasetError: neither layout's keys, or a malformed member (named).
    """
    data = load_npz(path)
    if is_spin_npz(data):
        return spin_columns(data, path, root, parse_name)
    if "image_path" not in data:
        found = ", ".join(sorted(data)[:20])
        raise DatasetError(
            f"{path}: neither SPIN (imgname, center, scale) nor HumanData (image_path, "
            f"bbox_xywh) keys; found: {found}"
        )
    columns = humandata_columns(data, path, root)
    names = strings(data["image_path"], f"{path}: image_path")
    parsed = [parse_name(name) for name in names]
    columns.update(
        subject=[p[0] for p in parsed],
        sequence=[p[1] for p in parsed],
        frame=[p[2] for p in parsed],
    )
    if camera_key is not None and "cam_param" in data:
        columns.update(humandata_cameras(data, [camera_key(name) for name in names], path))
    return columns
