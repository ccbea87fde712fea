"""Soft masks: shape, range, full strength on the face, seamless edges, emphasis, fades."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from dataclasses import replace

import numpy as np
import pytest

from facemask.errors import FaceMaskError
from facemask.geometry import face_axes
from facemask.masks import MaskConfig, border_taper, emphasis_map, region_masks, soft_mask
from facemask.regions import RegionConfig, build_regions
from facemask.result import FaceResult
from fm_helpers import GOLDEN, astronaut, astronaut_faces  # noqa: F401 (fixtures)

NOSE_TIP = 1


def _crop_xy(point: np.ndarray, crop: np.ndarray) -> tuple[int, int]:
    return int(point[0] - crop[0]), int(point[1] - crop[1])


@pytest.mark.parametrize("tile", [128, 256])
def test_astronaut_masks_shape_range_and_placement(astronaut_faces: FaceResult, tile: int) -> None:
    regions = build_regions(astronaut_faces, RegionConfig(tile=tile))
    masks = region_masks(regions, astronaut_faces, MaskConfig(emphasis=True))
    assert masks.emphasis is not None
    assert len(masks.blend) == len(regions) == 1
    crop = regions.boxes_xyxy[0]
    for m in (masks.blend[0], masks.emphasis[0]):
        assert m.shape == (regions.sides_px[0],) * 2 and m.dtype == np.float32
        assert 0.0 <= m.min() and m.max() <= 1.0
    blend = masks.blend[0]
    for part in ("right_eye_xy", "left_eye_xy", "mouth_xy"):
        x, y = _crop_xy(np.array(GOLDEN["astronaut"][part]), crop)
        assert blend[y, x] == pytest.approx(1.0), part
        assert masks.emphasis[0][y, x] > 0.9, part
    x, y = _crop_xy(astronaut_faces.landmarks_px[0, NOSE_TIP], crop)
    assert blend[y, x] == pytest.approx(1.0)
    assert masks.emphasis[0][y, x] < 0.5  # the nose is not emphasised
    # Corners of the crop are background: nothing of the deblurred crop is used there.
    assert blend[[0, 0, -1, -1], [0, -1, 0, -1]].max() == 0.0
    assert 0.15 < blend.mean() < 0.6


def test_mask_edges_are_smooth_in_proportion_to_the_face(astronaut_faces: FaceResult) -> None:
    config = MaskConfig(feather=0.12)
    regions = build_regions(astronaut_faces, RegionConfig(tile=256))
    mask = region_masks(regions, astronaut_faces, config).blend[0]
    size = float(face_axes(astronaut_faces.landmarks_px).size[0])
    steepest = max(np.abs(np.diff(mask, axis=0)).max(), np.abs(np.diff(mask, axis=1)).max())
    # A smoothstep over feather*size pixels rises at most 1.5 / (feather*size) per pixel.
    assert steepest <= 1.5 / (config.feather * size) * 1.15
    hard = region_masks(regions, astronaut_faces, MaskConfig(feather=0.01)).blend[0]
    assert np.abs(np.diff(hard, axis=1)).max() > 2 * steepest  # the bound above can fail


def test_feather_scales_with_face_size(astronaut_faces: FaceResult) -> None:
    lm = astronaut_faces.landmarks_px[0]
    crop = np.array([96, 0, 352, 256])
    small = soft_mask(lm, crop)
    big_lm = lm.copy()
    big_lm[:, :2] = (lm[:, :2] - crop[:2]) * 2
    big = soft_mask(big_lm, np.array([0, 0, 512, 512]))
    down = big.reshape(256, 2, 256, 2).mean(axis=(1, 3))
    assert np.abs(down - small).mean() < 0.01
    ramp_small = ((small > 0.02) & (small < 0.98)).sum()
    ramp_big = ((big > 0.02) & (big < 0.98)).sum()
    assert 3.4 < ramp_big / ramp_small < 4.6  # ramp area scales with size squared


def test_crop_border_inside_the_frame_fades_to_zero(astronaut_faces: FaceResult) -> None:
    # Force a crop that cuts the face: tile 128 with a huge face would clip; instead shift one.
    faces = astronaut_faces
    regions = build_regions(faces, RegionConfig(tile=128))
    x0, y0, x1, y1 = regions.boxes_xyxy[0].tolist()
    cut = replace(regions, boxes_xyxy=np.array([[x0 + 60, y0 + 40, x1 - 68, y1 - 88]], np.int32))
    mask = region_masks(cut, faces).blend[0]
    assert mask[:, 0].max() == 0.0 and mask[:, -1].max() == 0.0 and mask[-1].max() == 0.0
    assert mask[mask.shape[0] // 2, mask.shape[1] // 2] == pytest.approx(1.0)


@pytest.mark.parametrize(("crop", "frame", "zero_edges"), [
    ((0, 0, 64, 64), (128, 128), ("bottom", "right")),
    ((64, 64, 128, 128), (128, 128), ("top", "left")),
    ((0, 0, 128, 128), (128, 128), ()),
    ((32, 32, 96, 96), (128, 128), ("top", "left", "bottom", "right")),
])
def test_border_taper_only_on_edges_inside_the_frame(crop: tuple[int, int, int, int], frame: tuple[int, int],
                                                    zero_edges: tuple[str, ...]) -> None:
    t = border_taper(np.array(crop), frame, 8)
    edges = {"top": t[0], "bottom": t[-1], "left": t[:, 0], "right": t[:, -1]}
    for name, edge in edges.items():
        assert (edge.max() < 0.02) == (name in zero_edges), name
    assert t[32, 32] == 1.0


def test_weights_scale_the_masks(astronaut_faces: FaceResult) -> None:
    half = replace(astronaut_faces, weights=np.array([0.5], np.float32))
    regions = build_regions(half, RegionConfig(tile=128))
    assert region_masks(regions, half).blend[0].max() == pytest.approx(0.5)


def test_emphasis_is_none_unless_asked(astronaut_faces: FaceResult) -> None:
    regions = build_regions(astronaut_faces)
    assert region_masks(regions, astronaut_faces).emphasis is None
    lm, crop = astronaut_faces.landmarks_px[0], regions.boxes_xyxy[0]
    assert emphasis_map(lm, crop).shape == (256, 256)


def test_empty_regions_give_no_masks() -> None:
    faces = FaceResult.empty((640, 480))
    masks = region_masks(build_regions(faces), faces, MaskConfig(emphasis=True))
    assert masks.blend == () and masks.emphasis == ()


def test_masks_need_the_faces_the_regions_came_from(astronaut_faces: FaceResult) -> None:
    regions = build_regions(astronaut_faces)
    with pytest.raises(FaceMaskError, match="regions were built for 1 faces"):
        region_masks(regions, FaceResult.empty((512, 512)))


@pytest.mark.parametrize(("landmarks", "crop", "match"), [
    (np.zeros((10, 2), np.float32), (0, 0, 64, 64), r"shape \(10, 2\)"),
    (np.zeros((468,), np.float32), (0, 0, 64, 64), "shape"),
    (np.zeros((468, 3), np.float32), (0, 0, 64, 32), "must be a non-empty square"),
    (np.zeros((468, 3), np.float32), (10, 10, 10, 10), "non-empty square"),
])
def test_soft_mask_rejects_bad_input(landmarks: np.ndarray, crop: tuple[int, int, int, int], match: str) -> None:
    with pytest.raises(FaceMaskError, match=match):
        soft_mask(landmarks, crop)


def test_face_outside_the_crop_gives_a_zero_mask(astronaut_faces: FaceResult) -> None:
    assert soft_mask(astronaut_faces.landmarks_px[0], (400, 400, 464, 464)).max() == 0.0


@pytest.mark.parametrize(("kwargs", "raises"), [
    ({}, does_not_raise()),
    ({"feather": 0}, pytest.raises(FaceMaskError, match="hard edge")),
    ({"dilate": -0.1}, pytest.raises(FaceMaskError, match="dilate=-0.1")),
    ({"emphasis_feather": 2}, pytest.raises(FaceMaskError, match="emphasis_feather=2")),
])
def test_mask_config_validation(kwargs: dict[str, float], raises: object) -> None:
    with raises:  # type: ignore[attr-defined]
        MaskConfig(**kwargs)
