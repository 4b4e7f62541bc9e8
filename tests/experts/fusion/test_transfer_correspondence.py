"""SMPL -> SMPL-X correspondence: official files (safe loading, mask), template fallback."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.experts.fusion.transfer_correspondence import (
    SmplToSmplxCorrespondence,
    TransferDataError,
    correspondence_from_templates,
    load_mask_ids,
    load_matrix,
    official_correspondence,
)
from furpe_label.experts.geometry.closest_point import (
    closest_points_on_mesh,
    closest_points_on_triangles,
)
from tests.support.plausible_smpl import sample_smpl_bodies


def test_closest_point_regions_of_one_triangle():
    a, b, c = np.eye(3)[None, 0] * 0, np.array([[1.0, 0, 0]]), np.array([[0, 1.0, 0]])
    cases = {  # query -> expected closest point
        (0.2, 0.2, 0.7): (0.2, 0.2, 0.0),  # interior: foot of the perpendicular
        (-1.0, -1.0, 0.3): (0.0, 0.0, 0.0),  # corner a
        (2.0, -0.5, 0.0): (1.0, 0.0, 0.0),  # corner b
        (0.5, -1.0, 1.0): (0.5, 0.0, 0.0),  # edge ab
        (1.0, 1.0, 0.0): (0.5, 0.5, 0.0),  # edge bc
    }
    for query, expected in cases.items():
        closest, bary = closest_points_on_triangles(np.array([query]), a, b, c)
        np.testing.assert_allclose(closest[0], expected, atol=1e-12)
        assert bary.min() >= 0 and abs(bary.sum() - 1) < 1e-12


def test_closest_point_on_mesh_is_exact():
    """Against brute force over every triangle, on a mesh with triangles of mixed sizes."""
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(80, 3)) * rng.uniform(0.1, 2.0, size=(80, 1))
    faces = rng.integers(0, 80, size=(150, 3))
    points = rng.normal(size=(300, 3)) * 1.5
    found = closest_points_on_mesh(points, vertices, faces)
    every = [
        closest_points_on_triangles(
            points, *(np.repeat(vertices[f[i]][None], 300, 0) for i in range(3))
        )[0]
        for f in faces
    ]
    brute = np.min([np.linalg.norm(q - points, axis=1) for q in every], axis=0)
    np.testing.assert_allclose(found.distance, brute, atol=1e-12)
    rebuilt = np.einsum("mk,mkc->mc", found.barycentric, vertices[faces[found.face]])
    np.testing.assert_allclose(np.linalg.norm(rebuilt - points, axis=1), brute, atol=1e-12)


@pytest.fixture(scope="module")
def official(synthetic_models_dir):
    return official_correspondence(synthetic_models_dir)


def test_official_files_are_read_with_the_mask(synthetic_models_dir, official):
    assert "smplx_mask_ids.npy" in official.source
    assert official.matrix.shape == (10475, 6890)
    assert official.mask_ids.dtype == np.int64 and len(official.mask_ids) == 10475 - 404
    ids = np.load(synthetic_models_dir / "transfer/smplx_mask_ids.npy", allow_pickle=False)
    np.testing.assert_array_equal(official.mask_ids, ids)


def _family_without_transfer(synthetic_models_dir: Path, target: Path) -> Path:
    for folder in ("smpl", "smplx"):
        (target / folder).symlink_to(synthetic_models_dir / folder, target_is_directory=True)
    return target


def test_template_fallback_reproduces_the_official_files(synthetic_models_dir, official, tmp_path):
    """ExPose's method on the two templates: on the synthetic family every non-eyeball SMPL-X
    vertex lies on the SMPL surface, so the rows and the mask equal the shipped ones."""
    models = _family_without_transfer(synthetic_models_dir, tmp_path)
    transfer = ShapeTransfer.from_models(models)
    assert "templates" in transfer.correspondence_source
    np.testing.assert_array_equal(transfer.mask_ids.numpy(), official.mask_ids)
    smpl = ShapeTransfer.from_models(synthetic_models_dir)
    bodies = sample_smpl_bodies(4, seed=21)
    torch.testing.assert_close(transfer.transfer(**bodies).betas, smpl.transfer(**bodies).betas)


def test_template_rows_equal_the_official_rows(synthetic_models_dir, official):
    data = {}
    for kind in ("smpl", "smplx"):
        layer = load_body_model(synthetic_models_dir, kind, dtype=torch.float64).layer
        data[kind] = (layer.v_template.numpy(), np.asarray(layer.faces, dtype=np.int64))
    found = correspondence_from_templates(*data["smpl"], *data["smplx"])
    rows = official.mask_ids
    # the stored templates agree with the construction to ~1e-8 m, so the nearest points do
    # too, and their weights to ~1e-8 m / 1 cm (edge length) ~ 1e-6
    rebuilt = found.matrix[rows] @ data["smpl"][0]
    assert np.abs(rebuilt - data["smplx"][0][rows]).max() < 1e-7
    assert abs(found.matrix[rows] - official.matrix[rows]).max() < 1e-4
    np.testing.assert_array_equal(found.mask_ids, rows)
    eyeballs = np.setdiff1d(np.arange(10475), rows)  # separate mesh components: left out
    assert len(eyeballs) == 404 and (found.matrix[eyeballs].sum(axis=1) > 0.999).all()


def test_mask_is_honoured(synthetic_models_dir, official):
    """Rows outside the mask never reach the fit: corrupting them changes nothing, while
    corrupting one masked row does."""
    smpl = load_body_model(synthetic_models_dir, "smpl").layer
    smplx = load_body_model(synthetic_models_dir, "smplx", flat_hand_mean=True).layer
    bodies = sample_smpl_bodies(6, seed=22)
    left_out = np.setdiff1d(np.arange(10475), official.mask_ids)
    garbage = official.matrix.tolil()
    garbage[left_out] = 0.0
    garbage[left_out, 0] = 1.0  # every eyeball vertex onto SMPL vertex 0 (a foot)
    corrupt = SmplToSmplxCorrespondence(garbage.tocsr(), official.mask_ids, "corrupt outside")
    clean = ShapeTransfer(smpl, smplx, official).transfer(**bodies)
    same = ShapeTransfer(smpl, smplx, corrupt).transfer(**bodies)
    torch.testing.assert_close(same.betas, clean.betas, rtol=0, atol=0)
    torch.testing.assert_close(same.error_mm, clean.error_mm, rtol=0, atol=0)
    inside = official.matrix.tolil()
    inside[official.mask_ids[:200]] = 0.0
    inside[official.mask_ids[:200], 0] = 1.0
    broken = SmplToSmplxCorrespondence(inside.tocsr(), official.mask_ids, "corrupt inside")
    moved = ShapeTransfer(smpl, smplx, broken).transfer(**bodies)
    assert (moved.error_mm - clean.error_mm).min() > 1.0


def _official_layout(synthetic_models_dir: Path, target: Path) -> Path:
    """A models folder with the transfer data unpacked as the official zip does
    (``transfer_data/``), matrix re-pickled as Python 2 era code would (protocol 2, csc)."""
    models = _family_without_transfer(synthetic_models_dir, target)
    folder = models / "transfer_data"
    folder.mkdir()
    official = load_matrix(synthetic_models_dir / "transfer/smpl2smplx_deftrafo_setup.pkl")
    full = sp.hstack([official, sp.csc_matrix(official.shape)], format="csc")
    (folder / "smpl2smplx_deftrafo_setup.pkl").write_bytes(pickle.dumps({"mtx": full}, protocol=2))
    shutil.copy(synthetic_models_dir / "transfer/smplx_mask_ids.npy", folder)
    return models


def test_official_file_layout_and_format(synthetic_models_dir, tmp_path):
    models = _official_layout(synthetic_models_dir, tmp_path)
    transfer = ShapeTransfer.from_models(models)
    assert "transfer_data/smpl2smplx_deftrafo_setup.pkl" in transfer.correspondence_source
    assert "transfer_data/smplx_mask_ids.npy" in transfer.correspondence_source
    bodies = sample_smpl_bodies(4, seed=23)
    reference = ShapeTransfer.from_models(synthetic_models_dir).transfer(**bodies)
    torch.testing.assert_close(transfer.transfer(**bodies).betas, reference.betas)


def test_without_mask_file_every_mapped_vertex_is_used(synthetic_models_dir, tmp_path):
    models = _official_layout(synthetic_models_dir, tmp_path)
    (models / "transfer_data/smplx_mask_ids.npy").unlink()
    found = official_correspondence(models)
    assert "no smplx_mask_ids.npy" in found.source and len(found.mask_ids) == 10475


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/furpe-transfer-pwned",))


def test_a_malicious_transfer_pickle_is_refused_unexecuted(synthetic_models_dir, tmp_path):
    models = _official_layout(synthetic_models_dir, tmp_path)
    marker = Path("/tmp/furpe-transfer-pwned")
    marker.unlink(missing_ok=True)
    path = models / "transfer_data/smpl2smplx_deftrafo_setup.pkl"
    path.write_bytes(pickle.dumps({"mtx": _Payload()}, protocol=2))
    with pytest.raises(TransferDataError, match=r"(os|posix)\.system"):
        ShapeTransfer.from_models(models)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.arange(10, dtype=np.float32), "integer"),
        (np.zeros((3, 2), dtype=np.int64), "1-D"),
        (np.array([0, 10475]), r"\[0, 10475\)"),
        (np.array([1, 1, 2]), "repeat"),
        (np.array([], dtype=np.int64), "non-empty"),
    ],
)
def test_bad_mask_files_are_refused(tmp_path, content, message):
    path = tmp_path / "smplx_mask_ids.npy"
    np.save(path, content)
    with pytest.raises(TransferDataError, match=message):
        load_mask_ids(path)


def test_mask_file_variants(tmp_path):
    boolean = np.zeros(10475, dtype=bool)
    boolean[[5, 2, 9]] = True
    np.save(tmp_path / "bool.npy", boolean)
    np.testing.assert_array_equal(load_mask_ids(tmp_path / "bool.npy"), [2, 5, 9])
    np.save(tmp_path / "int32.npy", np.array([9, 2, 5], dtype=np.int32))
    assert load_mask_ids(tmp_path / "int32.npy").dtype == np.int64
    holder = np.empty((), dtype=object)
    holder[()] = {"ids": [1, 2]}
    np.save(tmp_path / "dict.npy", holder, allow_pickle=True)
    with pytest.raises(TransferDataError, match="plain integer array"):
        load_mask_ids(tmp_path / "dict.npy")


def test_matrices_that_are_not_barycentric_are_refused(tmp_path):
    bad = sp.random(10475, 2 * 6890, density=1e-4, format="csr", random_state=0) * 3
    path = tmp_path / "smpl2smplx_deftrafo_setup.pkl"
    path.write_bytes(pickle.dumps({"mtx": bad}, protocol=2))
    with pytest.raises(TransferDataError, match="summing to 1"):
        load_matrix(path)
    path.write_bytes(pickle.dumps({"mtx": sp.eye(100, format="csr")}, protocol=2))
    with pytest.raises(TransferDataError, match="expected shape"):
        load_matrix(path)
