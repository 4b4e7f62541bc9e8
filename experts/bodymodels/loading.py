"""Build `smplx` layers (SMPL, SMPL-X, MANO, FLAME) from the official files, safely.

The `smplx` package reads files itself with ``pickle.load`` / ``np.load(allow_pickle=True)``,
which would run code hidden in a pickle and needs chumpy for official SMPL/MANO/FLAME files.
Here every file is first read by :mod:`furpe_label.experts.safe_load` and validated
against :mod:`specs`; then

* SMPL and MANO layers receive the arrays as ``data_struct`` (smplx reads nothing itself);
* SMPL-X and FLAME layers (whose constructors always read a file) read a *sanitised copy*:
  plain-array ``.npz`` files (no object members, so ``np.load`` never unpickles) written to a
  cache folder keyed by the source file's SHA-256 (``$FURPE_CACHE`` or
  ``~/.cache/furpe-label``), together with the FLAME landmark embeddings in the names
  smplx's FLAME layer expects.

Defaults follow the project conventions: full axis-angle hand poses (``use_pca=False``).
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import smplx
import torch
from smplx.utils import Struct

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import find_file, resolve_models_dir
from furpe_label.experts.bodymodels.validate import LoadedModelFile, load_and_validate
from furpe_label.experts.filecheck import sha256_of_file

logger = logging.getLogger(__name__)

CACHE_ENV = "FURPE_CACHE"
_SPECS = {"smplx": specs.SMPLX, "smpl": specs.SMPL, "mano": specs.MANO, "flame": specs.FLAME}
_NAMES = {
    "smplx": specs.SMPLX_FILE_NAMES,
    "smpl": specs.SMPL_FILE_NAMES,
    "mano": specs.MANO_FILE_NAMES,
    "flame": specs.FLAME_FILE_NAMES,
}


@dataclass(frozen=True)
class BodyModel:
    """A loaded body-model layer with its provenance.

    Attributes:
        layer: the `smplx` module (``smplx.SMPL``, ``SMPLX``, ``MANO`` or ``FLAME``); its
            ``forward`` returns vertices in metres.
        kind: "smpl", "smplx", "mano" or "flame".
        path: the official file it was built from.
        sha256: hex digest of that file (recorded in run directories).
        synthetic: the synthetic-family marker, None for real model files.
    """

    layer: torch.nn.Module
    kind: str
    path: Path
    sha256: str
    synthetic: dict[str, Any] | None


def cache_root() -> Path:
    """Folder for sanitised copies of model files."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "furpe-label"))


