"""One exception hierarchy for edgedeblur.

Every message names the file or option at fault and says how to fix it; the CLI prints
the message as one line and exits non-zero (tracebacks only with ``--debug``).
"""
from __future__ import annotations


class EdgeDeblurError(Exception):
    """Root of every error edgedeblur raises on purpose."""


class ConfigError(EdgeDeblurError, ValueError):
    """An option or combination of options is invalid."""


class ModelLoadError(EdgeDeblurError):
    """A model file is missing, of the wrong kind, or of the wrong shape."""


class ImageError(EdgeDeblurError):
    """An input image cannot be decoded or an output image cannot be written."""


class SourceError(EdgeDeblurError):
    """A frame source (camera, video, stream, folder) failed to open or read."""


class EngineError(EdgeDeblurError):
    """Running a model failed or produced invalid output (NaN/Inf, wrong shape)."""


class MeterError(EdgeDeblurError):
    """An energy meter is absent, unreadable or returned malformed data."""
