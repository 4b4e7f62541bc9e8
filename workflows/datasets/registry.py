"""The dataset adapters by ``--dataset`` name: a plain dict, nothing looked up by string magic."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

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


def create_adapter(
    name: str,
    root: Path | str | None = None,
    annotations: Path | str | None = None,
    **options: Any,
) -> DatasetAdapter:
    """Construct the ``name`` adapter from command-line values.

    Options left at None are not passed (a CLI flag that was not given); an option the adapter
    does not take (e.g. ``openpose`` for ``h36m``) raises :class:`DatasetError` naming it and
    the options the adapter does take (``image-folder``: openpose; ``video``: frame_step;
    ``samples``: work_dir).
    """
    cls = adapter_class(name)
    given = {key: value for key, value in options.items() if value is not None}
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "root", "annotations"}
    unknown = sorted(set(given) - accepted)
    if unknown:
        takes = ", ".join(sorted(accepted)) or "no options"
        raise DatasetError(f"dataset {name!r} does not take {unknown}; it takes: {takes}")
    return cls(root=root, annotations=annotations, **given)
