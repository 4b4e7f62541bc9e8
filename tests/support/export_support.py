"""Tiny labelling runs for the export tests (one per test module) and their store rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.worker_models import models_folder
from furpe_label.selection import SelectionConfig
from furpe_label.workflows.datasets import create_adapter
from tests.support.pipeline_support import run_cli, store_arrays
from tests.support.real_data import REAL_DATA, SPIN_EXAMPLE

_PHOTOS = {
    "im1010.jpg": SPIN_EXAMPLE / "im1010.jpg",
    "messi5.jpg": REAL_DATA / "opencv_samples" / "messi5.jpg",
}


def photo_folder(folder: Path, names: tuple[str, ...] = ("im1010.jpg",)) -> Path:
    """Real photos plus one unreadable file (a dropped row for ``--all``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(_PHOTOS[name], folder / name)
    (folder / "zero_bytes.jpg").write_bytes(b"")
    return folder


def fitting_run(root: Path, out: Path) -> Path:
    """``furpe-label run`` with the keypoint-fitting experts (features are NaN there)."""
    code, output = run_cli(
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(root),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--executor",
        "inline",
        "--fitting-iterations",
        "8",
    )
    assert code == 0, output
    return out


def network_run(root: Path, out: Path, experts: Path) -> Path:
    """A run with the network experts (random test-double checkpoints: real 1024-d features),
    FuRPE's selection with step 3 relaxed so their labels are kept (random weights reproject
    badly, and their hands and heads disagree with the body, which the signal rules catch)."""
    from furpe_label.pipeline.driver import run_labels
    from furpe_label.pipeline.executors import InlineExecutor

    config = RunConfig(
        dataset="image-folder",
        root=str(root),
        experts=str(experts),
        selection=SelectionConfig.furpe(max_mse=1e6),
    )
    run_labels(
        config,
        RunResources(),
        out,
        lambda: create_adapter("image-folder", root=str(root)),
        InlineExecutor(),
        progress=False,
    )
    return out


def synthetic_smplx_file() -> Path:
    """The synthetic SMPL-X file ``--models synthetic`` runs use."""
    return models_folder(RunConfig(dataset="image-folder")) / "smplx" / "SMPLX_NEUTRAL.npz"


def kept_store_rows(out: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Kept store rows (increasing) and every label array of the run."""
    arrays = store_arrays(out)
    return np.flatnonzero(arrays["valid"]), arrays
