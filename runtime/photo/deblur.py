"""The photo-deblurring API: one typed call per image or file; the CLI is a thin layer on it.

A ``DeblurConfig`` says what to run (a shipped or user model through tiling, the
kernel-aware path, or a classical baseline with a known kernel) and how strongly;
``Deblurer`` keeps engines loaded across many photos; ``deblur_image`` / ``deblur_file``
are one-shot shortcuts. ``strength`` blends the result with the input in sRGB
(0 = unchanged, 1 = full).

Policy (``method`` x ``mode``), measured on TRAIN_IMAGES and confirmed by the quality
benchmark (``benchmarks/results/quality/quality.md``):

- ``method='auto'`` (default): the learned model first; the kernel-aware path
  (``runtime.photo.kernel_aware``) only where it measurably beats the model on
  camera-made blur and passes per-photo checks (``runtime.photo.policy``: a confident
  defocus disc or straight streak on a quiet photo whose deconvolution re-blurs back to
  the input, then the model cleans up at three-quarter strength). The model's correction is applied
  only where the photo is locally blurry (``runtime.photo.gate``), so sharp regions keep
  their pixels. Real camera shake goes to the model: blind shake kernels lost up to 7 dB
  on ``val_realblur``.
  ``mode`` narrows what the kernel path looks for: 'focus' = defocus disc only,
  'motion' = straight streak or camera shake, 'auto' = whichever the classifier finds.
- ``method='kernel'``: the kernel-aware path alone; an unsure photo is left unchanged.
- ``method='model'``: the learned model alone; 'motion' / 'focus' pick a shipped
  specialist if there is one, 'auto' picks one by a blur estimate.
- ``method='wiener'|'rl'`` need the kernel; ``'unsharp'`` is the no-knowledge baseline.

Example:
    >>> cfg = DeblurConfig(model="small", strength=0.7, mode=Mode.FOCUS)
    >>> result = deblur_image(read_image(Path("photo.jpg")).rgb, cfg)
    >>> result.model_id, result.mode_used
    ('small.fp32.onnx', <Mode.FOCUS: 'focus'>)
"""
from __future__ import annotations

import enum
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from runtime.catalog import DEFAULT_MODEL, SHIPPED_DIR, load_shipped_manifest, resolve_members
from runtime.engines import create_engine
from runtime.engines.base import Engine, EngineConfig
from runtime.engines.tiling import Progress, TileConfig, run_tiled
from runtime.errors import ConfigError, ImageError, parse_choice
from runtime.manifest import ArtifactEntry, Status
from runtime.photo.imageio import check_image, read_for, read_image, write_like
from runtime.photo.kernel_aware import (BlurTarget, KernelAwareConfig, KernelAwareResult, KernelMethod,
                                        centre_crop, kernel_aware_deblur)
from runtime.photo.gate import apply_gate
from runtime.photo.kernels import BlurFamily
from runtime.photo.policy import AutoPolicy

if TYPE_CHECKING:
    from runtime.photo.estimate import BlurEstimate

log = logging.getLogger(__name__)

UNSHARP_AMOUNT = 1.0
UNSHARP_RADIUS_PX = 2.0
AUTO_MIN_CONFIDENCE = 0.5
"""Below this blur-estimate confidence, 'auto' keeps the general model."""
ESTIMATE_CROP_PX = 1024
"""'auto' estimates blur on the central crop of at most this side (bounded cost, same scale)."""


class Mode(str, enum.Enum):
    """Which kind of blur to target: a specialised model if one is shipped."""

    AUTO = "auto"
    MOTION = "motion"
    FOCUS = "focus"


class Method(str, enum.Enum):
    """Kernel-aware path with model fallback (auto), either alone, or a classical baseline.

    WIENER and RL need the blur kernel; see the module notes for the policy.
    """

    AUTO = "auto"
    MODEL = "model"
    KERNEL = "kernel"
    WIENER = "wiener"
    RL = "rl"
    UNSHARP = "unsharp"


