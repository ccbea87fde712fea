"""``edgedeblur deblur ... --ray [ADDRESS]``: a folder run spread over Ray workers by file.

The plan (names, collision rules, refusals) is the local run's (``plan_jobs``); each worker
is a Ray actor that loads the model once and calls the local run's ``deblur_job`` on one
file at a time, so outputs are written atomically, with the same names and metadata and
the same bytes. This process (the driver) only schedules: it keeps ``IN_FLIGHT`` files
queued per worker, writes the resume log (``runtime.photo.resume``) as results arrive, and
shows one progress bar for the whole job.

Failures: a bad photo is listed at the end, as in a local run. A worker that dies (killed,
out of memory, its node lost) is replaced by a fresh one and the files it held go back to
the queue (a temp file it left is removed at the end); a file on which workers die
``MAX_ATTEMPTS`` times is listed as failed instead of killing workers forever. A killed
driver loses nothing: a rerun skips the outputs that are complete.

Storage: workers read the inputs and write the outputs themselves, so on a cluster the
archive and the output folder must be mounted at the same path on every node (NFS, SMB),
and edgedeblur installed in the same Python environment on every node.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import logging
import os
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runtime.commands.photo_job import PHOTO_ERRORS, Job, deblur_job
from runtime.errors import ConfigError, DiskFullError, EdgeDeblurError, with_flags
from runtime.photo.chain import RestoreConfig, Restorer
from runtime.photo.resume import DoneLog, config_fingerprint

IN_FLIGHT = 2
"""Files queued per worker: one running, one waiting, so no worker idles between files."""
MAX_ATTEMPTS = 3
"""Worker deaths one file may cause before it is listed as failed (a photo that kills workers)."""
OBJECT_STORE_BYTES = 80 * 1024 * 1024
"""Object store of a local runtime: only small records travel through it, never pixels."""

CONNECT_TIMEOUT_S = 5.0
"""How long a cluster's head node may take to accept a connection."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PhotoOutcome:
    """What a worker reports for one file: ``error`` is None when ``dst`` was written."""

    src: str
    dst: str
    error: str | None
    seconds: float
    worker: str
    disk_full: bool = False


@dataclass(slots=True)
class WorkerStats:
    """One worker process (``host:pid``; a restarted worker is a new one)."""

    photos: int = 0
    failed: int = 0
    busy_s: float = 0.0


@dataclass(slots=True)
class RaySummary:
    """The job's outcome, printed as JSON: counts, rates, and every failure with its reason."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    retried: int = 0
    workers_replaced: int = 0
    not_started: int = 0
    """Photos left when an output disk filled up (every later photo would fail the same way)."""
    seconds: float = 0.0
    startup_s: float = 0.0
    driver_cpu_s: float = 0.0
    workers: dict[str, WorkerStats] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON types (rates in photos per second of wall time)."""
        wall = max(self.seconds, 1e-9)
        return {
            "total": self.total, "skipped": self.skipped, "done": self.done, "failed": len(self.failed),
            "retried": self.retried, "workers_replaced": self.workers_replaced, "not_started": self.not_started,
            "seconds": round(self.seconds, 3),
            "startup_s": round(self.startup_s, 3), "driver_cpu_s": round(self.driver_cpu_s, 3),
            "photos_per_s": round(self.done / wall, 3),
            "workers": {name: {"photos": w.photos, "failed": w.failed, "busy_s": round(w.busy_s, 3),
                               "photos_per_s": round(w.photos / wall, 3),
                               "s_per_photo": round(w.busy_s / w.photos, 4) if w.photos else None}
                        for name, w in sorted(self.workers.items())},
            "failures": [{"src": src, "error": error} for src, error in self.failed],
        }


class PhotoWorker:
    """The body of one Ray actor: one ``Restorer`` (models loaded once) for every file it gets."""

    def __init__(self, config: RestoreConfig, overwrite: bool) -> None:
        logging.basicConfig(level=logging.WARNING)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._restorer = Restorer(config)
        self._overwrite = overwrite
        self._broken: str | None = None
        try:
            self._restorer.load()
        except EdgeDeblurError as e:             # reported by ready(), not as a dead actor
            self._broken = f"worker {self.name}: {e}"

    def ready(self, paths: list[str]) -> str | None:
        """None when the model loaded and every path exists on this node, else a one-line reason."""
        if self._broken is not None:
            return self._broken
        missing = [p for p in paths if not os.path.exists(p)]
        if not missing:
            return None
        return (f"worker {self.name} cannot see {missing[0]}; mount the archive and the output folder "
                "at the same path on every node")

    def deblur(self, src: str, dst: str) -> PhotoOutcome:
        """Deblur one file the way a local run does; a failure of this photo is returned, not raised."""
        start = time.perf_counter()
        error, full = None, False
        try:
            deblur_job(self._restorer, Job(Path(src), Path(dst)), self._overwrite)
        except PHOTO_ERRORS as e:
            error, full = str(e), isinstance(e, DiskFullError)
        except MemoryError:
            error = f"{src}: out of memory; downscale it or give the workers more memory"
        return PhotoOutcome(src, dst, error, time.perf_counter() - start, self.name, full)


