"""Build `smplx` layers (SMPL, SMPL-X, MANO, FLAME) from the official files, safely.

The `smplx` package reads files itself with ``pickle.load`` / ``np.load(allow_pickle=True)``,
which would run code hidden in a pickle and needs chumpy for official SMPL/MANO/FLAME files.
Here every file is first read by :mod:`furpe_label.experts.safe_load` and validated
against :mod:`specs`; then

* SMPL and MANO layers receive the arrays as ``data_struct`` (smplx reads nothing itself);
* SMPL-X and FLAME layers (whose constructors always read a file) read a *sanitised copy*:
  a plain-array ``.npz`` of the model cache (:mod:`.model_cache`: no object members, so
  smplx's ``np.load(allow_pickle=True)`` never unpickles; verified against its manifest and
  the source file's digest before every use, rebuilt otherwise);
* FLAME's constructor also unpickles ``flame_static_embedding.pkl`` and
  ``flame_dynamic_embedding.npy`` from its folder: those are written, from the verified
  embedding arrays of the cache, into a private temporary folder (beside a link to the
  verified ``FLAME_<GENDER>.npz``) that exists only while the layer is built; no pickle is
  ever read back from the cache.

Defaults follow the project conventions: full axis-angle hand poses (``use_pca=False``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import smplx
import torch
from smplx.utils import Struct

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import find_file, resolve_models_dir
from furpe_label.experts.bodymodels.model_cache import (
    CACHE_ENV,
    cache_root,
    cached_plain_npz,
    model_cache_folder,
)
from furpe_label.experts.bodymodels.validate import load_and_validate
from furpe_label.experts.filecheck import sha256_of_file
from furpe_label.experts.safe_load import NpzMembers

logger = logging.getLogger(__name__)

__all__ = ["CACHE_ENV", "BodyModel", "cache_root", "load_body_model", "locate_model_file"]
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


def _flame_embedding_files(models_dir: Path, flame_path: Path) -> list[Path]:
    """smplx's two embedding files beside the FLAME file, else DECA's ``landmark_embedding.npy``."""
    pair = [flame_path.parent / "flame_static_embedding.pkl"]
    pair.append(flame_path.parent / "flame_dynamic_embedding.npy")
    if all(path.is_file() for path in pair):
        return pair
    deca_path = find_file(models_dir, "flame", specs.FLAME_EMBEDDING_NAMES)
    if deca_path is None:
        raise FileNotFoundError(
            f"no FLAME landmark embedding beside {flame_path}: expected DECA's "
            "landmark_embedding.npy or smplx's flame_static_embedding.pkl + "
            "flame_dynamic_embedding.npy"
        )
    return [deca_path]


def _flame_embedding_arrays(files: list[Path]) -> dict[str, np.ndarray]:
    """The four embedding arrays (see :mod:`.model_cache`) from smplx's pair or DECA's file."""
    if len(files) == 2:
        static_spec = {
            "lmk_face_idx": specs.ArraySpec((51,)),
            "lmk_b_coords": specs.ArraySpec((51, 3)),
        }
        dynamic_spec = {
            "lmk_face_idx": specs.ArraySpec((79, 17)),
            "lmk_b_coords": specs.ArraySpec((79, 17, 3)),
        }
        static = load_and_validate(files[0], static_spec).data
        dynamic = load_and_validate(files[1], dynamic_spec).data
        return {
            "static_lmk_face_idx": np.asarray(static["lmk_face_idx"]),
            "static_lmk_b_coords": np.asarray(static["lmk_b_coords"]),
            "dynamic_lmk_face_idx": np.asarray(dynamic["lmk_face_idx"]),
            "dynamic_lmk_b_coords": np.asarray(dynamic["lmk_b_coords"]),
        }
    deca = load_and_validate(files[0], specs.FLAME_LANDMARK_EMBEDDING).data
    return {
        "static_lmk_face_idx": np.asarray(deca["static_lmk_faces_idx"]),
        "static_lmk_b_coords": np.asarray(deca["static_lmk_bary_coords"]),
        "dynamic_lmk_face_idx": np.asarray(deca["dynamic_lmk_faces_idx"]),
        "dynamic_lmk_b_coords": np.asarray(deca["dynamic_lmk_bary_coords"]),
    }


def _flame_layer(model: Path, embeddings: Path, variant: str, options: Any) -> torch.nn.Module:
    """``smplx.FLAME`` built from the verified cache files, through a private folder that holds
    the embedding files smplx unpickles (written here, from plain arrays, and then removed)."""
    arrays = NpzMembers(embeddings, allow_objects=False)
    static = {"lmk_face_idx": arrays["static_lmk_face_idx"]}
    static["lmk_b_coords"] = arrays["static_lmk_b_coords"]
    dynamic = {"lmk_face_idx": arrays["dynamic_lmk_face_idx"]}
    dynamic["lmk_b_coords"] = arrays["dynamic_lmk_b_coords"]
    with tempfile.TemporaryDirectory(prefix="furpe-flame-") as folder:
        private = Path(folder)
        (private / model.name).symlink_to(model)
        (private / "flame_static_embedding.pkl").write_bytes(pickle.dumps(static, protocol=4))
        holder = np.empty((), dtype=object)
        holder[()] = dynamic
        np.save(private / "flame_dynamic_embedding.npy", holder, allow_pickle=True)
        return smplx.FLAME(str(private), ext="npz", gender=variant, **options)


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
        copy = cached_plain_npz(
            model_cache_folder(sha) / f"SMPLX_{variant.upper()}.npz", sha, lambda: loaded.data
        )
        layer = smplx.SMPLX(str(copy), ext="npz", gender=variant, **layer_options)
    else:
        folder = model_cache_folder(sha)
        copy = cached_plain_npz(folder / f"FLAME_{variant.upper()}.npz", sha, lambda: loaded.data)
        files = _flame_embedding_files(root, path)
        digest = hashlib.sha256("".join(sha256_of_file(p) for p in files).encode()).hexdigest()
        embeddings = cached_plain_npz(
            folder / "flame_embeddings.npz", digest, lambda: _flame_embedding_arrays(files)
        )
        layer = _flame_layer(copy, embeddings, variant, layer_options)
    if loaded.synthetic is not None:
        logger.warning("%s is a SYNTHETIC stand-in model: outputs are not real labels", path)
    return BodyModel(layer=layer, kind=kind, path=path, sha256=sha, synthetic=loaded.synthetic)