@dataclass(frozen=True, slots=True, eq=False)
class DeblurConfig:
    """What to run on each photo.

    Args:
        model: shipped name ('small', 'small.int8'), a .onnx/.tflite path, or names joined
            by '+' (an ensemble: the mean of the members' outputs, ``runtime.engines.ensemble``).
        strength: 0 (unchanged) to 1 (full result), a linear blend in sRGB.
        mode: which blur to target: 'motion', 'focus' or 'auto' (see the module notes).
        method: 'auto' (kernel-aware path, learned model when unsure), 'model',
            'kernel', or a classical baseline: 'wiener', 'rl' (need ``kernel``), 'unsharp'.
        kernel: (kh, kw) blur kernel for wiener/rl; normalised to sum 1 here.
        tile: tile side in pixels; overlap: tile overlap in pixels.
        engine: backend, threads, providers, delegate.
        models_dir: folder of shipped models and their manifest.
        policy: which paths ``method='auto'`` may take (``runtime.photo.policy``).
    """

    model: str | Path = DEFAULT_MODEL
    strength: float = 1.0
    mode: Mode = Mode.AUTO
    method: Method = Method.AUTO
    kernel: NDArray[np.float32] | None = None
    tile: int = 512
    overlap: int = 32
    engine: EngineConfig = field(default_factory=EngineConfig)
    models_dir: Path = SHIPPED_DIR
    policy: AutoPolicy = AutoPolicy()

    def __post_init__(self) -> None:
        s = self.strength
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or not 0 <= s <= 1:
            raise ConfigError(f"`strength` {s} is outside [0, 1]; use 0 (unchanged) to 1 (full deblur), "
                              "e.g. `strength` 0.7")
        object.__setattr__(self, "strength", float(s))
        object.__setattr__(self, "mode", parse_choice(Mode, self.mode, "`mode`"))
        object.__setattr__(self, "method", parse_choice(Method, self.method, "`method`"))
        if not str(self.model).strip():
            raise ConfigError("`model` is empty; give a shipped name (see `edgedeblur models`) or a file")
        needs_kernel = self.method in (Method.WIENER, Method.RL)
        if needs_kernel and self.kernel is None:
            raise ConfigError(f"`method` {self.method.value} needs the blur kernel: pass `kernel` K.png "
                              "(a grayscale image of the point-spread function)")
        if not needs_kernel and self.kernel is not None:
            raise ConfigError(f"`kernel` applies to `method` wiener or rl only, not {self.method.value}; "
                              "drop `kernel` or change `method`")
        if self.kernel is not None:
            from runtime.photo.classical import check_kernel

            object.__setattr__(self, "kernel", check_kernel(self.kernel))
        TileConfig(tile=self.tile, overlap=self.overlap)  # raises ConfigError on bad geometry

    @property
    def tiles(self) -> TileConfig:
        """Tile geometry for the model method."""
        return TileConfig(tile=self.tile, overlap=self.overlap)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model picked for one image, the mode it was picked for and the estimate used."""

    model: str | Path
    mode_used: Mode
    estimate: BlurEstimate | None = None


@dataclass(frozen=True, slots=True, eq=False)
class DeblurResult:
    """One deblurred image.

    ``image`` is (H, W, 3) float32 RGB [0, 1]; ``method`` is the method that produced it
    (MODEL or KERNEL under 'auto'); ``model_id`` is None unless a model ran (with KERNEL:
    the model that cleaned up the deconvolution);
    ``timings_ms`` maps stage ('estimate', 'blind', 'deconvolve', 'choose', 'load',
    'run', 'total') to milliseconds. ``kernel_aware`` is what the kernel-aware path did
    (its branch, estimate, kernel and deconvolution before any model clean-up), None if
    it did not run.
    """

    image: NDArray[np.float32]
    model_id: str | None
    method: Method
    mode_used: Mode
    blur_estimate: BlurEstimate | None
    timings_ms: dict[str, float]
    kernel_aware: KernelAwareResult | None = None
    written: Path | None = None

    @property
    def label(self) -> str:
        """What produced ``image``, for captions and logs (e.g. 'blind deconvolution + small.fp32.onnx')."""
        if self.method is Method.KERNEL and self.kernel_aware is not None:
            base = f"{self.kernel_aware.method.value} deconvolution"
            return f"{base} + {self.model_id}" if self.model_id else base
        return self.model_id or self.method.value


def load_kernel(path: Path) -> NDArray[np.float32]:
    """Read a blur kernel image (grayscale or RGB averaged) and normalise it to sum 1.

    Raises:
        ImageError: the file cannot be read.
        ConfigError: the kernel is all black.
    """
    img = read_image(Path(path))
    k = img.rgb.mean(axis=2)
    total = float(k.sum())
    if total <= 0:
        raise ConfigError(f"`kernel` {path} is empty (all black); draw the blur path in white on black")
    return (k / total).astype(np.float32)


def _specialists(entries: list[ArtifactEntry], general: ArtifactEntry, mode: Mode) -> list[ArtifactEntry]:
    """Shipped models for ``mode`` in the general model's format and precision, its family first."""
    found = [e for e in entries if e.status is Status.OK and e.notes.get("specialty") == mode.value
             and e.format is general.format and e.precision is general.precision]
    return sorted(found, key=lambda e: (not e.model.startswith(general.model), e.id))


