"""Face regions: square, tile-snapped, inside the frame, merged, dropped when tiny."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.geometry import face_axes
from facemask.mesh import CHIN, FOREHEAD_TOP
from facemask.regions import FaceRegions, RegionConfig, build_regions
from facemask.result import FaceResult
from fm_helpers import GOLDEN, astronaut, astronaut_faces  # noqa: F401 (fixtures)

Spec = tuple[float, float, float, float]
"""A synthetic face: centre x, centre y, size in px, roll in degrees."""


@pytest.fixture(scope="module")
def template(astronaut_faces: FaceResult) -> NDArray[np.float32]:
    """The astronaut's real landmarks, centred and scaled to face size 1."""
    lm = astronaut_faces.landmarks_px[0].copy()
    axes = face_axes(lm[None])
    lm[:, :2] -= axes.origin[0]
    return (lm / axes.size[0]).astype(np.float32)


def make_faces(template: NDArray[np.float32], frame_wh: tuple[int, int], specs: list[Spec],
               weights: list[float] | None = None) -> FaceResult:
    out = []
    for cx, cy, size, deg in specs:
        a = np.deg2rad(deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
        lm = template * size
        lm[:, :2] = lm[:, :2] @ rot.T + (cx, cy)
        out.append(lm)
    faces = FaceResult.from_landmarks(np.asarray(out, np.float32).reshape(len(specs), -1, 3),
                                      np.linspace(0.9, 0.8, len(specs)).astype(np.float32), frame_wh)
    if weights is not None:
        from dataclasses import replace

        faces = replace(faces, weights=np.asarray(weights, np.float32))
    return faces


def check_invariants(regions: FaceRegions, tile: int) -> None:
    w, h = regions.frame_size_wh
    b = regions.boxes_xyxy
    assert b.dtype == np.int32
    assert np.all(b[:, 2] - b[:, 0] == b[:, 3] - b[:, 1])
    assert np.all((b[:, 2] - b[:, 0]) % tile == 0) and np.all(b[:, 2] > b[:, 0])
    assert np.all(b[:, :2] >= 0) and np.all(b[:, 2] <= w) and np.all(b[:, 3] <= h)


def test_astronaut_region_holds_face_and_hair(astronaut_faces: FaceResult) -> None:
    regions = build_regions(astronaut_faces, RegionConfig(tile=128))
    check_invariants(regions, 128)
    assert len(regions) == 1 and not regions.clipped[0]
    x0, y0, x1, y1 = regions.boxes_xyxy[0].tolist()
    assert (x1 - x0) == 256
    for part in ("right_eye_xy", "left_eye_xy", "mouth_xy"):
        x, y = GOLDEN["astronaut"][part]
        assert x0 + 40 < x < x1 - 40 and y0 < y < y1 - 40
    assert y0 == 0  # the hair reaches the top of the photo; the crop is shifted, not cut
    np.testing.assert_allclose(regions.face_boxes_xyxy[0], astronaut_faces.boxes_xyxy[0])
    assert regions.members.tolist() == [[True]]


HD = (1280, 720)


@pytest.mark.parametrize(("frame_wh", "specs", "config", "sides", "clipped"), [
    (HD, [(640, 360, 100, 0)], RegionConfig(), [256], [False]),
    (HD, [(640, 360, 200, 0)], RegionConfig(), [512], [False]),
    (HD, [(640, 360, 100, 0)], RegionConfig(tile=64), [192], [False]),
    (HD, [(20, 360, 100, 0)], RegionConfig(), [256], [False]),  # left edge
    (HD, [(1270, 715, 100, 0)], RegionConfig(), [256], [False]),  # bottom-right corner
    (HD, [(300, 360, 100, 0), (900, 360, 100, 0)], RegionConfig(), [256, 256], [False, False]),
    (HD, [(600, 360, 100, 0), (715, 360, 100, 0)], RegionConfig(), [512], [False]),  # cheek to cheek
    (HD, [(600, 360, 100, 0), (715, 360, 100, 0)], RegionConfig(merge=False), [256, 256], [False, False]),
    (HD, [(600, 360, 40, 0), (680, 360, 40, 0)], RegionConfig(), [256], [False]),  # one crop is as cheap
    (HD, [(640, 360, 20, 0)], RegionConfig(), [], []),  # below min_face_px
    (HD, [(640, 360, 20, 0)], RegionConfig(min_face_px=10), [256], [False]),
    (HD, [(640, 360, 600, 0)], RegionConfig(), [512], [True]),  # bigger than the frame allows
    ((512, 512), [(256, 256, 100, 90)], RegionConfig(), [256], [False]),  # rolled 90 degrees
])
def test_region_table(template: NDArray[np.float32], frame_wh: tuple[int, int], specs: list[Spec],
                      config: RegionConfig, sides: list[int], clipped: list[bool]) -> None:
    faces = make_faces(template, frame_wh, specs)
    regions = build_regions(faces, config)
    check_invariants(regions, config.tile)
    assert sorted(regions.sides_px.tolist()) == sides
    assert regions.clipped.tolist() == clipped
    for r, members in enumerate(regions.members):
        x0, y0, x1, y1 = regions.boxes_xyxy[r]
        for f in np.flatnonzero(members):
            cx, cy = faces.landmarks_px[f, :, :2].mean(axis=0)
            inside_x = min(max(cx, 0), frame_wh[0] - 1)
            inside_y = min(max(cy, 0), frame_wh[1] - 1)
            assert x0 <= inside_x < x1 and y0 <= inside_y < y1


def test_every_face_lands_in_exactly_one_region(template: NDArray[np.float32]) -> None:
    specs = [(200, 200, 90, 0), (300, 220, 90, 10), (900, 400, 120, -20), (1100, 150, 60, 0)]
    regions = build_regions(make_faces(template, HD, specs))
    assert regions.members.sum(axis=0).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("roll", [0, 90, -90, 180])
def test_hair_margin_follows_the_face_up_direction(template: NDArray[np.float32], roll: float) -> None:
    faces = make_faces(template, HD, [(640, 360, 100, roll)])
    regions = build_regions(faces, RegionConfig(tile=32, margin=0.1, hair=0.6))
    lm = faces.landmarks_px[0, :, :2]
    up = lm[FOREHEAD_TOP] - lm[CHIN]
    up /= np.linalg.norm(up)
    above, below = lm[FOREHEAD_TOP] + 50 * up, lm[CHIN] - 50 * up
    x0, y0, x1, y1 = regions.boxes_xyxy[0]
    assert x0 <= above[0] < x1 and y0 <= above[1] < y1
    assert not (x0 <= below[0] < x1 and y0 <= below[1] < y1)


def test_weight_zero_faces_get_no_region(template: NDArray[np.float32]) -> None:
    faces = make_faces(template, HD, [(300, 360, 100, 0), (900, 360, 100, 0)], weights=[1.0, 0.0])
    regions = build_regions(faces)
    assert regions.members.tolist() == [[True, False]]


def test_scores_and_weights_take_the_best_member(template: NDArray[np.float32]) -> None:
    faces = make_faces(template, HD, [(600, 360, 100, 0), (715, 360, 100, 0)], weights=[0.4, 0.9])
    regions = build_regions(faces)
    assert regions.scores.tolist() == pytest.approx([0.9]) and regions.weights.tolist() == pytest.approx([0.9])


def test_empty_faces_give_empty_regions() -> None:
    regions = build_regions(FaceResult.empty((640, 480)))
    assert len(regions) == 0 and regions.boxes_xyxy.shape == (0, 4) and regions.coverage() == 0.0
    assert regions.crops(np.zeros((480, 640, 3), np.uint8)) == []


def test_frame_smaller_than_a_tile_is_an_error(template: NDArray[np.float32]) -> None:
    with pytest.raises(FaceMaskError, match=r"frame 200x150 is smaller than one 256-px tile.*tile=\.\.\.\) <= 150"):
        build_regions(make_faces(template, (200, 150), [(100, 75, 60, 0)]))


def test_indexing_crops_and_coverage(template: NDArray[np.float32]) -> None:
    faces = make_faces(template, HD, [(300, 360, 100, 0), (900, 360, 200, 0)])
    regions = build_regions(faces)
    big = regions[regions.sides_px > 256]
    assert len(big) == 1 and big.sides_px.tolist() == [512]
    assert len(regions[[True, False]]) == 1 and len(regions[1:]) == 1
    frame = np.arange(720 * 1280, dtype=np.int32).reshape(720, 1280)
    crops = regions.crops(frame)
    assert [c.shape for c in crops] == [(s, s) for s in regions.sides_px.tolist()]
    x0, y0 = regions.boxes_xyxy[0, :2]
    assert crops[0][0, 0] == frame[y0, x0] and np.shares_memory(crops[0], frame)
    assert regions.coverage() == pytest.approx((256 ** 2 + 512 ** 2) / (1280 * 720))
    with pytest.raises(FaceMaskError, match="frame is 640x480 but the regions were built for 1280x720"):
        regions.crops(np.zeros((480, 640, 3), np.uint8))
    with pytest.raises(FaceMaskError, match="boolean mask has shape"):
        regions[np.array([True])]


def test_scaled_faces_give_full_resolution_regions(template: NDArray[np.float32]) -> None:
    small = make_faces(template, (640, 360), [(320, 180, 60, 0)])
    full = build_regions(small.scaled_to((1280, 720)))
    assert full.frame_size_wh == (1280, 720)
    np.testing.assert_allclose(full.face_boxes_xyxy[0], small.boxes_xyxy[0] * 2, rtol=1e-5)


def test_regions_start_on_the_models_stride_grid(template: NDArray[np.float32]) -> None:
    """Corners snap to multiples of ``align`` wherever the face sits, unless the frame edge decides."""
    for cx in np.linspace(200.0, 1100.0, 7):
        faces = make_faces(template, (1280, 720), [(float(cx), 333.0, 120.0, 0.0)])
        free, aligned = (build_regions(faces, RegionConfig(tile=256, align=a)) for a in (1, 8))
        check_invariants(aligned, 256)
        assert np.all(aligned.boxes_xyxy[:, :2] % 8 == 0)
        assert np.all(np.abs(aligned.boxes_xyxy - free.boxes_xyxy) <= 4)  # nearest grid point


@pytest.mark.parametrize(("kwargs", "raises"), [
    ({}, does_not_raise()),
    ({"tile": 4}, pytest.raises(FaceMaskError, match="tile=4")),
    ({"tile": 256.0}, pytest.raises(FaceMaskError, match="tile=256.0")),
    ({"margin": -0.1}, pytest.raises(FaceMaskError, match="margin=-0.1")),
    ({"hair": 5}, pytest.raises(FaceMaskError, match="hair=5")),
    ({"min_face_px": -1}, pytest.raises(FaceMaskError, match="min_face_px=-1")),
    ({"align": 0}, pytest.raises(FaceMaskError, match="align=0")),
])
def test_region_config_validation(kwargs: dict[str, object], raises: object) -> None:
    with raises:  # type: ignore[attr-defined]
        RegionConfig(**kwargs)  # type: ignore[arg-type]


def test_result_dataclasses_check_shapes() -> None:
    with pytest.raises(FaceMaskError, match=r"FaceResult.scores has shape \(2,\), expected \(1,\)|boxes_xyxy"):
        FaceResult(np.zeros((1, 4), np.float32), np.zeros(2, np.float32), np.zeros((2, 468, 3), np.float32),
                   np.zeros(2, np.int64), np.ones(2, np.float32), (10, 10))
    with pytest.raises(FaceMaskError, match="image_size_wh"):
        FaceResult.empty((0, 10))
