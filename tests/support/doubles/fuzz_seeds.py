"""Test doubles: small valid files in the official layouts, the starting points of the fuzzer.

Each seed keeps every key, dtype, container and pickle construct of its official file (chumpy
``Ch`` objects, csc matrices, Python 2 protocol 0, pickled dicts and torch tensors inside
``.npy``/``.npz``, zip and legacy ``torch.save`` formats) with vertex-sized arrays cut to
:data:`VERTICES` rows so that one fuzz case costs milliseconds; the content comes from the
synthetic family.
"""

from __future__ import annotations

import io
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import torch

from furpe_label.experts.safe_load import safe_load_any
from tests.support.doubles.chumpy_standin import ChTestDouble, write_chumpy_style_pickle
from tests.support.doubles.crafted_files import python2_chumpy_pickle

VERTICES = 64
SEED_FILES = (
    "smpl_chumpy.pkl",
    "mano_python2.pkl",
    "smplx.npz",
    "deca_embedding.npy",
    "spin_zip.pt",
    "spin_legacy.pt",
)
_PER_VERTEX = ("v_template", "shapedirs", "posedirs", "weights")


def _cut(data: dict[str, Any]) -> dict[str, Any]:
    """Vertex-sized arrays cut to VERTICES rows (J_regressor: columns; faces re-indexed)."""
    out = dict(data)
    for key in _PER_VERTEX:
        if key in out:
            out[key] = np.ascontiguousarray(out[key][:VERTICES])
    if "f" in out:
        out["f"] = (out["f"][:32] % VERTICES).astype(out["f"].dtype)
    regressor = out.get("J_regressor")
    if scipy.sparse.issparse(regressor):
        out["J_regressor"] = scipy.sparse.csc_matrix(regressor[:, :VERTICES])
    elif regressor is not None:
        out["J_regressor"] = np.ascontiguousarray(regressor[:, :VERTICES])
    return out


def _spin_like_checkpoint() -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 4, generator=generator)
    model = OrderedDict(
        [
            ("fc1.weight", weight),
            ("fc1.bias", torch.randn(6, generator=generator)),
            ("bn1.num_batches_tracked", torch.tensor(7)),
            ("decpose.weight", weight.t()),  # a strided view sharing a storage
            ("mask", torch.tensor([True, False, True])),
            ("half", torch.ones(3, dtype=torch.float16)),
        ]
    )
    # what state_dict() attaches and torch.save pickles with BUILD (the module version table)
    model._metadata = OrderedDict([("", {"version": 1}), ("bn1", {"version": 2})])
    optimizer = {
        "state": {0: {"step": 3, "exp_avg": torch.zeros(6)}},
        "param_groups": [{"lr": 1e-4}],
    }
    return {"model": model, "optimizer": optimizer, "epoch": 3, "dataset_perm": [2, 0, 1]}


def _state_dict(entries: dict[str, torch.Tensor], versions: dict[str, int]) -> OrderedDict:
    """A ``state_dict()`` with its module version table (``_metadata``, pickled with BUILD)."""
    state = OrderedDict(entries)
    state._metadata = OrderedDict((name, {"version": v}) for name, v in versions.items())
    return state


def deca_like_checkpoint() -> dict[str, Any]:
    """DECA's ``deca_model.tar`` layout (``DECA.model_dict()`` plus the trainer's ``opt``,
    ``global_step``, ``batch_size``): three state dicts nested in one dict, cut to a few
    small tensors (``E_flame`` with its ResNet's batch-norm buffers, a strided view)."""
    generator = torch.Generator().manual_seed(1)
    linear = torch.randn(8, 5, generator=generator)
    e_flame = _state_dict(
        {
            "encoder.conv1.weight": torch.randn(4, 3, 1, 1, generator=generator),
            "encoder.bn1.running_mean": torch.zeros(4),
            "encoder.bn1.num_batches_tracked": torch.tensor(12),
            "layers.0.weight": linear,
            "layers.2.weight": linear.t(),  # a strided view sharing a storage
        },
        {"": 1, "encoder.bn1": 2},
    )
    e_detail = _state_dict({"layers.0.bias": torch.randn(5, generator=generator)}, {"": 1})
    d_detail = _state_dict({"upsample.0.weight": torch.ones(2, 2, dtype=torch.float16)}, {"": 1})
    opt = {"state": {0: {"step": 5, "exp_avg": torch.zeros(5)}}, "param_groups": [{"lr": 5e-5}]}
    return {
        "E_flame": e_flame,
        "E_detail": e_detail,
        "D_detail": d_detail,
        "opt": opt,
        "global_step": 150000,
        "batch_size": 2,
    }


def write_fuzz_seeds(models_dir: Path, out_dir: Path) -> Path:
    """Write the SEED_FILES from a synthetic models folder into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    smpl = _cut(safe_load_any(models_dir / "smpl" / "SMPL_NEUTRAL.pkl"))
    smpl["shapedirs"] = ChTestDouble(smpl["shapedirs"])
    write_chumpy_style_pickle(out_dir / "smpl_chumpy.pkl", smpl)

    mano = _cut(safe_load_any(models_dir / "mano" / "MANO_RIGHT.pkl"))
    mano = {("ch_" if key == "shapedirs" else "") + key: value for key, value in mano.items()}
    (out_dir / "mano_python2.pkl").write_bytes(python2_chumpy_pickle(mano))

    smplx = _cut(safe_load_any(models_dir / "smplx" / "SMPLX_NEUTRAL.npz"))
    smplx["joint2num"] = np.array({"pelvis": 0, "left_hip": 1}, dtype=object)
    smplx["part2num"] = np.array({"global": 0, "head": 15}, dtype=object)
    np.savez(out_dir / "smplx.npz", **smplx)

    deca = safe_load_any(models_dir / "flame" / "landmark_embedding.npy")
    for key in ("dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords"):
        deca[key] = torch.from_numpy(np.asarray(deca[key]))
    np.save(out_dir / "deca_embedding.npy", np.array(deca, dtype=object), allow_pickle=True)

    checkpoint = _spin_like_checkpoint()
    torch.save(checkpoint, out_dir / "spin_zip.pt")
    torch.save(checkpoint, out_dir / "spin_legacy.pt", _use_new_zipfile_serialization=False)
    return out_dir


def read_zip(path: Path) -> dict[str, bytes]:
    """Every member of a zip archive, in order."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(members: dict[str, bytes]) -> bytes:
    """A stored (uncompressed) zip archive of ``members``, as torch.save and np.savez write."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