class _ToLog(io.TextIOBase):
    """Ray's own notices (a background thread prints "(raylet) A worker died..." to stdout)
    go to the log (shown with --debug): the driver reports deaths in the summary itself."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                log.info("ray: %s", line)
        return len(text)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ConfigError("--ray needs Ray: pip install 'edgedeblur[ray]' (or drop --ray)") from e
    return ray


def _probe(address: str) -> None:
    """Fail fast on a head node that does not answer (Ray itself retries for minutes).

    Raises:
        ConfigError: nothing listens at ``host:port``.
    """
    host, sep, port = address.split("://")[-1].rpartition(":")
    if not sep or not port.isdigit():
        return                                  # 'auto' and other forms: Ray resolves them
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ConfigError(f"--ray {address}: no Ray head answers there ({e.strerror or e}); start one with "
                          "`ray start --head` or check the host and port") from e


def _start(ray: Any, address: str, workers: int | None, threads: int) -> int:
    """Connect to (or start) Ray; returns how many workers to run."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")    # no network at run time
    if address != "local":
        _probe(address)
    common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address == "local":
            wanted = workers or max(1, (os.cpu_count() or 1) // threads)
            ray.init(num_cpus=max(os.cpu_count() or 1, wanted * threads),
                     object_store_memory=OBJECT_STORE_BYTES, **common)
        else:
            ray.init(address=address, **common)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ConfigError(f"--ray {address}: cannot start or reach Ray ({e}); check the address "
                          "(host:port of the head node, ray://host:10001, or auto)") from e
    cpus = int(ray.cluster_resources().get("CPU", 0))
    n = workers or max(1, cpus // threads)
    if n * threads > cpus:
        raise ConfigError(f"--workers {n} x --threads {threads} needs {n * threads} CPUs, the Ray cluster "
                          f"has {cpus}; lower --workers or --threads")
    return n


def _check(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers} must be a whole number >= 1")


def run_on_ray(args: argparse.Namespace, config: RestoreConfig, jobs: list[Job], bad: list[tuple[Path, str]],
               on_start: Callable[[], object] = lambda: None) -> int:
    """Handler part for ``--ray``: the local run's plan (``jobs``, and inputs already known
    ``bad``), the same per-file call, on Ray workers; exit 1 if any photo failed. ``on_start``
    runs once Ray is up, before the first photo (it records the run's settings)."""
    if args.compare is not None:
        raise ConfigError("--compare shows one photo; drop it with --ray")
    _check(args.workers)
    ray = _import_ray()
    summary = RaySummary(total=len(jobs) + len(bad), failed=[(str(s), m) for s, m in bad])
    start, cpu = time.perf_counter(), time.process_time()
    with DoneLog(config_fingerprint(config)) as done:
        todo = [job for job in jobs if not done.complete(job.src, job.dst)]
        summary.skipped = len(jobs) - len(todo)
        if todo:
            started = time.perf_counter()
            with contextlib.redirect_stdout(_ToLog()):       # stdout: the JSON summary only
                try:
                    n = _start(ray, args.ray, args.workers, config.deblur.engine.threads)
                    on_start()
                    # overwrite: the plan refused every existing file this job did not write, and a
                    # retried file may have been published by the worker that died
                    _drive(ray, todo, config, True, n, done, summary, started, show=not args.quiet)
                finally:
                    ray.shutdown()
    summary.seconds = time.perf_counter() - start
    summary.driver_cpu_s = time.process_time() - cpu
    summary.failed = [(src, with_flags(message, args.flags)) for src, message in summary.failed]
    if not args.quiet:
        print(json.dumps(summary.to_json(), indent=1))
    for _, message in summary.failed:
        print(f"edgedeblur deblur: error: {message}", file=sys.stderr)
    return 1 if summary.failed else 0


class _Pool:
    """The workers and the files each holds; a worker that dies is replaced by a fresh one."""

    def __init__(self, ray: Any, config: RestoreConfig, overwrite: bool, n: int) -> None:
        self._ray = ray
        self._actor = ray.remote(num_cpus=config.deblur.engine.threads, max_restarts=0)(PhotoWorker)
        self._args = (config, overwrite)
        self.workers = [self._actor.remote(*self._args) for _ in range(n)]
        self.running: dict[Any, tuple[int, Any, Job]] = {}
        self.replaced = 0

    def check(self, probe: list[str]) -> None:
        """Wait until every worker has loaded the model and sees the files.

        Raises:
            ConfigError: a worker cannot start, load the model or see ``probe``.
        """
        try:
            reasons = self._ray.get([w.ready.remote(probe) for w in self.workers])
        except self._ray.exceptions.RayError as e:
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise ConfigError(f"a Ray worker could not start ({first}); install edgedeblur in the same "
                              "Python environment on every node") from e
        for reason in reasons:
            if reason is not None:
                raise ConfigError(reason)

    def feed(self, pending: deque[Job]) -> None:
        """Give every worker up to ``IN_FLIGHT`` files."""
        for i, w in enumerate(self.workers):
            held = sum(1 for _, h, _ in self.running.values() if h is w)
            for _ in range(IN_FLIGHT - held):
                if not pending:
                    return
                job = pending.popleft()
                self.running[w.deblur.remote(str(job.src), str(job.dst))] = (i, w, job)

    def next_done(self) -> tuple[Any, Job]:
        """Wait for any file to finish; a file lost with its worker replaces that worker.

        Returns:
            The finished file's result (a ``PhotoOutcome``, or the Ray error that lost it) and job.
        """
        ref = self._ray.wait(list(self.running), num_returns=1)[0][0]
        i, handle, job = self.running.pop(ref)
        try:
            return self._ray.get(ref), job
        except self._ray.exceptions.RayTaskError as e:     # our code raised: this photo fails
            return e, job
        except self._ray.exceptions.RayError as e:         # the worker died (killed, OOM, node lost)
            if self.workers[i] is handle:
                self.workers[i] = self._actor.remote(*self._args)
                self.replaced += 1
            return e, job


def _drive(ray: Any, todo: list[Job], config: RestoreConfig, overwrite: bool, n: int, done: DoneLog,
           summary: RaySummary, started: float, show: bool) -> None:
    """Keep every worker fed until each file is written or failed; retry files of dead workers."""
    from tqdm import tqdm

    pool = _Pool(ray, config, overwrite, n)
    pool.check([str(todo[0].src), str(todo[0].dst.parent)])
    summary.startup_s = time.perf_counter() - started        # Ray up, workers up, models loaded
    pending = deque(todo)
    attempts: dict[Job, int] = {}
    with tqdm(total=summary.total, initial=summary.skipped, unit="photo", desc="deblur (ray)",
              file=sys.stderr, disable=not (show and sys.stderr.isatty())) as bar:
        while pending or pool.running:
            pool.feed(pending)
            result, job = pool.next_done()
            if _account(ray, result, job, attempts, done, summary):
                bar.update(1)
            else:
                pending.appendleft(job)
            if isinstance(result, PhotoOutcome) and result.disk_full:    # the rest would fail the same way
                summary.not_started += len(pending)
                pending.clear()
    summary.workers_replaced = pool.replaced
    for job in attempts:
        _drop_leftovers(job.dst)


def _account(ray: Any, result: Any, job: Job, attempts: dict[Job, int], done: DoneLog,
             summary: RaySummary) -> bool:
    """Book one finished file: written, failed, or lost with its worker. False: run it again."""
    if isinstance(result, ray.exceptions.RayTaskError):
        summary.failed.append((str(job.src), f"{job.src}: worker error {type(result.cause).__name__}: "
                                             f"{result.cause}"))
        return True
    if isinstance(result, ray.exceptions.RayError):
        attempts[job] = attempts.get(job, 0) + 1
        if attempts[job] < MAX_ATTEMPTS:
            summary.retried += 1
            return False
        summary.failed.append((str(job.src), f"{job.src}: a worker died {MAX_ATTEMPTS} times on this photo "
                                             "(out of memory or a crash); check it, or give workers more memory"))
        return True
    stats = summary.workers.setdefault(result.worker, WorkerStats())
    stats.busy_s += result.seconds
    if result.error is None:
        done.record(job.src, job.dst)
        stats.photos += 1
        summary.done += 1
    else:
        stats.failed += 1
        summary.failed.append((result.src, result.error))
    return True


def _drop_leftovers(dst: Path) -> None:
    """Remove the temp files a killed worker left beside ``dst`` (``atomic_write_bytes`` names)."""
    for tmp in dst.parent.glob(f".{glob.escape(dst.name)}.*.tmp"):
        tmp.unlink(missing_ok=True)
