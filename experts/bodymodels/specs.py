"""Official body-model files: names, folder layout, keys and array shapes.

The single source of truth for what `furpe-label check --models` validates and what the
synthetic family writes. Sizes are those of the public releases (FORMATS.md):

========  ===========================================  ========  =======  =======
model     official file names                          vertices  faces    joints
========  ===========================================  ========  =======  =======
SMPL-X    SMPLX_{NEUTRAL,MALE,FEMALE}.{npz,pkl}        10 475    20 908   55
SMPL      SMPL_{NEUTRAL,MALE,FEMALE}.pkl,              6 890     13 776   24
          basicmodel_{neutral,m,f}_lbs_10_207_0_v1.*.pkl
MANO      MANO_{RIGHT,LEFT}.pkl                        778       1 538    16
FLAME     generic_model.pkl (FLAME 2020), FLAME_*.pkl  5 023     9 976    5
========  ===========================================  ========  =======  =======

Shapes below use ``V`` for the vertex count, ``J`` for joints and ``None`` for a free size
(e.g. the number of shape directions: 10 or 300 for SMPL, 20 or 400 for SMPL-X).
"""

from __future__ import annotations

from dataclasses import dataclass

SYNTHETIC_MARKER_KEY = "furpe_synthetic"
"""Key present (value: a JSON string describing generator + seed) in every synthetic file."""

SYNTHETIC_MANIFEST = "SYNTHETIC_MODELS.json"
"""File written at the root of a synthetic models folder."""


@dataclass(frozen=True)
class ArraySpec:
    """Expected shape of one array; ``None`` entries are free, ``min_last`` bounds the last axis."""

    shape: tuple[int | None, ...]
    min_last: int | None = None

    def problem(self, found: tuple[int, ...]) -> str | None:
        """Describe why ``found`` does not fit, or None when it fits."""
        if len(found) != len(self.shape):
            return f"expected {len(self.shape)} dims {self.shape}, found {found}"
        for want, got in zip(self.shape, found, strict=True):
            if want is not None and want != got:
                return f"expected shape {self.shape}, found {found}"
        if self.min_last is not None and found[-1] < self.min_last:
            return f"expected at least {self.min_last} on the last axis, found {found}"
        return None


@dataclass(frozen=True)
class ModelSpec:
    """One body model: where its files live and which arrays they must hold."""

    kind: str
    folder: str
    n_vertices: int
    n_faces: int
    n_joints: int
    arrays: dict[str, ArraySpec]
    source: str


def _common(v: int, f: int, j: int, n_pose_basis: int, min_shape: int) -> dict[str, ArraySpec]:
    return {
        "v_template": ArraySpec((v, 3)),
        "f": ArraySpec((f, 3)),
        "shapedirs": ArraySpec((v, 3, None), min_last=min_shape),
        "posedirs": ArraySpec((v, 3, n_pose_basis)),
        "J_regressor": ArraySpec((j, v)),
        "weights": ArraySpec((v, j)),
        "kintree_table": ArraySpec((2, j)),
    }


SMPLX = ModelSpec(
    kind="smplx",
    folder="smplx",
    n_vertices=10475,
    n_faces=20908,
    n_joints=55,
    arrays={
        **_common(10475, 20908, 55, 54 * 9, 20),
        "hands_componentsl": ArraySpec((45, 45)),
        "hands_componentsr": ArraySpec((45, 45)),
        "hands_meanl": ArraySpec((45,)),
        "hands_meanr": ArraySpec((45,)),
        "lmk_faces_idx": ArraySpec((51,)),
        "lmk_bary_coords": ArraySpec((51, 3)),
        "dynamic_lmk_faces_idx": ArraySpec((79, 17)),
        "dynamic_lmk_bary_coords": ArraySpec((79, 17, 3)),
    },
    source="https://smpl-x.is.tue.mpg.de (Download > SMPL-X v1.1, models_smplx_v1_1.zip)",
)

