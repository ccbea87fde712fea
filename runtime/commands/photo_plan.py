"""Where each photo of a ``deblur`` run goes: inputs mapped to outputs, checked before any work.

A single file goes to ``-o`` (a folder where it is one, ends in ``/`` or is a new name
without a suffix) or to ``<stem>.sharp.png`` beside it; a folder goes to ``-o`` or a sibling
``<folder>_sharp``, as ``<stem>.png`` (``<stem>.sharp.png`` when the output folder is the
input folder; names that still clash get ``<name>.<suffix>``, then ``.1``, ``.2``...). PNG
keeps 16 bits and alpha; ``--format`` picks another suffix for the names made here
(``same``: each photo's own, where it can be written). A photo named twice for one output
folder is planned once. A file that would be written over any input, or over a file that
already exists, is refused unless ``--overwrite``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from runtime.commands.photo_job import Job
from runtime.errors import ConfigError, ImageError
from runtime.photo.imageio import WRITE_FORMATS, photos_in, subfolders_with_photos
from runtime.photo.sniff import videos_in
from runtime.video.animation import animated


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything to do, plus inputs already known to be bad (path, one-line reason).

    ``new_files`` are all the outputs the inputs map to that are not inputs themselves,
    refused ones included (for the up-front clash check); ``album_dirs`` are the output
    folders of folder inputs (where the run's settings are recorded); ``videos`` those
    folders' videos, left alone (``edgedeblur run`` deblurs them); ``animations`` the GIF,
    WebP or PNG inputs with several frames, of which only the first is deblurred;
    ``subfolders`` those of folder inputs that hold photos (a folder run does not descend).
    """

    jobs: list[Job]
    bad: list[tuple[Path, str]]
    out_dirs: list[Path]
    new_files: list[Path]
    album_dirs: list[Path]
    videos: list[Path]
    animations: list[Path]
    subfolders: list[Path]


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _out_suffix(src: Path, fmt: str) -> str:
    """The suffix of an output named here: ``.fmt``, or for ``same`` the input's own where
    it can be written (a HEIC or GIF photo becomes PNG)."""
    if fmt != "same":
        return f".{fmt}"
    return src.suffix.lower() if src.suffix.lower() in WRITE_FORMATS else ".png"


def names_a_folder(output: str | Path) -> bool:
    """Whether ``-o`` for one photo means a folder: it is one, it ends in a path separator
    (``Path`` drops it, so the raw string is asked), or it does not exist and has no suffix."""
    path = Path(output)
    return path.is_dir() or str(output).endswith(("/", os.sep)) or (not path.exists() and not path.suffix)


def plan_jobs(inputs: list[Path], output: str | Path | None, overwrite: bool,
              complete: Callable[[Path, Path], bool] | None = None, fmt: str = "png") -> Plan:
    """Map inputs to outputs (see module docstring); refuse outputs that hit an input, and
    existing ones unless ``overwrite`` or ``complete(src, dst)`` (a finished, resumable job).

    Raises:
        ImageError: the only input does not exist.
        ConfigError: ``-o`` is a file but there are several inputs.
    """
    to_folder = output is not None and names_a_folder(output)
    output = Path(output) if output is not None else None
    single = len(inputs) == 1 and not inputs[0].is_dir()
    if single and not inputs[0].exists():
        raise ImageError(f"cannot read {inputs[0]}: not found; check the path")
    if not single and output is not None and output.is_file():
        raise ConfigError(f"-o {output} is a file, but several photos need an output folder; "
                          "give a folder path")
    pairs: list[Job] = []
    bad: list[tuple[Path, str]] = []
    out_dirs: list[Path] = []
    albums: list[Path] = []
    videos: list[Path] = []
    subfolders: list[Path] = []
    for src in inputs:
        if src.is_dir():
            videos += videos_in(src)
            folder = output if output is not None else src.parent / f"{src.name}_sharp"
            subfolders += subfolders_with_photos(src, exclude=folder)
            out_dirs.append(folder)
            albums.append(folder)
            tag = ".sharp" if _same(folder, src) else ""
            pairs += [Job(f, folder / f"{f.stem}{tag}{_out_suffix(f, fmt)}") for f in photos_in(src)]
        elif not src.exists():
            bad.append((src, f"cannot read {src}: not found; check the path"))
        elif single and output is not None and not to_folder:
            pairs.append(Job(src, output))
            out_dirs.append(output.parent)
        else:
            folder = output if output is not None else src.parent
            out_dirs.append(folder)
            tag = ".sharp" if _same(folder, src.parent) else ""
            pairs.append(Job(src, folder / f"{src.stem}{tag}{_out_suffix(src, fmt)}"))
    seen: set[Path] = set()
    jobs: list[Job] = []
    new_files: list[Path] = []
    all_inputs = {j.src.resolve() for j in pairs}
    planned: set[tuple[Path, Path]] = set()
    for job in pairs:
        if (key := (job.src.resolve(), job.dst.parent.resolve())) in planned:
            continue          # the same photo named twice (or by its folder too) for one output folder
        planned.add(key)
        dst = _unclaimed(job, seen)
        if dst.resolve() in all_inputs:
            if not overwrite:
                bad.append((job.src, f"refusing to overwrite the input {dst}; pass --overwrite or choose "
                                     "another output with -o"))
                continue
        else:
            new_files.append(dst)
        if dst.exists() and not overwrite and not (complete is not None and complete(job.src, dst)):
            bad.append((job.src, f"{dst} already exists; pass --overwrite to replace it or choose "
                                 "another output with -o"))
            continue
        seen.add(dst.resolve())
        jobs.append(Job(job.src, dst))
    return Plan(jobs, bad, out_dirs, new_files, albums, videos, [j.src for j in jobs if animated(j.src)], subfolders)


def _unclaimed(job: Job, seen: set[Path]) -> Path:
    """``job.dst``, or when an earlier job of this run claimed it (a.jpg and a.png in one
    folder) ``<src name>.png``, then ``<src name>.1.png``...: every candidate re-checked."""
    dst = job.dst
    if dst.resolve() not in seen:
        return dst
    dst = dst.with_name(f"{job.src.name}{job.dst.suffix}")
    n = 1
    while dst.resolve() in seen:
        dst = dst.with_name(f"{job.src.name}.{n}{job.dst.suffix}")
        n += 1
    return dst
