"""One photo of a folder run: what the local loop of ``deblur`` and every ``--ray`` worker call.

Kept apart from both so that they share it without importing each other, and so that a fix
to how a folder run writes one photo applies to both. The local loop is here too.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from runtime.errors import ConfigError, DiskFullError, EngineError, ImageError

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


@dataclass(slots=True)
class FolderRun:
    """What the local loop did: the photos written, ``(input, message)`` per failed photo,
    and how many were not started (the disk filled up)."""

    written: list[Job] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    not_started: int = 0


def deblur_jobs(restorer: Restorer, jobs: list[Job], overwrite: bool, *, show: bool,
                describe: Callable[[Exception], str]) -> FolderRun:
    """Deblur every job in turn, with a progress bar when ``show``; a photo that fails is
    recorded (``describe`` words its error) and the next one runs, except on a full disk,
    where every later photo would fail the same way after all of its work."""
    from tqdm import tqdm

    run = FolderRun()
    for i, job in enumerate(tqdm(jobs, disable=not show, unit="photo", file=sys.stderr, desc="deblur")):
        try:
            run.written.append(deblur_job(restorer, job, overwrite))
        except DiskFullError as e:
            run.failures.append((job.src, describe(e)))
            run.not_started = len(jobs) - i - 1
            break
        except PHOTO_ERRORS as e:   # this photo only
            run.failures.append((job.src, describe(e)))
        except MemoryError:
            run.failures.append((job.src, f"{job.src}: out of memory; downscale it or free memory"))
    return run
