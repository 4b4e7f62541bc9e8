"""Loading official-format body models safely and checking a models folder."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from furpe_label.experts.bodymodels.folder_check import check_models_folder
from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.bodymodels.locate import ModelsFolderError
from furpe_label.experts.bodymodels.validate import BodyModelFileError
from furpe_label.experts.filecheck import CheckStatus
from furpe_label.experts.safe_load import safe_pickle_load
from furpe_label.workflows.cli import main
from tests.support.doubles.chumpy_standin import (
    ChTestDouble,
    MaliciousPayload,
    write_chumpy_style_pickle,
)


@pytest.fixture()
def models_copy(synthetic_models_dir, tmp_path):
    """A private copy of the synthetic family that a test may damage."""
    target = tmp_path / "models"
    shutil.copytree(synthetic_models_dir, target)
    return target


def _row(rows, component):
    return next(row for row in rows if row.component == component)


def test_check_passes_on_synthetic_family(synthetic_models_dir):
    rows = check_models_folder(synthetic_models_dir)
    required = [row for row in rows if row.required]
    assert all(row.status is CheckStatus.OK for row in required), rows
    assert all("SYNTHETIC" in row.detail for row in required if "embedding" not in row.component)
    result = CliRunner().invoke(main, ["check", "--models", str(synthetic_models_dir)])
    assert result.exit_code == 0, result.output
    assert "SMPL-X neutral" in result.output and "nothing blocking" in result.output


def test_check_refuses_malicious_pickle_without_running_it(models_copy, tmp_path):
    marker = tmp_path / "executed"
    with open(models_copy / "mano" / "MANO_RIGHT.pkl", "wb") as handle:
        pickle.dump({"v_template": MaliciousPayload(marker)}, handle, protocol=2)
    result = CliRunner().invoke(main, ["check", "--models", str(models_copy)])
    assert result.exit_code == 1
    assert "INVALID" in result.output and "system" in result.output
    assert not marker.exists()
    with pytest.raises(BodyModelFileError, match="refused"):
        load_body_model(models_copy, "mano", "right")
    assert not marker.exists()


def test_check_names_missing_file_and_download_place(models_copy):
    (models_copy / "smplx" / "SMPLX_NEUTRAL.npz").unlink()
    rows = check_models_folder(models_copy)
    row = _row(rows, "SMPL-X neutral")
    assert row.status is CheckStatus.MISSING and row.blocking
    result = CliRunner().invoke(main, ["check", "--models", str(models_copy)])
    assert result.exit_code == 1
    assert "SMPLX_NEUTRAL.npz" in result.output and "smpl-x.is.tue.mpg.de" in result.output


def test_check_names_misshaped_key(models_copy):
    path = models_copy / "smpl" / "SMPL_NEUTRAL.pkl"
    data = safe_pickle_load(path)
    data["weights"] = data["weights"][:, :23]
    path.write_bytes(pickle.dumps(data, protocol=2))
    row = _row(check_models_folder(models_copy), "SMPL neutral")
    assert row.status is CheckStatus.INVALID
    assert "'weights'" in row.detail and "(6890, 23)" in row.detail


def test_official_download_names_are_found(models_copy):
    (models_copy / "smpl" / "SMPL_NEUTRAL.pkl").rename(
        models_copy / "smpl" / "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"
    )
    flame = models_copy / "FLAME2020"
    (models_copy / "flame").rename(flame)
    (flame / "FLAME_NEUTRAL.pkl").rename(flame / "generic_model.pkl")
    rows = check_models_folder(models_copy)
    assert _row(rows, "SMPL neutral").status is CheckStatus.OK
    assert _row(rows, "FLAME neutral").path == flame / "generic_model.pkl"
    assert load_body_model(models_copy, "flame").layer.v_template.shape == (5023, 3)


def test_chumpy_style_smpl_loads_like_plain(models_copy):
    path = models_copy / "smpl" / "SMPL_NEUTRAL.pkl"
    plain = load_body_model(models_copy, "smpl")
    data = safe_pickle_load(path)
    data["shapedirs"] = ChTestDouble(data["shapedirs"])
    data["v_template"] = ChTestDouble(data["v_template"])
    write_chumpy_style_pickle(path, data)
    assert b"chumpy.ch" in path.read_bytes()
    chumpy_style = load_body_model(models_copy, "smpl")
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(0))
    pose = 0.2 * torch.randn(2, 69, generator=torch.Generator().manual_seed(1))
    a = plain.layer(betas=betas, body_pose=pose, global_orient=torch.zeros(2, 3)).vertices
    b = chumpy_style.layer(betas=betas, body_pose=pose, global_orient=torch.zeros(2, 3)).vertices
    torch.testing.assert_close(a, b)
    assert chumpy_style.sha256 != plain.sha256


@pytest.mark.parametrize(
    ("kind", "variant", "n_vertices", "n_joints"),
    [
        ("smplx", "neutral", 10475, 55),
        ("smpl", "neutral", 6890, 24),
        ("mano", "right", 778, 16),
        ("mano", "left", 778, 16),
        ("flame", "neutral", 5023, 5),
    ],
)
def test_all_models_load_and_pose(synthetic_models_dir, kind, variant, n_vertices, n_joints):
    model = load_body_model(synthetic_models_dir, kind, variant)
    assert model.synthetic is not None
    assert model.layer.v_template.shape == (n_vertices, 3)
    assert model.layer.parents.shape == (n_joints,)
    output = model.layer()
    assert output.vertices.shape[1] == n_vertices
    assert torch.isfinite(output.vertices).all()
    assert len(model.sha256) == 64


def test_smplx_options_pass_through(synthetic_models_dir):
    model = load_body_model(
        synthetic_models_dir,
        "smplx",
        use_face_contour=True,
        num_betas=16,
        num_expression_coeffs=10,
        flat_hand_mean=True,
    )
    output = model.layer(expression=torch.zeros(1, 10), betas=torch.zeros(1, 16))
    assert output.joints.shape == (1, 144, 3)
    assert np.isfinite(output.joints.detach().numpy()).all()


def test_missing_models_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FURPE_MODELS", raising=False)
    with pytest.raises(ModelsFolderError, match="--models"):
        load_body_model(None, "smplx")
    with pytest.raises(ModelsFolderError, match="does not exist"):
        load_body_model(tmp_path / "nope", "smplx")
    with pytest.raises(FileNotFoundError, match="SMPLX_NEUTRAL"):
        load_body_model(tmp_path, "smplx")


def test_mano_left_shapedirs_bug_of_the_official_release_is_fixed(models_copy):
    correct = load_body_model(models_copy, "mano", "left").layer.shapedirs.clone()
    right = safe_pickle_load(models_copy / "mano" / "MANO_RIGHT.pkl")
    left_path = models_copy / "mano" / "MANO_LEFT.pkl"
    left = safe_pickle_load(left_path)
    left["shapedirs"] = np.array(left["shapedirs"], copy=True)
    left["shapedirs"][:, 0, :] = right["shapedirs"][:, 0, :]  # the official file's bug
    left_path.write_bytes(pickle.dumps(left, protocol=2))
    fixed = load_body_model(models_copy, "mano", "left").layer.shapedirs
    torch.testing.assert_close(fixed, correct)