SMPL = ModelSpec(
    kind="smpl",
    folder="smpl",
    n_vertices=6890,
    n_faces=13776,
    n_joints=24,
    arrays=_common(6890, 13776, 24, 23 * 9, 10),
    source="https://smpl.is.tue.mpg.de (SMPL for Python v1.1.0; the neutral one also from SMPLify)",
)

MANO = ModelSpec(
    kind="mano",
    folder="mano",
    n_vertices=778,
    n_faces=1538,
    n_joints=16,
    arrays={
        **_common(778, 1538, 16, 15 * 9, 10),
        "hands_components": ArraySpec((45, 45)),
        "hands_mean": ArraySpec((45,)),
    },
    source="https://mano.is.tue.mpg.de (Models & Code, mano_v1_2.zip, models/MANO_*.pkl)",
)

FLAME = ModelSpec(
    kind="flame",
    folder="flame",
    n_vertices=5023,
    n_faces=9976,
    n_joints=5,
    arrays=_common(5023, 9976, 5, 4 * 9, 20),
    source="https://flame.is.tue.mpg.de (FLAME 2020, generic_model.pkl)",
)

FLAME_LANDMARK_EMBEDDING = {
    "static_lmk_faces_idx": ArraySpec((51,)),
    "static_lmk_bary_coords": ArraySpec((51, 3)),
    "dynamic_lmk_faces_idx": ArraySpec((79, 17)),
    "dynamic_lmk_bary_coords": ArraySpec((79, 17, 3)),
    "full_lmk_faces_idx": ArraySpec((1, 68)),
    "full_lmk_bary_coords": ArraySpec((1, 68, 3)),
}
"""DECA's ``landmark_embedding.npy`` (a pickled dict saved with np.save)."""

SMPL2SMPLX_MTX = ArraySpec((10475, 2 * 6890))
"""``smpl2smplx_deftrafo_setup.pkl`` key ``mtx``: sparse; first 6 890 columns are weights."""

GENDERS = ("neutral", "male", "female")

SMPLX_FILE_NAMES = {g: (f"SMPLX_{g.upper()}.npz", f"SMPLX_{g.upper()}.pkl") for g in GENDERS}
SMPL_FILE_NAMES = {
    "neutral": (
        "SMPL_NEUTRAL.pkl",
        "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
        "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
    ),
    "male": (
        "SMPL_MALE.pkl",
        "basicmodel_m_lbs_10_207_0_v1.1.0.pkl",
        "basicModel_m_lbs_10_207_0_v1.0.0.pkl",
    ),
    "female": (
        "SMPL_FEMALE.pkl",
        "basicmodel_f_lbs_10_207_0_v1.1.0.pkl",
        "basicModel_f_lbs_10_207_0_v1.0.0.pkl",
    ),
}
MANO_FILE_NAMES = {"right": ("MANO_RIGHT.pkl",), "left": ("MANO_LEFT.pkl",)}
FLAME_FILE_NAMES = {
    "neutral": ("FLAME_NEUTRAL.pkl", "generic_model.pkl"),
    "male": ("FLAME_MALE.pkl", "male_model.pkl"),
    "female": ("FLAME_FEMALE.pkl", "female_model.pkl"),
}
FLAME_EMBEDDING_NAMES = ("landmark_embedding.npy",)
"""DECA's embedding; smplx's own FLAME layer reads ``flame_static_embedding.pkl`` and
``flame_dynamic_embedding.npy`` instead (both written by the synthetic family as well)."""
SMPL2SMPLX_FILE_NAMES = ("smpl2smplx_deftrafo_setup.pkl",)
SMPLX_MASK_IDS_FILE_NAMES = ("smplx_mask_ids.npy",)
"""Shipped beside ``smpl2smplx_deftrafo_setup.pkl`` (smplx ``transfer_model`` data): a plain
1-D integer ``.npy`` (no pickle) of the SMPL-X vertex ids that have a real SMPL counterpart
(eyeballs and inner mouth left out); ``transfer_model`` computes its vertex loss on these only."""
