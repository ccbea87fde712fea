"""``edgedeblur profile``: energy and latency of deblurring configurations on one video.

    edgedeblur profile --source clip.mp4 --frames 300 \\
        --config full:small.fp32 --config full:small.int8 --config faces:small.int8 \\
        --meter auto --report profile/

A ``--config`` is ``MODE:MODEL``: ``full`` deblurs whole frames, ``faces`` only the face
regions (background untouched), ``faces+light`` faces with the model and the background
with the light (unsharp) path; MODEL is a shipped model id or a model file. The first
``--config`` is the baseline that savings are computed against.
"""
from __future__ import annotations

import argparse
import enum
import itertools
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from runtime.catalog import SHIPPED_DIR
from runtime.commands import flags
from runtime.errors import ConfigError

if TYPE_CHECKING:
    from runtime.video.pipeline import FacePriorityPipeline
    from runtime.energy.profile import FrameProcessor, FrameRGB, ProcessorFactory, ProfileConfig, ProfileResult


class Coverage(str, enum.Enum):
    """What a configuration deblurs: ``MODE`` in ``MODE:MODEL``."""

    FULL = "full"
    FACES = "faces"
    FACES_LIGHT = "faces+light"


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """A parsed ``--config MODE:MODEL``.

    Attributes:
        coverage: what is deblurred.
        model: shipped model id or model file path.
    """

    coverage: Coverage
    model: str

    @classmethod
    def parse(cls, text: str) -> PipelineSpec:
        """Parse ``"faces:small.int8"``.

        Raises:
            ConfigError: not ``MODE:MODEL`` or an unknown mode.
        """
        mode, sep, model = text.partition(":")
        modes = ", ".join(c.value for c in Coverage)
        if not sep or not model.strip():
            raise ConfigError(f"--config {text!r} must be MODE:MODEL with MODE one of {modes}, "
                              "e.g. --config faces:small.int8")
        try:
            return cls(Coverage(mode.strip().lower()), model.strip())
        except ValueError as e:
            raise ConfigError(f"--config {text!r}: unknown mode {mode!r}; use one of {modes}") from e


FLAGS = flags("frames", "repeats", "config", "source", "threads", "idle_s", "power_model", "report",
              chunk_frames="--chunk", warmup_frames="--warmup", spec="--source", kind="--meter", log_path="--meter-log",
              log_offset_s="--meter-log-offset-s", power_models_file="--power-models")
