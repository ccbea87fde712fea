"""Which outputs of a folder run are finished, so that a rerun skips them and redoes the rest.

Each output folder keeps an append-only log, ``.edgedeblur-done.jsonl``: one line per
photo written, with the source's size and modification time, the output's size and
modification time, and a fingerprint of everything that shapes the pixels (every
``DeblurConfig`` field but the thread count, the model file, the package version). An output counts as complete
only when its line matches all of these now: a file that is merely present (from a killed
job, another tool, other settings, or changed since) is made again. ``stat`` alone decides,
so checking 50,000 outputs costs no decoding. A torn last line (a killed driver) is
ignored. Only the one process that drives a run writes the log.

Example:
    >>> done = DoneLog(config_fingerprint(config))
    >>> todo = [(s, d) for s, d in pairs if not done.complete(s, d)]
    >>> done.record(src, dst)          # after dst was written
"""
from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from runtime.catalog import package_version, resolve_members
from runtime.errors import ImageError
from runtime.photo.chain import RestoreConfig
from runtime.photo.deblur import DeblurConfig

log = logging.getLogger(__name__)

LOG_NAME = ".edgedeblur-done.jsonl"
"""The log's file name inside each output folder (a dot file: folder scans skip it)."""


@dataclass(frozen=True, slots=True)
class DoneRecord:
    """One finished photo: the files' sizes and ``st_mtime_ns`` then, and the settings used."""

    src: str
    dst: str
    src_size: int
    src_mtime_ns: int
    dst_size: int
    dst_mtime_ns: int
    config: str


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def config_fingerprint(config: DeblurConfig | RestoreConfig) -> str:
    """A short hash of every ``DeblurConfig`` field (a kernel by its bytes), the model files'
    identity and the manifest's: whatever may change the output pixels. Thread count and
    spinning only change speed (a 2-thread local run and 1-thread Ray workers wrote the same
    bytes, ``benchmarks/results/ray``), so a rerun with other ``--threads`` still resumes.
    A restore chain adds its other fields and its models' files; a chain that only deblurs
    has its deblur config's fingerprint.

    Raises:
        ModelLoadError: a model cannot be found (the run would fail anyway).
    """
    package = package_version()
    chain = config if isinstance(config, RestoreConfig) else None
    deblur = chain.deblur if chain is not None else config
    models = [[str(m.path.resolve()), _file_id(m.path)] for m in resolve_members(deblur.model, models_dir=deblur.models_dir)]
    manifest = Path(deblur.models_dir) / "manifest.json"   # specialists are chosen from it
    speed_only = replace(deblur, engine=replace(deblur.engine, threads=1, spin=False))
    parts = {"version": package, "config": _plain(speed_only), "model_file": models[0] if len(models) == 1 else models,
             "manifest": _file_id(manifest)}
    if chain is not None and chain.chained:
        parts["chain"] = {f.name: _plain(getattr(chain, f.name)) for f in fields(chain) if f.name != "deblur"}
        files = [r.path for m in chain.chain_models().values() for r in resolve_members(m, models_dir=deblur.models_dir)]
        parts["chain_files"] = [[str(f.resolve()), _file_id(f)] for f in files]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _plain(value: object) -> object:
    """``value`` as JSON-able data that is the same in every process (sets sorted: their
    iteration order follows the per-process string hash seed)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, np.ndarray):
        return [list(value.shape), str(value.dtype), hashlib.sha256(value.tobytes()).hexdigest()]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


class DoneLog:
    """The done-logs of every output folder of one run, read lazily, appended as photos finish."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self._records: dict[Path, dict[str, DoneRecord]] = {}
        self._files: dict[Path, IO[str]] = {}

    def _folder(self, folder: Path) -> dict[str, DoneRecord]:
        if folder not in self._records:
            self._records[folder] = _read(folder / LOG_NAME)
        return self._records[folder]

    def complete(self, src: Path, dst: Path) -> bool:
        """Whether ``dst`` was written from ``src`` as it is now, with these settings, and is
        unchanged since."""
        rec = self._folder(dst.parent).get(dst.name)
        if rec is None or rec.config != self.fingerprint or rec.src != str(src.resolve()):
            return False
        return (_file_id(src) == (rec.src_size, rec.src_mtime_ns)
                and _file_id(dst) == (rec.dst_size, rec.dst_mtime_ns))

    def known(self, dst: Path) -> bool:
        """Whether an earlier run of this kind wrote ``dst`` (complete or changed since)."""
        return dst.name in self._folder(dst.parent)

    def record(self, src: Path, dst: Path) -> None:
        """Note that ``dst`` was just written from ``src`` (flushed at once: a killed run keeps it).

        Raises:
            ImageError: the log cannot be written (the output folder is read-only or full).
        """
        s, d = _file_id(src), _file_id(dst)
        if s is None or d is None:
            return                      # gone meanwhile: nothing to vouch for
        rec = DoneRecord(str(src.resolve()), dst.name, *s, *d, self.fingerprint)
        folder = dst.parent
        self._folder(folder)[dst.name] = rec
        try:
            if folder not in self._files:
                self._files[folder] = open(folder / LOG_NAME, "a", encoding="utf-8")
            f = self._files[folder]
            f.write(json.dumps(asdict(rec)) + "\n")
            f.flush()
        except OSError as e:
            raise ImageError(f"cannot write {folder / LOG_NAME}: {e.strerror or e}; the output folder "
                             "must be writable for --ray (its resume log)") from e

    def close(self) -> None:
        """Flush to disk and close the logs written to."""
        for f in self._files.values():
            try:
                f.flush()
                os.fsync(f.fileno())
            finally:
                f.close()
        self._files.clear()

    def __enter__(self) -> DoneLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(path: Path) -> dict[str, DoneRecord]:
    """Records by output name, the latest winning; unreadable or torn lines are skipped."""
    found: dict[str, DoneRecord] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return found
    except OSError as e:
        log.warning("cannot read %s (%s): every output there is made again", path, e.strerror or e)
        return found
    for line in text.splitlines():
        try:
            rec = DoneRecord(**json.loads(line))
        except (ValueError, TypeError):
            continue
        found[rec.dst] = rec
    return found
