"""One exception hierarchy for edgedeblur, and the helpers every message uses.

Every message names the file or option at fault and says how to fix it; the CLI prints
the message as one line and exits non-zero (tracebacks only with ``--debug``). Library
code is called from Python too, so it names a config field in backticks (`tile`), never a
command-line flag; each subcommand maps its fields to its flags (:func:`with_flags`).
"""
from __future__ import annotations

import difflib
import enum
import errno
import os
import re
from typing import Iterable, Mapping, TypeVar

E = TypeVar("E", bound=enum.Enum)


class EdgeDeblurError(Exception):
    """Root of every error edgedeblur raises on purpose."""


class ConfigError(EdgeDeblurError, ValueError):
    """An option or combination of options is invalid."""


class ModelLoadError(EdgeDeblurError):
    """A model file is missing, of the wrong kind, or of the wrong shape."""


class ImageError(EdgeDeblurError):
    """An input image cannot be decoded, or an output (image, video, report, checkpoint) cannot be written."""


class DiskFullError(ImageError):
    """An output could not be written because its disk is full: later outputs would fail too."""


class SourceError(EdgeDeblurError):
    """A frame source (camera, video, stream, folder) failed to open or read."""


class EngineError(EdgeDeblurError):
    """Running a model failed or produced invalid output (NaN/Inf, wrong shape)."""


class MeterError(EdgeDeblurError):
    """An energy meter is absent, unreadable or returned malformed data."""


def write_error(path: str | os.PathLike[str], error: OSError, *, field: str = "path") -> ImageError:
    """The one-line error for an output the OS refused to write: why, and the fix (``field``
    names the option that chose the place); a full disk is a :class:`DiskFullError`, so folder
    runs stop instead of failing every photo."""
    if error.errno == errno.ENOSPC:
        return DiskFullError(f"cannot write {path}: the disk is full; free space there or choose another "
                             f"output path (`{field}`)")
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        why = f"folder {os.path.dirname(os.fspath(path)) or '.'} does not exist"
    elif isinstance(error, IsADirectoryError):
        why = "it is a folder"
    elif isinstance(error, PermissionError):
        why = "permission denied"
    else:
        why = error.strerror or str(error)
    return ImageError(f"cannot write {path}: {why}; choose a writable output path (`{field}`)")


def closest(value: object, allowed: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The allowed value a typo most likely meant, or None: the 'did you mean' of every message."""
    found = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=cutoff)
    return found[0] if found else None


def parse_choice(cls: type[E], value: object, field: str) -> E:
    """``cls(value)`` for an enum option, else a ConfigError naming the field, the choices
    and the closest one ("mode 'focs' is not one of auto, motion, focus; did you mean 'focus'?").
    """
    try:
        return cls(value)
    except ValueError as e:
        names = [str(m.value) for m in cls]
        near = closest(value, names)
        hint = f"; did you mean {near!r}?" if near else ""
        raise ConfigError(f"{field} {value!r} is not one of {', '.join(names)}{hint}") from e


def plain_fields(message: str) -> str:
    """A library message as a preset file or a web form shows it: 'strength', not `strength`."""
    return re.sub(r"`(\w+)`", r"\1", message)


def with_flags(message: str, flags: Mapping[str, str]) -> str:
    """A library message as a subcommand shows it: each `field` it takes as a flag becomes the flag.

    >>> with_flags("`tile` 8 is too small", {"tile": "--tile"})
    '--tile 8 is too small'
    """
    return re.sub(r"`(\w+)`", lambda m: flags.get(m[1], m[0]), message)
