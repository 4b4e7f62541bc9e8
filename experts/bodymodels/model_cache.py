"""The model cache: plain-array ``.npz`` copies of model files that `smplx` reads itself.

Location: ``$FURPE_CACHE`` (default ``~/.cache/furpe-label``), folder ``models/``; one folder
per source model file (named after its SHA-256), holding

* ``SMPLX_<GENDER>.npz`` / ``FLAME_<GENDER>.npz``: the validated arrays of the official file
  (sparse matrices made dense, dicts and Python objects dropped);
* ``flame_embeddings.npz``: the FLAME landmark embeddings (``static_lmk_face_idx`` (51,),
  ``static_lmk_b_coords`` (51, 3), ``dynamic_lmk_face_idx`` (79, 17), ``dynamic_lmk_b_coords``
  (79, 17, 3)), from smplx's or DECA's files;
* beside each, ``<name>.manifest.json``: the SHA-256 of the source file(s) it was made from, its
  own SHA-256, and each member's dtype and shape.

Nothing in the cache can hold code: members are plain numeric/string arrays written with
``allow_pickle=False`` (a fixed-timestamp, stored zip, so the same arrays give the same bytes).
A cache file is used only when its manifest names the current source digest, its own digest
matches and every member's ``.npy`` header is a plain dtype listed in the manifest; otherwise
(missing, stale, edited, planted) it is rebuilt from the source, with a log line. Deleting the
folder is always safe (``rm -rf ~/.cache/furpe-label``): it is rebuilt on the next load.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from furpe_label.experts.filecheck import sha256_of_file
from furpe_label.experts.safe_load.npy_format import read_npy_header

logger = logging.getLogger(__name__)

CACHE_ENV = "FURPE_CACHE"
MANIFEST_SUFFIX = ".manifest.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def cache_root() -> Path:
    """Folder of the cache (``$FURPE_CACHE`` or ``~/.cache/furpe-label``)."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "furpe-label"))


def model_cache_folder(source_sha256: str) -> Path:
    """The cache folder of one source model file."""
    return cache_root() / "models" / source_sha256[:24]


def plain_arrays(data: dict[str, Any]) -> dict[str, np.ndarray]:
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


def cached_plain_npz(
    target: Path, source_sha256: str, arrays: Callable[[], dict[str, np.ndarray]]
) -> Path:
    """``target``, verified against its manifest, or (re)written from ``arrays()`` first.

    Args:
        target: the cache file (``.npz``).
        source_sha256: digest of the source file(s) the arrays come from.
        arrays: builds the plain arrays (called only when the cache file cannot be used).
    """
    problem = cache_file_problem(target, source_sha256)
    if problem is None:
        return target
    if problem != "not cached yet":
        logger.warning("model cache %s: %s; rebuilding it from the source", target, problem)
    _write(target, source_sha256, plain_arrays(arrays()))
    return target


def cache_file_problem(target: Path, source_sha256: str) -> str | None:
    """Why ``target`` may not be used (None: it may)."""
    manifest_path = target.with_name(target.name + MANIFEST_SUFFIX)
    if not target.is_file() and not manifest_path.exists():
        return "not cached yet"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = (manifest["source_sha256"], manifest["sha256"], manifest["members"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"no readable manifest ({type(error).__name__})"
    if recorded[0] != source_sha256:
        return "made from another version of the source file (stale)"
    if not target.is_file() or target.is_symlink():
        return "the cache file is missing or not a regular file"
    if sha256_of_file(target) != recorded[1]:
        return "its content changed after it was written (digest mismatch)"
    try:
        members = _member_headers(target)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        return f"not a readable .npz of plain arrays ({error})"
    if members != recorded[2]:
        return "its members differ from the manifest"
    return None


def listed_files_problem(folder: Path, manifest_name: str) -> str | None:
    """Why ``folder`` differs from its manifest's ``files`` list (``path``, ``sha256``), or None.

    Used for the synthetic family written into the cache (``synthetic-models-seed0/``), whose
    ``SYNTHETIC_MODELS.json`` lists every file with its digest.
    """
    try:
        manifest = json.loads((folder / manifest_name).read_text(encoding="utf-8"))
        listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"no readable {manifest_name} ({type(error).__name__})"
    for relative, digest in sorted(listed.items()):
        path = folder / relative
        if not path.is_file() or path.is_symlink():
            return f"{relative} is missing or not a regular file"
        if sha256_of_file(path) != digest:
            return f"{relative} changed after it was written (digest mismatch)"
    found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    unlisted = sorted(found - set(listed) - {manifest_name})
    return f"files it never wrote: {unlisted[:5]}" if unlisted else None


def _member_headers(path: Path) -> dict[str, list[Any]]:
    """``{member: [dtype string, shape]}`` from each member's ``.npy`` header (no data read)."""
    out: dict[str, list[Any]] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as handle:
                shape, _, dtype = read_npy_header(handle)  # type: ignore[arg-type]
            if dtype.hasobject:
                raise ValueError(f"member {info.filename} holds pickled Python objects")
            out[info.filename.removesuffix(".npy")] = [dtype.str, list(shape)]
    return out


def _write(target: Path, source_sha256: str, arrays: dict[str, np.ndarray]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, suffix=".npz.tmp")
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w", zipfile.ZIP_STORED) as archive:
            for key in sorted(arrays):
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_TIME)
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arrays[key], allow_pickle=False)
        manifest = {
            "source_sha256": source_sha256,
            "sha256": sha256_of_file(Path(temp_name)),
            "members": {k: [v.dtype.str, list(v.shape)] for k, v in sorted(arrays.items())},
        }
        os.replace(temp_name, target)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    manifest_path = target.with_name(target.name + MANIFEST_SUFFIX)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, suffix=".json.tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(manifest, stream, indent=1)
    os.replace(temp_name, manifest_path)
