"""The ExPose export read by ExPose's own ``CuratedFittings`` (train split), unmodified.

Needs a local checkout of vchoutas/expose given by ``EXPOSE_REPO`` (its root, holding
``expose/data/datasets/curated_fittings.py``); skipped with a message without it. Stubbed, as it
cannot be installed here: ``loguru`` (a no-op logger); numpy's ``np.long`` alias (removed in
numpy 1.24; ExPose's keypoint tables use it) is set back to ``np.int64`` for the test; the
package ``__init__`` files of ``expose``, ``expose.data`` and ``expose.data.datasets`` are not
run (they import every dataset and model), the modules themselves load from the checkout. The
vertex flip correspondences (ExPose's download ``smplx_flip_correspondences.npz``) are a test
double of the right shapes: only flipping, which the loader does not do without transforms,
reads them.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.manifest import read_manifest
from tests.support.export_readers import read_expose
from tests.support.export_support import fitting_run, kept_store_rows, photo_folder
from tests.support.pipeline_support import run_cli

EXPOSE_REPO = os.environ.get("EXPOSE_REPO")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not EXPOSE_REPO,
        reason="set EXPOSE_REPO to a checkout of github.com/vchoutas/expose to load the ExPose "
        "export with ExPose's own curated_fittings.py",
    ),
]
PACKAGES = ("expose", "expose.data", "expose.data.datasets")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, export folder) of a keypoint-fitting run on SPIN's photo and messi5."""
    base = tmp_path_factory.mktemp("expose-official")
    out = fitting_run(photo_folder(base / "images", ("im1010.jpg", "messi5.jpg")), base / "run")
    dest = base / "curated_fits"
    code, output = run_cli("export", str(out), "--format", "expose", "--dest", str(dest))
    assert code == 0, output
    return out, dest


def _identity_transforms(img, target, force_flip=False):
    return img, img, target


@pytest.fixture
def expose_dataset(exported, tmp_path, monkeypatch):
    """ExPose's CuratedFittings(split='train') over the export."""
    repo = Path(EXPOSE_REPO).resolve()  # type: ignore[arg-type]
    _, dest = exported
    flips = tmp_path / "smplx_flip_correspondences.npz"
    np.savez(flips, bc=np.full((10475, 3), 1 / 3), closest_faces=np.zeros((10475, 3), int))
    logger = types.SimpleNamespace(info=lambda *a, **k: None, warning=lambda *a, **k: None)
    monkeypatch.setitem(sys.modules, "loguru", types.SimpleNamespace(logger=logger))
    for name in PACKAGES:  # the package, without running its __init__
        package = types.ModuleType(name)
        package.__path__ = [str(repo.joinpath(*name.split(".")))]  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, package)
    for name in list(sys.modules):
        if name.startswith("expose.") and name not in PACKAGES:
            monkeypatch.delitem(sys.modules, name)
    # ExPose's keypoint tables use np.long (numpy < 1.24, its era): the alias it meant
    monkeypatch.setattr(np, "long", np.int64, raising=False)
    monkeypatch.syspath_prepend(str(repo))
    module = importlib.import_module("expose.data.datasets.curated_fittings")
    return module.CuratedFittings(
        data_path=str(dest),
        split="train",
        transforms=_identity_transforms,
        vertex_flip_correspondences=str(flips),
        use_face_contour=True,
    )


def test_exposes_loader_reads_every_row_with_the_stores_values(exported, expose_dataset):
    out, dest = exported
    kept, arrays = kept_store_rows(out)
    images = read_manifest(out, columns=["image_path"]).column("image_path").to_pylist()
    exported_arrays = read_expose(dest)
    assert len(expose_dataset) == kept.size >= 2
    for index, row in enumerate(kept):
        _, _, target, returned_index = expose_dataset[index]
        assert returned_index == index
        assert exported_arrays["img_fns"][index] == images[row]
        fields = {
            "global_orient": target.get_field("global_pose").global_pose,
            "body_pose": target.get_field("body_pose").body_pose,
            "jaw_pose": target.get_field("jaw_pose").jaw_pose,
            "left_hand_pose": target.get_field("hand_pose").left_hand_pose,
            "right_hand_pose": target.get_field("hand_pose").right_hand_pose,
            "betas": target.get_field("betas").betas,
            "expression": target.get_field("expression").expression,
        }
        for name, value in fields.items():
            expected = arrays[name][row].reshape(-1)
            np.testing.assert_array_equal(np.asarray(value).reshape(-1), expected, err_msg=name)
        np.testing.assert_array_equal(
            target.get_field("vertices").vertices, exported_arrays["vertices"][index]
        )
        for part, field in (
            (Part.LEFT_HAND, "left_hand_bbox"),
            (Part.RIGHT_HAND, "right_hand_bbox"),
        ):
            # ExPose sees a hand exactly where the label keeps it
            assert target.has_field(field) == bool(arrays["part_valid"][row, part.column]), field
