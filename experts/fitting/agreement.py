"""The agreement signal: a keypoint fit beside each network expert, and how far the two disagree.

Where a part's network expert (SPIN body, DECA face, FrankMocap hands) gave an output and the
part's 2D keypoints exist, the part's keypoint fitter (:mod:`.body`, :mod:`.face`, :mod:`.hand`)
runs on the same instance **initialised from the network's output** (SPIN's practice: SMPLify
refines the regressor's estimate; the network's output is also the prior's centre). That makes
it meaningful: the fit moves only as far as the 2D evidence pulls the network's pose away,
while a fit from the mean pose would carry the depth, facing and left/right ambiguities of 2D
fitting (its multi-start picks among them) into every score. It is also somewhat cheaper: an
init fixes the orientation, so the multi-start probes are skipped (5-25 % less CPU than a fit
from scratch, ``tests/benchmarks/bench_agreement.py``, which measures the cost per sample).

The disagreement per part is measured on the part's 3D model keypoints as its fitter evaluates
them (body: OpenPose-25 points of SMPL in SPIN's camera-aligned frame; hands: the 21 OpenPose
hand points; face: the 68 landmarks), network output against fit, in millimetres:

* MPJPE after aligning the root (body: the pelvis, OpenPose mid-hip; hands: the wrist; face:
  the landmarks' centroid, FLAME has no joint among them);
* PA-MPJPE after the best similarity (rotation, scale, translation; Umeyama).

A row gets NaN where no fit ran: no network output (or a non-finite one, or a non-positive
camera scale, from which no fit can start), a row not asked for, or too few keypoints (the
fitter leaves the start unchanged and says so with a NaN loss), or where the fit raised (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.fitting.outputs import crop_keypoints
from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Part

__all__ = [
    "AGREEMENT_ROOTS",
    "AgreementFitters",
    "agreement_columns",
    "disagreement_mm",
]

AGREEMENT_ROOTS: dict[Part, int | None] = {
    Part.BODY: 8,  # OpenPose-25 mid-hip = SMPL pelvis
    Part.FACE: None,  # the centroid of the 68 landmarks
    Part.LEFT_HAND: 0,  # OpenPose hand wrist
    Part.RIGHT_HAND: 0,
}
"""Per part, the index of the keypoint both point sets are moved onto before MPJPE (None: the
centroid)."""

_MM = 1000.0

logger = logging.getLogger(__name__)


def agreement_columns(part: Part) -> tuple[str, str]:
    """The audit score columns of ``part``: (MPJPE, PA-MPJPE), millimetres."""
    return f"agreement_{part.value}_mm", f"agreement_pa_{part.value}_mm"


def _similarity_aligned(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(M, K, 3) ``source`` moved by the best similarity onto (M, K, 3) ``target`` (Umeyama)."""
    mu_s, mu_t = source.mean(1, keepdims=True), target.mean(1, keepdims=True)
    xs, xt = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(np.swapaxes(xt, 1, 2) @ xs)
    sign = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(sigma)
    fix[:, 2] = np.where(sign == 0, 1.0, sign)
    rotation = u @ (fix[:, :, None] * vt)
    var = (xs**2).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(var > 0, (sigma * fix).sum(1) / var, 1.0)
    return scale[:, None, None] * xs @ np.swapaxes(rotation, 1, 2) + mu_t


def disagreement_mm(
    first: np.ndarray, second: np.ndarray, root: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """MPJPE and PA-MPJPE between two sets of M x K 3D points, millimetres.

    Args:
        first, second: (M, K, 3) float points, metres (a non-finite row gives NaN).
        root: the keypoint both sets are moved onto before MPJPE, or None for the centroid.

    Returns:
        (M,) float64 root-aligned MPJPE and (M,) float64 PA-MPJPE (``second`` aligned to
        ``first``), mm.
    """
    a = np.asarray(first, np.float64)
    b = np.asarray(second, np.float64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"need two (M, K, 3) point sets, got {a.shape} and {b.shape}")
    finite = np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2))
    a, b = np.where(finite[:, None, None], a, 0.0), np.where(finite[:, None, None], b, 0.0)
    if root is None:
        ra, rb = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    else:
        ra, rb = a - a[:, root : root + 1], b - b[:, root : root + 1]
    mpjpe = np.linalg.norm(ra - rb, axis=-1).mean(1) * _MM
    pa = np.linalg.norm(_similarity_aligned(b, a) - a, axis=-1).mean(1) * _MM
    return np.where(finite, mpjpe, np.nan), np.where(finite, pa, np.nan)


def _startable(record: ExpertRecord) -> np.ndarray:
    """(N,) bool: the record's row is finite with a positive camera scale (a fit can start)."""
    params = record.params
    values = [getattr(params, name) for name in type(params).SHAPES if name != "is_left"]
    finite = np.all([np.isfinite(v.reshape(len(v), -1)).all(1) for v in values], axis=0)
    camera = np.asarray(record.camera, np.float64)
    with np.errstate(invalid="ignore"):
        return finite & np.isfinite(camera).all(1) & (camera[:, 0] > 0)