def _estimate(image: NDArray[np.float32]) -> BlurEstimate | None:
    """Blur estimate of the central crop, or None when the image is too small to judge."""
    from runtime.photo.estimate import classify_blur

    try:
        return classify_blur(centre_crop(image, ESTIMATE_CROP_PX))
    except ImageError as e:            # smaller than the estimator's patch
        log.debug("blur estimate skipped: %s", e)
        return None


def _mode_of(estimate: BlurEstimate | None) -> Mode:
    """MOTION or FOCUS for a confident estimate of blur; AUTO (general model) otherwise."""
    if estimate is None or estimate.is_sharp or estimate.confidence < AUTO_MIN_CONFIDENCE:
        return Mode.AUTO
    if estimate.family in (BlurFamily.CAMERA_SHAKE, BlurFamily.LINEAR_MOTION):
        return Mode.MOTION
    return Mode.FOCUS


def choose_model(mode: Mode, image: NDArray[np.float32], config: DeblurConfig, *,
                 estimate: BlurEstimate | None = None) -> ModelChoice:
    """Pick the model for one image: the one policy for --mode (the lead refines it here).

    A model file given by path, or an ensemble, is used as is. Otherwise 'motion'/'focus' take a shipped
    model whose ``notes['specialty']`` matches (same format and precision as the
    configured one) and fall back to the configured model; 'auto' estimates the blur
    (only when a specialist exists to choose; ``estimate`` reuses one already made) and
    then does the same.
    """
    members = resolve_members(config.model, models_dir=config.models_dir)
    resolved = members[0]
    if len(members) > 1 or resolved.entry is None:
        return ModelChoice(config.model, mode)
    entries = load_shipped_manifest(config.models_dir).artifacts
    estimate = None
    used = mode
    if mode is Mode.AUTO:
        if not any(_specialists(entries, resolved.entry, m) for m in (Mode.MOTION, Mode.FOCUS)):
            return ModelChoice(resolved.entry.id, Mode.AUTO)
        estimate = estimate if estimate is not None else _estimate(image)
        used = _mode_of(estimate)
    best = _specialists(entries, resolved.entry, used) if used is not Mode.AUTO else []
    return ModelChoice(best[0].id if best else resolved.entry.id, used, estimate)


_KERNEL_MODES: dict[str, Mode] = {"defocus": Mode.FOCUS, "linear_motion": Mode.MOTION, "shake": Mode.MOTION}
"""Mode a kernel-aware result stands for, by ``KernelMethod`` value."""


@dataclass(frozen=True, slots=True, eq=False)
class _Ran:
    """What one method produced, before strength blending."""

    image: NDArray[np.float32]
    method: Method
    mode: Mode
    model_id: str | None = None
    estimate: BlurEstimate | None = None
    kernel_aware: KernelAwareResult | None = None


