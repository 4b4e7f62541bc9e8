"""The FuRPE export read by FuRPE's own ``CuratedFittings`` (train split), unmodified.

Needs a local checkout of indigo-99/FuRPE given by ``FURPE_REPO`` (its root, holding
``FuRPE/data/datasets/curated_fittings.py``); skipped with a message without it. Stubbed, as
neither can be installed here: ``loguru`` (a no-op logger), ``fvcore``'s ``CfgNode`` (used by the
val split only), the package ``__init__`` files of ``FuRPE``, ``FuRPE.data`` and
``FuRPE.data.datasets`` (they import every dataset and the torchvision transforms; the modules
themselves load from the checkout), the transforms (identity: image, image, target) and ExPose's
``data/smplx_flip_correspondences.npz`` (a test double of the right shapes; only the vertex
flipping uses it). numpy's ``np.long`` alias (removed in numpy 1.24; FuRPE's keypoint tables use
it) is set back to ``np.int64`` for the test.
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
from tests.support.export_support import kept_store_rows

FURPE_REPO = os.environ.get("FURPE_REPO")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not FURPE_REPO,
        reason="set FURPE_REPO to a checkout of github.com/indigo-99/FuRPE to load the FuRPE "
        "export with FuRPE's own curated_fittings.py",
    ),
]
PACKAGES = ("FuRPE", "FuRPE.data", "FuRPE.data.datasets")


def _stub_modules(repo: Path, monkeypatch) -> None:
    logger = types.SimpleNamespace(info=lambda *a, **k: None, warning=lambda *a, **k: None)
    monkeypatch.setitem(sys.modules, "loguru", types.SimpleNamespace(logger=logger))
    for name in ("fvcore", "fvcore.common"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    config = types.ModuleType("fvcore.common.config")
    config.CfgNode = dict  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fvcore.common.config", config)
    for name in PACKAGES:  # the package, without running its __init__
        package = types.ModuleType(name)
        package.__path__ = [str(repo.joinpath(*name.split(".")))]  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, package)
    for name in list(sys.modules):
        if name.startswith("FuRPE.") and name not in PACKAGES:
            monkeypatch.delitem(sys.modules, name)


def _identity_transforms(img, target, force_flip=False):
    return img, img, target


@pytest.fixture
def furpe_dataset(furpe_exported, tmp_path, monkeypatch):
    """FuRPE's CuratedFittings(split='train') started in a folder holding the export's data/."""
    repo = Path(FURPE_REPO).resolve()  # type: ignore[arg-type]
    _, dest, _ = furpe_exported
    work = tmp_path / "furpe_cwd"
    (work / "data").mkdir(parents=True)
    for child in (dest / "data").iterdir():
        (work / "data" / child.name).symlink_to(child)
    flip_double = {  # ExPose's download, a test double here
        "bc": np.full((10475, 3), 1 / 3),
        "closest_faces": np.zeros((10475, 3), int),
    }
    np.savez(work / "data" / "smplx_flip_correspondences.npz", **flip_double)
    _stub_modules(repo, monkeypatch)
    # FuRPE's keypoint tables use np.long (numpy < 1.24, its era): the alias it meant
    monkeypatch.setattr(np, "long", np.int64, raising=False)
    monkeypatch.syspath_prepend(str(repo))
    monkeypatch.chdir(work)
    module = importlib.import_module("FuRPE.data.datasets.curated_fittings")
    # the options data/conf_2distil.yaml gives curated_fits (use_face_contour: true)
    return module.CuratedFittings(
        split="train", transforms=_identity_transforms, use_face_contour=True
    )


def test_furpes_loader_reads_every_file_with_the_stores_values(furpe_exported, furpe_dataset):
    out, dest, _ = furpe_exported
    kept, arrays = kept_store_rows(out)
    images = read_manifest(out, columns=["image_path"]).column("image_path").to_pylist()
    row_of = {images[row]: row for row in kept}
    files = sorted(dest.glob("data/params3d_v/curated_fits/*.npy"))
    assert len(furpe_dataset) == len(files) >= 2
    hands_checked = 0
    for index in range(len(furpe_dataset)):
        item = furpe_dataset[index]
        assert item is not None, "FuRPE's loader found no label file"
        _, _, target, img_index, *_ = item
        row = row_of[str(furpe_dataset.comp_img_fns[img_index])]
        valid = arrays["part_valid"][row]
        np.testing.assert_allclose(
            np.asarray(target.get_field("body_pose").body_pose).reshape(-1),
            arrays["body_pose"][row].reshape(-1),
            atol=1e-7,
        )
        np.testing.assert_allclose(
            np.asarray(target.get_field("global_pose").global_pose).reshape(-1),
            arrays["global_orient"][row],
            atol=1e-7,
        )
        assert target.has_field("jaw_pose") <= bool(valid[Part.FACE.column])
        if target.has_field("hand_pose"):
            hands = target.get_field("hand_pose")
            for side in ("left", "right"):
                pose = getattr(hands, f"{side}_hand_pose")
                if pose is None:
                    continue
                assert valid[Part(f"{side}_hand").column]
                expected = arrays[f"{side}_hand_pose"][row].reshape(-1)
                np.testing.assert_allclose(
                    np.asarray(pose).reshape(-1), expected, rtol=0, atol=5e-7
                )
                hands_checked += 1
        keypoints = target.get_field("keypoints_hd")
        assert keypoints.shape == (144, 3)
    print(f"FuRPE CuratedFittings(train): {len(furpe_dataset)} items, {hands_checked} hands")
