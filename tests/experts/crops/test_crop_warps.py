"""Tests for experts/crops/warps.py against independent re-implementations of the official steps.

The reference functions below re-implement, in the test, SPIN ``crop()`` + ``scipy.misc.imresize``
(nkolot/SPIN utils/imutils.py; scipy 1.1 misc/pilutil.py), DECA's skimage similarity warp
(yfeng95/DECA decalib/datasets/datasets.py) and FrankMocap's ``__pad_and_resize``
(facebookresearch/frankmocap handmocap/hand_mocap_api.py).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.transform import AffineTransform, estimate_transform, warp

from furpe_label.experts.crops import boxes, warps
from furpe_label.experts.crops.bilinear import warp_bilinear
from furpe_label.experts.geometry import crop_transform as ct
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

DATA = SPIN_EXAMPLE


# ---------------------------------------------------------------- independent references
def ref_spin_crop(img: np.ndarray, center, scale: float, res=(224, 224)) -> np.ndarray:
    def get_transform(center, scale, res):
        h = 200 * scale
        t = np.zeros((3, 3))
        t[0, 0] = float(res[1]) / h
        t[1, 1] = float(res[0]) / h
        t[0, 2] = res[1] * (-float(center[0]) / h + 0.5)
        t[1, 2] = res[0] * (-float(center[1]) / h + 0.5)
        t[2, 2] = 1
        return t

    def transform(pt, invert):
        t = get_transform(center, scale, res)
        if invert:
            t = np.linalg.inv(t)
        new_pt = np.dot(t, np.array([pt[0] - 1, pt[1] - 1, 1.0]).T)
        return new_pt[:2].astype(int) + 1

    ul = np.array(transform([1, 1], 1)) - 1
    br = np.array(transform([res[0] + 1, res[1] + 1], 1)) - 1
    new_img = np.zeros([br[1] - ul[1], br[0] - ul[0], img.shape[2]])
    new_x = max(0, -ul[0]), min(br[0], len(img[0])) - ul[0]
    new_y = max(0, -ul[1]), min(br[1], len(img)) - ul[1]
    old_x = max(0, ul[0]), min(len(img[0]), br[0])
    old_y = max(0, ul[1]), min(len(img), br[1])
    new_img[new_y[0] : new_y[1], new_x[0] : new_x[1]] = img[
        old_y[0] : old_y[1], old_x[0] : old_x[1]
    ]
    # scipy.misc.imresize(new_img, res): toimage() bytescales float data, then PIL bilinear
    cmin, cmax = new_img.min(), new_img.max()
    cscale = (cmax - cmin) or 1
    byte = (((new_img - cmin) * (255.0 / cscale)).clip(0, 255) + 0.5).astype(np.uint8)
    return np.array(Image.fromarray(byte, "RGB").resize((res[1], res[0]), Image.BILINEAR))


def ref_frankmocap(img: np.ndarray, hand_bbox: np.ndarray, add_margin: bool, final_size=224):
    ori_height, ori_width = img.shape[:2]
    min_x, min_y = hand_bbox[:2].astype(np.int32)
    width, height = hand_bbox[2:].astype(np.int32)
    max_x = min_x + width
    max_y = min_y + height
    if width > height:
        margin = (width - height) // 2
        min_y = max(min_y - margin, 0)
        max_y = min(max_y + margin, ori_height)
    else:
        margin = (height - width) // 2
        min_x = max(min_x - margin, 0)
        max_x = min(max_x + margin, ori_width)
    if add_margin:
        margin = int(0.3 * (max_y - min_y))
        min_y = max(min_y - margin, 0)
        max_y = min(max_y + margin, ori_height)
        min_x = max(min_x - margin, 0)
        max_x = min(max_x + margin, ori_width)
    img_cropped = img[int(min_y) : int(max_y), int(min_x) : int(max_x), :]
    new_size = max(max_x - min_x, max_y - min_y)
    new_img = np.zeros((new_size, new_size, 3), dtype=np.uint8)
    new_img[: (max_y - min_y), : (max_x - min_x), :] = img_cropped
    new_img = cv2.resize(new_img, (final_size, final_size))
    return new_img, final_size / new_size, (min_x, min_y, max_x - min_x, max_y - min_y)


def ref_deca(img: np.ndarray, lm: np.ndarray, res=224):
    left, right = np.min(lm[:, 0]), np.max(lm[:, 0])
    top, bottom = np.min(lm[:, 1]), np.max(lm[:, 1])
    old_size = (right - left + bottom - top) / 2 * 1.1
    center = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0])
    size = int(old_size * 1.25)
    src = np.array(
        [
            [center[0] - size / 2, center[1] - size / 2],
            [center[0] - size / 2, center[1] + size / 2],
            [center[0] + size / 2, center[1] - size / 2],
        ]
    )
    dst = np.array([[0, 0], [0, res - 1], [res - 1, 0]])
    tform = estimate_transform("similarity", src, dst)
    return warp(img / 255.0, tform.inverse, output_shape=(res, res)), tform.params


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.imread(str(DATA / "im1010.jpg"))[:, :, ::-1].copy()  # as SPIN demo.py


@pytest.fixture(scope="module")
def kp137() -> np.ndarray:
    p = json.loads((DATA / "im1010_openpose.json").read_text())["people"][0]
    keys = ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d")
    parts = [np.reshape(p[k], (-1, 3)) for k in (*keys, "face_keypoints_2d")]
    return np.concatenate(parts)[None]


def blob_image(points: np.ndarray, shape=(300, 360), sigma=3.0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.full(shape, 20.0)
    for x, y in points:
        img += 200 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return np.repeat(img.round().astype(np.uint8)[..., None], 3, axis=2)


def centroid(img: np.ndarray, x: float, y: float, r: int = 9) -> np.ndarray:
    g = img[..., 0].astype(np.float64)
    x0, y0 = round(x), round(y)
    win = g[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    win = win - np.median(g)
    win = np.clip(win, 0, None)
    yy, xx = np.mgrid[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    return np.array([(win * xx).sum(), (win * yy).sum()]) / win.sum()


BLOBS = np.array([[150.3, 120.6], [200.8, 160.1], [170.5, 200.4], [130.2, 180.9]])


# ---------------------------------------------------------------- SPIN
def test_spin_input_matches_spin_crop_on_real_photo(photo, kp137):
    center, scale, _ = boxes.spin_body_center_scale(kp137)
    crop, affine = warps.spin_input(photo, center[0], scale[0])
    np.testing.assert_array_equal(crop, ref_spin_crop(photo, center[0], scale[0]))
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    # the person-box path of demo.py (bbox_from_json)
    bbox = np.array(json.loads((DATA / "im1010_bbox.json").read_text())["bbox"], np.float32)
    c2, s2 = bbox[:2] + 0.5 * bbox[2:], max(bbox[2], bbox[3]) / 200.0
    np.testing.assert_array_equal(warps.spin_input(photo, c2, s2)[0], ref_spin_crop(photo, c2, s2))
    pts = kp137[0, :25, :2]
    np.testing.assert_allclose(
        ct.crop_to_image(ct.image_to_crop(pts, affine), affine), pts, atol=1e-6
    )


@pytest.mark.parametrize("center,scale", [((20.0, 480.0), 1.1), ((300.7, 250.2), 2.9)])
def test_spin_input_matches_spin_crop_with_padding(center, scale):
    img = skimage.data.astronaut()
    crop, _ = warps.spin_input(img, np.array(center), scale)
    np.testing.assert_array_equal(crop, ref_spin_crop(img, center, scale))
    plain, _ = warps.spin_input(img, np.array(center), scale, contrast_stretch=False)
    assert plain.shape == crop.shape


@pytest.mark.parametrize("method", ["spin", "warp"])
def test_spin_input_affine_locates_image_points(method):
    img = blob_image(BLOBS)
    center, scale = np.array([166.3, 161.7]), 0.83
    crop, affine = warps.spin_input(img, center, scale, method=method, contrast_stretch=False)
    for p in ct.image_to_crop(BLOBS, affine):
        assert np.linalg.norm(centroid(crop, *p) - p) < 0.15
    ideal = ct.center_scale_to_affine(center, scale, 224)
    corners = np.array([[0.0, 0.0], [223.0, 223.0], [0.0, 223.0]])
    gap = ct.crop_to_image(corners, affine) - ct.crop_to_image(corners, ideal)
    assert np.abs(gap).max() < 1.0  # the realised integer box is within a pixel of the ideal


def test_spin_contrast_stretch_follows_imresize():
    # imresize bytescales SPIN's float canvas: a dim crop without padding is stretched to 0..255
    img = (50 + 50 * (skimage.data.astronaut() / 255.0)).astype(np.uint8)
    center, scale = np.array([256.0, 256.0]), 1.0
    stretched, _ = warps.spin_input(img, center, scale)
    plain, _ = warps.spin_input(img, center, scale, contrast_stretch=False)
    assert plain.min() >= 50 and plain.max() <= 100
    assert stretched.min() <= 2 and stretched.max() >= 253
    np.testing.assert_array_equal(stretched, ref_spin_crop(img, center, scale))


def test_spin_inputs_batch_and_errors(photo):
    centers = np.array([[75.0, 108.0], [60.0, 90.0]])
    scales = np.array([0.7, 0.4])
    crops, affines = warps.spin_inputs(photo, centers, scales)
    assert crops.shape == (2, 224, 224, 3) and affines.shape == (2, 2, 3)
    np.testing.assert_array_equal(crops[1], warps.spin_input(photo, centers[1], 0.4)[0])
    with pytest.raises(ValueError):
        warps.spin_input(photo, np.array([np.nan, 1.0]), 0.5)
    with pytest.raises(ValueError):
        warps.spin_input(photo, centers[0], 0.5, method="magic")  # type: ignore[arg-type]
    assert warps.spin_inputs(photo, np.zeros((0, 2)), np.zeros(0))[0].shape == (0, 224, 224, 3)


# ---------------------------------------------------------------- DECA
def _face_landmarks(cx: float, cy: float, rad: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ang = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    r = rad * rng.uniform(0.6, 1.0, 68)
    return np.stack([cx + r * np.cos(ang), cy + 1.2 * r * np.sin(ang)], axis=1)


@pytest.mark.parametrize("cx,cy,rad", [(250.0, 150.0, 60.0), (15.0, 200.0, 90.0), (300, 300, 25)])
def test_deca_input_matches_skimage_warp(cx, cy, rad):
    img = skimage.data.astronaut()
    lm = _face_landmarks(cx, cy, rad, seed=int(cx))
    crop, tform = warps.deca_input(img, lm)
    ref, ref_tform = ref_deca(img, lm)
    np.testing.assert_allclose(tform, ref_tform, atol=1e-9)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.float32
    # the official float64 warp; float32 as DECA's torch.tensor(dst_image).float()
    assert np.abs(crop - ref).max() <= 1e-6
    # DECA's own keypoint path: tform @ kpt (pixel centres)
    np.testing.assert_allclose(ct.image_to_crop(lm, tform[:2]), lm @ tform[:2, :2].T + tform[:2, 2])
    np.testing.assert_allclose(
        ct.crop_to_image(ct.image_to_crop(lm, tform[:2]), tform[:2]), lm, atol=1e-6
    )


def _skimage_float_warp(img: np.ndarray, affine: np.ndarray, res: int = 224) -> np.ndarray:
    """DECA's call: warp(image / 255., tform.inverse, output_shape=(res, res)), float64."""
    tform = AffineTransform(matrix=np.vstack([affine, [0.0, 0.0, 1.0]]))
    return warp(img / 255.0, tform.inverse, output_shape=(res, res))


