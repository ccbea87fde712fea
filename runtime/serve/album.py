"""Albums: a folder of photos (uploaded, or server-side under ``--album-root``) through one
set of settings (a preset, or the page's choices) on the job queue, with progress and a zip
of the results."""
from __future__ import annotations

import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import ConfigError, EdgeDeblurError
from facemask.files import atomic_write
from runtime.photo.imageio import READ_SUFFIXES, photos_in
from runtime.serve.jobs import JobQueue, Priority
from runtime.serve.photo import PhotoWorker
from runtime.serve.settings import PhotoSettings
from runtime.serve.uploads import Upload


def resolve_under(root: Path, relative: str) -> Path:
    """``root / relative`` if it is a folder inside ``root`` (links resolved), never outside it.

    Raises:
        ConfigError: the path leaves the root, or is not a folder.
    """
    base = root.resolve()
    target = (base / relative.lstrip("/\\")).resolve()
    if target != base and base not in target.parents:
        raise ConfigError(f"folder {relative!r} is outside the album root; pick a folder under it")
    if not target.is_dir():
        raise ConfigError(f"folder {relative!r} does not exist under the album root")
    return target


def list_folders(root: Path, limit: int = 200) -> list[str]:
    """Folders under ``root`` (relative, '.' for the root itself) that hold photos."""
    base = root.resolve()
    found = []
    for folder in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
        if photos_in(folder):
            found.append(str(folder.relative_to(base)) if folder != base else ".")
        if len(found) >= limit:
            break
    return found


@dataclass(slots=True)
class AlbumJob:
    """Progress of one album; updated by the job thread, read by the page."""

    id: str
    settings: PhotoSettings
    sources: list[Path]
    names: list[str]
    out_dir: Path
    done: int = 0
    errors: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    state: str = "queued"
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def zip_path(self) -> Path:
        return self.out_dir / "album.sharp.zip"

    def to_json(self) -> dict[str, object]:
        with self.lock:
            return {"id": self.id, "state": self.state, "done": self.done, "total": len(self.sources),
                    "errors": list(self.errors), "zip": f"/api/albums/{self.id}/zip" if self.state == "done" else None}


def new_job(settings: PhotoSettings, sources: list[Path], names: list[str], work_dir: Path) -> AlbumJob:
    if not sources:
        raise ConfigError("the album holds no photos; supported: " + ", ".join(READ_SUFFIXES))
    job_id = secrets.token_hex(8)
    out = work_dir / "albums" / job_id
    out.mkdir(parents=True)
    return AlbumJob(job_id, settings, sources, names, out)


def queue_album(job: AlbumJob, worker: PhotoWorker, queue: JobQueue) -> None:
    """One job per photo (previews can go between them), then one that writes the zip."""
    for src, name in zip(job.sources, job.names):
        queue.submit(_one_photo, job, worker, src, name, priority=Priority.ALBUM)
    queue.submit(_zip, job, priority=Priority.ALBUM)


def _one_photo(job: AlbumJob, worker: PhotoWorker, src: Path, name: str) -> None:
    """Deblur one photo of ``job``; a bad one is reported and skipped."""
    with job.lock:
        job.state = "running"
        used = {p.name for p in job.written}
    try:
        upload = Upload(f"album-{job.id}-{name}", name, src, (0, 0), 0.0)
        data, out_name = worker.render(upload, job.settings)
        while out_name in used:
            out_name = f"_{out_name}"
        dst = job.out_dir / out_name
        atomic_write(dst, data)
    except EdgeDeblurError as e:
        with job.lock:
            job.errors.append(f"{name}: {e}")
            job.done += 1
        return
    with job.lock:
        job.written.append(dst)
        job.done += 1


def _zip(job: AlbumJob) -> None:
    tmp = job.zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:   # photos are compressed already
        for path in job.written:
            zf.write(path, path.name)
    tmp.replace(job.zip_path)
    with job.lock:
        job.state = "done"
