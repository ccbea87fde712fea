"""``edgedeblur deblur``: photos or folders of photos, through ``runtime.photo.deblur``.

Every photo goes through the restore chain (``runtime.photo.chain``): the deblur alone unless
``--denoise``, ``--upscale`` or a ``--preset`` (``runtime.commands._chain``) add links. A
folder run shows a progress bar, ends with a summary (count, time, failures) and records its
settings in ``edgedeblur-settings.toml`` in each output folder.

Where each photo goes is planned by ``runtime.commands.photo_plan``. Outputs are created
exclusively, so runs writing one folder at once never replace each other's files.
``--kernel``, ``--model`` and ``--compare`` paths that equal an input or an output are
refused before any work. ``--ray`` runs the same jobs, through the same ``deblur_job``
(``runtime.commands.photo_job``), on a Ray cluster (``runtime.commands.deblur_ray``); there
an existing output that the resume log vouches for is skipped instead of refused, and one
the log shows this job wrote but that changed since is made again.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from runtime.catalog import DEFAULT_MODEL, SHIPPED_DIR
from runtime.commands import flags, some_names
from runtime.commands._chain import add_chain_flags
from runtime.commands._paths import refuse_clashes
from runtime.commands.photo_job import Job, deblur_jobs
from runtime.commands.photo_plan import Plan, plan_jobs
from runtime.commands.run import strength_arg
from runtime.errors import ConfigError, DiskFullError, EngineError, ImageError, with_flags
from runtime.photo.imageio import READ_SUFFIXES
from runtime.photo.sniff import RUN_HINT

if TYPE_CHECKING:
    from runtime.engines.base import EngineConfig

EXAMPLES = """examples:
  edgedeblur deblur photo.jpg -o photo.sharp.png
  edgedeblur deblur album/ -o album_sharp/ --strength 0.7
  edgedeblur deblur photo.jpg --mode focus
  edgedeblur deblur photo.jpg --denoise auto --upscale 2 -o photo.print.png
  edgedeblur deblur album/ --preset portrait -o printed/             # settings kept in printed/
  edgedeblur deblur photo.jpg --method wiener --kernel k.png
  edgedeblur deblur photo.jpg --model path/to/model.onnx --compare before_after.png
  edgedeblur deblur group.jpg --faces full --background light --compare faces.png
  edgedeblur deblur archive/ -o archive_sharp/ --ray                  # local Ray runtime
  edgedeblur deblur /nfs/archive/ -o /nfs/sharp/ --ray head:6379     # an existing cluster
