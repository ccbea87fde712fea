"""Faces for face-priority deblurring: MediaPipe detection and landmarks, regions, masks, tracking."""
from facemask.errors import FaceMaskError

__all__ = ["FaceMaskError"]