@pytest.mark.parametrize(
    "center, side", [((274.0, 60.0), 61.0), ((20.5, 330.2), 150.0), ((300.3, 170.8), 480.0)]
)
def test_deca_crop_on_real_photo_equals_official_float_warp(center, side):
    """messi5.jpg (real, colour): face-size, edge-cut and larger-than-image boxes."""
    img = cv2.imread(str(OPENCV_SAMPLES / "messi5.jpg"))[:, :, ::-1].copy()
    crops, tforms = warps.deca_inputs(img, np.array([center]), np.array([side]))
    ref = _skimage_float_warp(img, tforms[0, :2])
    assert crops.dtype == np.float32 and np.abs(crops[0] - ref).max() <= 1e-6
    assert ref.std() > 0.05  # real content, not an empty crop
    # the old uint8 cv2 path was measurably off (1/32 px positions, integer output)
    old = ct.warp_crop(img, tforms[0, :2], 224) / 255.0
    assert np.abs(old - ref).max() > 1e-3


@pytest.mark.parametrize("angle, scale", [(0.3, 0.7), (-2.5, 1.9), (np.pi / 2, 0.25)])
def test_warp_bilinear_general_affine_equals_skimage(angle, scale):
    """Rotated / sheared maps take the 2-D gather; same formula, same numbers."""
    img = skimage.data.astronaut()
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    affine = np.hstack([rot @ np.array([[1.0, 0.2], [0.0, 1.0]]), [[40.0], [-80.0]]])
    out = warp_bilinear(img, affine, 96)
    assert out.shape == (96, 96, 3) and out.dtype == np.float64
    assert np.abs(out - _skimage_float_warp(img, affine, 96)).max() <= 1e-12


