"""LiteRT backend: MediaPipe's bundled face models run by ai-edge-litert.

Same models and geometry as MediaPipe's face-mesh graph, but the policy is ours: in
VIDEO mode the detector runs every ``detect_interval_frames`` frames or as soon as a
face is lost, and tracked faces come from the previous frame's landmarks in between.
Delegates (accelerators) load like the deblur model's.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask import _blazeface, _roi
from facemask._backend import BackendOutput
from facemask.errors import FaceMaskError
from facemask.mesh import NUM_LANDMARKS
from facemask.native_stderr import quiet_native
from facemask.options import DetectorModel, FaceDetectorOptions, RunningMode

if TYPE_CHECKING:
    from ai_edge_litert.interpreter import Interpreter

LANDMARK_INPUT_PX = 192
_ASSOCIATION_IOU = 0.5
_MODEL_FILES = {
    DetectorModel.SHORT_RANGE: "face_detection/face_detection_short_range.tflite",
    DetectorModel.FULL_RANGE: "face_detection/face_detection_full_range_sparse.tflite",
}
_LANDMARK_FILE = "face_landmark/face_landmark.tflite"
_SPECS = {DetectorModel.SHORT_RANGE: _blazeface.SHORT_RANGE,
          DetectorModel.FULL_RANGE: _blazeface.FULL_RANGE}


def bundled_model_path(relative: str) -> Path:
    """Path of a model file inside the installed mediapipe package (no mediapipe import).

    Raises:
        FaceMaskError: mediapipe is not installed or ships no such file.
    """
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FaceMaskError(
            "mediapipe is not installed; it ships the face models: "
            "pip install --no-deps mediapipe==0.10.21")
    path = Path(next(iter(spec.submodule_search_locations))) / "modules" / relative
    if not path.is_file():
        raise FaceMaskError(
            f"cannot open {path}: not found; install mediapipe 0.10.21 (newer releases ship no face models)")
    return path


def _interpreter(path: Path, options: FaceDetectorOptions) -> Interpreter:
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    delegates = []
    if options.delegate_path is not None:
        if not Path(options.delegate_path).is_file():
            raise FaceMaskError(
                f"cannot load LiteRT delegate {options.delegate_path}: not found; check the path "
                "or leave delegate_path unset to run on the CPU")
        try:
            delegates.append(load_delegate(str(options.delegate_path)))
        except (ValueError, OSError) as e:
            raise FaceMaskError(
                f"cannot load LiteRT delegate {options.delegate_path}: {e}; check the path "
                "or leave delegate_path unset to run on the CPU") from e
    try:
        with quiet_native():
            interp = Interpreter(model_path=str(path), num_threads=options.effective_num_threads,
                                 experimental_delegates=delegates or None)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        raise FaceMaskError(f"cannot load {path}: {e}; reinstall mediapipe 0.10.21") from e
    return interp


class LiteRTBackend:
    """Detector + landmark interpreters and the tracking state for VIDEO mode."""

    def __init__(self, options: FaceDetectorOptions) -> None:
        self._opts = options
        model = options.effective_detector_model
        self._spec = _SPECS[model]
        self._anchors = self._spec.anchors()
        self._det = _interpreter(bundled_model_path(_MODEL_FILES[model]), options)
        self._lmk = _interpreter(bundled_model_path(_LANDMARK_FILE), options)
        self._det_in = self._det.get_input_details()[0]["index"]
        det_out = sorted(self._det.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self._det_scores, self._det_boxes = det_out[0]["index"], det_out[1]["index"]
        self._lmk_in = self._lmk.get_input_details()[0]["index"]
        lmk_out = sorted(self._lmk.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self._lmk_flag, self._lmk_points = lmk_out[0]["index"], lmk_out[1]["index"]
        self.reset()

    def reset(self) -> None:
        """Forgets tracked faces: the next VIDEO frame runs the detector."""
        self._rois = np.zeros((0, 4), np.float32)
        self._scores = np.zeros(0, np.float32)
        self._since_detection = 0
        self._lost = False

    def close(self) -> None:
        """Drops the interpreters (LiteRT frees them with the objects)."""
        self._det = self._lmk = None

    def detect(self, image_rgb: NDArray[np.uint8]) -> _blazeface.Detections:
        """Runs the detector alone: boxes, keypoints and scores in frame pixels."""
        box = _blazeface.letterbox(image_rgb, self._spec.input_px)
        self._det.set_tensor(self._det_in, box.tensor)
        self._det.invoke()
        reg = self._det.get_tensor(self._det_boxes)[0]
        logits = self._det.get_tensor(self._det_scores)[0, :, 0]
        boxes, kps, scores = _blazeface.decode(reg, logits, self._anchors, box, self._spec.input_px,
                                               self._opts.min_detection_confidence)
        return _blazeface.weighted_nms(boxes, kps, scores)

    def _landmarks(self, image_rgb: NDArray[np.uint8],
                   roi: NDArray[np.float32]) -> tuple[NDArray[np.float32], float]:
        m = _roi.crop_matrix(roi, LANDMARK_INPUT_PX)
        crop = cv2.warpAffine(image_rgb, m, (LANDMARK_INPUT_PX, LANDMARK_INPUT_PX),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        self._lmk.set_tensor(self._lmk_in, (crop.astype(np.float32) / 255.0)[None])
        self._lmk.invoke()
        points = self._lmk.get_tensor(self._lmk_points).reshape(NUM_LANDMARKS, 3)
        logit = float(self._lmk.get_tensor(self._lmk_flag).reshape(()))
        presence = 1.0 / (1.0 + np.exp(-np.clip(logit, -100.0, 100.0)))
        return _roi.project(points, roi, LANDMARK_INPUT_PX), presence

    def _candidate_rois(self, image_rgb: NDArray[np.uint8],
                        video: bool) -> tuple[NDArray[np.float32], NDArray[np.float32], bool]:
        """ROIs to run landmarks on: tracked ones, plus fresh detections when due."""
        tracked, scores = (self._rois, self._scores) if video else (self._rois[:0], self._scores[:0])
        due = (not video or len(tracked) == 0 or self._lost
               or self._since_detection + 1 >= self._opts.effective_detect_interval)
        if not due:
            self._since_detection += 1
            return tracked, scores, False
        self._since_detection = 0
        det = self.detect(image_rgb)
        det_rois = _roi.rois_from_detections(det.boxes_xyxy, det.keypoints_xy)
        if len(tracked):
            overlap = _blazeface.iou_matrix(_roi.roi_boxes(tracked), _roi.roi_boxes(det_rois))
            # A tracked face seen again keeps its landmark ROI (more precise) and takes the
            # fresh score; only unmatched detections become new faces.
            for t, d in enumerate(overlap.argmax(axis=1) if len(det_rois) else []):
                if overlap[t, d] > _ASSOCIATION_IOU:
                    scores = scores.copy()
                    scores[t] = det.scores[d]
            fresh = overlap.max(axis=0) <= _ASSOCIATION_IOU
            det_rois, det_scores = det_rois[fresh], det.scores[fresh]
        else:
            det_scores = det.scores
        rois = np.concatenate([tracked, det_rois])[: self._opts.max_faces]
        return rois, np.concatenate([scores, det_scores])[: self._opts.max_faces], True

    def process(self, image_rgb: NDArray[np.uint8], running_mode: RunningMode) -> BackendOutput:
        """Faces in one RGB frame; updates the tracking state in VIDEO mode."""
        video = running_mode is RunningMode.VIDEO
        rois, scores, ran = self._candidate_rois(image_rgb, video)
        kept_lm, kept_scores = [], []
        for roi, score in zip(rois, scores):
            lm, presence = self._landmarks(image_rgb, roi)
            if presence >= self._opts.min_tracking_confidence:
                kept_lm.append(lm)
                kept_scores.append(score)
        landmarks = np.asarray(kept_lm, np.float32).reshape(-1, NUM_LANDMARKS, 3)
        out_scores = np.asarray(kept_scores, np.float32)
        landmarks, out_scores = _drop_duplicates(landmarks, out_scores)
        if video:
            self._lost = len(kept_lm) < len(rois)
            self._rois = _roi.rois_from_landmarks(landmarks) if len(landmarks) else np.zeros((0, 4), np.float32)
            self._scores = out_scores
        return BackendOutput(landmarks, out_scores, ran)


def _drop_duplicates(landmarks: NDArray[np.float32],
                     scores: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Removes a face whose landmark box overlaps an earlier one (two ROIs on one face)."""
    if len(landmarks) < 2:
        return landmarks, scores
    xy = landmarks[:, :, :2]
    boxes = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)
    overlap = _blazeface.iou_matrix(boxes, boxes)
    keep: list[int] = []
    for i in range(len(boxes)):
        if all(overlap[i, j] <= _ASSOCIATION_IOU for j in keep):
            keep.append(i)
    return landmarks[keep], scores[keep]
