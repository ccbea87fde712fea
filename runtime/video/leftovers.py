"""Names for work in progress that say whose it is, so a later run can tell a crashed
run's leftovers (owner gone) from a concurrent run's (owner alive).

A temporary file or folder is named ``.<name>.partial-<pid>-<random><suffix>`` beside its
final path. ``kill -9`` or a power cut skips every clean-up, so the next run looks for
names whose process no longer exists: a partial recording is reported (it plays up to
the crash), a partial build folder is removed.

Example:
    >>> tmp = make_partial(Path("out/clip.mp4"))          # out/.clip.mp4.partial-4242-x1y2.mp4
    >>> stale_partials(Path("out/clip.mp4"))               # after a crash: [that path]
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def _prefix(final: Path) -> str:
    return f".{final.name}.partial-"


def make_partial(final: Path, *, folder: bool = False) -> Path:
    """Create an empty temp file (or folder) beside ``final``, tagged with this process id.

    The file gets the mode a plain ``open`` would (0o666 minus the umask), a folder 0o777
    minus the umask, so publishing it by rename gives normal permissions.
    """
    prefix, suffix = f"{_prefix(final)}{os.getpid()}-", "" if folder else final.suffix
    umask = os.umask(0)
    os.umask(umask)
    if folder:
        name = tempfile.mkdtemp(prefix=prefix, dir=final.parent)
        os.chmod(name, 0o777 & ~umask)
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=final.parent)
        os.close(fd)
        os.chmod(name, 0o666 & ~umask)
    return Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:        # exists, owned by someone else
        return True
    return True


def stale_partials(final: Path) -> list[Path]:
    """Leftovers of ``make_partial(final)`` whose process is gone, oldest first."""
    pattern = re.compile(re.escape(_prefix(final)) + r"(\d+)-")
    try:
        names = list(final.parent.iterdir())
    except OSError:
        return []
    found = [p for p in names if (m := pattern.match(p.name)) and int(m.group(1)) != os.getpid()
             and not _alive(int(m.group(1)))]
    return sorted(found, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)
