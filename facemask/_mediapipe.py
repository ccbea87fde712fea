"""MediaPipe backend: the face-mesh graph (``face_landmark_front_cpu``) of mediapipe 0.10.x.

The graph is the reference the LiteRT backend is checked against. It also emits its
face detections, which give each face a score; on VIDEO frames where the graph tracked
faces without detecting, each face keeps the score of the face it continues.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

from facemask._blazeface import iou_matrix
from facemask._backend import BackendOutput
from facemask._wheel import MEDIAPIPE_VERSION
from facemask.errors import FaceMaskError
from facemask.mesh import NUM_LANDMARKS, NUM_LANDMARKS_REFINED
from facemask.options import FaceDetectorOptions, RunningMode

_GRAPH = "mediapipe/modules/face_landmark/face_landmark_front_cpu.binarypb"
_DETECTION_THRESHOLD = (
    "facedetectionshortrangecpu__facedetectionshortrange__facedetection__"
    "TensorsToDetectionsCalculator.min_score_thresh")
_PRESENCE_THRESHOLD = "facelandmarkcpu__ThresholdingCalculator.threshold"


class MediaPipeBackend:
    """One MediaPipe graph; IMAGE and VIDEO mode differ in ``use_prev_landmarks``."""

    def __init__(self, options: FaceDetectorOptions) -> None:
        try:
            from mediapipe.python.solution_base import SolutionBase
        except ImportError as e:
            raise FaceMaskError(
                f"cannot import mediapipe ({e}); install mediapipe {MEDIAPIPE_VERSION} with --no-deps "
                "next to opencv-python-headless, or use backend=LITERT") from e
        self._graph = SolutionBase(
            binary_graph_path=_GRAPH,
            side_inputs={
                "num_faces": options.max_faces,
                "with_attention": options.refine_landmarks,
                "use_prev_landmarks": options.running_mode is RunningMode.VIDEO,
            },
            calculator_params={
                _DETECTION_THRESHOLD: options.min_detection_confidence,
                _PRESENCE_THRESHOLD: options.min_tracking_confidence,
            },
            outputs=["multi_face_landmarks", "face_detections"],
        )
        self._floor_score = float(options.min_detection_confidence)
        self._max_faces = options.max_faces
        self._num_landmarks = NUM_LANDMARKS_REFINED if options.refine_landmarks else NUM_LANDMARKS
        self._prev_boxes = np.zeros((0, 4), np.float32)
        self._prev_scores = np.zeros(0, np.float32)

    def reset(self) -> None:
        """Restarts the graph, dropping the faces it tracked."""
        self._graph.reset()
        self._prev_boxes = np.zeros((0, 4), np.float32)
        self._prev_scores = np.zeros(0, np.float32)

    def close(self) -> None:
        """Stops the graph."""
        self._graph.close()

    def process(self, image_rgb: NDArray[np.uint8], running_mode: RunningMode) -> BackendOutput:
        """Faces in one RGB frame (the graph keeps its own tracking state)."""
        h, w = image_rgb.shape[:2]
        out = self._graph.process({"image": image_rgb})
        faces = out.multi_face_landmarks or []
        scale = np.array([w, h, w], np.float32)
        landmarks = np.array([[(p.x, p.y, p.z) for p in f.landmark] for f in faces],
                             np.float32).reshape(len(faces), self._num_landmarks, 3) * scale
        det_boxes, det_scores = _detections(out.face_detections or [], w, h)
        xy = landmarks[:, :, :2]
        boxes = np.concatenate([xy.min(1), xy.max(1)], axis=1) if len(faces) else np.zeros((0, 4), np.float32)
        scores = self._scores_for(boxes, det_boxes, det_scores)
        # The graph's own gate: detect unless the previous frame tracked max_faces faces.
        ran = running_mode is RunningMode.IMAGE or len(self._prev_boxes) < self._max_faces
        if running_mode is RunningMode.VIDEO:
            self._prev_boxes, self._prev_scores = boxes, scores
        return BackendOutput(landmarks, scores, detection_ran=ran)

    def _scores_for(self, boxes: NDArray[np.float32], det_boxes: NDArray[np.float32],
                    det_scores: NDArray[np.float32]) -> NDArray[np.float32]:
        """Each face's score: the detection whose centre lies in it, else the previous face's."""
        scores = np.full(len(boxes), np.nan, np.float32)
        if len(det_boxes):
            centres = (det_boxes[:, :2] + det_boxes[:, 2:]) / 2
            inside = np.all((centres[None] >= boxes[:, None, :2]) & (centres[None] <= boxes[:, None, 2:]), axis=2)
            for i in range(len(boxes)):
                if inside[i].any():
                    scores[i] = det_scores[inside[i]].max()
        if len(self._prev_boxes) and np.isnan(scores).any():
            overlap = iou_matrix(boxes, self._prev_boxes)
            for i in np.flatnonzero(np.isnan(scores)):
                j = int(overlap[i].argmax())
                if overlap[i, j] > 0:
                    scores[i] = self._prev_scores[j]
        # A face the graph tracked without ever reporting its detection gets the
        # threshold it had to pass.
        return np.nan_to_num(scores, nan=self._floor_score).astype(np.float32)


def _detections(detections: Sequence[Any], w: int, h: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Pixel boxes and scores of MediaPipe ``Detection`` protos."""
    boxes, scores = [], []
    for d in detections:
        bb = d.location_data.relative_bounding_box
        boxes.append((bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h))
        scores.append(d.score[0] if d.score else 0.0)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)
