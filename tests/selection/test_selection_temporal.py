"""The temporal signal: angular acceleration of the body rotations along a track, and its rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from furpe_label.experts.vocabulary import Reason, Stage
from furpe_label.selection import METRIC_COLUMNS, SelectionConfig, combine, decide
from furpe_label.selection.temporal import temporal_acceleration, temporal_status


def _walk(frames: int, joints: int = 22, rate: float = 0.05, seed: int = 0) -> np.ndarray:
    """(F, J, 3) axis-angle: every joint turns at a constant rate about its own axis."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(joints, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    start = Rotation.from_rotvec(rng.normal(0, 0.3, (joints, 3)))
    out = []
    for f in range(frames):
        turn = Rotation.from_rotvec(axes * rate * f)
        out.append((start * turn).as_rotvec())
    return np.array(out)


def test_smooth_motion_scores_near_zero_and_a_flipped_frame_spikes():
    rotations = _walk(9)
    frames = np.arange(9)
    tracks = np.zeros(9, np.int64)
    smooth = temporal_acceleration(tracks, frames, rotations, np.ones(9, bool))
    assert np.isnan(smooth[[0, 8]]).all()  # no previous / next row
    assert np.nanmax(smooth) < 1e-6
    flipped = rotations.copy()
    flipped[4, 5] = (
        Rotation.from_rotvec(rotations[4, 5]) * Rotation.from_euler("x", 3.1)
    ).as_rotvec()
    spikes = temporal_acceleration(tracks, frames, flipped, np.ones(9, bool))
    assert spikes[4] == pytest.approx(2 * 3.1, abs=0.05)
    assert spikes[3] == pytest.approx(3.1, abs=0.05) and spikes[5] == pytest.approx(3.1, abs=0.05)
    status = temporal_status(spikes, SelectionConfig().max_temporal_accel)
    assert [i for i, s in enumerate(status) if s is Reason.TEMPORAL_SPIKE] == [4]
    assert temporal_status(spikes, 3.0).tolist().count(Reason.TEMPORAL_SPIKE) == 3


def test_tracks_are_scored_apart_in_frame_order_with_gaps():
    """Two tracks interleaved and shuffled; track 1 skips frames 3 and 4 (same rate per frame:
    no acceleration); rows of no track or with no body score null."""
    a, b = _walk(6, seed=1), _walk(8, seed=2)
    rows_b = [0, 1, 2, 5, 6, 7]
    rotations = np.concatenate([a, b[rows_b], a[:1]])
    tracks = np.array([0] * 6 + [1] * 6 + [-1])
    frames = np.array(list(range(6)) + rows_b + [0])
    usable = np.ones(13, bool)
    usable[5] = False  # the last row of track 0 has no candidate body
    order = np.random.default_rng(4).permutation(13)
    scores = temporal_acceleration(tracks[order], frames[order], rotations[order], usable[order])
    back = np.empty(13, np.float32)
    back[order] = scores
    assert np.isnan(back[[0, 4, 5, 6, 11, 12]]).all()  # ends of the tracks, no body, no track
    assert np.nanmax(back) < 1e-6 and np.isfinite(back[[1, 2, 3, 7, 8, 9, 10]]).all()
    with pytest.raises(ValueError, match=r"must be \(N,\)"):
        temporal_acceleration(tracks, frames[:3], rotations, usable)


def _passing_scores(count: int) -> dict[str, np.ndarray]:
    """Scores of rows that pass FuRPE's three steps under the default config."""
    columns = {}
    for name, spec in METRIC_COLUMNS.items():
        if spec.holds_reasons:
            columns[name] = np.full(count, Reason.OK, dtype=object)
        elif spec.dtype == "bool":
            columns[name] = np.full(count, name.endswith("_scored"))
        elif name.startswith(("n_", "reproj_n_kp")):
            columns[name] = np.full(count, 30, np.int16)
        elif spec.group == "signals":  # no evidence for any signal rule
            columns[name] = np.full(count, np.nan, np.float32)
        else:  # ranges 0 (step 2), reprojection 0.01 < max_mse (step 3)
            columns[name] = np.full(count, 0.01 if "mse" in name else 0.0, np.float32)
    return columns


def test_the_rule_drops_after_step_3_and_a_what_if_brings_the_row_back():
    columns = _passing_scores(6)
    columns["step3_scored"][5] = False  # dropped at step 3: the temporal rule never decides
    kept = np.array([0, 1])
    accel = np.full(6, np.nan, np.float32)
    accel[[0, 1, 5]] = [4.5, 3.5, 9.0]
    columns["temporal_accel_rad"] = accel
    outcome = combine(decide(columns, SelectionConfig()))
    assert outcome.drop_stage[kept[0]] == Stage.TEMPORAL
    assert outcome.drop_reason[kept[0]] is Reason.TEMPORAL_SPIKE
    assert outcome.drop_step[kept[0]] == 0  # not one of FuRPE's steps
    assert not outcome.part_valid[kept[0]].any() and outcome.drop_stage[kept[1]] == Stage.KEPT
    assert outcome.drop_stage.tolist()[2:] == [Stage.KEPT] * 3 + [Stage.REPROJECTION]
    looser = dataclasses.replace(SelectionConfig(), max_temporal_accel=5.0)
    assert combine(decide(columns, looser)).drop_stage[kept[0]] == Stage.KEPT
    stricter = dataclasses.replace(SelectionConfig(), max_temporal_accel=3.0)
    assert (combine(decide(columns, stricter)).drop_stage[kept[:2]] == Stage.TEMPORAL).all()
    with pytest.raises(ValueError, match="max_temporal_accel must be a finite number"):
        SelectionConfig(max_temporal_accel=-1.0)
