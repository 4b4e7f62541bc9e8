"""The synthetic body-model family: official formats, smplx loading, semantics, exact coherence."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import smplx
import torch
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.synthetic.correspondence import MANO_TIP_VERTICES
from furpe_label.experts.bodymodels.synthetic.family import write_synthetic_family

FLOOR = -1.13


@pytest.fixture(scope="session")
def family(synthetic_models_dir):
    """(models folder, manifest dict) of the seed-0 family written once per session."""
    manifest = json.loads((synthetic_models_dir / specs.SYNTHETIC_MANIFEST).read_text())
    return synthetic_models_dir, manifest


def _load(path: Path) -> dict:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:  # no pickled object members
            return {k: data[k] for k in data.files}
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=True)[()]
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="latin1")


def _dense(array) -> np.ndarray:
    return np.asarray(array.todense() if hasattr(array, "todense") else array)


@pytest.fixture(scope="session")
def smplx_layer(family):
    return smplx.create(
        str(family[0]), model_type="smplx", ext="npz", flat_hand_mean=True, use_pca=False
    )


def test_every_file_is_listed_hashed_and_marked(family):
    root, manifest = family
    listed = {entry["path"]: entry for entry in manifest["files"]}
    expected = {
        "smplx/SMPLX_NEUTRAL.npz",
        "smpl/SMPL_NEUTRAL.pkl",
        "mano/MANO_RIGHT.pkl",
        "mano/MANO_LEFT.pkl",
        "flame/FLAME_NEUTRAL.pkl",
        "flame/flame_static_embedding.pkl",
        "flame/flame_dynamic_embedding.npy",
        "flame/landmark_embedding.npy",
        "transfer/smpl2smplx_deftrafo_setup.pkl",
        "transfer/smplx_mask_ids.npy",
    }
    assert set(listed) == expected
    assert json.loads(manifest[specs.SYNTHETIC_MARKER_KEY])["seed"] == 0
    for name, entry in listed.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == entry["sha256"]
        if name.endswith("smplx_mask_ids.npy"):
            continue  # a bare id array, as the official file: identified by its hash only
        marker = json.loads(str(_load(root / name)[specs.SYNTHETIC_MARKER_KEY]))
        assert marker["generator"].endswith("synthetic") and "SYNTHETIC" in marker["note"]


def test_official_keys_shapes_and_face_counts(family):
    root, _ = family
    files = [
        (specs.SMPLX, root / "smplx/SMPLX_NEUTRAL.npz"),
        (specs.SMPL, root / "smpl/SMPL_NEUTRAL.pkl"),
        (specs.MANO, root / "mano/MANO_RIGHT.pkl"),
        (specs.FLAME, root / "flame/FLAME_NEUTRAL.pkl"),
    ]
    for spec, path in files:
        data = _load(path)
        for key, array_spec in spec.arrays.items():
            assert array_spec.problem(tuple(data[key].shape)) is None, (path, key)
        assert data["f"].shape == (spec.n_faces, 3) and data["f"].max() == spec.n_vertices - 1
        assert len(np.unique(data["f"])) == spec.n_vertices
    smpl = _load(files[1][1])
    assert smpl["bs_style"] == "lbs" and smpl["bs_type"] == "lrotmin"
    assert type(smpl["J_regressor"]).__name__ == "csc_matrix"
    mano = _load(files[2][1])
    comps = mano["hands_components"]
    np.testing.assert_allclose(comps @ comps.T, np.eye(45), atol=1e-9)
    deca = _load(root / "flame/landmark_embedding.npy")
    for key, array_spec in specs.FLAME_LANDMARK_EMBEDDING.items():
        assert array_spec.problem(tuple(deca[key].shape)) is None, key
    np.testing.assert_array_equal(deca["full_lmk_faces_idx"][0, 17:], deca["static_lmk_faces_idx"])
    np.testing.assert_array_equal(
        deca["full_lmk_faces_idx"][0, :17], deca["dynamic_lmk_faces_idx"][0]
    )


@pytest.mark.parametrize("contour", [False, True])
def test_smplx_loads_with_unmodified_smplx(family, contour):
    model = smplx.create(str(family[0]), model_type="smplx", ext="npz", use_face_contour=contour)
    out = model(expression=torch.ones(1, 10), jaw_pose=torch.tensor([[0.2, 0.0, 0.0]]))
    assert out.vertices.shape == (1, 10475, 3)
    assert out.joints.shape == (1, 144 if contour else 127, 3)
    assert torch.isfinite(out.joints).all()


def test_smpl_mano_flame_load_with_unmodified_smplx(family):
    root = str(family[0])
    assert smplx.create(root, model_type="smpl")().vertices.shape == (1, 6890, 3)
    for right in (True, False):
        out = smplx.create(root, model_type="mano", is_rhand=right)(hand_pose=torch.ones(1, 6))
        assert out.vertices.shape == (1, 778, 3) and out.joints.shape == (1, 16, 3)
    out = smplx.create(root, model_type="flame", use_face_contour=True)(jaw_pose=torch.ones(1, 3))
    assert out.vertices.shape == (1, 5023, 3) and out.joints.shape == (1, 5 + 68, 3)


def test_rest_pose_conventions_and_height(smplx_layer):
    v = smplx_layer.v_template.numpy()
    joints = (smplx_layer.J_regressor @ smplx_layer.v_template).numpy()
    assert 1.6 < v[:, 1].max() - v[:, 1].min() < 1.9
    assert np.linalg.norm(joints[0]) < 0.3  # pelvis near the origin
    assert joints[15, 1] > joints[0, 1] > joints[4, 1] > joints[7, 1]  # y up
    assert joints[16, 0] > 0 > joints[17, 0]  # subject's left is +x
    assert abs(joints[20, 1] - joints[16, 1]) < 0.05 and joints[20, 0] > 0.6  # T-pose
    assert v[SMPLX_VERTEX_IDS["smplx"]["nose"], 2] > joints[15, 2] + 0.1  # faces +z


def test_first_beta_changes_height(smplx_layer):
    heights = []
    for value in (-2.0, 0.0, 2.0):
        betas = torch.zeros(1, 10)
        betas[0, 0] = value
        v = smplx_layer(betas=betas).vertices[0].detach().numpy()
        heights.append(v[:, 1].max() - v[:, 1].min())
    assert heights[0] + 0.06 < heights[1] < heights[2] - 0.06


def test_expressions_move_only_the_face(family, smplx_layer):
    head = np.array(family[1]["ground_truth"]["flame"]["vertex_to_smplx_vertex"])
    rest = smplx_layer().vertices[0].detach().numpy()
    outside = np.setdiff1d(np.arange(10475), head)
    for k in range(10):
        expression = torch.zeros(1, 10)
        expression[0, k] = 2.0
        moved = np.linalg.norm(
            smplx_layer(expression=expression).vertices[0].detach() - rest, axis=1
        )
        assert moved[outside].max() == 0.0
        assert moved[head].max() > 0.004


def test_skinning_weights_and_pose_correctives(family):
    root = family[0]
    for name in ("smplx/SMPLX_NEUTRAL.npz", "smpl/SMPL_NEUTRAL.pkl", "mano/MANO_LEFT.pkl"):
        weights = _load(root / name)["weights"]
        assert weights.min() >= 0
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
        assert (weights > 0).sum(axis=1).max() <= 5
    flame = _load(root / "flame/FLAME_NEUTRAL.pkl")
    np.testing.assert_allclose(flame["weights"].sum(axis=1), 1.0, atol=1e-9)
    posedirs = _load(root / "smplx/SMPLX_NEUTRAL.npz")["posedirs"]
    assert 1e-3 < np.abs(posedirs).max() < 1e-2  # small pose correctives (metres per unit)


def _check_body_vertex_ids(v: np.ndarray, ids: dict, joints: np.ndarray) -> None:
    head = v[:, 1] > joints[12, 1]
    assert ids["nose"] == np.flatnonzero(head)[np.argmax(v[head, 2])]
    assert v[ids["lear"], 0] > 0.08 and v[ids["rear"], 0] < -0.08
    assert abs(v[ids["leye"], 1] - v[ids["nose"], 1]) < 0.07 and v[ids["leye"], 0] > 0.02
    for side, ankle in (("L", joints[7]), ("R", joints[8])):
        for toe in ("BigToe", "SmallToe"):
            p = v[ids[side + toe]]
            assert p[1] < FLOOR + 0.015 and p[2] > ankle[2] + 0.12
        heel = v[ids[side + "Heel"]]
        assert heel[1] < FLOOR + 0.015 and heel[2] < ankle[2] - 0.015
    assert ids["LBigToe"] in np.argsort(-v[:, 2])[:20]  # a most forward vertex
    for tag, wrist in (("l", joints[20]), ("r", joints[21])):
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            tip = v[ids[tag + finger]]
            assert np.linalg.norm(tip - wrist) > 0.1
        middle = v[ids[tag + "middle"]]
        assert abs(middle[0]) > np.abs(v[:, 0]).max() - 0.01  # the middle finger tip is outermost


def test_smplx_and_smpl_vertex_ids_are_semantic(family, smplx_layer):
    v = smplx_layer.v_template.numpy()
    joints = (smplx_layer.J_regressor @ smplx_layer.v_template).numpy()
    ids = SMPLX_VERTEX_IDS["smplx"]
    _check_body_vertex_ids(v, ids, joints)
    for eye, joint in (("leye", 23), ("reye", 24)):  # pupils: on the eyeball, in front
        assert abs(np.linalg.norm(v[ids[eye]] - joints[joint]) - 0.0115) < 1e-4
        assert v[ids[eye], 2] > joints[joint, 2]
    smpl = _load(family[0] / "smpl/SMPL_NEUTRAL.pkl")
    _check_body_vertex_ids(smpl["v_template"], SMPLX_VERTEX_IDS["smplh"], smpl["J"])


def test_mano_fingertip_vertices(family):
    for side in ("RIGHT", "LEFT"):
        mano = _load(family[0] / f"mano/MANO_{side}.pkl")
        v, weights = mano["v_template"], mano["weights"]
        for f, finger in enumerate(("index", "middle", "pinky", "ring", "thumb")):
            last = 3 + 3 * f
            mine = np.flatnonzero(weights.argmax(axis=1) == last)
            far = mine[np.argmax(np.linalg.norm(v[mine] - mano["J"][last], axis=1))]
            assert MANO_TIP_VERTICES[finger] == far
            smplx_tip = SMPLX_VERTEX_IDS["mano"][finger]
            assert np.linalg.norm(v[smplx_tip] - v[far]) < 0.012


def test_correspondence_is_exact(family):
    root, manifest = family
    mtx = _load(root / "transfer/smpl2smplx_deftrafo_setup.pkl")["mtx"]
    assert mtx.shape == (10475, 2 * 6890) and mtx[:, 6890:].nnz == 0
    weights = mtx[:, :6890].tocsr()
    sums = np.asarray(weights.sum(axis=1)).ravel()
    masked = np.array(manifest["ground_truth"]["smplx_vertices_without_smpl_correspondence"])
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)  # every row barycentric, as official
    assert weights.data.min() >= 0 and np.diff(weights.indptr).max() == 3
    smpl = _load(root / "smpl/SMPL_NEUTRAL.pkl")["v_template"]
    smplx_t = _load(root / "smplx/SMPLX_NEUTRAL.npz")["v_template"]
    rows = np.setdiff1d(np.arange(10475), masked)
    np.testing.assert_allclose((weights @ smpl)[rows], smplx_t[rows], atol=1e-12)
    # eyeballs sit inside the head: mapped to the nearest SMPL surface point, not onto themselves
    gap = np.linalg.norm((weights @ smpl)[masked] - smplx_t[masked], axis=1)
    assert gap.mean() > 1e-3 and gap.max() < 0.05
    copied = np.array(manifest["ground_truth"]["smpl_vertex_to_smplx_vertex"])
    np.testing.assert_array_equal(smplx_t[copied], smpl)


def test_mask_ids_file_has_the_official_layout(family):
    root, manifest = family
    path = root / "transfer/smplx_mask_ids.npy"
    ids = np.load(path, allow_pickle=False)  # a plain array: no pickle needed
    assert ids.dtype == np.int64 and ids.ndim == 1
    masked = manifest["ground_truth"]["smplx_vertices_without_smpl_correspondence"]
    assert len(masked) == 404  # the two eyeballs
    np.testing.assert_array_equal(ids, np.setdiff1d(np.arange(10475), masked))


def test_posed_smpl_matches_posed_smplx(family):
    root, manifest = family
    truth = manifest["ground_truth"]
    generator = torch.Generator().manual_seed(0)
    body = 0.4 * torch.randn(2, 63, generator=generator)
    orient = 0.5 * torch.randn(2, 3, generator=generator)
    betas = 1.5 * torch.randn(2, 10, generator=generator)
    matrix = torch.tensor(truth["smpl_betas_to_smplx_betas"]["matrix"], dtype=torch.float32)
    smpl = smplx.create(str(root), model_type="smpl", batch_size=2)
    x = smplx.create(str(root), model_type="smplx", flat_hand_mean=True, batch_size=2)
    a = smpl(betas=betas, global_orient=orient, body_pose=torch.cat([body, torch.zeros(2, 6)], 1))
    b = x(betas=betas @ matrix.T, global_orient=orient, body_pose=body)
    copied = torch.tensor(truth["smpl_vertex_to_smplx_vertex"])
    assert (a.vertices - b.vertices[:, copied]).abs().max() < 1e-5
    assert (a.joints[:, :22] - b.joints[:, :22]).abs().max() < 1e-5


def test_mano_and_flame_are_exact_parts_of_smplx(family, smplx_layer):
    root, manifest = family
    truth = manifest["ground_truth"]
    pose = 0.3 * torch.randn(1, 45, generator=torch.Generator().manual_seed(1))
    for side, right in (("right", True), ("left", False)):
        mano = smplx.create(
            str(root), model_type="mano", is_rhand=right, use_pca=False, flat_hand_mean=True
        )
        part = mano(hand_pose=pose).vertices[0]
        whole = smplx_layer(**{f"{side}_hand_pose": pose}).vertices[0]
        ids = torch.tensor(truth["mano"][side]["vertex_to_smplx_vertex"])
        shift = torch.tensor(truth["mano"][side]["translation"], dtype=torch.float32)
        assert (part + shift - whole[ids]).abs().max() < 1e-5
    flame = smplx.create(str(root), model_type="flame")
    jaw, expression = torch.tensor([[0.3, 0.05, 0.0]]), torch.randn(1, 10)
    part = flame(jaw_pose=jaw, expression=expression).vertices[0]
    whole = smplx_layer(jaw_pose=jaw, expression=expression).vertices[0]
    ids = torch.tensor(truth["flame"]["vertex_to_smplx_vertex"])
    shift = torch.tensor(truth["flame"]["translation"], dtype=torch.float32)
    assert (part + shift - whole[ids]).abs().max() < 1e-5


def test_landmarks_are_at_their_places(family):
    model = smplx.create(str(family[0]), model_type="smplx", use_face_contour=True)
    marks = model().joints[0, -68:].detach().numpy()  # 51 static (iBUG 17-67), then 17 contour
    ibug = np.concatenate([marks[51:], marks[:51]])
    brow, nose_tip, eyes, mouth, chin = ibug[19], ibug[30], ibug[36:48], ibug[48:68], ibug[8]
    assert brow[1] > eyes[:, 1].max() > nose_tip[1] > mouth[:, 1].max() > chin[1]
    assert ibug[36, 0] < ibug[39, 0] < 0 < ibug[42, 0] < ibug[45, 0]
    mirror = [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, 35, 34, 33, 32, 31]
    mirror += [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48]
    mirror += [59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]
    np.testing.assert_allclose(ibug[:, 0], -ibug[mirror, 0], atol=3e-3)  # symmetric face


def test_same_seed_same_bytes_and_gendered_variants(family, tmp_path):
    root, manifest = family
    info = write_synthetic_family(tmp_path, seed=0, genders=("neutral", "male", "female"))
    for entry in manifest["files"]:
        assert (tmp_path / entry["path"]).read_bytes() == (root / entry["path"]).read_bytes()
    assert (tmp_path / "smplx/SMPLX_MALE.npz") in info.paths
    heights = {}
    for gender in ("male", "female"):
        model = smplx.create(str(tmp_path), model_type="smplx", gender=gender)
        v = model().vertices[0].detach().numpy()
        heights[gender] = v[:, 1].max() - v[:, 1].min()
        for kind, n_vertices in (("smpl", 6890), ("flame", 5023)):
            part = smplx.create(str(tmp_path), model_type=kind, gender=gender)
            assert part.v_template.shape[0] == n_vertices
    assert heights["male"] > heights["female"] + 0.05
    with pytest.raises(ValueError, match="genders"):
        write_synthetic_family(tmp_path / "x", genders=("alien",))
