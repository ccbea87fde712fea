"""The errors only conversion raises; they join runtime's hierarchy, so the CLI treats them alike.

Kept out of ``runtime.errors``: the runtime never exports, quantises or gates a model.
"""
from __future__ import annotations

import sys
from typing import Callable, Mapping

from runtime.errors import EdgeDeblurError, with_flags


class ExportError(EdgeDeblurError):
    """Exporting a model to ONNX or LiteRT failed."""


class QuantizationError(EdgeDeblurError):
    """Quantising a model failed."""


class ValidationFailed(EdgeDeblurError):
    """An artifact failed its quality gate."""


def report_errors(prog: str, work: Callable[[], object], flags: Mapping[str, str] | None = None) -> int:
    """Exit code of one ``python -m convert.X`` entry point: 0 when ``work`` returns; on an
    ``EdgeDeblurError``, its message as one line on stderr (``PROG: error: ...``, each `field`
    in ``flags`` shown as its option) and 1."""
    try:
        work()
    except EdgeDeblurError as e:
        print(f"{prog}: error: {with_flags(str(e), flags or {})}", file=sys.stderr)
        return 1
    return 0
