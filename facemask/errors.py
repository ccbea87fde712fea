"""facemask's own error type: facemask is a leaf and imports nothing of edgedeblur's."""
from __future__ import annotations


class FaceMaskError(ValueError):
    """Bad input to face detection, region building or masking; the message says the fix."""