class Deblurer:
    """Deblurs many photos with one config, keeping loaded engines between them.

    Example:
        >>> with Deblurer(DeblurConfig(strength=0.7)) as d:
        ...     for src in photos:
        ...         d.deblur_file(src, src.with_suffix(".sharp.png"))
    """

    def __init__(self, config: DeblurConfig = DeblurConfig(), engine: Engine | None = None) -> None:
        """``engine``: an already-loaded engine to use for every image (mode choice skipped)."""
        self.config = config
        self._given = engine
        self._engines: dict[str, Engine] = {}

    def _engine(self, model: str | Path) -> Engine:
        key = str(model)
        if key not in self._engines:
            self._engines[key] = create_engine(model, self.config.engine, models_dir=self.config.models_dir)
        return self._engines[key]

    def load(self) -> None:
        """Load the configured model now, not on the first photo (a Ray worker's start-up);
        specialists picked per photo still load when first needed.

        Raises:
            ModelLoadError: the model cannot be found or loaded.
        """
        if self._given is not None or self.config.method not in (Method.AUTO, Method.MODEL):
            return
        members = resolve_members(self.config.model, models_dir=self.config.models_dir)
        one = members[0] if len(members) == 1 else None
        self._engine(one.entry.id if one is not None and one.entry is not None else self.config.model)

    def deblur_image(self, image_rgb: NDArray[np.float32], progress: Progress | None = None) -> DeblurResult:
        """Deblur one (H, W, 3) float32 RGB [0, 1] image.

        Raises:
            ImageError: not an RGB float image, or NaN/Inf in it.
            ModelLoadError, EngineError: the model cannot be loaded or run.
            ConfigError: a classical method rejected the kernel.
        """
        cfg = self.config
        start = time.perf_counter()
        # Clipped into a copy only when out of range: a 48 MP photo need not be held twice.
        img = check_image(image_rgb, clip=bool(image_rgb.size) and not 0 <= image_rgb.min() <= image_rgb.max() <= 1)
        timings: dict[str, float] = {}
        if cfg.strength == 0:
            ran = _Ran(img.copy(), cfg.method, cfg.mode)
        elif cfg.method is Method.MODEL:
            ran = self._model(img, cfg.mode, None, timings, progress)
        elif cfg.method in (Method.AUTO, Method.KERNEL):
            ran = self._kernel_then_model(img, timings, progress)
        else:
            ran = _Ran(self._classical(img, timings), cfg.method, cfg.mode)
        out = ran.image
        if 0 < cfg.strength < 1:
            out = (img + np.float32(cfg.strength) * (out - img)).astype(np.float32)
        timings["total"] = (time.perf_counter() - start) * 1e3
        return DeblurResult(out, ran.model_id, ran.method, ran.mode, ran.estimate, timings, ran.kernel_aware)

    def _model(self, img: NDArray[np.float32], mode: Mode, estimate: BlurEstimate | None,
               timings: dict[str, float], progress: Progress | None) -> _Ran:
        """The learned model (a shipped specialist for ``mode`` when there is one)."""
        if self._given is not None:
            engine, used = self._given, mode
        else:
            t = time.perf_counter()
            choice = choose_model(mode, img, self.config, estimate=estimate)
            used, estimate = choice.mode_used, choice.estimate or estimate
            timings["choose"] = (time.perf_counter() - t) * 1e3
            t = time.perf_counter()
            engine = self._engine(choice.model)
            timings["load"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        out = run_tiled(engine, img, self.config.tiles, progress)
        timings["run"] = (time.perf_counter() - t) * 1e3
        return _Ran(out, Method.MODEL, used, engine.info.id, estimate)

    def _kernel_then_model(self, img: NDArray[np.float32], timings: dict[str, float],
                           progress: Progress | None) -> _Ran:
        """Kernel-aware path; under 'auto' the policy decides between its result (cleaned up by
        the model), the input (sharp) and the model alone."""
        cfg, policy = self.config, self.config.policy
        target = {Mode.AUTO: BlurTarget.ANY, Mode.FOCUS: BlurTarget.DEFOCUS, Mode.MOTION: BlurTarget.MOTION}[cfg.mode]
        kcfg = KernelAwareConfig(target=target) if cfg.method is Method.KERNEL else policy.kernel_config(target)
        ka = kernel_aware_deblur(img, kcfg, checked=True)
        timings.update({k: v for k, v in ka.timings_ms.items() if k != "total"})
        mode = _KERNEL_MODES.get(ka.method.value, cfg.mode)
        sharp = ka.method is KernelMethod.SHARP
        if cfg.method is Method.KERNEL or (sharp and policy.keep_sharp):
            kept = ka.image.copy() if ka.image is img else ka.image      # never hand back the caller's array
            return _Ran(kept, Method.KERNEL, mode, estimate=ka.estimate, kernel_aware=ka)
        t = time.perf_counter()
        accepted = policy.accepts(ka, img)
        timings["check"] = (time.perf_counter() - t) * 1e3
        if not accepted:
            ran = self._model(img, cfg.mode, ka.estimate, timings, progress)
            out = ran.image
            if cfg.method is Method.AUTO and policy.gate is not None:
                t = time.perf_counter()
                out = apply_gate(img, out, policy.gate, out=out)     # the model's own output: reused
                timings["gate"] = (time.perf_counter() - t) * 1e3
            return _Ran(out, ran.method, ran.mode, ran.model_id, ran.estimate, ka)
        ran = self._model(ka.image, mode, ka.estimate, timings, progress)
        out = ka.image + np.float32(policy.cleanup_strength) * (ran.image - ka.image)
        return _Ran(out.astype(np.float32), Method.KERNEL, mode, ran.model_id, ka.estimate, ka)

    def _classical(self, img: NDArray[np.float32], timings: dict[str, float]) -> NDArray[np.float32]:
        from runtime.photo import classical

        cfg = self.config
        t = time.perf_counter()
        if cfg.method is Method.WIENER:
            out = classical.wiener(img, cfg.kernel, checked=True)  # type: ignore[arg-type]
        elif cfg.method is Method.RL:
            out = classical.richardson_lucy(img, cfg.kernel, checked=True)  # type: ignore[arg-type]
        else:
            out = classical.unsharp_mask(img, UNSHARP_AMOUNT, UNSHARP_RADIUS_PX, checked=True)
        timings["run"] = (time.perf_counter() - t) * 1e3
        return out

    def deblur_file(self, src: Path, dst: Path, overwrite: bool = False,
                    progress: Progress | None = None, *, exclusive: bool = False) -> DeblurResult:
        """Read ``src``, deblur, write ``dst`` atomically in the input's bit depth/alpha/grey.

        ``exclusive`` never replaces an existing file: a ``dst`` that appears meanwhile
        (another run) makes it write ``stem.N.suffix`` instead; ``result.written`` says where.

        Raises:
            ConfigError: ``dst`` is ``src`` and ``overwrite`` is False.
            ImageError: unreadable input, unsupported or unwritable output.
        """
        loaded = read_for(src, dst, overwrite=overwrite)
        result = self.deblur_image(loaded.rgb, progress)
        return replace(result, written=write_like(dst, result.image, loaded, exclusive=exclusive))

    def close(self) -> None:
        """Close the engines this object loaded (not one passed in)."""
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()

    def __enter__(self) -> Deblurer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def deblur_image(image_rgb: NDArray[np.float32], config: DeblurConfig = DeblurConfig(),
                 engine: Engine | None = None, progress: Progress | None = None) -> DeblurResult:
    """Deblur one (H, W, 3) float32 RGB [0, 1] image (see ``Deblurer.deblur_image``)."""
    with Deblurer(config, engine) as d:
        return d.deblur_image(image_rgb, progress)


def deblur_file(src: Path, dst: Path, config: DeblurConfig = DeblurConfig(), overwrite: bool = False,
                engine: Engine | None = None) -> DeblurResult:
    """Deblur one image file into ``dst`` (see ``Deblurer.deblur_file``)."""
    with Deblurer(config, engine) as d:
        return d.deblur_file(src, dst, overwrite)