"""


FLAGS = flags("strength", "mode", "method", "model", "kernel", "overwrite", "tile", "overlap", "backend", "threads",
              "delegate", "denoise", "denoise_strength", "denoise_model", "upscale", "upscale_strength",
              "upscale_model", "compare", dst="-o", path="-o")
"""Library field -> this command's flag, for error messages."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``deblur`` subcommand."""
    p = subparsers.add_parser(
        "deblur", help="deblur photos (files or folders)", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Deblur photos with a shipped or given model, or a classical baseline.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files and/or folders")
    p.add_argument("-o", "--output", metavar="OUT",   # a str: a trailing "/" says "folder"
                   help="output file (one input) or folder (several inputs, a folder, a name "
                        "ending in / or a new name without a suffix)")
    p.add_argument("--model", default=None, metavar="NAME|PATH",
                   help=f"shipped model name or .onnx/.tflite file (default {DEFAULT_MODEL}; see `edgedeblur models`)")
    p.add_argument("--strength", type=float, default=None, metavar="S",
                   help="0 = unchanged (no deblur) ... 1 = full deblur (default 1)")
    p.add_argument("--mode", default=None, metavar="MODE",
                   help="motion | focus | auto: the blur to target (default auto: estimate it per photo)")
    p.add_argument("--method", default=None, metavar="METHOD",
                   help="auto (estimate the blur and deconvolve, model when unsure) | kernel | model | wiener | rl | "
                        "unsharp (wiener and rl need --kernel); default auto")
    p.add_argument("--kernel", type=Path, metavar="K.png", help="blur kernel image for wiener/rl")
    add_chain_flags(p)
    p.add_argument("--tile", type=int, default=None, help="largest tile side in pixels (default 512; tiles shrink to fit the photo)")
    p.add_argument("--overlap", type=int, default=None, help="tile overlap in pixels (default 32)")
    p.add_argument("--backend", default="auto", help="auto | ort | litert")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the model (default 2)")
    p.add_argument("--delegate", default=None, metavar="LIB", help="LiteRT delegate library (GPU/NPU)")
    p.add_argument("--models-dir", type=Path, default=SHIPPED_DIR, metavar="DIR",
                   help="folder holding manifest.json (default: the shipped models)")
    p.add_argument("--overwrite", action="store_true",
                   help="allow replacing files that exist, inputs included (default: refuse)")
    p.add_argument("--compare", type=Path, metavar="OUT.png",
                   help="also write a side-by-side before/after image (one input only; with --faces, "
                        "each face zoomed below)")
    p.add_argument("--faces", choices=("none", "light", "full"), default=None,
                   help="face priority: treatment of faces (full = the model on each face's crop at "
                        "--faces-strength, blended with soft masks as in video); off unless given")
    p.add_argument("--background", choices=("none", "light", "full"), default="light",
                   help="with --faces: treatment of the rest (default light: a gentle unsharp mask)")
    p.add_argument("--faces-strength", type=strength_arg, default="auto",
                   help="with --faces: in [0, 1], or auto: by each face's blur, 0 for a sharp face "
                        "(default auto)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run on Ray (pip install 'edgedeblur[ray]'): a local Ray runtime, or the cluster "
                        "at ADDRESS (host:port, ray://host:10001 or auto); resumable, prints a JSON summary")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="with --ray: worker processes, each loading the model once (default: the "
                        "cluster's CPUs / --threads)")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default="png",
                   help="format of the outputs named here (folders, or no -o): png (default: lossless, "
                        "keeps 16 bits and alpha), same (each photo's own format where it can be written; "
                        "HEIC and GIF become png), jpg or webp (quality 95, several times smaller), tif")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=run, flags=FLAGS)


OUTPUT_FORMATS = ("png", "same", "jpg", "webp", "tif")


