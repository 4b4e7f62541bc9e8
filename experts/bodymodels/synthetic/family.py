"""The synthetic body-model family: SMPL-X, SMPL, MANO, FLAME stand-ins in the official formats.

Licensed model files cannot be shipped, so tests, benchmarks and the demo use this family. It
is written in the official file layouts and read by the unmodified ``smplx`` package through
its normal code paths; every file is marked synthetic (``specs.SYNTHETIC_MARKER_KEY``).

Construction (all deterministic; the seed only drives the random details listed below):

* **Surface.** A human in T-pose (y up, facing +z, metres, 1.70 m, pelvis at y = -0.24) made
  of tubes of rings along a designed skeleton; hips, shoulders, palms and feet are convex-hull
  junctions of the tube ends; the head is a face-carved ellipsoid grid with mouth and eye
  slits; each hand has five fingers with an opposed thumb. SMPL is this single closed genus-0
  surface refined by edge bisection to 6890 vertices (13776 faces, as the official model).
* **SMPL-X is the master** and a refinement of SMPL: SMPL's vertices are copied (same index in
  construction order), 3585 vertices are inserted by bisecting edges of the head and hands
  (each lies exactly on an SMPL triangle), two eyeballs are added and the mouth and eyelid
  strips are opened: 10475 vertices, 20908 faces (official counts). MANO is the SMPL-X right
  hand piece (778 vertices, 1538 faces, open wrist ring of 16), the left MANO its mirror image;
  FLAME is the SMPL-X head piece with the eyeballs (5023 vertices, 9976 faces, open neck ring
  of 30). Landmark embeddings (51 static, 79 x 17 dynamic contour, DECA's 68) are on it.
* **Rig.** Joints are means of vertex rings (affine combinations where no ring surrounds a
  joint); skinning is bone-heat diffusion on SMPL-X with a harmonic jaw mask; SMPL/MANO/FLAME
  regressors, weights and pose correctives are exact restrictions/sums of SMPL-X's. Hence a
  posed SMPL equals the SMPL-X posed with the same body pose on every shared vertex (fingers,
  jaw, eyes at rest), MANO hand poses are SMPL-X hand poses, FLAME jaw/expression are
  SMPL-X's, all exactly.
* **Spaces.** SMPL-X has 300 shape directions (0 height, 1 girth, 2-9 proportions, then
  random smooth symmetric fields) and 100 expression directions (mouth open, smile, brows
  ... then random local fields). SMPL's 10 directions are SMPL-X's first 10 mixed by a
  known invertible map M (smplx_betas[:10] = M smpl_betas, in the manifest); MANO and FLAME
  have their own identity spaces. Hand-pose PCA comes from synthetic grasps.
* **Vertex orders** put the vertices hard-coded by ``smplx.vertex_ids`` (nose, eyes, ears,
  toes, heels, finger tips) and the MANO fingertip convention [745, 317, 444, 556, 673]
  (thumb, index, middle, ring, pinky) on the matching semantic vertices.
* **Ground truth** of every correspondence is in ``SYNTHETIC_MODELS.json`` and the official
  transfer files: ``transfer/smpl2smplx_deftrafo_setup.pkl`` (exact one-hot / barycentric
  rows; the eyeballs, which have no SMPL counterpart, get their nearest SMPL surface point as
  in the official file) and ``transfer/smplx_mask_ids.npy`` (plain int64 ids of every SMPL-X
  vertex but the eyeballs; a bare array as the official file, so it carries no marker: the
  manifest's hash identifies it).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.synthetic import correspondence as corr
from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic import writers as w
from furpe_label.experts.bodymodels.synthetic.models import GENDER_BETAS, build_family_models

logger = logging.getLogger(__name__)

TRANSFER_FOLDER = "transfer"
FLAME_STATIC_EMBEDDING = "flame_static_embedding.pkl"
FLAME_DYNAMIC_EMBEDDING = "flame_dynamic_embedding.npy"
"""File names the ``smplx`` FLAME layer reads beside ``FLAME_<GENDER>.pkl``."""


@dataclass(frozen=True)
class SyntheticFamilyInfo:
    """What :func:`write_synthetic_family` wrote.

    Attributes:
        out_dir: the models folder (layout of ``smplx.create``).
        seed: generator seed; genders: genders written for SMPL-X, SMPL and FLAME.
        files: every model / embedding / correspondence file written.
        manifest: the ``SYNTHETIC_MODELS.json`` file (sha256 of each file, ground truth).
    """

    out_dir: Path
    seed: int
    genders: tuple[str, ...]
    files: tuple[Path, ...]
    manifest: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        """All written paths, the manifest last."""
        return (*self.files, self.manifest)


def write_synthetic_family(
    out_dir: Path, seed: int = 0, genders: tuple[str, ...] = ("neutral",)
) -> SyntheticFamilyInfo:
    """Write the synthetic family to ``out_dir`` (byte-identical for a given seed).

    Raises:
        ValueError: an unknown gender.
    """
    genders = tuple(dict.fromkeys(genders))
    unknown = [g for g in genders if g not in specs.GENDERS]
    if unknown or not genders:
        raise ValueError(f"unknown genders {unknown}; choose among {specs.GENDERS}")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    models = build_family_models(seed, genders)
    folders = {
        name: out_dir / name
        for name in (
            specs.SMPLX.folder,
            specs.SMPL.folder,
            specs.MANO.folder,
            specs.FLAME.folder,
            TRANSFER_FOLDER,
        )
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for gender in genders:
        path = folders["smplx"] / specs.SMPLX_FILE_NAMES[gender][0]
        w.write_npz(path, w.with_marker(models.smplx[gender], seed, f"smplx-{gender}", True))
        files.append(path)
        path = folders["smpl"] / specs.SMPL_FILE_NAMES[gender][0]
        w.write_pickle(path, w.with_marker(models.smpl[gender], seed, f"smpl-{gender}", False))
        files.append(path)
    for side in ("right", "left"):
        path = folders["mano"] / specs.MANO_FILE_NAMES[side][0]
        w.write_pickle(path, w.with_marker(models.mano[side], seed, f"mano-{side}", False))
        files.append(path)
    for gender in genders:
        path = folders["flame"] / specs.FLAME_FILE_NAMES[gender][0]
        w.write_pickle(path, w.with_marker(models.flame[gender], seed, f"flame-{gender}", False))
        files.append(path)
    files += _write_embeddings(folders["flame"], models.embeddings, seed)
    path = folders["transfer"] / specs.SMPL2SMPLX_FILE_NAMES[0]
    w.write_pickle(path, w.with_marker({"mtx": models.mtx}, seed, "smpl2smplx", False))
    files.append(path)
    path = folders["transfer"] / specs.SMPLX_MASK_IDS_FILE_NAMES[0]
    w.write_npy_array(path, models.mask_ids)
    files.append(path)
    manifest = out_dir / specs.SYNTHETIC_MANIFEST
    content = _manifest(out_dir, files, models.truth, seed, genders)
    manifest.write_text(json.dumps(w.to_jsonable(content), indent=1, sort_keys=True) + "\n")
    logger.info(
        "synthetic body-model family (seed %d) written to %s in %.1f s",
        seed,
        out_dir,
        time.perf_counter() - start,
    )
    return SyntheticFamilyInfo(out_dir, seed, genders, tuple(files), manifest)


def _write_embeddings(folder: Path, e: dict[str, np.ndarray], seed: int) -> list[Path]:
    static = {"lmk_face_idx": e["static_faces"], "lmk_b_coords": e["static_bary"]}
    dynamic = {"lmk_face_idx": e["dynamic_faces"], "lmk_b_coords": e["dynamic_bary"]}
    deca = {
        "static_lmk_faces_idx": e["static_faces"],
        "static_lmk_bary_coords": e["static_bary"],
        "dynamic_lmk_faces_idx": e["dynamic_faces"],
        "dynamic_lmk_bary_coords": e["dynamic_bary"],
        "full_lmk_faces_idx": e["full_faces"][None],
        "full_lmk_bary_coords": e["full_bary"][None],
    }
    paths = [
        folder / FLAME_STATIC_EMBEDDING,
        folder / FLAME_DYNAMIC_EMBEDDING,
        folder / specs.FLAME_EMBEDDING_NAMES[0],
    ]
    w.write_pickle(paths[0], w.with_marker(static, seed, "flame-static-embedding", False))
    w.write_npy_dict(paths[1], w.with_marker(dynamic, seed, "flame-dynamic-embedding", False))
    w.write_npy_dict(paths[2], w.with_marker(deca, seed, "deca-landmark-embedding", False))
    return paths


def _manifest(out_dir: Path, files: list[Path], truth: dict, seed: int, genders) -> dict:
    mano_rule = "MANO vertex + translation = SMPL-X vertex at rest; MANO joint k = SMPL-X joint"
    return {
        specs.SYNTHETIC_MARKER_KEY: w.marker(seed, "manifest"),
        "generator": w.GENERATOR,
        "seed": seed,
        "genders": list(genders),
        "construction": (__doc__ or "").split("Construction")[1].strip(),
        "files": [
            {
                "path": p.relative_to(out_dir).as_posix(),
                "sha256": w.sha256(p),
                "bytes": p.stat().st_size,
            }
            for p in files
        ],
        "ground_truth": {
            "smpl_betas_to_smplx_betas": {
                "matrix": truth["smpl_betas_to_smplx_betas"],
                "rule": "smplx betas[:10] = matrix @ smpl betas (other SMPL-X betas 0)",
            },
            "smpl_vertex_to_smplx_vertex": truth["smpl_vertex_to_smplx_vertex"],
            "smplx_vertices_without_smpl_correspondence": truth[
                "smplx_vertices_without_smpl_correspondence"
            ],
            "smpl_joint_to_smplx_joint": list(sk.SMPL_FROM_SMPLX),
            "gender_templates": {g: GENDER_BETAS[g] for g in genders},
            "mano": {
                side: {
                    "vertex_to_smplx_vertex": truth[f"mano_{side}_vertex_to_smplx_vertex"],
                    "joint_to_smplx_joint": list(sk.MANO_FROM_SMPLX[side]),
                    "translation": truth[f"mano_{side}_translation"],
                    "rule": mano_rule + " joint_to_smplx_joint[k]; hand poses map 1:1",
                }
                for side in ("right", "left")
            },
            "flame": {
                "vertex_to_smplx_vertex": truth["flame_vertex_to_smplx_vertex"],
                "joint_to_smplx_joint": list(sk.FLAME_FROM_SMPLX),
                "translation": truth["flame_translation"],
                "rule": "FLAME vertex + translation = SMPL-X vertex (neutral, rest); FLAME "
                "expression k = SMPL-X expression k (k < 100); FLAME jaw/eyes = SMPL-X jaw/eyes",
            },
        },
        "vertex_ids": {"mano_tips": corr.MANO_TIP_VERTICES, "smplx": corr.SMPLX_VERTEX_IDS},
    }
