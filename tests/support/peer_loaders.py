"""The peers' own HumanData loaders, imported unmodified from local checkouts.

mmhuman3d: the package installed from PyPI without its dependencies (the README's test line:
``pip install --no-deps mmhuman3d==0.11.0``; its requirements pin pandas<2 and a second OpenCV,
and only its HumanData and dataset modules are imported here), or a checkout of
open-mmlab/mmhuman3d named by ``MMHUMAN3D_REPO``, which takes precedence. ``SMPLERX_REPO``: a
checkout of caizhongang/SMPLer-X. Without them a test is skipped with a message. Only what cannot be
imported here is replaced, by test doubles named ``*Standin``: mmcv (``print_log``,
``get_dist_info``), the evaluation, body-model and registry modules ``human_image_dataset.py``
imports at its top (``HumanImageDataset.load_annotations`` uses none of them), and SMPLer-X's
``config.cfg`` (mmcv ``Config``), ``utils.human_models`` (loads SMPL-X files),
``pycocotools``, ``torchgeometry`` and ``plyfile`` (not installed; ``load_data`` uses none).
The packages' ``__init__`` files (which import mmcv and every model) are not run: their
folders are registered as packages and the modules named are loaded from the checkout.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def checkout(variable: str) -> Path:
    """The checkout named by ``variable``, or skip the test saying how to run it."""
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"set {variable} to a local checkout to run the peer-loader test")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"{variable}={value} is not a folder")
    return path


def mmhuman3d_package() -> Path:
    """The ``mmhuman3d`` package folder: ``$MMHUMAN3D_REPO/mmhuman3d`` when the variable is set,
    else the installed package's (found without running its ``__init__``), else skip."""
    if os.environ.get("MMHUMAN3D_REPO"):
        return checkout("MMHUMAN3D_REPO") / "mmhuman3d"
    spec = importlib.util.find_spec("mmhuman3d")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "mmhuman3d is not installed: `pip install --no-deps mmhuman3d==0.11.0` (README) or "
            "set MMHUMAN3D_REPO to a checkout"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _package(name: str, folder: Path) -> types.ModuleType:
    return _module(name, __path__=[str(folder)])


@contextmanager
def _modules(entries: dict[str, types.ModuleType], paths: list[str]) -> Iterator[None]:
    """Install ``entries`` in ``sys.modules`` and ``paths`` on ``sys.path``; undo afterwards
    (every module imported meanwhile is removed too)."""
    before = set(sys.modules)
    sys.path[:0] = paths
    sys.modules.update(entries)
    try:
        yield
    finally:
        del sys.path[: len(paths)]
        for name in set(sys.modules) - before:
            del sys.modules[name]


class RegistryStandin:
    """Stands in for mmcv's ``Registry``: ``register_module()`` returns the class unchanged."""

    def register_module(self, *args: Any, **kwargs: Any):
        return lambda cls: cls


def _unused(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a stand-in for a function the loader should not call was called")


@contextmanager
def mmhuman3d(root: Path) -> Iterator[dict[str, Any]]:
    """mmhuman3d's ``HumanData``, ``convert_kps``, ``get_keypoint_num`` and
    ``HumanImageDataset`` from the package folder ``root`` (:func:`mmhuman3d_package`)."""
    packages = {
        name: _package(name, root.joinpath(*name.split(".")[1:]))
        for name in (
            "mmhuman3d",
            "mmhuman3d.utils",
            "mmhuman3d.core",
            "mmhuman3d.core.conventions",
            "mmhuman3d.data",
            "mmhuman3d.data.data_structures",
            "mmhuman3d.data.datasets",
        )
    }
    mmcv = _module("mmcv", utils=_module("mmcv.utils", print_log=lambda msg, **_: None))
    mmcv.runner = _module("mmcv.runner", get_dist_info=lambda: (0, 1))
    standins = {
        "mmcv": mmcv,
        "mmcv.utils": mmcv.utils,
        "mmcv.runner": mmcv.runner,
        "mmhuman3d.core.evaluation": _module(
            "mmhuman3d.core.evaluation",
            keypoint_3d_auc=_unused,
            keypoint_3d_pck=_unused,
            keypoint_mpjpe=_unused,
            vertice_pve=_unused,
        ),
        "mmhuman3d.models.body_models.builder": _module("builder", build_body_model=_unused),
        "mmhuman3d.data.datasets.base_dataset": _module("base", BaseDataset=object),
        "mmhuman3d.data.datasets.builder": _module("builder", DATASETS=RegistryStandin()),
    }
    with _modules({**packages, **standins}, []):
        human_data = importlib.import_module("mmhuman3d.data.data_structures.human_data")
        mapping = importlib.import_module("mmhuman3d.core.conventions.keypoints_mapping")
        dataset = importlib.import_module("mmhuman3d.data.datasets.human_image_dataset")
        yield {
            "HumanData": human_data.HumanData,
            "convert_kps": mapping.convert_kps,
            "get_keypoint_num": mapping.get_keypoint_num,
            "HumanImageDataset": dataset.HumanImageDataset,
        }


class SmplxStandin:
    """Stands in for SMPLer-X's ``smpl_x`` (which loads SMPL-X files): the joint set
    ``HumanDataset.__init__`` reads, SMPLer-X's 137 joints (common/utils/human_models.py)."""

    joint_num = 137
    joints_name = ("Pelvis", *(f"joint_{i}" for i in range(1, 137)))
    flip_pairs = ()


@contextmanager
def smplerx(repo: Path) -> Iterator[Any]:
    """SMPLer-X's ``HumanDataset`` (data/humandata.py) from ``repo``."""
    # input_img_shape as in SMPLer-X's configs (main/config/config_smpler_x_*.py)
    cfg = types.SimpleNamespace(input_img_shape=(512, 384))
    standins = {
        "config": _module("config", cfg=cfg),
        "utils": _package("utils", repo / "common" / "utils"),
        "utils.human_models": _module("utils.human_models", smpl_x=SmplxStandin(), smpl=None),
        "pycocotools": _module("pycocotools"),
        "pycocotools.coco": _module("pycocotools.coco", COCO=_unused),
        "torchgeometry": _module("torchgeometry"),
        "plyfile": _module("plyfile", PlyData=None, PlyElement=None),
    }
    with _modules(standins, [str(repo / "data")]):
        yield importlib.import_module("humandata").HumanDataset
