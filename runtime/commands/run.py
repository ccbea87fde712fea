"""``edgedeblur run``: face-priority deblurring of a camera, stream, video file or image folder.

    edgedeblur run --source 0 --model small.int8 --faces full --background light --preview
    edgedeblur run --source clip.mp4 -o clip.sharp.mp4 --faces full --background none
    edgedeblur run --source rtsp://127.0.0.1:8554/cam --stats

``--faces`` and ``--background`` take none | light | full: ``full`` runs the model, ``light``
a cheap unsharp mask, ``none`` leaves pixels as they are. ``--faces full --background full``
deblurs whole frames (the baseline). Outputs: a video file (.mp4/.mov/.mkv, H.264, the
source's audio carried over; an H.264 file the run changed nowhere, all faces sharp, comes back
as its own stream, not re-encoded) or a folder of images. Ctrl-C stops cleanly and keeps what was
recorded; after ``kill -9`` or a power cut the partial recording still plays, and the next
run says where it is. An existing ``-o`` file is kept unless ``--overwrite``; an output
that is also an input (or another output) is refused before anything starts. A truncated
video exits 1, keeping the output up to the last good frame (as a bad photo exits 1).
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Callable

from facemask.native_stderr import quiet_opencv
from runtime.catalog import FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL, SHIPPED_DIR, video_model
from runtime.commands import flags, some_names
from runtime.commands._paths import refuse_clashes
from runtime.errors import ConfigError

if TYPE_CHECKING:
    from runtime.video.pipeline import FrameResult, PipelineConfig
    from runtime.video.sinks import Sink
    from runtime.video.frames import FrameSource, SourceInfo
    from runtime.video.stats import StatsRecorder
    from runtime.video.stream import StreamReport

_TREATMENTS = ("none", "light", "full")
_LIVE_STATS_EVERY_S = 1.0


FLAGS = flags("model", "backend", "threads", "faces", "background", "stats_json", "crf", "preset", spec="--source",
              path="-o", folder="-o")
"""Library field -> this command's flag, for error messages."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` subcommand."""
    p = subparsers.add_parser("run", help="deblur a camera, stream, video file or image folder (faces first)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True,
                   help="camera index (0) or /dev/videoN, rtsp:// or http:// URL, video file, image folder, "
                        "or - for a video piped to stdin (rpicam-vid -o -)")
    p.add_argument("-o", "--output", type=Path,
                   help="video file (.mp4/.mov/.mkv) or image folder; omit to only preview/measure")
    p.add_argument("--model", default=None, help="shipped model name (nano.int8.tflite, small.int8...) or a "
                   f"model file (default {LIVE_VIDEO_MODEL} for cameras and streams, to keep up in real time; "
                   f"{FILE_VIDEO_MODEL} on every face crop for files and folders, 0.25-0.4 dB more on blurry faces "
                   "at a quarter to a fifth of the speed; small.int8 sits between them)")
    p.add_argument("--models-dir", type=Path, default=SHIPPED_DIR, metavar="DIR",
                   help="folder holding manifest.json, where --model names are looked up (default: the "
                        "shipped models; a converted or candidate set elsewhere)")
    p.add_argument("--backend", default="auto", help="auto, ort or litert (default auto: by file type)")
    p.add_argument("--threads", type=int, default=2, help="model CPU threads (default 2)")
    p.add_argument("--faces", default="full", choices=_TREATMENTS, help="treatment of faces (default full)")
    p.add_argument("--background", default="none", choices=_TREATMENTS,
                   help="treatment of everything else (default none)")
    p.add_argument("--faces-strength", type=strength_arg, default="auto",
                   help="in [0, 1], or auto: by each face's blur, 0 for sharp faces (default auto)")
    p.add_argument("--background-strength", type=float, default=1.0, help="in [0, 1] (default 1)")
    p.add_argument("--max-faces", type=int, default=4, help="most faces deblurred per frame (default 4)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--preview", action="store_true", help="show a window (needs a display; q or Esc stops)")
    p.add_argument("--stats", action="store_true", help="print live statistics once a second")
    p.add_argument("--stats-json", type=Path, help="write run statistics as JSON here at the end")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality, 0..51, lower is better (default 18)")
    p.add_argument("--preset", default=None,
                   help="x264 speed preset (default: ultrafast for cameras and streams, to keep up in real "
                        "time; veryfast for files, ~4x smaller)")
    p.add_argument("--retries", type=int, default=5,
                   help="reconnect attempts for a camera or stream that fails (default 5)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing -o file (default: refuse)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run, flags=FLAGS)


def strength_arg(text: str) -> float | str:
    """An argparse type: ``auto`` or a number (range checked by PipelineConfig)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in [0, 1] or 'auto'") from e


def pipeline_config(args: argparse.Namespace, info: SourceInfo) -> PipelineConfig:
    """The pipeline configuration the command-line options describe.

    Raises:
        ConfigError: an option is out of range.
    """
    from dataclasses import replace

    from facemask.options import RunningMode
    from runtime.engines import EngineConfig
    from runtime.video.face_strength import StrengthConfig
    from runtime.video.frames import SourceKind
    from runtime.video.pipeline import DEFAULT_DETECTOR, PipelineConfig

    if args.max_faces < 1:
        raise ConfigError(f"--max-faces {args.max_faces} must be >= 1")
    mode = RunningMode.VIDEO if info.sequential else RunningMode.IMAGE
    return PipelineConfig(
        faces=args.faces, background=args.background,
        faces_strength=args.faces_strength, background_strength=args.background_strength,
        model=args.model or video_model(info.live), models_dir=args.models_dir,
        engine=EngineConfig(backend=args.backend, threads=args.threads),
        detector=replace(DEFAULT_DETECTOR, running_mode=mode, max_faces=args.max_faces),
        strength=StrengthConfig(coded_video=info.kind in (SourceKind.FILE, SourceKind.STREAM)),
        reuse_crops=info.live)


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, outputs that would overwrite an input, another output or
    (without ``--overwrite``) an existing recording."""
    from runtime.video.sinks import VIDEO_SUFFIXES

    out: Path | None = args.output
    src = Path(args.source)
    sources = sorted(src.iterdir()) if src.is_dir() else [src] if src.is_file() else []
    model = Path(args.model) if args.model and Path(args.model).is_file() else None
    video_out = out if out is not None and out.suffix.lower() in VIDEO_SUFFIXES else None
    refuse_clashes([*(("--source", f) for f in sources), ("--model", model)],
                   [("-o", video_out), ("--stats-json", args.stats_json)])
    if out is None:
        return
    if src.exists() and out.exists() and src.resolve() == out.resolve():
        raise ConfigError(f"-o {out} is the source itself; choose another output so the input is kept")
    if src.is_file() and out.is_dir() and src.resolve().parent == out.resolve():
        raise ConfigError(f"-o {out} is the source's own folder; write to a new folder so no input is overwritten")
    if video_out is not None and video_out.exists() and not args.overwrite:
        raise ConfigError(f"-o {out} already exists; pass --overwrite to replace it or choose another name")


def _point_to_crash_leftovers(out: Path | None) -> None:
    """Tell where recordings of earlier runs that were killed (no clean-up ran) are."""
    from runtime.video.leftovers import stale_partials

    for partial in stale_partials(out) if out is not None else []:
        print(f"edgedeblur run: note: an earlier run writing {out} was killed; its partial recording "
              f"(playable up to the kill) is {partial}: rename it to keep it, or delete it", file=sys.stderr)


def _sinks(args: argparse.Namespace, source: FrameSource) -> tuple[list[Sink], list[str]]:
    """Sinks for ``-o`` and ``--preview``, plus notes for the user."""
    from runtime.video.audio import has_audio
    from runtime.video.colour import ColourTags, read_colour_tags
    from runtime.video.preview import PreviewWindow
    from runtime.video.sinks import VIDEO_SUFFIXES, ImageFolderSink, VideoFileSink, VideoSinkConfig
    from runtime.video.frames import SourceKind
    from runtime.video.sources import ImageFolderSource

    sinks: list[Sink] = []
    notes: list[str] = []
    info = source.info
    out: Path | None = args.output
    if out is not None and out.suffix.lower() in VIDEO_SUFFIXES:
        if isinstance(source, ImageFolderSource) and len(sizes := source.sizes()) > 1:
            (w, h), first = max(sizes.items(), key=lambda kv: len(kv[1]))
            (w2, h2), odd = next((size, paths) for size, paths in sizes.items() if size != (w, h))
            raise ConfigError(f"-o {out}: a video needs one frame size, but {info.uri} has {len(sizes)} "
                              f"({first[0].name} is {w}x{h}, {odd[0].name} {w2}x{h2}); write to an image folder "
                              "instead (-o FOLDER) or resize the images")
        preset = args.preset or ("ultrafast" if info.live else "veryfast")
        file = info.path if info.kind is SourceKind.FILE else None
        colour = read_colour_tags(file) if file is not None else ColourTags()
        cfg = VideoSinkConfig(fps=info.fps or 30.0, crf=args.crf, preset=preset,
                              use_timestamps=info.kind is not SourceKind.FOLDER, colour=colour)
        sinks.append(VideoFileSink(out, cfg, source=file, overwrite=args.overwrite))
        if colour.hdr is not None:
            notes.append(f"{file.name} is HDR ({colour.hdr}): the output keeps its colour tags, so it plays "
                         "with the same colours, but it is 8-bit, so smooth gradients may band")
        if info.live:
            notes.append("live sources are recorded without audio")
    elif out is not None:
        if out.suffix:
            raise ConfigError(f"-o {out}: give a video file ending in {', '.join(VIDEO_SUFFIXES)} "
                              "or a folder name (no suffix) for images")
        sinks.append(ImageFolderSink(out))
        if info.path is not None and has_audio(info.path):
            notes.append(f"the audio of {info.path.name} is not kept: image folders have none; "
                         "write a video file to keep it")
    window = None
    if args.preview:
        window, reason = PreviewWindow.open(f"edgedeblur {args.source}")
        if window is None:
            notes.append(f"{reason}; continuing without a preview")
        else:
            sinks.append(window)
    if out is None and window is None and not (args.stats or args.stats_json):
        notes.append("nothing is saved: add -o FILE.mp4 or -o FOLDER")
    return sinks, notes


class _StopFlag:
    """Ctrl-C / SIGTERM ask the run to stop after the current frame; a second one forces it."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _progress(args: argparse.Namespace, source: FrameSource) -> tuple[Callable[[FrameResult, StatsRecorder], None], Callable[[], None]]:
    """The per-frame callback (bar + live stats line) and a function that closes the bar."""
    from tqdm import tqdm

    total = source.info.frame_count
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total else args.max_frames
    bar = tqdm(total=total, unit="frame", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
    last = [time.monotonic()]

    def on_frame(result: FrameResult, recorder: StatsRecorder) -> None:
        bar.update(1)
        now = time.monotonic()
        if args.stats and now - last[0] >= _LIVE_STATS_EVERY_S:
            last[0] = now
            line = recorder.summary().line()
            if args.no_progress:
                print(line, file=sys.stderr)
            else:
                bar.write(line, file=sys.stderr)

    return on_frame, bar.close


def run(args: argparse.Namespace) -> int:
    """Handle ``edgedeblur run``."""
    quiet_opencv()
    from runtime.video.pipeline import FacePriorityPipeline
    from runtime.video.preview import PreviewWindow
    from runtime.video.frames import SourceConfig
    from runtime.video.sources import open_source
    from runtime.video.stream import run_stream

    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError(f"--max-frames {args.max_frames} must be >= 1")
    _check_paths(args)
    _point_to_crash_leftovers(args.output)
    with open_source(args.source, SourceConfig(max_retries=max(args.retries, 0))) as source:
        config = pipeline_config(args, source.info)
        sinks, notes = _sinks(args, source)
        with FacePriorityPipeline(config) as pipeline:
            for note in notes:
                print(f"edgedeblur run: note: {note}", file=sys.stderr)
            on_frame, close_bar = _progress(args, source)
            with _StopFlag() as stop:
                def should_stop() -> bool:
                    return stop.requested or any(isinstance(s, PreviewWindow) and s.stop_requested
                                                 for s in sinks)
                gui = any(isinstance(s, PreviewWindow) for s in sinks)
                try:
                    report = run_stream(source, pipeline, sinks, on_frame=on_frame, should_stop=should_stop,
                                        max_frames=args.max_frames, overlap_io=not gui)
                finally:
                    close_bar()
    return _finish(args, report, config, stop.requested, source.info.frame_count,
                   getattr(source, "skipped", []))


def _finish(args: argparse.Namespace, report: StreamReport, config: PipelineConfig, interrupted: bool,
            announced: int | None, skipped: list[Path]) -> int:
    """Write the stats JSON, tell the user what was saved, pick the exit code. ``skipped``:
    images of a folder source that could not be decoded (the rest is kept, the run fails)."""
    from runtime.video.frames import STDIN_SPEC, SourceEnd
    from runtime.video.stats import write_stats_json

    if args.stats_json is not None:
        write_stats_json(report.stats, args.stats_json, extra={
            "source": args.source, "model": str(config.model), "faces": config.faces.value,
            "background": config.background.value, "faces_strength": config.faces_strength,
            "background_strength": config.background_strength, "reuse_crops": config.reuse_crops,
            "end": report.end.value})
    if args.stats:
        print(report.stats.line(), file=sys.stderr)
    saved = [r for r in report.outputs if r.path is not None]
    for r in report.outputs:
        if r.note:
            print(f"edgedeblur run: note: {r.note}", file=sys.stderr)
    where = ", ".join(f"{r.path} ({r.frames} frame{'' if r.frames == 1 else 's'})" for r in saved) or "nothing saved"
    if interrupted:
        print(f"edgedeblur run: interrupted; {where}", file=sys.stderr)
        return 130
    if report.end is SourceEnd.LOST:
        why = ("the video on stdin broke off (FFmpeg could not decode the rest)" if args.source == STDIN_SPEC
               else f"{args.source} was lost and did not come back after {args.retries} reconnect attempts")
        print(f"edgedeblur run: error: {why}; {where}", file=sys.stderr)
        return 1
    if report.end is SourceEnd.TRUNCATED:
        print(f"edgedeblur run: error: {args.source} is truncated or corrupt: it ended after "
              f"{report.stats.frames} of the {announced} frames it announces; kept {where}, complete "
              "up to there", file=sys.stderr)
        return 1
    if report.stats.frames == 0:
        why = f": {skipped[0].name} is not an image OpenCV can decode" if len(skipped) == 1 else (
            f": none of its {len(skipped)} images can be decoded" if skipped else "")
        print(f"edgedeblur run: error: {args.source} gave no frames{why}; check it or give another --source",
              file=sys.stderr)
        return 1
    if saved:
        print(f"edgedeblur run: wrote {where} with {config.model}", file=sys.stderr)
    if skipped:
        print(f"edgedeblur run: error: {len(skipped)} image{'s' if len(skipped) > 1 else ''} of {args.source} "
              f"could not be decoded and {'were' if len(skipped) > 1 else 'was'} left out ({some_names(skipped)}); "
              "the others are kept", file=sys.stderr)
        return 1
    return 0