def test_warp_bilinear_outside_and_errors():
    img = skimage.data.astronaut()
    far = np.array([[1.0, 0.0, 1e18], [0.0, 1.0, -1e18]])  # every tap far outside
    np.testing.assert_array_equal(warp_bilinear(img, far, 8), np.zeros((8, 8, 3)))
    edge = warp_bilinear(img, np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]), 4)
    np.testing.assert_allclose(edge[0, 0], img[0, 0] / 255.0 / 4)  # 1 of 4 taps inside
    for bad in (np.zeros((2, 3)), np.full((2, 3), np.nan), np.eye(3)):
        with pytest.raises(ValueError):
            warp_bilinear(img, bad, 8)
    with pytest.raises(ValueError):
        warp_bilinear(img.astype(np.float32), np.eye(2, 3), 8)


def test_deca_inputs_batch_from_face_boxes():
    img = skimage.data.astronaut()
    lms = np.stack([_face_landmarks(250, 150, 60, 1), _face_landmarks(100, 380, 40, 2)])
    kp = np.zeros((2, 137, 3))
    kp[:, 67:135, :2] = lms
    kp[:, 67:135, 2] = 1.0
    face = boxes.deca_face_boxes(kp)
    crops, tforms = warps.deca_inputs(img, face.center, face.side)
    assert crops.shape == (2, 224, 224, 3) and tforms.shape == (2, 3, 3)
    single, t1 = warps.deca_input(img, lms[1])
    np.testing.assert_array_equal(crops[1], single)
    np.testing.assert_allclose(tforms[1], t1)
    with pytest.raises(ValueError):
        warps.deca_input(img, lms[0], valid=np.zeros(68, bool))


