"""Write files atomically with normal permissions: the one helper every package uses.

A temp file in the destination folder replaces the target only once complete, so a crash
or a full disk never leaves a half-written output. ``mkstemp`` creates files readable by
the owner only; the result gets the mode the replaced file had, or what a plain ``open()``
would give a new file (0o666 minus the umask). facemask is the leaf package, so runtime
and convert import this from here.
"""
from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


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


def publish(tmp: Path, path: Path, *, exclusive: bool) -> Path:
    """Move the finished ``tmp`` into place in one step and return where it went.

    Without ``exclusive`` it replaces ``path`` (``os.replace``). With it, nothing existing
    is replaced, also not a file another process publishes at the same moment: ``link``
    fails on an existing name, and the result goes to the first free ``stem.N.suffix``
    instead. ``tmp`` is gone afterwards either way.
    """
    if not exclusive:
        os.replace(tmp, path)
        return path
    try:
        for n in range(1000):
            target = path if n == 0 else path.with_name(f"{path.stem}.{n}{path.suffix}")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            if target != path:
                log.warning("%s appeared while this run was writing it (another run?); wrote %s instead",
                            path, target)
            return target
        raise FileExistsError(errno.EEXIST, "1000 names taken", str(path))
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, parents: bool = False,
                 exclusive: bool = False) -> Path:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically; see :func:`atomic_path`.

    Args:
        exclusive: never replace an existing file (see :func:`publish`).

    Returns:
        The path written (another name only with ``exclusive``, when ``path`` was taken).
    """
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    if not exclusive:
        with atomic_path(target, parents=parents) as tmp:
            tmp.write_bytes(payload)
        return target
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, new_file_mode(target))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return publish(tmp, target, exclusive=True)