@dataclass(frozen=True)
class AgreementFitters:
    """The fitters run beside the network experts (see the module docstring).

    Args:
        fitters: part -> its fitter (``SmplBodyFitter``, ``FlameFaceFitter``,
            ``ManoHandFitter``; one hand fitter may serve both hands).
    """

    fitters: Mapping[Part, Any]

    @classmethod
    def build(
        cls, models_dir: Path | str, parts: tuple[Part, ...], device: Any, iterations: int
    ) -> AgreementFitters:
        """Fitters of ``parts`` on the body models in ``models_dir``."""
        device = device or "cpu"
        fitters: dict[Part, Any] = {}
        if Part.BODY in parts:
            fitters[Part.BODY] = SmplBodyFitter(models_dir, device=device, iterations=iterations)
        if Part.FACE in parts:
            fitters[Part.FACE] = FlameFaceFitter(models_dir, device=device, iterations=iterations)
        hands = [part for part in (Part.LEFT_HAND, Part.RIGHT_HAND) if part in parts]
        if hands:
            fitter = ManoHandFitter(models_dir, device=device, iterations=iterations)
            fitters.update(dict.fromkeys(hands, fitter))
        return cls(fitters)

    def _fit(self, part: Part, keypoints: np.ndarray, init: ExpertRecord, landmarks):
        fitter = self.fitters[part]
        if part is Part.BODY:
            return fitter.fit(keypoints, world_landmarks=landmarks, init=init)
        if part is Part.FACE:
            return fitter.fit(keypoints, init=init)
        return fitter.fit(keypoints, init.params.is_left, init=init)

    def score_part(
        self,
        part: Part,
        record: ExpertRecord,
        keypoints: np.ndarray,
        crop_from_image: np.ndarray,
        world_landmarks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit M instances of ``part`` from the network's record; their disagreement.

        Args:
            record: the network expert's M-row record (all rows startable).
            keypoints: (M, 137, 3) OpenPose-137 ``x, y, conf``, image pixels.
            crop_from_image: (M, 2, 3) image pixels -> the part's 224-pixel crop.
            world_landmarks: (M, 33, 3) metres or None (body only).

        Returns:
            (M,) MPJPE and (M,) PA-MPJPE, mm (NaN where the fitter had too few keypoints).
        """
        convention = "edges" if part is Part.BODY else "origin"
        normalised = crop_keypoints(keypoints, crop_from_image, convention)
        fitted = self._fit(part, normalised, record, world_landmarks)
        fitter = self.fitters[part]
        _, network_points = fitter.evaluate(record.params, record.camera)
        _, fit_points = fitter.evaluate(fitted.params, fitted.camera)
        mpjpe, pa = disagreement_mm(network_points, fit_points, AGREEMENT_ROOTS[part])
        fitted_rows = np.isfinite(fitted.loss)
        return np.where(fitted_rows, mpjpe, np.nan), np.where(fitted_rows, pa, np.nan)

    def score(
        self,
        experts: ExpertOutputs,
        keypoints: np.ndarray,
        world_landmarks: np.ndarray | None,
        rows: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The agreement columns of N instances.

        Args:
            experts: the expert stage's outputs (network experts).
            keypoints: (N, 137, 3) OpenPose-137 ``x, y, conf``, image pixels.
            world_landmarks: (N, 33, 3) metres (NaN rows where absent) or None.
            rows: (N, 4) bool, the (instance, part) cells to score, in :class:`Part` order.

        Returns:
            :func:`agreement_columns` of every part -> (N,) float32 mm, NaN where not scored.
        """
        n = len(experts)
        out: dict[str, np.ndarray] = {}
        for part in Part:
            mpjpe_column, pa_column = agreement_columns(part)
            mpjpe, pa = np.full(n, np.nan), np.full(n, np.nan)
            record = experts.records.get(part)
            if part in self.fitters and record is not None:
                chosen = np.asarray(rows, bool)[:, part.column] & _startable(record)
                chosen &= np.isfinite(experts.affines[:, part.column]).all((1, 2))
                index = np.flatnonzero(chosen)
                landmarks = None if world_landmarks is None else world_landmarks[index]
                try:  # a failed fit costs its scores (NaN), never the shard
                    if len(index):
                        mpjpe[index], pa[index] = self.score_part(
                            part,
                            record.take(index),
                            keypoints[index],
                            experts.affines[index, part.column],
                            landmarks,
                        )
                except Exception:
                    logger.exception("agreement fit of %d %s instances failed", len(index), part)
            out[mpjpe_column] = mpjpe.astype(np.float32)
            out[pa_column] = pa.astype(np.float32)
        return out
