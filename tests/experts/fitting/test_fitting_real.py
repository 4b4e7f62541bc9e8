"""Keypoint fitters on real photos' keypoints (the demo path: no network checkpoints).

The body models are the synthetic family, so the fitted bodies are not real labels; what
these tests check is that real detector output (OpenPose, MediaPipe), brought into each
part's crop frame by the project's crop rules, is explained by the fitted models to within
a few crop pixels: the input conventions, crops, handedness and cameras all agree.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from furpe_label.experts.crops import DecaFaceCrop, FrankMocapHandCrop, SpinBodyCrop
from furpe_label.experts.crops.boxes import spin_body_center_scale
from furpe_label.experts.detectors import create_detector
from furpe_label.experts.fitting import FlameFaceFitter, ManoHandFitter, SmplBodyFitter
from furpe_label.experts.fitting.outputs import crop_keypoints
from furpe_label.experts.geometry.crop_transform import center_scale_to_affine
from furpe_label.experts.vocabulary import Part
from tests.support.real_data import REAL_DATA, SPIN_EXAMPLE

PX = 112.0  # crop pixels per normalised unit


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mean_error_px(projected: np.ndarray, keypoints: np.ndarray, used: np.ndarray) -> float:
    distance = np.linalg.norm(projected - keypoints[..., :2], axis=-1)
    return float(distance[used].mean() * PX)


def test_spin_example_openpose_body(synthetic_models_dir):
    person = json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())["people"][0]
    keypoints = np.reshape(person["pose_keypoints_2d"], (1, 25, 3))
    center, scale, _ = spin_body_center_scale(keypoints)
    crop = crop_keypoints(keypoints, center_scale_to_affine(center, scale, 224), "edges")
    fitter = SmplBodyFitter(synthetic_models_dir, iterations=20)
    result = fitter.fit(crop)
    projected, _ = fitter.evaluate(result.params, result.camera)
    used = (crop[..., 2] > 0.1) & (fitter.keypoint_weights.numpy() > 0)
    assert used.sum() >= 15
    assert _mean_error_px(projected, crop, used) < 5.0  # measured 2.5 px


def test_mediapipe_whole_body_on_a_real_photo(synthetic_models_dir):
    path = REAL_DATA / "opencv_samples" / "messi5.jpg"
    image = cv2.imread(str(path))[:, :, ::-1].copy()
    box = np.array([[0.0, 0.0, image.shape[1], image.shape[0]]])
    with create_detector("mediapipe") as detector:
        (row,) = detector.detect(image, box)
    assert row.ok
    keypoints = row.keypoints[None]
    rules = {
        "body": SpinBodyCrop(),
        "face": DecaFaceCrop(),
        "left_hand": FrankMocapHandCrop(Part.LEFT_HAND),
        "right_hand": FrankMocapHandCrop(Part.RIGHT_HAND),
    }
    crops = {part: rule.plan(keypoints, image.shape[:2]) for part, rule in rules.items()}
    assert all(crops[part].usable.all() for part in crops)

    body = SmplBodyFitter(synthetic_models_dir, iterations=20)
    body_kp = crop_keypoints(keypoints[:, :25], crops["body"].affines, "edges")
    result = body.fit(body_kp, world_landmarks=row.world_landmarks[None])
    projected, _ = body.evaluate(result.params, result.camera)
    used = (body_kp[..., 2] > 0.1) & (body.keypoint_weights.numpy() > 0)
    assert _mean_error_px(projected, body_kp, used) < 6.0  # measured 3.1 px

    hands = ManoHandFitter(synthetic_models_dir, iterations=20)
    hand_kp = np.concatenate(
        [
            crop_keypoints(keypoints[:, 25:46], crops["left_hand"].affines),
            crop_keypoints(keypoints[:, 46:67], crops["right_hand"].affines),
        ]
    )
    result = hands.fit(hand_kp, np.array([True, False]))
    projected, _ = hands.evaluate(result.params, result.camera)
    assert _mean_error_px(projected, hand_kp, hand_kp[..., 2] > 0) < 6.0  # measured ~3.3 px

    face = FlameFaceFitter(synthetic_models_dir, iterations=20)
    face_kp = crop_keypoints(keypoints[:, 67:], crops["face"].affines)
    result = face.fit(face_kp)
    projected, _ = face.evaluate(result.params, result.camera)
    # The synthetic FLAME's landmark layout differs from a real face's: measured ~7 px.
    assert _mean_error_px(projected, face_kp[:, :68], face_kp[:, :68, 2] > 0) < 12.0
