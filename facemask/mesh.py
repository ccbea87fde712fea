"""Landmark indices of MediaPipe's face mesh that masks and regions need.

The indices are facts about the topology of MediaPipe's 468-point canonical face mesh
(source: ``mediapipe/python/solutions/face_mesh_connections.py`` in mediapipe 0.10.21);
``tests/facemask/test_mesh.py`` checks them against that module. Keeping them here lets
regions and masks work without importing mediapipe. "Left" and "right" are the subject's.
"""
from __future__ import annotations

NUM_LANDMARKS = 468
"""Landmarks per face from ``face_landmark.tflite``."""

NUM_LANDMARKS_REFINED = 478
"""Landmarks per face with ``refine_landmarks`` (adds 5 iris points per eye)."""

FACE_OVAL: tuple[int, ...] = (
    10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148,
    152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338,
)
"""Face contour, in order around the face starting at the top of the forehead."""

LEFT_EYE: tuple[int, ...] = (
    249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466,
)
RIGHT_EYE: tuple[int, ...] = (
    7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
)
LEFT_EYEBROW: tuple[int, ...] = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
RIGHT_EYEBROW: tuple[int, ...] = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
LIPS: tuple[int, ...] = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181,
    185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402,
    405, 409, 415,
)

FOREHEAD_TOP = 10
CHIN = 152
RIGHT_EYE_OUTER = 33
"""Outer corner of the subject's right eye; with ``LEFT_EYE_OUTER`` it gives the roll."""
LEFT_EYE_OUTER = 263