"""Library field -> this command's flag, for error messages."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``profile`` subcommand."""
    from runtime.energy.registry import METER_CHOICES

    p = subparsers.add_parser(
        "profile", help="measure energy and latency per frame of deblurring configurations",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True, help="video file (or image folder) to profile on")
    p.add_argument("--config", action="append", required=True, metavar="MODE:MODEL",
                   help="a configuration; repeat it; the first is the baseline")
    p.add_argument("--models-dir", type=Path, default=SHIPPED_DIR, metavar="DIR",
                   help="folder holding manifest.json, where MODEL names are looked up (default: the "
                        "shipped models; a converted or candidate set elsewhere)")
    p.add_argument("--frames", type=int, default=300, help="frames per pass (default 300)")
    p.add_argument("--report", type=Path, default=Path("profile"), help="report folder (default profile/)")
    p.add_argument("--meter", default="auto", choices=METER_CHOICES,
                   help="energy meter; auto = the most trusted present (default)")
    p.add_argument("--meter-log", type=Path, help="an external USB meter's live CSV log (meter csv)")
    p.add_argument("--meter-log-offset-s", type=float, default=0.0,
                   help="seconds added to the log's times to match this machine's clock")
    p.add_argument("--power-model", help="power model of the estimate (default: detected; "
                   "built in: pi4, pi5, phone-big-little, x86-generic)")
    p.add_argument("--power-models", type=Path, metavar="FILE", help="JSON/TOML file overriding or adding power models")
    p.add_argument("--battery-current-unit", default="auto", choices=("auto", "uA", "mA"),
                   help="unit of the battery's current_now when its driver bends the ABI")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured warm-up frames per configuration")
    p.add_argument("--chunk", type=int, default=30,
                   help="frames per measured segment; configurations rotate per chunk (default 30)")
    p.add_argument("--repeats", type=int, default=1, help="passes over the frames (default 1)")
    p.add_argument("--idle-s", type=float, default=5.0,
                   help="seconds of idle measured first with a hardware meter (default 5; 0 = skip)")
    p.add_argument("--threads", type=int, default=2, help="model engine threads (default 2)")
    p.add_argument("--sys-root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=run, flags=FLAGS)


def frame_supply(source: str, frames: int) -> Iterator[FrameRGB]:
    """Frames of ``source`` as HxWx3 uint8 RGB, at most ``frames`` of them.

    Raises:
        SourceError: the source cannot be opened.
    """
    from runtime.video.sources import open_source

    with open_source(source) as src:
        yield from itertools.islice((f.image_rgb for f in src), frames)


class _PipelineProcessor:
    """Feeds bare RGB frames to a pipeline with increasing timestamps (its face tracker needs them)."""

    def __init__(self, pipeline: FacePriorityPipeline, fps: float) -> None:
        self._pipeline = pipeline
        self._step_ms = 1000.0 / fps
        self._index = 0

    def __call__(self, image_rgb: FrameRGB) -> FrameRGB:
        from runtime.video.frames import Frame

        frame = Frame(image_rgb, self._index, self._index * self._step_ms)
        self._index += 1
        return self._pipeline.process(frame).image_rgb


def pipeline_factory(stack: ExitStack, *, threads: int = 2, fps: float = 30.0,
                     models_dir: Path = SHIPPED_DIR) -> ProcessorFactory:
    """Build a face-priority pipeline per ``ProfileConfig`` whose spec is ``MODE:MODEL``.

    This is the one place that knows the video pipeline's API. ``full`` is the pipeline's
    full-frame baseline (faces and background both ``full``: no face detection, the model
    tiled over the frame); ``faces`` leaves the background untouched; ``faces+light``
    sharpens it with the unsharp path. Pipelines are closed when ``stack`` closes.

    Args:
        stack: owns the pipelines.
        threads: model engine threads.
        fps: frame rate used for the synthetic timestamps the face tracker sees.
        models_dir: where MODEL names are looked up (a converted or candidate set).

    Raises:
        ConfigError: a malformed spec.
        ModelLoadError: the model does not exist (from the model catalog).
    """
    from runtime.engines import EngineConfig
    from runtime.video.pipeline import FacePriorityPipeline, PipelineConfig, Treatment

    treatments = {Coverage.FULL: (Treatment.FULL, Treatment.FULL),
                  Coverage.FACES: (Treatment.FULL, Treatment.NONE),
                  Coverage.FACES_LIGHT: (Treatment.FULL, Treatment.LIGHT)}

    def build(config: ProfileConfig) -> FrameProcessor:
        spec = PipelineSpec.parse(config.spec)
        faces, background = treatments[spec.coverage]
        pipeline = FacePriorityPipeline(PipelineConfig(faces=faces, background=background, model=spec.model,
                                                       models_dir=models_dir, engine=EngineConfig(threads=threads)))
        stack.enter_context(pipeline)
        return _PipelineProcessor(pipeline, fps)

    return build


def _summary(result: ProfileResult) -> str:
    kind = "measured" if result.meter.measured else "ESTIMATED"
    lines = [f"meter: {result.meter.kind.value} ({kind}): {result.meter.source}"]
    width = max(len(c.config.name) for c in result.configs)
    for i, c in enumerate(result.configs):
        saving = result.saving(i)
        tail = "baseline" if i == 0 or saving is None else f"{100 * saving:+.1f}% saved"
        lines.append(f"  {c.config.name:<{width}} {c.energy_mj_per_frame:9.1f} mJ/frame  {c.fps:7.2f} fps  "
                     f"p50 {c.latency_ms(50):7.1f} ms  p95 {c.latency_ms(95):7.1f} ms  {tail}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Handle ``edgedeblur profile``."""
    from runtime.energy.battery import CurrentUnit
    from runtime.energy.registry import MeterConfig, create_meter
    from runtime.energy.report import write_report
    from runtime.energy.profile import ProfileConfig, ProfileOptions, run_profile

    options = ProfileOptions(frames=args.frames, warmup_frames=args.warmup, chunk_frames=args.chunk,
                             repeats=args.repeats, idle_s=args.idle_s)
    configs = [ProfileConfig(text, text) for text in args.config]
    for c in configs:
        PipelineSpec.parse(c.spec)
    meter_config = MeterConfig(kind=args.meter, sys_root=args.sys_root, log_path=args.meter_log,
                               log_offset_s=args.meter_log_offset_s, power_model=args.power_model,
                               power_models_file=args.power_models,
                               battery_current_unit=CurrentUnit(args.battery_current_unit))
    next(frame_supply(args.source, 1), None)  # a bad --source fails before the meter opens
    choice = create_meter(meter_config)
    with ExitStack() as stack:
        result = run_profile(lambda: frame_supply(args.source, args.frames), configs,
                             pipeline_factory(stack, threads=args.threads, models_dir=args.models_dir),
                             choice.meter, options,
                             skipped_meters=choice.skipped, progress=not args.no_progress)
    files = write_report(result, args.report)
    print(_summary(result))
    print(f"report: {files.markdown} ({files.json.name}, {files.html.name}, PNG plots)")
    return 0
