"""BlazeFace pre- and post-processing for the bundled face detectors (pure numpy/OpenCV).

Reimplements what MediaPipe's face-detection graph does around the ``.tflite`` models:
letterbox to a square [-1, 1] tensor, SSD anchors, box/keypoint decoding and weighted
non-maximum suppression. Parameters are those of MediaPipe's
``face_detection_short_range.pbtxt`` / ``face_detection_full_range.pbtxt`` (mediapipe
0.10.x); tests check the result against MediaPipe's own graph.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

NUM_KEYPOINTS = 6
"""Subject's right eye, left eye, nose tip, mouth centre, right ear, left ear."""


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One BlazeFace variant: input side, anchor layout and box scale."""

    input_px: int
    strides: tuple[int, ...]
    interpolated_anchor: bool

    def anchors(self) -> NDArray[np.float32]:
        """(num_anchors, 2) anchor centres in [0, 1], in the model's output order."""
        centres: list[NDArray[np.float32]] = []
        i = 0
        while i < len(self.strides):
            stride = self.strides[i]
            same = sum(1 for s in self.strides[i:] if s == stride)
            per_cell = same * (2 if self.interpolated_anchor else 1)
            side = math.ceil(self.input_px / stride)
            ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
            grid = np.stack([(xs + 0.5) / side, (ys + 0.5) / side], axis=-1).reshape(-1, 2)
            centres.append(np.repeat(grid, per_cell, axis=0).astype(np.float32))
            i += same
        return np.concatenate(centres)


SHORT_RANGE = DetectorSpec(input_px=128, strides=(8, 16, 16, 16), interpolated_anchor=True)
FULL_RANGE = DetectorSpec(input_px=192, strides=(4,), interpolated_anchor=False)


@dataclass(frozen=True, slots=True)
class Detections:
    """Decoded detections in frame pixels.

    Attributes:
        boxes_xyxy: (n, 4) float32 detector boxes (eyes to mouth, tighter than the face).
        keypoints_xy: (n, 6, 2) float32 keypoints, order as ``NUM_KEYPOINTS`` says.
        scores: (n,) float32 in [0, 1], highest first.
    """

    boxes_xyxy: NDArray[np.float32]
    keypoints_xy: NDArray[np.float32]
    scores: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was fitted into the square detector input."""

    tensor: NDArray[np.float32]
    scale: float
    pad_x: int
    pad_y: int


def letterbox(image_rgb: NDArray[np.uint8], input_px: int) -> Letterbox:
    """Scales the frame into a square input with black bars, values in [-1, 1].

    Returns:
        The (1, input_px, input_px, 3) float32 tensor and the scale/offsets to undo it.
    """
    h, w = image_rgb.shape[:2]
    scale = input_px / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image_rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (input_px - nw) // 2, (input_px - nh) // 2
    canvas = np.zeros((input_px, input_px, 3), np.uint8)
    canvas[pad_y:pad_y + nh, pad_x:pad_x + nw] = small
    tensor = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0
    return Letterbox(tensor[None], scale, pad_x, pad_y)


def decode(regressors: NDArray[np.float32], logits: NDArray[np.float32],
           anchors: NDArray[np.float32], box: Letterbox, input_px: int,
           min_score: float) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Turns raw model outputs into candidate boxes/keypoints in frame pixels.

    Args:
        regressors: (num_anchors, 16) raw offsets: cx, cy, w, h, then 6 keypoints (x, y),
            in input pixels relative to the anchor centre.
        logits: (num_anchors,) raw scores.
        anchors: (num_anchors, 2) anchor centres in [0, 1].
        box: The letterbox the input was made with.
        input_px: Side of the model input.
        min_score: Candidates scoring below are dropped.

    Returns:
        boxes_xyxy (k, 4), keypoints_xy (k, 6, 2) and scores (k,), float32, frame pixels.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
    keep = scores >= min_score
    reg, anc = regressors[keep], anchors[keep] * input_px
    centre = reg[:, 0:2] + anc
    half = reg[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    kps = reg[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + anc[:, None, :]
    offset = np.array([box.pad_x, box.pad_y], np.float32)
    boxes = (boxes - np.tile(offset, 2)) / box.scale
    kps = (kps - offset) / box.scale
    return boxes.astype(np.float32), kps.astype(np.float32), scores[keep].astype(np.float32)


def iou_matrix(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """(len(a), len(b)) intersection-over-union of xyxy boxes."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def weighted_nms(boxes: NDArray[np.float32], keypoints: NDArray[np.float32],
                 scores: NDArray[np.float32], iou_threshold: float = 0.3) -> Detections:
    """MediaPipe's WEIGHTED suppression: each cluster becomes its score-weighted mean.

    Clusters form around the best remaining candidate from everything overlapping it by
    more than ``iou_threshold``; the output keeps that candidate's score.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    out_b, out_k, out_s = [], [], []
    remaining = np.arange(len(scores))
    while remaining.size:
        top = remaining[0]
        overlap = iou_matrix(boxes[top:top + 1], boxes[remaining])[0] > iou_threshold
        cluster = remaining[overlap]
        w = scores[cluster][:, None]
        out_b.append((boxes[cluster] * w).sum(0) / w.sum())
        out_k.append((keypoints[cluster] * w[:, :, None]).sum(0) / w.sum())
        out_s.append(scores[top])
        remaining = remaining[~overlap]
    if not out_s:
        return Detections(np.zeros((0, 4), np.float32),
                          np.zeros((0, NUM_KEYPOINTS, 2), np.float32), np.zeros(0, np.float32))
    return Detections(np.asarray(out_b, np.float32), np.asarray(out_k, np.float32),
                      np.asarray(out_s, np.float32))
