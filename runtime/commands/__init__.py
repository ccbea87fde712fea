"""One module per ``edgedeblur`` subcommand; each maps the library's field names to its flags."""
from __future__ import annotations


def flags(*same: str, **renamed: str) -> dict[str, str]:
    """Field -> flag for one subcommand's messages (see ``runtime.errors.with_flags``).

    ``flags("tile", "idle_s", warmup_frames="--warmup")`` gives ``--tile``, ``--idle-s``, ``--warmup``.
    """
    return {**{name: "--" + name.replace("_", "-") for name in same}, **renamed}
