"""What the routes share: options, uploads, the job queue, the photo worker, the live hub, albums."""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime.serve.album import AlbumJob
from runtime.serve.config import ServeConfig
from runtime.serve.jobs import JobQueue
from runtime.serve.live import LiveHub
from runtime.serve.photo import PhotoWorker
from runtime.serve.uploads import UploadStore


@dataclass(slots=True, eq=False)
class ServeState:
    """Everything the routes share."""

    config: ServeConfig
    work_dir: Path
    uploads: UploadStore
    queue: JobQueue
    worker: PhotoWorker
    live: LiveHub
    albums: dict[str, AlbumJob] = field(default_factory=dict)
    own_work_dir: bool = False

    def sweep(self) -> None:
        """Delete uploads and albums older than ``keep_s``."""
        self.uploads.sweep()
        now = time.time()
        for job_id, job in list(self.albums.items()):
            if job.state == "done" and now - job.out_dir.stat().st_mtime > self.config.keep_s:
                shutil.rmtree(job.out_dir, ignore_errors=True)
                self.albums.pop(job_id, None)

    def close(self) -> None:
        self.live.close()
        self.queue.close()
        self.worker.close()          # the worker thread has ended: nothing else uses the models
        if self.own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def make_state(config: ServeConfig) -> ServeState:
    own = config.work_dir is None
    work_dir = Path(tempfile.mkdtemp(prefix="edgedeblur-serve-")) if own else Path(config.work_dir)  # type: ignore[arg-type]
    work_dir.mkdir(parents=True, exist_ok=True)
    return ServeState(config, work_dir,
                      UploadStore(work_dir, config.max_upload_bytes, config.max_pixels, config.keep_s),
                      JobQueue(),
                      PhotoWorker(config.model, config.models_dir, config.threads, config.max_output_pixels),
                      LiveHub(config.live_source, config.live_model, config.threads), own_work_dir=own)
