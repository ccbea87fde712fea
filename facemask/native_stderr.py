"""Keep what native libraries print themselves out of a CLI's output: the one place for it.

LiteRT writes an 'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.' line straight
to file descriptor 2 when a model loads, past Python's logging; the converters and ORT's
quantiser print progress on stdout; OpenCV's FFmpeg backend logs from its decoder threads.
facemask is the leaf package, so runtime and convert use these helpers from here too.
With debug logging on (``--debug``) nothing is silenced.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def _debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


@contextmanager
def quiet_native(*, python_output: bool = False) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, unless debug logging is on.

    Python exceptions raised inside still propagate with their messages; only text the
    libraries print themselves is dropped. Keep the block short: other threads' stderr
    output is dropped too while it runs.

    Args:
        python_output: also drop Python-level ``sys.stdout``/``sys.stderr`` writes and log
            records below ERROR (converters and quantisers that report progress that way).
    """
    if _debugging():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    root = logging.getLogger()
    level = root.level
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        if not python_output:
            yield
            return
        root.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        root.setLevel(level)
        os.dup2(saved, 2)
        os.close(saved)


def quiet_opencv() -> None:
    """Silence OpenCV's and FFmpeg's own logging for the rest of the process, unless debugging.

    A setting rather than a block: the decoder threads log whenever they meet a damaged
    frame, for as long as a video is read.
    """
    if _debugging():
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    cv2.setLogLevel(0)
