"""The dataset adapters by ``--dataset`` name: a plain dict, nothing looked up by string magic."""

from __future__ import annotations

from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.coco_wholebody import CocoWholeBodyAdapter
from furpe_label.workflows.datasets.curated_fits import CuratedFitsAdapter
from furpe_label.workflows.datasets.eft import EFTAdapter
from furpe_label.workflows.datasets.h36m import H36MAdapter
from furpe_label.workflows.datasets.image_folder import ImageFolderAdapter
from furpe_label.workflows.datasets.mpi_inf_3dhp import MpiInf3dhpAdapter
from furpe_label.workflows.datasets.ochuman import OCHumanAdapter
from furpe_label.workflows.datasets.posetrack import PoseTrackAdapter
from furpe_label.workflows.datasets.readers import DatasetError
from furpe_label.workflows.datasets.samples import SamplesAdapter
from furpe_label.workflows.datasets.video import VideoAdapter

ADAPTERS: dict[str, type[DatasetAdapter]] = {
    adapter.name: adapter
    for adapter in (
        H36MAdapter,
        MpiInf3dhpAdapter,
        CocoWholeBodyAdapter,
        OCHumanAdapter,
        PoseTrackAdapter,
        EFTAdapter,
        CuratedFitsAdapter,
        ImageFolderAdapter,
        VideoAdapter,
        SamplesAdapter,
    )
}


def adapter_class(name: str) -> type[DatasetAdapter]:
    """The adapter registered as ``name``; an unknown name raises :class:`DatasetError`
    listing the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {known}") from None
