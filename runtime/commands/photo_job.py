"""One photo of a folder run: what the local loop of ``deblur`` and every ``--ray`` worker call.

Kept apart from both so that they share it without importing each other, and so that a fix
to how a folder run writes one photo applies to both.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.errors import ConfigError, EngineError, ImageError

if TYPE_CHECKING:
    from runtime.photo.chain import Restorer

PHOTO_ERRORS: tuple[type[Exception], ...] = (ImageError, EngineError, ConfigError)
"""What fails one photo of a folder run (listed at the end) rather than the whole run."""


@dataclass(frozen=True, slots=True)
class Job:
    """One input file and where its result goes."""

    src: Path
    dst: Path


def deblur_job(restorer: Restorer, job: Job, overwrite: bool) -> Job:
    """Deblur (or restore, as configured) one photo of a folder run into ``job.dst``; returns
    the job as written.

    Without ``overwrite`` the output is created exclusively: if another process took the
    name meanwhile, the photo goes to the next free ``stem.N`` name, returned here.

    Raises:
        ImageError, EngineError, ConfigError (``PHOTO_ERRORS``): this photo failed.
    """
    result = restorer.restore_file(job.src, job.dst, overwrite=overwrite, exclusive=not overwrite)
    return Job(job.src, result.written or job.dst)
