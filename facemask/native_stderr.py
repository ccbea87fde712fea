"""Keep the C++ runtimes' own console chatter out of a CLI's output.

LiteRT writes an 'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.' line straight
to file descriptor 2 when a model loads, past Python's logging. The face models and the
deblur engines both load through here (runtime imports it from facemask, the leaf package).
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, unless debug logging is on.

    Python exceptions raised inside still propagate with their messages; only text the
    native code prints itself is dropped. Keep the block short: other threads' stderr
    output is dropped too while it runs.
    """
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
