"""Write files atomically with normal permissions: the one helper every package uses.

A temp file in the destination folder replaces the target only once complete, so a crash
or a full disk never leaves a half-written output. ``mkstemp`` creates files readable by
the owner only; the result gets the mode the replaced file had, or what a plain ``open()``
would give a new file (0o666 minus the umask). facemask is the leaf package, so runtime
and convert import this from here.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def new_file_mode(path: Path) -> int:
    """Permissions for a file about to replace ``path``."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".tmp", parents: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it is removed.

    Args:
        path: the file to write.
        suffix: the temp file's ending (writers that pick a format by suffix need the real one).
        parents: create missing parent folders first.

    Raises:
        OSError: the folder is missing (and ``parents`` is False) or not writable, or the disk is full.
    """
    target = Path(path)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode(target))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, parents: bool = False) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically; see :func:`atomic_path`."""
    with atomic_path(path, parents=parents) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