def _plain_arrays(data: dict[str, Any]) -> dict[str, np.ndarray]:
    """Only numeric/string numpy arrays (sparse made dense); dicts and objects dropped."""
    out = {}
    for key, value in data.items():
        if scipy.sparse.issparse(value):
            value = np.asarray(value.todense())
        if isinstance(value, str):
            value = np.asarray(value)
        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            out[key] = value
    return out


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename (safe for workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(handle)
    try:
        write(Path(temp_name))
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _sanitised_npz(source: LoadedModelFile, key: str, file_name: str) -> Path:
    target = cache_root() / "models" / key / file_name
    if not target.is_file():
        arrays = _plain_arrays(source.data)
        _atomic_write(target, lambda temp: np.savez(temp, **arrays))
    return target


def _flame_embeddings(models_dir: Path, flame_path: Path, target_dir: Path) -> None:
    """Write smplx's FLAME embedding files from the official ones or from DECA's."""
    static_path = target_dir / "flame_static_embedding.pkl"
    dynamic_path = target_dir / "flame_dynamic_embedding.npy"
    if static_path.is_file() and dynamic_path.is_file():
        return
    smplx_static = flame_path.parent / "flame_static_embedding.pkl"
    smplx_dynamic = flame_path.parent / "flame_dynamic_embedding.npy"
    if smplx_static.is_file() and smplx_dynamic.is_file():
        arrays = {"lmk_face_idx": specs.ArraySpec((51,)), "lmk_b_coords": specs.ArraySpec((51, 3))}
        static = load_and_validate(smplx_static, arrays).data
        dynamic = load_and_validate(
            smplx_dynamic,
            {
                "lmk_face_idx": specs.ArraySpec((79, 17)),
                "lmk_b_coords": specs.ArraySpec((79, 17, 3)),
            },
        ).data
    else:
        deca_path = find_file(models_dir, "flame", specs.FLAME_EMBEDDING_NAMES)
        if deca_path is None:
            raise FileNotFoundError(
                f"no FLAME landmark embedding beside {flame_path}: expected DECA's "
                "landmark_embedding.npy or smplx's flame_static_embedding.pkl + "
                "flame_dynamic_embedding.npy"
            )
        deca = load_and_validate(deca_path, specs.FLAME_LANDMARK_EMBEDDING).data
        static = {
            "lmk_face_idx": deca["static_lmk_faces_idx"],
            "lmk_b_coords": deca["static_lmk_bary_coords"],
        }
        dynamic = {
            "lmk_face_idx": deca["dynamic_lmk_faces_idx"],
            "lmk_b_coords": deca["dynamic_lmk_bary_coords"],
        }
    static = {k: np.asarray(v) for k, v in static.items() if k in ("lmk_face_idx", "lmk_b_coords")}
    dynamic = {
        k: np.asarray(v) for k, v in dynamic.items() if k in ("lmk_face_idx", "lmk_b_coords")
    }
    _atomic_write(static_path, lambda temp: temp.write_bytes(pickle.dumps(static, protocol=4)))
    _atomic_write(dynamic_path, lambda temp: np.save(temp, np.array(dynamic, dtype=object)))


def _fix_mano_left_shapedirs(models_dir: Path, left: dict[str, Any]) -> dict[str, Any]:
    """The official MANO_LEFT.pkl repeats the right hand's x shape directions (a known bug of
    the release): mirror them when they equal the right model's, as the MANO community fix
    does. Correct files (left already mirrored) are returned unchanged."""
    right_path = find_file(models_dir, specs.MANO.folder, specs.MANO_FILE_NAMES["right"])
    if right_path is None:
        return left
    right = load_and_validate(right_path, specs.MANO.arrays).data
    left_x = np.asarray(left["shapedirs"])[:, 0, :10]
    right_x = np.asarray(right["shapedirs"])[:, 0, :10]
    if np.abs(left_x - right_x).sum() >= 1.0:
        return left
    logger.warning("%s: x shape directions equal the right hand's; mirroring them", right_path)
    shapedirs = np.array(left["shapedirs"], dtype=np.float64, copy=True)
    shapedirs[:, 0, :] *= -1
    return {**left, "shapedirs": shapedirs}


def locate_model_file(models_dir: Path, kind: str, variant: str) -> Path:
    """The official file for ``kind`` and ``variant`` (gender, or side for MANO)."""
    names = _NAMES[kind].get(variant)
    if names is None:
        raise ValueError(f"unknown {kind} variant '{variant}'; known: {sorted(_NAMES[kind])}")
    path = find_file(models_dir, _SPECS[kind].folder, names)
    if path is None:
        raise FileNotFoundError(
            f"{kind} {variant} model not found in {models_dir}: expected "
            f"{_SPECS[kind].folder}/{' | '.join(names)} (download: {_SPECS[kind].source})"
        )
    return path


def load_body_model(
    models_dir: Path | str | None,
    kind: str,
    variant: str | None = None,
    **layer_options: Any,
) -> BodyModel:
    """Load one official body model as an `smplx` layer.

    Args:
        models_dir: the models folder (None: ``$FURPE_MODELS``).
        kind: "smplx", "smpl", "mano" or "flame".
        variant: gender ("neutral", "male", "female") or, for MANO, "right"/"left";
            default "neutral" / "right".
        **layer_options: passed to the smplx constructor (``num_betas``, ``batch_size``,
            ``flat_hand_mean``, ``use_face_contour``, ...).
    """
    if kind not in _SPECS:
        raise ValueError(f"unknown body model kind '{kind}'; known: {sorted(_SPECS)}")
    root = resolve_models_dir(models_dir)
    variant = variant or ("right" if kind == "mano" else "neutral")
    path = locate_model_file(root, kind, variant)
    loaded = load_and_validate(path, _SPECS[kind].arrays)
    sha = sha256_of_file(path)
    if kind in ("smplx", "mano"):
        layer_options.setdefault("use_pca", False)
    if kind == "smpl":
        layer = smplx.SMPL(
            str(path.parent), data_struct=Struct(**loaded.data), gender=variant, **layer_options
        )
    elif kind == "mano":
        data = _fix_mano_left_shapedirs(root, loaded.data) if variant == "left" else loaded.data
        layer = smplx.MANO(
            str(path),
            data_struct=Struct(**data),
            is_rhand=variant == "right",
            **layer_options,
        )
    elif kind == "smplx":
        copy = _sanitised_npz(loaded, sha[:24], f"SMPLX_{variant.upper()}.npz")
        layer = smplx.SMPLX(str(copy), ext="npz", gender=variant, **layer_options)
    else:
        embedding_files = sorted(path.parent.glob("*embedding*")) + [
            p for p in [find_file(root, "flame", specs.FLAME_EMBEDDING_NAMES)] if p is not None
        ]
        key = sha[:16] + "-" + "".join(sha256_of_file(p)[:8] for p in embedding_files)
        copy = _sanitised_npz(loaded, key, f"FLAME_{variant.upper()}.npz")
        _flame_embeddings(root, path, copy.parent)
        layer = smplx.FLAME(str(copy.parent), ext="npz", gender=variant, **layer_options)
    if loaded.synthetic is not None:
        logger.warning("%s is a SYNTHETIC stand-in model: outputs are not real labels", path)
    return BodyModel(layer=layer, kind=kind, path=path, sha256=sha, synthetic=loaded.synthetic)