def _mkdirs(folders: list[Path]) -> None:
    for folder in dict.fromkeys(folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ImageError(f"cannot create output folder {folder}: {e.strerror or e}; choose a "
                             "writable output path with -o") from e


def _tile_bar(enabled: bool) -> tuple[Callable[[str, int, int], None] | None, Callable[[], None]]:
    """A tqdm bar over the tiles of each link for a single large photo: (progress callback, close)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="tile", file=sys.stderr, desc="deblur", leave=False)

    def update(link: str, done: int, total: int) -> None:
        bar.set_description(link, refresh=False)
        bar.total = total
        bar.n = done
        bar.refresh()
    return update, bar.close


def _checked_plan(args: argparse.Namespace, complete: Callable[[Path, Path], bool] | None = None) -> Plan:
    """The jobs, after every check that can fail before any work: output formats, outputs
    that are inputs (photos, ``--kernel``, ``--model``) or each other, existing files
    (except those ``complete`` vouches for: a resumed ``--ray`` run skips them).

    Raises:
        ConfigError, ImageError: the one line for the user; nothing has been written.
    """
    from runtime.photo.imageio import output_format

    plan = plan_jobs(list(args.inputs), args.output, args.overwrite, complete, args.format)
    single = len(args.inputs) == 1 and not args.inputs[0].is_dir()
    if args.compare is not None:
        if not single:
            raise ConfigError("--compare needs exactly one input file; drop it for folders")
        output_format(args.compare)
    model_file = Path(args.model) if Path(args.model).is_file() else None
    refuse_clashes([("--kernel", args.kernel), ("--model", model_file),
                    *(("photo", j.src) for j in plan.jobs), *(("photo", src) for src, _ in plan.bad)],
                   [*(("-o", dst) for dst in plan.new_files), ("--compare", args.compare)])
    if args.compare is not None and args.compare.exists() and not args.overwrite:
        raise ConfigError(f"--compare {args.compare} already exists; pass --overwrite to replace it "
                          "or choose another path")
    if single and plan.bad:
        raise ConfigError(plan.bad[0][1])
    if not plan.jobs and not plan.bad:
        raise ImageError(f"no images found in {', '.join(map(str, args.inputs))}; "
                         f"supported suffixes: {', '.join(READ_SUFFIXES)}")
    for job in plan.jobs:
        output_format(job.dst)
    _mkdirs(plan.out_dirs)
    return plan


def run(args: argparse.Namespace) -> int:
    """Handler: deblur (or restore) every input; exit 1 if any input failed (the good ones are written)."""
    from runtime.commands._chain import chain_config, duration, refuse_with_faces, write_settings
    from runtime.engines.base import EngineConfig
    from runtime.photo.chain import Restorer
    from runtime.photo.imageio import read_image, side_by_side, write_image

    engine = EngineConfig(backend=args.backend, threads=args.threads, delegate=args.delegate)
    if args.workers is not None and args.ray is None:
        raise ConfigError("--workers applies to --ray runs; add --ray or drop --workers")
    config, preset = chain_config(args, engine)
    if args.faces is not None:
        if args.ray is not None:
            raise ConfigError("--ray runs the photo path; --faces cannot be combined with it yet "
                              "(drop --faces or --ray)")
        refuse_with_faces(config)
        return _run_faces(args, engine)
    if args.ray is not None:
        from runtime.commands.deblur_ray import run_on_ray
        from runtime.photo.resume import DoneLog, config_fingerprint

        done = DoneLog(config_fingerprint(config))
        plan = _checked_plan(args, lambda src, dst: done.complete(src, dst) or done.known(dst))
        return run_on_ray(args, config, plan.jobs, plan.bad, lambda: write_settings(plan.album_dirs, config, preset))
    plan = _checked_plan(args)
    single = len(args.inputs) == 1 and not args.inputs[0].is_dir()
    show = not args.quiet and sys.stderr.isatty()
    failures = list(plan.bad)
    written: list[Job] = []
    left = 0                                    # photos not started: the disk filled up
    start = time.perf_counter()
    with Restorer(config) as restorer:
        restorer.load()
        settings = write_settings(plan.album_dirs, config, preset)
        if single:
            progress, close = _tile_bar(show)
            try:
                result = restorer.restore_file(plan.jobs[0].src, plan.jobs[0].dst, overwrite=args.overwrite,
                                               progress=progress, exclusive=not args.overwrite)
            finally:
                close()
            written.append(Job(plan.jobs[0].src, result.written or plan.jobs[0].dst))
        else:
            folder = deblur_jobs(restorer, plan.jobs, args.overwrite, show=show,
                                 describe=lambda e: with_flags(str(e), FLAGS))
            written, failures, left = folder.written, failures + folder.failures, folder.not_started
    seconds = time.perf_counter() - start
    if args.compare is not None:
        before = read_image(written[0].src).rgb
        after = read_image(written[0].dst).rgb
        if after.shape != before.shape:         # upscaled: show the input at the same size
            import cv2

            before = cv2.resize(before, after.shape[1::-1], interpolation=cv2.INTER_LANCZOS4)
        compare = write_image(args.compare, side_by_side([before, after], ["before", "after"]),
                              exclusive=not args.overwrite, field="compare")
    if not args.quiet:
        for job in written if single else []:
            print(f"wrote {job.dst}")
        if args.compare is not None:
            print(f"wrote {compare}")
        if not single:
            where = ", ".join(str(d) for d in dict.fromkeys(plan.out_dirs))
            n = len(written)
            each = f", {seconds / n:.1f} s a photo" if n else ""
            stopped = f", {left} not started (the disk is full)" if left else ""
            print(f"{'restored' if config.chained else 'deblurred'} {n} of {n + len(failures) + left} photos "
                  f"into {where} in {duration(seconds)}{each}; {len(failures)} failed{stopped}")
            for path in settings:
                print(f"settings: {path}")
    _notes(plan, args.quiet)
    for _, message in failures:
        print(f"edgedeblur deblur: error: {message}", file=sys.stderr)
    return 1 if failures else 0


def _notes(plan: Plan, quiet: bool) -> None:
    """Inputs that were not (wholly) deblurred though nothing failed: videos, animations, subfolders."""
    if quiet:
        return
    if plan.videos:
        n = len(plan.videos)
        print(f"edgedeblur deblur: note: {n} video{'s' if n > 1 else ''} left alone ({some_names(plan.videos)}); "
              f"{RUN_HINT}", file=sys.stderr)
    if plan.animations:
        n, first = len(plan.animations), plan.animations[0]
        print(f"edgedeblur deblur: note: {n} animation{'s' if n > 1 else ''} ({some_names(plan.animations)}): only "
              f"the first frame was deblurred; deblur every frame with: edgedeblur run --source {first.name} "
              f"-o {first.stem}.mp4", file=sys.stderr)
    if plan.subfolders:
        n = len(plan.subfolders)
        print(f"edgedeblur deblur: note: {n} subfolder{'s' if n > 1 else ''} with photos left alone "
              f"({some_names(plan.subfolders)}): a folder run takes the photos directly in it; give subfolders "
              "as inputs too", file=sys.stderr)


def _run_faces(args: argparse.Namespace, engine: EngineConfig) -> int:
    """``--faces``: face priority per photo (``runtime.photo.faces``), same outputs and checks."""
    from tqdm import tqdm

    from runtime.photo.imageio import output_format, read_image, write_image
    from runtime.photo.faces import PhotoFaces, PhotoFacesConfig, zoom_strip
    from runtime.engines.tiling import TileConfig

    if args.method not in ("auto", "model"):
        raise ConfigError(f"--faces runs the model on faces; --method {args.method} cannot be combined "
                          "with it (drop --method or --faces)")
    config = PhotoFacesConfig(faces=args.faces, background=args.background, faces_strength=args.faces_strength,
                              model=args.model, models_dir=args.models_dir, engine=engine,
                              tiles=TileConfig(args.tile, args.overlap))
    plan = _checked_plan(args)
    single = len(args.inputs) == 1 and not args.inputs[0].is_dir()
    failures = list(plan.bad)
    show = not args.quiet and sys.stderr.isatty() and not single
    with PhotoFaces(config) as pf:
        for job in tqdm(plan.jobs, disable=not show, unit="photo", file=sys.stderr, desc="deblur"):
            try:
                loaded = read_image(job.src)
                output_format(job.dst, loaded.alpha is not None)
                result = pf.deblur(loaded.rgb)
                dst = write_image(job.dst, result.image, alpha=loaded.alpha, meta=loaded.meta,
                                  exclusive=not args.overwrite)
            except (ImageError, EngineError, ConfigError) as e:
                if single:
                    raise
                failures.append((job.src, str(e)))
                if isinstance(e, DiskFullError):    # the next photos would fail the same way
                    break
                continue
            if not args.quiet:
                share = result.model_pixels / max(result.full_frame_pixels, 1)
                n = len(result.face_boxes_xyxy)
                work = (f"model on {result.model_pixels / 1e3:.0f}k px ({100 * share:.0f}% of the "
                        f"{result.full_frame_pixels / 1e3:.0f}k a whole-photo run computes)" if result.model_pixels
                        else "sharp enough to leave as taken (--faces-strength 1 deblurs anyway)" if n
                        else "nothing for the model")
                print(f"wrote {dst}: {n} face{'' if n == 1 else 's'}, {work}")
            if args.compare is not None:
                compare = write_image(args.compare, zoom_strip(loaded.rgb, result.image, result.face_boxes_xyxy),
                                      exclusive=not args.overwrite, field="compare")
                if not args.quiet:
                    print(f"wrote {compare}")
    _notes(plan, args.quiet)
    for _, message in failures:
        print(f"edgedeblur deblur: error: {message}", file=sys.stderr)
    return 1 if failures else 0
