"""The report's pictures: the mesh is projected through the stored body crop exactly as step 3
projected the keypoints, silhouettes cover the body, `furpe-label inspect` writes the overlay,
`furpe-label audit --plots` the charts, and the gallery's choice covers every outcome."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.vocabulary import Part, Stage
from furpe_label.storage.audit import stored_stages
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.schema import SMPLX_PARAMS
from furpe_label.workflows.report.gallery import choose_gallery
from furpe_label.workflows.report.mesh import body_crop_frame, silhouette_mask
from furpe_label.workflows.report.overlay import SampleOverlay, render_overlay
from furpe_label.workflows.report.samples import RunSamples
from tests.support.pipeline_support import run_cli
from tests.support.report_support import random_audit


def _kept_labels(out):
    store = LabelStore.open(out / "labels.zarr")
    rows = np.flatnonzero(store.array("valid")[:])
    names = (*SMPLX_PARAMS, "camera", "box_body", "keypoints2d_proj")
    return rows, {name: store.array(name)[:][rows] for name in names}


@pytest.mark.slow
def test_mesh_frame_reproduces_the_stored_projection_and_covers_the_body(demo_run):
    rows, labels = _kept_labels(demo_run)
    assert len(rows) >= 2
    run = RunSamples(demo_run)
    assert run.projector is not None and run.projector.synthetic
    params = {n: torch.as_tensor(labels[n]) for n in SMPLX_PARAMS}
    with torch.no_grad():
        points, _ = OpenPoseFromSMPLX(run.projector.layer)(**params)
    normalised = WeakPerspectiveCamera(torch.as_tensor(labels["camera"])).project(points)
    keypoints = body_crop_frame(labels["box_body"]).norm_to_image(normalised.double().numpy())
    stored = labels["keypoints2d_proj"]
    both = np.isfinite(stored).all(-1)
    assert both.sum() > 20 * len(rows)
    np.testing.assert_allclose(keypoints[both], stored[both], atol=0.01)  # pixels

    vertices = run.projector.project(labels, labels["camera"], labels["box_body"])
    for k, row in enumerate(rows):
        height, width = run.overlays([int(row)])[0].image.shape[:2]
        mask = silhouette_mask(vertices[k], run.projector.faces, (height, width))
        body = stored[k, Part.BODY.keypoint_slice]
        body = body[np.isfinite(body).all(-1)].round().astype(int)
        body = body[(body >= 0).all(-1) & (body[:, 0] < width) & (body[:, 1] < height)]
        covered = mask[body[:, 1], body[:, 0]] > 0
        assert covered.mean() > 0.7, f"sample {row}: the silhouette misses the body joints"


def test_silhouette_is_the_union_of_overlapping_triangles():
    points = np.array([[10, 10], [80, 10], [10, 80], [20, 20], [90, 20], [20, 90]], float)
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    mask = silhouette_mask(points, faces, (100, 100))
    assert mask[25, 25] == 255 and mask[15, 15] == 255 and mask[85, 85] == 0  # overlap filled
    half = silhouette_mask(points, faces, (50, 50), scale=0.5)
    assert half[12, 12] == 255 and half[45, 45] == 0
    assert not silhouette_mask(np.full((6, 2), np.nan), faces, (10, 10)).any()


def test_unreadable_image_gets_a_placeholder_with_its_title():
    nan = np.full((137, 3), np.nan)
    overlay = SampleOverlay(
        image=None,
        keypoints2d=nan,
        confident=np.zeros(137, bool),
        projected=nan[:, :2],
        boxes=np.full((4, 4), np.nan),
        part_valid=np.zeros(4, bool),
        part_status=["image_unreadable"] * 4,
        title="#3 folder: dropped at input: image_unreadable",
    )
    picture = render_overlay(overlay, 400)
    assert picture.dtype == np.uint8 and picture.shape[1] >= 400 and picture.shape[2] == 3


@pytest.mark.slow
def test_inspect_writes_the_overlay_png(demo_run, tmp_path):
    rows, _ = _kept_labels(demo_run)
    sample = int(rows[0])
    target = tmp_path / "sample.png"
    code, output = run_cli(
        "inspect", str(demo_run), "--sample", str(sample), "-o", str(target), "--max-side", "500"
    )
    assert code == 0, output
    assert f"#{sample}" in output and "kept" in output
    picture = cv2.imread(str(target))
    assert picture is not None and max(picture.shape[:2]) >= 500
    run = RunSamples(demo_run)
    overlay = run.overlays([sample])[0]
    bare = render_overlay(SampleOverlay(**{**overlay.__dict__, "vertices": None}), 500)
    drawn = render_overlay(overlay, 500)
    assert (np.abs(drawn.astype(int) - bare).max(-1) > 30).mean() > 0.02  # the mesh is drawn
    np.testing.assert_array_equal(drawn[:, :, ::-1], picture)

    code, output = run_cli("inspect", str(demo_run), "--sample", "99999")
    assert code != 0 and "not in this run" in output


@pytest.mark.slow
def test_audit_plots_writes_the_charts(demo_run, tmp_path):
    code, output = run_cli(
        "audit",
        str(demo_run),
        "--plots",
        str(tmp_path / "plots"),
        "--what-if",
        "step3.max_mse=0.01",
    )
    assert code == 0, output
    names = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {
        "funnel.png",
        "drop_reasons.png",
        "step1_confident_keypoints.png",
        "step3_reprojection_mse.png",
        "timings.png",
    } <= names
    for path in (tmp_path / "plots").glob("*.png"):
        image = cv2.imread(str(path))
        assert image is not None and image.std() > 10, path.name


def test_gallery_choice_covers_every_outcome_within_the_limit():
    table = random_audit(2000, seed=1)
    stage = stored_stages(table)
    chosen = choose_gallery(table, 24)
    assert len(chosen) == 24 and chosen == sorted(set(chosen))
    picked = stage[np.asarray(chosen)]
    assert set(np.unique(stage)) <= set(picked)  # every stored stage pictured
    assert (picked == Stage.KEPT).sum() >= 12
    assert choose_gallery(table, 24) == chosen  # deterministic
    assert choose_gallery(table, 0) == []
    assert len(choose_gallery(table.slice(0, 5), 24)) == 5


def test_audit_plots_draw_the_temporal_rule_where_rows_have_tracks(tmp_path):
    from furpe_label.selection import SelectionConfig
    from furpe_label.workflows.report.plots import write_plots
    from tests.support.report_support import audit_only_run

    table = random_audit(400, seed=2)  # 60 % of the rows reaching the selection have a track
    out = audit_only_run(tmp_path / "run", table)
    config = SelectionConfig(max_temporal_accel=2.5)
    paths = write_plots(out, table, SelectionConfig(), config, tmp_path / "plots")
    assert "temporal_accel.png" in {p.name for p in paths}
    image = cv2.imread(str(tmp_path / "plots" / "temporal_accel.png"))
    assert image is not None and image.std() > 10
