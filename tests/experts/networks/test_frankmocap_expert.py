"""FrankMocap hand expert: files load and run; mean params; BGR input; left-hand un-flip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from furpe_label.experts.networks.checkpoints import CheckpointMismatchError
from furpe_label.experts.networks.frankmocap import load_mean_mano_params
from furpe_label.experts.networks.loading import check_frankmocap_checkpoint, load_frankmocap
from furpe_label.experts.networks.preprocess import frankmocap_tensor
from furpe_label.experts.records import HandParams
from furpe_label.experts.safe_load import UnsafePickleError
from tests.support.doubles.official_checkpoints import mean_mano_pose, write_frankmocap_files


@pytest.fixture(scope="module")
def frank_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("experts")
    write_frankmocap_files(root / "frankmocap", seed=3)
    return root


@pytest.fixture(scope="module")
def expert(frank_root):
    return load_frankmocap(frank_root, device="cpu")


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """One structured (asymmetric) 224 x 224 RGB crop, batch of 1."""
    yy, xx = np.mgrid[:224, :224]
    image = np.stack([xx, (yy * 2) % 256, (xx * yy) % 256], axis=-1).astype(np.uint8)
    return image[None]


def test_mean_params_as_official(expert):
    mean = expert.model.mean_params[0].numpy()
    expected = np.concatenate(
        [[5.0, 0.0, 0.0], [0.0, 0.0, 0.0], mean_mano_pose(3)[3:], np.zeros(10)]
    )
    np.testing.assert_allclose(mean, expected.astype(np.float32))
    assert "mean_params" not in expert.model.state_dict()  # a plain attribute officially


def test_record_layout(expert, crop):
    record = expert(np.concatenate([crop, crop]), np.array([False, True]))
    assert record.part.is_hand and record.expert == "frankmocap" and len(record) == 2
    assert isinstance(record.params, HandParams)
    assert record.params.pose.shape == (2, 48) and record.params.shape.shape == (2, 10)
    assert record.params.is_left.tolist() == [False, True]
    assert record.feature.shape == (2, 2048) and record.feature.dtype == np.float16
    assert np.all(np.isfinite(record.params.pose)) and np.all(record.camera[:, 0] > 0)


def test_left_unflip_equals_mirrored_right_prediction(expert, crop):
    mirrored = np.ascontiguousarray(crop[:, :, ::-1])
    right = expert(crop, np.array([False]))  # the net sees crop C
    left = expert(mirrored, np.array([True]))  # flipped back before the net: it sees C again
    sign = np.ones(48, dtype=np.float32)
    sign[1::3] = -1
    sign[2::3] = -1
    np.testing.assert_allclose(left.params.pose[0], right.params.pose[0] * sign, atol=1e-6)
    np.testing.assert_allclose(left.camera[0], right.camera[0] * [1, -1, 1], atol=1e-6)
    np.testing.assert_allclose(left.params.shape, right.params.shape, atol=1e-6)
    # the test has teeth: treating the mirrored crop as a right hand gives another answer
    other = expert(mirrored, np.array([False]))
    assert np.abs(other.params.pose[0] - right.params.pose[0]).max() > 1e-5


def test_normalisation_matches_official_transform(crop):
    # HandMocap: BGR crop (cv2), left hands img[:, ::-1], ToTensor (/255), Normalize(0.5, 0.5)
    crops = np.concatenate([crop, crop[:, ::-1] // 2])
    is_left = np.array([False, True])
    bgr = crops[..., ::-1]
    expected = []
    for image, left in zip(bgr, is_left, strict=True):
        image = image[:, ::-1] if left else image
        tensor = image.astype(np.float32).transpose(2, 0, 1) / 255.0
        expected.append((tensor - 0.5) / 0.5)
    got = frankmocap_tensor(crops, is_left, torch.device("cpu")).numpy()
    np.testing.assert_allclose(got, np.stack(expected), atol=1e-6, rtol=0)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_malicious_mean_pickle_is_refused_without_running(tmp_path):
    import pickle

    marker = tmp_path / "executed"
    path = tmp_path / "mean_mano_params.pkl"
    path.write_bytes(pickle.dumps({"mean_pose": _Payload(marker)}))
    with pytest.raises(UnsafePickleError, match=r"mean_mano_params\.pkl.*system"):
        load_mean_mano_params(path)
    assert not marker.exists()


def test_mean_pickle_with_wrong_content_is_refused(tmp_path):
    import pickle

    path = tmp_path / "mean_mano_params.pkl"
    path.write_bytes(pickle.dumps({"mean_pose": np.zeros(45)}))
    with pytest.raises(ValueError, match="48"):
        load_mean_mano_params(path)


def test_dataparallel_prefix_is_refused_as_by_the_official_strict_loader(frank_root, tmp_path):
    state = torch.load(frank_root / "frankmocap/pose_shape_best.pth", weights_only=True)
    path = tmp_path / "pose_shape_best.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    with pytest.raises(CheckpointMismatchError, match=r"missing: .*main_encoder\.conv1\.weight"):
        check_frankmocap_checkpoint(path)


def test_missing_regressor_bias_is_named(frank_root, tmp_path):
    state = torch.load(frank_root / "frankmocap/pose_shape_best.pth", weights_only=True)
    del state["regressor.0.bias"]
    path = tmp_path / "pose_shape_best.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError, match=r"1 missing: regressor\.0\.bias"):
        check_frankmocap_checkpoint(path)
