"""Refuse, before any work, a command whose outputs would overwrite what it reads.

Every file a command reads (photos, the source video, a kernel, a model) is an input; an
output path equal to one of them, or to another output, is refused up front with one line,
so a typo never replaces the input or the recording the command just wrote.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from runtime.errors import ConfigError


def _identity(path: Path) -> object:
    """What makes two paths one file: device and inode when it exists (hard links,
    symlinks), else the resolved path."""
    try:
        st = os.stat(path)
    except OSError:
        return Path(path).resolve()
    return (st.st_dev, st.st_ino)


Labelled = Sequence[tuple[str, "Path | None"]]


def refuse_clashes(reads: Labelled, writes: Labelled) -> None:
    """Raise if an output is one of the inputs or another output.

    Args:
        reads: (option label such as ``--source`` or ``--kernel``, file the command reads or None).
        writes: (option label such as ``-o`` or ``--stats-json``, file the command writes or None).

    Raises:
        ConfigError: naming both options and the path; nothing has been written.
    """
    inputs = {_identity(Path(v)): k for k, v in reads if v is not None}
    outputs: dict[object, str] = {}
    for label, out in ((k, Path(v)) for k, v in writes if v is not None):
        key = _identity(out)
        if key in inputs:
            raise ConfigError(f"{label} {out} is also the {inputs[key]} input; choose another {label} path "
                              "so the input is kept")
        if key in outputs:
            raise ConfigError(f"{label} {out} is also the {outputs[key]} output; give each output its own path")
        outputs[key] = label
