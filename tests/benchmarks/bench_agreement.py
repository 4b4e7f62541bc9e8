"""Benchmark: the agreement signal's extra cost per sample, and its scores on clean and bent
network outputs (CPU, one thread).

For each part (SMPL body, FLAME face, MANO hand) ``BATCH`` synthetic instances are drawn
(tests/support/fitting_truth.py: plausible parameters and cameras, keypoints with 2 px noise,
5 % missing); a stand-in "network output" is the truth with the pose errors of a good regressor
(``N(0, 0.08)`` rad per joint component; face: the jaw). Measured, per part, in one process:

* ``agreement ms/sample``: process CPU seconds of
  :meth:`~furpe_label.experts.fitting.agreement.AgreementFitters.score_part` (the keypoints'
  crop mapping, the fit initialised from the network output, both evaluations, MPJPE and
  PA-MPJPE) per instance, at the run's default ``--fitting-iterations``;
* ``from-scratch ms/sample``: the same fitter from the mean pose with its multi-start (what the
  fitting experts cost), for comparison;
* the agreement (MPJPE mm: median and 90th percentile) of the clean stand-ins, and (median and
  10th percentile) of the same with a gross error (body: the left elbow turned 1 rad in the
  frontal plane; hand: the whole hand turned pi/2 about its middle finger; face: the jaw opened
  0.5 rad further).

    pytest tests/benchmarks -m benchmark -s -k agreement
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from furpe_label.experts.fitting.agreement import AgreementFitters
from furpe_label.experts.fitting.outputs import camera_array
from furpe_label.experts.geometry.crop_transform import normalized_to_crop
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.experts.part_experts import DEFAULT_FITTING_ITERATIONS
from furpe_label.experts.records import BodyParams, ExpertRecord, FaceParams, HandParams
from furpe_label.experts.vocabulary import Part
from tests.support.fitting_truth import body_truth, face_truth, hand_truth

BATCH = 64
NOISE = {"noise_px": 2.0, "missing": 0.05}
POSE_NOISE_RAD = 0.08
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _noisy(values: torch.Tensor, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    return (values + POSE_NOISE_RAD * torch.randn(values.shape, generator=g)).numpy()


def _body(fitter, truth) -> tuple[ExpertRecord, ExpertRecord]:
    """(clean, gross) stand-in SPIN records."""
    with torch.no_grad():
        pose = matrix_to_axis_angle(fitter.rotmats(truth.x, truth.data))
    betas = fitter.layout(truth.x, "betas").numpy()
    camera = camera_array(fitter.layout(truth.x, "camera"))
    noisy = torch.as_tensor(_noisy(pose, 0))
    noisy[:, 0] = pose[:, 0]
    bent = noisy.clone()
    bent[:, 18, 2] += 1.0  # left elbow, in the frontal plane (seen in 2D)
    records = [
        ExpertRecord(
            Part.BODY,
            "spin",
            BodyParams(axis_angle_to_matrix(p).numpy().astype(np.float32), betas),
            camera,
            None,
            "",
        )
        for p in (noisy, bent)
    ]
    return records[0], records[1]


def _hand(fitter, truth) -> tuple[ExpertRecord, ExpertRecord]:
    global_aa = matrix_to_axis_angle(truth.data.base)
    fingers = torch.as_tensor(_noisy(fitter.layout(truth.x, "fingers"), 1))
    camera = camera_array(fitter.layout(truth.x, "camera"))
    shape = fitter.layout(truth.x, "betas").numpy()
    turn = axis_angle_to_matrix(torch.tensor([0.0, np.pi / 2, 0.0]))
    turned = matrix_to_axis_angle(truth.data.base @ turn)
    out = []
    for root in (global_aa, turned):
        pose = torch.cat([root, fingers], -1).numpy().astype(np.float32)
        params = HandParams(pose, shape, np.zeros(len(pose), bool))
        out.append(ExpertRecord(Part.RIGHT_HAND, "frankmocap", params, camera, None, ""))
    return out[0], out[1]


def _face(fitter, truth) -> tuple[ExpertRecord, ExpertRecord]:
    head = matrix_to_axis_angle(truth.data.base)
    jaw = torch.as_tensor(_noisy(fitter.layout(truth.x, "jaw"), 2))
    camera = camera_array(fitter.layout(truth.x, "camera"))
    count = len(jaw)
    out = []
    for extra in (0.0, 0.5):
        opened = jaw.clone()
        opened[:, 0] += extra
        params = FaceParams(
            shape=fitter.layout(truth.x, "shape").numpy(),
            expression=fitter.layout(truth.x, "exp").numpy(),
            pose=torch.cat([head, opened], -1).numpy().astype(np.float32),
            tex=np.zeros((count, 50), np.float32),
            light=np.zeros((count, 9, 3), np.float32),
        )
        out.append(ExpertRecord(Part.FACE, "deca", params, camera, None, ""))
    return out[0], out[1]


def _image_keypoints(part: Part, normalised: np.ndarray) -> np.ndarray:
    """The part's normalised crop keypoints placed in an OpenPose-137 array of pixels of an
    image that is the crop (identity affine)."""
    convention = "edges" if part is Part.BODY else "origin"
    out = np.zeros((len(normalised), 137, 3), np.float32)
    where = OPENPOSE137_PARTS[part.value]
    count = where.stop - where.start
    points = np.nan_to_num(normalised[:, :count].astype(np.float64))
    out[:, where, :2] = normalized_to_crop(points[..., :2], 224, convention)
    out[:, where, 2] = points[..., 2]
    return out


_SETUPS = {
    Part.BODY: (body_truth, _body),
    Part.RIGHT_HAND: (hand_truth, _hand),
    Part.FACE: (face_truth, _face),
}


@pytest.mark.benchmark
@pytest.mark.parametrize("part", list(_SETUPS), ids=lambda p: p.value)
def test_agreement_cost_and_scores(synthetic_models_dir, part):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fitters = AgreementFitters.build(
            synthetic_models_dir, (part,), "cpu", DEFAULT_FITTING_ITERATIONS
        )
        fitter = fitters.fitters[part]
        make_truth, make_records = _SETUPS[part]
        truth = make_truth(fitter, BATCH, seed=21, **NOISE)
        clean, gross = make_records(fitter, truth)
        keypoints = _image_keypoints(part, truth.keypoints)
        affines = np.repeat(_IDENTITY[None], BATCH, axis=0)
        fitters.score_part(part, clean.take(np.arange(4)), keypoints[:4], affines[:4])  # warm-up
        start = time.process_time()
        clean_mm, _ = fitters.score_part(part, clean, keypoints, affines)
        agreement_ms = 1000 * (time.process_time() - start) / BATCH
        gross_mm, _ = fitters.score_part(part, gross, keypoints, affines)
        start = time.process_time()
        if part is Part.RIGHT_HAND:
            fitter.fit(truth.keypoints, np.zeros(BATCH, bool))
        else:
            fitter.fit(truth.keypoints)
        scratch_ms = 1000 * (time.process_time() - start) / BATCH
    finally:
        torch.set_num_threads(threads)
    print(
        f"\n{part.value}: agreement {agreement_ms:.1f} ms/sample (from scratch "
        f"{scratch_ms:.1f}); MPJPE clean median {np.nanmedian(clean_mm):.1f} / p90 "
        f"{np.nanpercentile(clean_mm, 90):.1f} mm, gross median {np.nanmedian(gross_mm):.1f} / "
        f"p10 {np.nanpercentile(gross_mm, 10):.1f} mm"
    )
    assert np.isfinite(clean_mm).mean() > 0.9
    assert np.nanmedian(gross_mm) > np.nanmedian(clean_mm)
    assert replace(clean) == clean  # records untouched
