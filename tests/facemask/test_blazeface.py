"""BlazeFace pre/post-processing on hand-made tensors (the models are tested in test_detector)."""
from __future__ import annotations

import numpy as np
import pytest

from facemask import _blazeface as bf


@pytest.mark.parametrize(("spec", "count"), [(bf.SHORT_RANGE, 896), (bf.FULL_RANGE, 2304)])
def test_anchor_counts_match_the_models(spec: bf.DetectorSpec, count: int) -> None:
    anchors = spec.anchors()
    assert anchors.shape == (count, 2)
    assert anchors.min() > 0 and anchors.max() < 1


def test_short_range_anchor_layout() -> None:
    a = bf.SHORT_RANGE.anchors()
    # 16x16 grid with 2 anchors per cell, then 8x8 with 6.
    np.testing.assert_allclose(a[0], a[1])
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(a[512:518], np.repeat(a[512:513], 6, axis=0))


def test_letterbox_pads_the_short_side_and_scales_to_minus1_1() -> None:
    img = np.full((50, 100, 3), 255, np.uint8)
    box = bf.letterbox(img, 128)
    assert box.tensor.shape == (1, 128, 128, 3) and box.tensor.dtype == np.float32
    assert (box.scale, box.pad_x, box.pad_y) == (1.28, 0, 32)
    assert box.tensor[0, 64, 64, 0] == pytest.approx(1.0)
    assert box.tensor[0, 0, 64, 0] == pytest.approx(-1.0)


def test_decode_maps_back_through_the_letterbox() -> None:
    img = np.zeros((50, 100, 3), np.uint8)
    box = bf.letterbox(img, 128)
    anchors = np.array([[0.5, 0.5]], np.float32)
    reg = np.zeros((1, 16), np.float32)
    reg[0, 2:4] = 32.0  # a 32x32 box at the input centre
    boxes, kps, scores = bf.decode(reg, np.array([10.0], np.float32), anchors, box, 128, 0.5)
    np.testing.assert_allclose(boxes[0], [37.5, 12.5, 62.5, 37.5])
    np.testing.assert_allclose(kps[0], np.full((6, 2), [50.0, 25.0]))
    assert scores[0] == pytest.approx(1 / (1 + np.exp(-10)))
    assert len(bf.decode(reg, np.array([-10.0], np.float32), anchors, box, 128, 0.5)[2]) == 0


def test_weighted_nms_averages_clusters_and_keeps_separate_faces() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.repeat(boxes[:, None, :2], 6, axis=1)
    scores = np.array([0.6, 0.9, 0.7], np.float32)
    det = bf.weighted_nms(boxes, kps, scores)
    assert det.scores.tolist() == pytest.approx([0.9, 0.7])
    np.testing.assert_allclose(det.boxes_xyxy[0], [0.6, 0, 10.6, 10], atol=1e-5)
    np.testing.assert_allclose(det.boxes_xyxy[1], boxes[2])
    assert bf.weighted_nms(boxes[:0], kps[:0], scores[:0]).boxes_xyxy.shape == (0, 4)


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[1, 1, 3, 3], [5, 5, 6, 6], [0, 0, 2, 2]], np.float32)
    np.testing.assert_allclose(bf.iou_matrix(a, b), [[1 / 7, 0.0, 1.0]], rtol=1e-6)
