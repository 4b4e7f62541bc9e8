"""Byte-reproducible writers for the official body-model file formats.

* ``.npz``: a ZIP of ``.npy`` members (what ``np.savez`` writes) with fixed member dates, so
  two runs give identical bytes; plain numeric/string arrays only (no pickled objects).
* ``.pkl``: a dict pickled with protocol 2 (what the Python-2 era official pickles use);
  numpy arrays, scipy.sparse matrices and strings only, no chumpy.
* ``.npy`` holding a dict: ``np.save`` of a 0-d object array (DECA's / RingNet's layout);
  ``.npy`` holding a plain array (``smplx_mask_ids.npy``), never pickled.

Every dict file carries ``specs.SYNTHETIC_MARKER_KEY`` -> a JSON string naming the generator
(a plain array has no room for one; the manifest's hash identifies it).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.bodymodels import specs

GENERATOR = "furpe_label.experts.bodymodels.synthetic"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def marker(seed: int, model: str) -> str:
    """The JSON text stored under the synthetic marker key of every file."""
    return json.dumps(
        {
            "generator": GENERATOR,
            "version": 1,
            "seed": int(seed),
            "model": model,
            "note": "SYNTHETIC stand-in body model: not a licensed model, never real labels",
        },
        sort_keys=True,
    )


def write_npz(path: Path, arrays: dict[str, Any]) -> None:
    """Write arrays like ``np.savez`` (uncompressed) but with reproducible bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def write_pickle(path: Path, data: dict[str, Any]) -> None:
    """Pickle a dict with protocol 2 (readable by ``pickle.load(f, encoding='latin1')``)."""
    path.write_bytes(pickle.dumps(data, protocol=2))


def write_npy_dict(path: Path, data: dict[str, Any]) -> None:
    """``np.save`` of a dict (read back with ``np.load(path, allow_pickle=True)[()]``)."""
    holder = np.empty((), dtype=object)
    holder[()] = data
    with open(path, "wb") as handle:
        np.save(handle, holder, allow_pickle=True)


def write_npy_array(path: Path, array: np.ndarray) -> None:
    """A plain array as ``.npy`` (no pickle; ``np.load(path)`` reads it back)."""
    with open(path, "wb") as handle:
        np.lib.format.write_array(handle, np.asarray(array), allow_pickle=False)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def with_marker(data: dict[str, Any], seed: int, model: str, as_array: bool) -> dict[str, Any]:
    """A copy of ``data`` with the marker (a 0-d unicode array when ``as_array``)."""
    text = marker(seed, model)
    return {**data, specs.SYNTHETIC_MARKER_KEY: np.array(text) if as_array else text}


def to_jsonable(value: Any) -> Any:
    """numpy values (recursively) as JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(round(float(value), 12))
    return value
