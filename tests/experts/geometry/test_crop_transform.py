"""Tests for experts/geometry/crop_transform.py (SPIN crop conventions, affines, warps)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from furpe_label.experts.geometry import crop_transform as ct
from tests.support.real_data import SPIN_EXAMPLE

DATA = SPIN_EXAMPLE


def _conjugate_to_centres(t: np.ndarray) -> np.ndarray:
    """Corner-convention 3x3 -> pixel-centre 2x3: u_c = T(x_c + .5) - .5."""
    plus = np.eye(3)
    plus[:2, 2] = 0.5
    minus = np.eye(3)
    minus[:2, 2] = -0.5
    return (minus @ t @ plus)[:2]


def _blob_image(points: np.ndarray, shape=(160, 200), sigma=2.0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.zeros(shape)
    for x, y in points:
        img += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return np.repeat((255 * img / img.max()).round().astype(np.uint8)[..., None], 3, axis=2)


def _centroid(img: np.ndarray, x: float, y: float, r: int = 7) -> np.ndarray:
    g = img[..., 0].astype(np.float64)
    x0, y0 = round(x), round(y)
    win = g[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    yy, xx = np.mgrid[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    return np.array([(win * xx).sum(), (win * yy).sum()]) / win.sum()


def test_spin_get_transform_maps_box_edges_to_crop_edges():
    center, scale, res = np.array([120.3, 87.9]), 1.37, (224, 224)
    t = ct.spin_get_transform(center, scale, res)
    h = 200 * scale
    corners = np.array([[center[0] - h / 2, center[1] - h / 2, 1], [*center, 1]])
    out = corners @ t.T
    np.testing.assert_allclose(out[0, :2], [0, 0], atol=1e-12)
    np.testing.assert_allclose(out[1, :2], [112, 112], atol=1e-12)
    # rotation keeps the centre and rotates about it (SPIN's sign: -rot)
    tr = ct.spin_get_transform(center, scale, res, rot=30.0)
    np.testing.assert_allclose(tr @ [*center, 1], [112, 112, 1], atol=1e-9)
    right = tr @ [center[0] + h / 2, center[1], 1]
    ang = np.degrees(np.arctan2(right[1] - 112, right[0] - 112))
    assert ang == pytest.approx(-30.0)


def test_spin_transform_and_crop_corners_follow_spin_integer_rules():
    center, scale, res = np.array([75.5, 108.0]), 142 / 200, (224, 224)
    # SPIN: transform([1,1], invert=1) - 1 == trunc(c - h/2); trunc is toward zero
    ul, br = ct.spin_crop_corners(center, scale, res)
    np.testing.assert_array_equal(ul, [4, 37])  # 4.5 -> 4, 37.0 -> 37
    np.testing.assert_array_equal(br, [146, 179])
    ul2, _ = ct.spin_crop_corners(np.array([-10.7, 50.0]), 0.1, res)
    np.testing.assert_array_equal(ul2, [-20, 40])  # -20.7 truncates toward zero
    pt = ct.spin_transform(np.array([[76.5, 109.0], [5.5, 38.0]]), center, scale, res)
    np.testing.assert_array_equal(pt, [[113, 113], [1, 1]])
    assert pt.dtype == np.int64


@pytest.mark.parametrize("rot", [0.0, 25.0])
def test_center_scale_affine_is_pixel_centre_form_of_get_transform(rot):
    rng = np.random.default_rng(0)
    centers = rng.uniform(-50, 400, (5, 2))
    scales = rng.uniform(0.05, 3.0, 5)
    aff = ct.center_scale_to_affine(centers, scales, 224, rot=rot)
    assert aff.shape == (5, 2, 3)
    for c, s, a in zip(centers, scales, aff, strict=True):
        ref = _conjugate_to_centres(ct.spin_get_transform(c, s, (224, 224), rot=rot))
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-9)


def test_round_trip_points_numpy_and_torch_batch():
    rng = np.random.default_rng(1)
    aff = ct.center_scale_to_affine(rng.uniform(0, 500, (4, 2)), rng.uniform(0.1, 2, 4), 224, 13.0)
    pts = rng.uniform(-100, 600, (4, 17, 2))
    back = ct.crop_to_image(ct.image_to_crop(pts, aff), aff)
    np.testing.assert_allclose(back, pts, atol=1e-6)
    np.testing.assert_allclose(
        ct.invert_affine(aff)[..., :2] @ aff[..., :2], np.eye(2)[None].repeat(4, 0), atol=1e-12
    )
    tp = torch.tensor(pts, dtype=torch.float64)
    tc = ct.image_to_crop(tp, aff)
    assert isinstance(tc, torch.Tensor) and tc.dtype == torch.float64
    np.testing.assert_allclose(tc.numpy(), ct.image_to_crop(pts, aff), atol=1e-9)
    tb = ct.crop_to_image(tc, torch.tensor(aff))
    np.testing.assert_allclose(tb.numpy(), pts, atol=1e-6)
    # one affine broadcast over a (B, N, 2) batch
    one = ct.image_to_crop(pts, aff[0])
    np.testing.assert_allclose(one[2], ct.image_to_crop(pts[2], aff[0]), atol=1e-12)
    hom = ct.affine_to_homogeneous(aff)
    np.testing.assert_allclose(hom[..., 2, :], [[0, 0, 1]] * 4)


def test_normalized_conventions_anchor_points_and_round_trip():
    res = 224
    ends = np.array([[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(ct.normalized_to_crop(ends, res, "edges"), [[-0.5] * 2, [223.5] * 2])
    np.testing.assert_allclose(ct.normalized_to_crop(ends, res, "centers"), [[0, 0], [223, 223]])
    np.testing.assert_allclose(ct.normalized_to_crop(ends, res, "origin"), [[0, 0], [224, 224]])
    pts = np.random.default_rng(2).uniform(-1.5, 1.5, (10, 2))
    for conv in ct.NORMALIZED_CONVENTIONS:
        back = ct.crop_to_normalized(ct.normalized_to_crop(pts, res, conv), res, conv)
        np.testing.assert_allclose(back, pts, atol=1e-12)
    with pytest.raises(ValueError):
        ct.normalized_to_crop(pts, res, "bogus")  # type: ignore[arg-type]
    # SPIN's center is in its corner convention: the crop centre (n = 0) is the pixel-centre
    # image point center - 0.5, exactly where crop() puts it.
    aff = ct.center_scale_to_affine(np.array([50.0, 60.0]), 0.5, res)
    c = ct.image_to_crop(np.array([[49.5, 59.5]]), aff)
    np.testing.assert_allclose(ct.crop_to_normalized(c, res, "edges"), [[0.0, 0.0]], atol=1e-12)


def test_warp_crop_places_blobs_where_the_affine_says():
    pts = np.array([[60.3, 50.7], [120.8, 90.2], [95.5, 120.4]])
    img = _blob_image(pts)
    aff = ct.center_scale_to_affine(np.array([95.0, 85.0]), 0.6, 96, rot=20.0)
    crop = ct.warp_crop(img, aff, 96)
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    expected = ct.image_to_crop(pts, aff)
    for e in expected:
        assert np.linalg.norm(_centroid(crop, *e) - e) < 0.15


def test_warp_crop_identity_and_constant_border():
    img = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    np.testing.assert_array_equal(ct.warp_crop(img, ident, 30), img[:30, :30])
    shift = np.array([[1.0, 0, 10], [0, 1.0, 10]])  # image starts at crop (10, 10)
    out = ct.warp_crop(img, shift, 30, border_value=7)
    assert (out[:9, :, :] == 7).all() and (out[:, :9] == 7).all()
    np.testing.assert_array_equal(out[10:, 10:], img[:20, :20])
    with pytest.raises(ValueError):
        ct.warp_crop(img.astype(np.float32), ident, 10)


def test_spin_corners_on_real_person_box():
    bbox = np.array(json.loads((DATA / "im1010_bbox.json").read_text())["bbox"], np.float32)
    center = bbox[:2] + 0.5 * bbox[2:]  # SPIN bbox_from_json
    scale = max(bbox[2], bbox[3]) / 200.0
    ul, br = ct.spin_crop_corners(center, scale, (224, 224))
    np.testing.assert_array_equal(br - ul, [142, 142])
    aff = ct.center_scale_to_affine(center, scale, 224)
    # the person box edges map onto the crop edges (-0.5 and 223.5 in pixel centres)
    corners = (center - 71.0 - 0.5)[None]
    np.testing.assert_allclose(ct.image_to_crop(corners, aff), [[-0.5, -0.5]], atol=1e-4)
