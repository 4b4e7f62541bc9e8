"""Find the official body-model files inside a user's models folder.

Accepted layouts (checked in this order for every model):

* the layout ``smplx.create()`` reads: ``DIR/smplx/SMPLX_NEUTRAL.npz``, ``DIR/smpl/...``,
  ``DIR/mano/...``, ``DIR/flame/...``, ``DIR/transfer/smpl2smplx_deftrafo_setup.pkl``;
* the unpacked official downloads: ``DIR/models/smplx/`` (models_smplx_v1_1.zip),
  ``DIR/mano_v1_2/models/`` (mano_v1_2.zip), ``DIR/FLAME2020/`` (FLAME2020.zip),
  ``DIR/transfer_data/`` (smplx transfer_model data);
* every file directly in ``DIR``.

Within a folder the official file names of ``specs`` are tried in their listed order, so
``SMPL_NEUTRAL.pkl`` wins over ``basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from furpe_label.experts.bodymodels import specs

MODELS_ENV = "FURPE_MODELS"

_EXTRA_FOLDERS = {
    "smplx": ("models/smplx",),
    "smpl": ("models/smpl", "smpl/models"),
    "mano": ("models/mano", "mano_v1_2/models"),
    "flame": ("models/flame", "FLAME2020"),
    "transfer": ("transfer_data", "models/transfer"),
}


class ModelsFolderError(FileNotFoundError):
    """The models folder is not given or does not exist."""


def resolve_models_dir(models_dir: Path | str | None) -> Path:
    """The models folder from the argument or ``$FURPE_MODELS``; it must exist."""
    chosen = models_dir if models_dir is not None else os.environ.get(MODELS_ENV)
    if not chosen:
        raise ModelsFolderError(
            f"no models folder given: pass --models DIR or set {MODELS_ENV} "
            "(run `furpe-label synth-models DIR` for a synthetic stand-in family)"
        )
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise ModelsFolderError(f"models folder {path} does not exist or is not a folder")
    return path


def candidate_folders(models_dir: Path, folder: str) -> list[Path]:
    """Folders searched for one model kind, most specific first."""
    names = (folder, *_EXTRA_FOLDERS.get(folder, ()))
    return [models_dir / name for name in names] + [models_dir]


def find_file(models_dir: Path, folder: str, file_names: tuple[str, ...]) -> Path | None:
    """First existing ``folder/name`` among the candidates, or None."""
    for directory in candidate_folders(models_dir, folder):
        for name in file_names:
            path = directory / name
            if path.is_file():
                return path
    return None


@dataclass(frozen=True)
class ExpectedFile:
    """One file the tool looks for: role, official names, folder kind and requirement."""

    component: str
    folder: str
    file_names: tuple[str, ...]
    required: bool
    source: str
    spec: specs.ModelSpec | None = None

    def describe(self) -> str:
        """Official names with the preferred location, for messages."""
        return f"{self.folder}/{' | '.join(self.file_names)}"


def expected_files() -> list[ExpectedFile]:
    """Every file `furpe-label check --models` reports on, required ones first."""
    rows = [
        ExpectedFile(
            "SMPL-X neutral",
            "smplx",
            specs.SMPLX_FILE_NAMES["neutral"],
            True,
            specs.SMPLX.source,
            specs.SMPLX,
        ),
        ExpectedFile(
            "SMPL neutral",
            "smpl",
            specs.SMPL_FILE_NAMES["neutral"],
            True,
            specs.SMPL.source,
            specs.SMPL,
        ),
        ExpectedFile(
            "MANO right",
            "mano",
            specs.MANO_FILE_NAMES["right"],
            True,
            specs.MANO.source,
            specs.MANO,
        ),
        ExpectedFile(
            "MANO left", "mano", specs.MANO_FILE_NAMES["left"], True, specs.MANO.source, specs.MANO
        ),
        ExpectedFile(
            "FLAME neutral",
            "flame",
            specs.FLAME_FILE_NAMES["neutral"],
            True,
            specs.FLAME.source,
            specs.FLAME,
        ),
        ExpectedFile(
            "FLAME landmark embedding (DECA)",
            "flame",
            specs.FLAME_EMBEDDING_NAMES,
            True,
            "DECA repo fetch_data.sh (data/landmark_embedding.npy)",
        ),
        ExpectedFile(
            "SMPL->SMPL-X correspondence",
            "transfer",
            specs.SMPL2SMPLX_FILE_NAMES,
            False,
            "https://smpl-x.is.tue.mpg.de (Download > Model transfer data)",
        ),
    ]
    for gender in ("male", "female"):
        rows += [
            ExpectedFile(
                f"SMPL-X {gender}",
                "smplx",
                specs.SMPLX_FILE_NAMES[gender],
                False,
                specs.SMPLX.source,
                specs.SMPLX,
            ),
            ExpectedFile(
                f"SMPL {gender}",
                "smpl",
                specs.SMPL_FILE_NAMES[gender],
                False,
                specs.SMPL.source,
                specs.SMPL,
            ),
        ]
    return rows
