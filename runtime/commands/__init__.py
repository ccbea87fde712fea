"""One module per ``edgedeblur`` subcommand; each maps the library's field names to its flags."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def flags(*same: str, **renamed: str) -> dict[str, str]:
    """Field -> flag for one subcommand's messages (see ``runtime.errors.with_flags``).

    ``flags("tile", "idle_s", warmup_frames="--warmup")`` gives ``--tile``, ``--idle-s``, ``--warmup``.
    """
    return {**{name: "--" + name.replace("_", "-") for name in same}, **renamed}


def some_names(paths: Sequence[Path], most: int = 3) -> str:
    """The first ``most`` file names, then "..." if there are more: what a one-line note lists."""
    return ", ".join(p.name for p in paths[:most]) + (", ..." if len(paths) > most else "")
