"""The errors only conversion raises; they join runtime's hierarchy, so the CLI treats them alike.

Kept out of ``runtime.errors``: the runtime never exports, quantises or gates a model.
"""
from __future__ import annotations

from runtime.errors import EdgeDeblurError


class ExportError(EdgeDeblurError):
    """Exporting a model to ONNX or LiteRT failed."""


class QuantizationError(EdgeDeblurError):
    """Quantising a model failed."""


class ValidationFailed(EdgeDeblurError):
    """An artifact failed its quality gate."""
