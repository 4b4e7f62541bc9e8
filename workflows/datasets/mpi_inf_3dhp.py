"""``mpi-inf-3dhp``: MPI-INF-3DHP in SPIN's npz layout (:mod:`.spin_npz`).

``mpi_inf_3dhp_train.npz`` (SPIN ``datasets/preprocess/mpi_inf_3dhp.py``: every 10th frame of
S1-S8, cameras 0-2 and 4-8; ``S1/Seq1/imageFrames/video_0/frame_000001.jpg``) or the test set
``mpi_inf_3dhp_valid.npz`` / ``mpi_inf_3dhp_test.npz``
(``mpi_inf_3dhp_test_set/TS1/imageSequence/img_000001.jpg``). The npz carries no camera
intrinsics; ``focal`` / ``principal_point`` stay null. A HumanData npz is read as well.
"""

from __future__ import annotations

from collections.abc import Iterator

from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.npz_blocks import npz_column_blocks
from furpe_label.workflows.datasets.npz_layouts import npz_columns
from furpe_label.workflows.datasets.spin_npz import parse_3dhp_name


class MpiInf3dhpAdapter(DatasetAdapter):
    """MPI-INF-3DHP (SPIN npz or HumanData npz)."""

    name = "mpi-inf-3dhp"
    has_ground_truth = True
    gives_boxes = True
    official_files = (
        "mpi_inf_3dhp_train.npz",
        "dataset_extras/mpi_inf_3dhp_train.npz",
        "mpi_inf_3dhp_valid.npz",
        "mpi_inf_3dhp_test.npz",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        files = self.annotation_files()
        return npz_columns(files[0], root, parse_3dhp_name)

    def column_blocks(self) -> Iterator[dict[str, ColumnValues]]:
        """SPIN's npz in row blocks (:mod:`.npz_blocks`); HumanData whole."""
        files = self.annotation_files()
        yield from npz_column_blocks(files[0], self.require_root(), parse_3dhp_name)
