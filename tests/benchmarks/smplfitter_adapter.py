"""smplfitter 0.6.0 (MIT, optional ``bench`` extra) driven through the project's safe loader.

smplfitter reads body models itself, with plain ``pickle.load`` and ``np.load`` on the user's
files. Here it never does: while its objects are built, the ``pickle`` and ``np`` globals of
``smplfitter.common`` (its only reader of files) are replaced by shims that read every file
through :mod:`furpe_label.experts.safe_load`, and its body-model folder is a
scratch folder of links to the family's files under the names smplfitter expects.

smplfitter also insists on a kid template per model (AGORA's SMIL-based file, licensed) and
its ``BodyConverter`` refuses to start without one. The converter disables the kid blend
shape when no kid factor is given (regulariser 1e9), so its content does not matter; the
scratch folder holds a stand-in: the model's own template scaled by 0.65.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import find_file
from furpe_label.experts.safe_load import (
    safe_load_npy,
    safe_load_npz,
    safe_pickle_loads,
)

KID_TEMPLATE_SCALE = 0.65
_SMPLFITTER_NAMES = {
    "smpl": "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
    "smplx": "SMPLX_NEUTRAL.npz",
}


class _SafeNumpy(types.ModuleType):
    """numpy with ``load`` replaced by the project's safe ``.npy`` / ``.npz`` readers."""

    def __init__(self) -> None:
        super().__init__("numpy")

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def load(path: Any, *args: Any, **kwargs: Any) -> Any:
        path = Path(path)
        return safe_load_npz(path) if path.suffix == ".npz" else safe_load_npy(path)


def _safe_pickle_load(handle: Any, *args: Any, **kwargs: Any) -> Any:
    return safe_pickle_loads(handle.read(), str(getattr(handle, "name", "<stream>")))


@contextlib.contextmanager
def safe_smplfitter_loading() -> Iterator[None]:
    """Within the block, smplfitter reads files only through the project's safe loader."""
    import smplfitter.common as common

    saved = common.pickle, common.np
    common.pickle = types.SimpleNamespace(load=_safe_pickle_load)  # type: ignore[assignment]
    common.np = _SafeNumpy()  # type: ignore[assignment]
    try:
        yield
    finally:
        common.pickle, common.np = saved


def smplfitter_models_dir(models_dir: Path, scratch: Path) -> Path:
    """A ``body_models`` folder in smplfitter's layout linking to the family's files.

    Returns the folder to pass as ``SMPLFITTER_BODY_MODELS``.
    """
    root = scratch / "body_models"
    sources = {
        "smpl": find_file(models_dir, "smpl", specs.SMPL_FILE_NAMES["neutral"]),
        "smplx": find_file(models_dir, "smplx", specs.SMPLX_FILE_NAMES["neutral"][:1]),
    }
    for kind, source in sources.items():
        if source is None:
            raise FileNotFoundError(f"no neutral {kind} model in {models_dir}")
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / _SMPLFITTER_NAMES[kind]
        if not link.exists():
            link.symlink_to(source.resolve())
        data = safe_load_npz(source) if source.suffix == ".npz" else _pickle_file(source)
        template = np.asarray(data["v_template"], dtype=np.float64)
        np.save(folder / "kid_template.npy", KID_TEMPLATE_SCALE * template, allow_pickle=False)
    matrix = find_file(models_dir, "transfer", specs.SMPL2SMPLX_FILE_NAMES)
    if matrix is None:
        raise FileNotFoundError(f"no {specs.SMPL2SMPLX_FILE_NAMES[0]} in {models_dir}")
    link = root / matrix.name
    if not link.exists():
        link.symlink_to(matrix.resolve())
    return root


def build_converter(models_dir: Path, scratch: Path, num_betas: int = 10) -> Any:
    """smplfitter's SMPL -> SMPL-X ``BodyConverter`` on the family's files (safe loading).

    Sets ``SMPLFITTER_BODY_MODELS`` for the process (smplfitter reads the converter matrix
    from there).
    """
    import os

    from smplfitter.pt import BodyConverter, BodyModel

    os.environ["SMPLFITTER_BODY_MODELS"] = str(smplfitter_models_dir(models_dir, scratch))
    with safe_smplfitter_loading():
        smpl = BodyModel("smpl", "neutral", num_betas=num_betas)
        smplx = BodyModel("smplx", "neutral", num_betas=num_betas)
        return BodyConverter(smpl, smplx)


def _pickle_file(path: Path) -> dict[str, Any]:
    return safe_pickle_loads(path.read_bytes(), str(path))