# ---------------------------------------------------------------- FrankMocap
@pytest.mark.parametrize(
    "box", [[200.4, 180.7, 61.2, 40.9], [10.0, 30.5, 25.3, 70.8], [470.2, 480.1, 41.8, 31.9]]
)
@pytest.mark.parametrize("add_margin", [True, False])
def test_frankmocap_input_matches_pad_and_resize(box, add_margin):
    img = skimage.data.astronaut()
    box = np.array(box)
    crop, affine, processed = warps.frankmocap_input(img, box, add_margin=add_margin)
    ref, ratio, ref_box = ref_frankmocap(img, box, add_margin)
    np.testing.assert_array_equal(crop, ref)
    np.testing.assert_array_equal(processed, ref_box)
    assert affine[0, 0] == pytest.approx(ratio)
    flipped, faff, _ = warps.frankmocap_input(img, box, add_margin=add_margin, flip=True)
    np.testing.assert_array_equal(flipped, ref[:, ::-1])
    pts = np.array([[box[0] + 3.3, box[1] + 5.1]])
    np.testing.assert_allclose(ct.crop_to_image(ct.image_to_crop(pts, faff), faff), pts, atol=1e-6)
    np.testing.assert_allclose(
        ct.image_to_crop(pts, faff)[0, 0], 223 - ct.image_to_crop(pts, affine)[0, 0]
    )


def test_frankmocap_input_on_real_hand_and_geometry(photo, kp137):
    hand = boxes.frankmocap_hand_boxes(kp137, "left", photo.shape[:2]).xywh[0]
    crop, affine, processed = warps.frankmocap_input(photo, hand)
    ref, _, ref_box = ref_frankmocap(photo, hand, True)
    np.testing.assert_array_equal(crop, ref)
    np.testing.assert_array_equal(processed, ref_box)
    img = blob_image(BLOBS)
    crop, affine, _ = warps.frankmocap_input(img, np.array([120.0, 100.0, 110.0, 90.0]))
    for p in ct.image_to_crop(BLOBS, affine):
        assert np.linalg.norm(centroid(crop, *p) - p) < 0.15
    crops, affines, boxes_out = warps.frankmocap_inputs(img, np.array([hand, hand + 40]), [0, 1])
    assert crops.shape == (2, 224, 224, 3) and boxes_out.shape == (2, 4)
    assert affines.shape == (2, 2, 3) and affines[1, 0, 0] < 0  # second one is flipped
    np.testing.assert_array_equal(crops[1], warps.frankmocap_input(img, hand + 40, flip=True)[0])
    with pytest.raises(ValueError):
        warps.frankmocap_input(img, np.array([np.nan, 0, 10, 10]))


def test_bytescale_table_equals_float_formula():
    rng = np.random.default_rng(5)
    for low, high in ((0, 256), (10, 200), (37, 38), (0, 1), (3, 256)):
        canvas = rng.integers(low, high, (17, 23, 3)).astype(np.uint8)
        reference = warps.spin_bytescale(canvas.astype(np.float64))  # float path, scipy's formula
        np.testing.assert_array_equal(warps.spin_bytescale(canvas), reference)
