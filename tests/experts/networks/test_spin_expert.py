"""SPIN body expert: official files load and run; outputs, normalisation, damaged files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from furpe_label.experts.filecheck import sha256_of_file
from furpe_label.experts.networks.checkpoints import CheckpointMismatchError
from furpe_label.experts.networks.loading import build_spin, check_spin_checkpoint, load_spin
from furpe_label.experts.networks.preprocess import spin_tensor
from furpe_label.experts.networks.runners import SpinExpert
from furpe_label.experts.records import BodyParams
from furpe_label.experts.vocabulary import Part
from tests.support.doubles.official_checkpoints import write_spin_files


@pytest.fixture(scope="module")
def spin_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("experts")
    ckpt, mean = write_spin_files(root / "spin", seed=1)  # legacy format, as PyTorch 1.1 wrote it
    return root, ckpt, mean


@pytest.fixture(scope="module")
def expert(spin_files):
    return load_spin(spin_files[0], device="cpu", batch_size=2)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(3, 224, 224, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def record(expert, crops):
    return expert(crops)


def test_record_layout(record, spin_files):
    assert record.part is Part.BODY and record.expert == "spin" and len(record) == 3
    assert isinstance(record.params, BodyParams)
    assert record.params.rotmats.shape == (3, 24, 3, 3) and record.params.betas.shape == (3, 10)
    assert record.camera.shape == (3, 3) and record.camera.dtype == np.float32
    assert record.feature.shape == (3, 2048) and record.feature.dtype == np.float16
    assert record.checkpoint_sha256 == sha256_of_file(spin_files[1])


def test_rotations_are_proper(record):
    rot = record.params.rotmats.astype(np.float64)
    eye = np.broadcast_to(np.eye(3), rot.shape)
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), eye, atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)
    assert np.all(np.isfinite(record.camera)) and np.all(np.isfinite(record.params.betas))
    assert np.all(record.camera[:, 0] > 0)  # positive scale near the mean camera
    assert np.all(np.isfinite(record.feature)) and np.all(record.feature >= 0)  # after ReLU


def test_weights_and_buffers_come_from_the_files(expert, spin_files):
    _, ckpt, mean = spin_files
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    model_state = expert.model.state_dict()
    for key in ("conv1.weight", "layer3.5.bn2.running_var", "fc1.weight", "deccam.bias"):
        torch.testing.assert_close(model_state[key], state[key])
    with np.load(mean) as npz:
        np.testing.assert_allclose(model_state["init_pose"][0].numpy(), npz["pose"])


def _spin_rot6d_numpy(x: np.ndarray) -> np.ndarray:
    """SPIN utils/geometry.rot6d_to_rotmat, in numpy: view (-1, 3, 2), Gram-Schmidt columns."""
    x = x.reshape(-1, 3, 2)
    a1, a2 = x[:, :, 0], x[:, :, 1]
    b1 = a1 / np.linalg.norm(a1, axis=1, keepdims=True)
    b2 = a2 - np.sum(b1 * a2, axis=1, keepdims=True) * b1
    b2 /= np.linalg.norm(b2, axis=1, keepdims=True)
    return np.stack([b1, b2, np.cross(b1, b2)], axis=-1)


def test_zero_iterations_return_the_mean_pose_in_spin_6d_convention(expert, crops, spin_files):
    with np.load(spin_files[2]) as npz:
        mean_pose, mean_cam = npz["pose"], npz["cam"]
    with torch.no_grad():
        out = expert.model(spin_tensor(crops[:1], torch.device("cpu")), n_iter=0)
    np.testing.assert_allclose(out.rotmats[0].numpy(), _spin_rot6d_numpy(mean_pose), atol=1e-6)
    np.testing.assert_allclose(out.cam[0].numpy(), mean_cam, atol=1e-7)


def test_normalisation_matches_official_transform(crops):
    # demo.py: img.astype(float32) / 255, permute to CHW, Normalize(IMG_NORM_MEAN, IMG_NORM_STD)
    img = crops.astype(np.float32) / 255.0
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    expected = ((img - mean) / std).transpose(0, 3, 1, 2)
    got = spin_tensor(crops, torch.device("cpu")).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


def test_chunking_does_not_change_results(expert, crops, record):
    single = expert(crops[2:3])
    np.testing.assert_allclose(single.params.rotmats[0], record.params.rotmats[2], atol=1e-5)
    np.testing.assert_allclose(single.camera[0], record.camera[2], atol=1e-5)


def test_fp16_is_ignored_on_cpu(expert):
    runner = SpinExpert(expert.model, expert.checkpoint_sha256, torch.device("cpu"), fp16=True)
    assert runner.fp16 is False


@pytest.mark.gpu
def test_fp16_autocast_on_cuda_stays_close_to_float32(spin_files, crops, record):
    expert = load_spin(spin_files[0], device="cuda", fp16=True)
    assert expert.fp16
    half = expert(crops)
    rot = half.params.rotmats.astype(np.float64)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-4)
    np.testing.assert_allclose(half.params.rotmats, record.params.rotmats, atol=5e-2)
    np.testing.assert_allclose(half.camera, record.camera, atol=5e-2)


def _rewrite(spin_files, tmp_path: Path, edit) -> Path:
    checkpoint = torch.load(spin_files[1], map_location="cpu", weights_only=True)
    edit(checkpoint["model"])
    path = tmp_path / "model_checkpoint.pt"
    torch.save(checkpoint, path)
    return path


def test_missing_key_is_named(spin_files, tmp_path):
    path = _rewrite(spin_files, tmp_path, lambda sd: sd.pop("layer4.2.conv3.weight"))
    with pytest.raises(CheckpointMismatchError, match=r"missing: layer4\.2\.conv3\.weight"):
        check_spin_checkpoint(path)


def test_renamed_key_is_named(spin_files, tmp_path):
    path = _rewrite(
        spin_files, tmp_path, lambda sd: sd.__setitem__("dec_pose.weight", sd.pop("decpose.weight"))
    )
    with pytest.raises(CheckpointMismatchError) as info:
        check_spin_checkpoint(path)
    assert info.value.missing == ["decpose.weight"]
    assert info.value.unexpected == ["dec_pose.weight"]


def test_wrong_shape_is_named(spin_files, tmp_path):
    path = _rewrite(
        spin_files, tmp_path, lambda sd: sd.__setitem__("fc1.weight", torch.zeros(1024, 2048))
    )
    with pytest.raises(
        CheckpointMismatchError,
        match=r"fc1\.weight \(expected \[1024, 2205\], found \[1024, 2048\]\)",
    ):
        check_spin_checkpoint(path)


def test_tolerated_missing_buffers_fall_back_to_npz(spin_files, tmp_path):
    def drop(sd):
        for key in ("init_pose", "init_shape", "init_cam", "bn1.num_batches_tracked"):
            del sd[key]

    root = tmp_path / "experts"
    (root / "spin").mkdir(parents=True)
    _rewrite(spin_files, root / "spin", drop)
    (root / "spin/smpl_mean_params.npz").symlink_to(spin_files[2])
    model, _ = build_spin(root)
    with np.load(spin_files[2]) as npz:
        np.testing.assert_allclose(model.init_shape[0].numpy(), npz["shape"].astype(np.float32))
