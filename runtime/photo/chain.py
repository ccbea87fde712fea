"""The restore chain: deblur -> denoise -> upscale, each link RGB in, RGB out.

Deblurring first recovers edges; it also amplifies noise and JPEG banding, so a light
denoise follows; upscaling last keeps the upscaler from enlarging blur and noise into smear.
Each link is a function of its own (``deblur_link``, ``denoise_link``, ``upscale_link``:
(H, W, 3) float32 sRGB [0, 1] in and out, model given as a loaded engine or a name), so
other orders can be run and compared; ``restore`` runs the default order, and
``Restorer`` keeps the engines loaded over an album.

- deblur: the photo pipeline of ``runtime.photo.deblur`` as is (auto policy, kernel path,
  sharpness gate); its ``strength`` 0 skips it.
- denoise: the blind denoiser (shipped as ``denoise``) through tiling, blended with its
  input at a strength: a number, or 'auto': the noise left after deblurring
  (``runtime.photo.gate.noise_sigma``) decides (``AutoDenoise``).
- upscale: the x2 upscaler (shipped as ``x2``) once (x2) or twice (x4), blended with a
  Lanczos upscale of its input at ``upscale_strength``. Memory stays at about one output:
  tiles add into it (``run_tiled``) and the Lanczos blend runs in bands.

Example:
    >>> cfg = RestoreConfig(denoise="auto", upscale=2)
    >>> result = restore(read_image(Path("photo.jpg")).rgb, cfg)
    >>> result.image.shape, result.label        # (2H, 2W, 3)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.catalog import SHIPPED_DIR
from runtime.engines import create_engine
from runtime.engines.base import Engine, EngineConfig
from runtime.engines.tiling import Progress, TileConfig, run_tiled
from runtime.errors import ConfigError, closest
from runtime.photo.deblur import DeblurConfig, Deblurer, deblur_image
from runtime.photo.gate import noise_sigma
from runtime.photo.imageio import check_image, read_for, write_like

DENOISE_MODEL = "denoise"
"""The shipped blind denoiser (manifest task 'denoise')."""
UPSCALE_MODEL = "x2"
"""The shipped x2 upscaler (manifest task 'upscale', scale 2)."""
UPSCALE_FACTORS = (1, 2, 4)
"""1 = keep the size; 4 = the x2 model twice."""
DENOISE_CHOICES = ("off", "auto")
LANCZOS_BAND_PX = 256
"""Input rows per band of the Lanczos blend (with a margin of ``_LANCZOS_MARGIN`` rows)."""
_LANCZOS_MARGIN = 8

ModelRef = Engine | str | Path
"""A loaded engine, a shipped model name, or a model file path."""
ChainProgress = Callable[[str, int, int], None]
"""Called as ``progress(link, tiles_done, tiles_total)``; ``link`` is 'deblur', 'denoise' or 'upscale'."""


def check_strength(value: object, name: str) -> float:
    """A link strength as a float in [0, 1], else a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise ConfigError(f"`{name}` {value} is outside [0, 1]; use 0 (off) to 1 (full), e.g. `{name}` 0.5")
    return float(value)


@dataclass(frozen=True, slots=True)
class AutoDenoise:
    """How 'auto' turns the noise left after deblurring into a denoise strength.

    ``noise_sigma`` (grey level, in [0, 1] units) at or below ``skip_at`` skips the link; from
    there the strength rises linearly to 1 at ``full_at``. Set on training photos
    (``benchmarks/denoise_auto_calibration.py``, ``benchmarks/results/denoise_auto/``).
    """

    skip_at: float = 2.5 / 255
    """Above what clean photos (JPEG q90) read after deblurring: they are left alone."""
    full_at: float = 8.0 / 255
    """What photos with clearly visible noise read after deblurring: full strength."""

    def __post_init__(self) -> None:
        if not 0 <= self.skip_at < self.full_at <= 1:
            raise ConfigError(f"auto denoise needs 0 <= skip_at ({self.skip_at}) < full_at ({self.full_at}) <= 1")

    def strength(self, sigma: float) -> float:
        """Denoise strength in [0, 1] for a measured noise sigma."""
        return float(np.clip((sigma - self.skip_at) / (self.full_at - self.skip_at), 0.0, 1.0))


@dataclass(frozen=True, slots=True, eq=False)
class RestoreConfig:
    """What the chain runs on each photo.

    Args:
        deblur: the deblur link (model, mode, method, strength; 0 skips it). Its ``engine``,
            ``models_dir``, ``tile`` and ``overlap`` apply to every link.
        denoise: 'off', 'auto' (by the noise left after deblurring) or a strength in [0, 1].
        denoise_strength: with 'auto', the strength at full noise (a gentler auto: 0.5).
        upscale: 1, 2 or 4 (the x2 model twice).
        upscale_strength: 0 (a plain Lanczos upscale) to 1 (the model's upscale).
        denoise_model, upscale_model: shipped names or .onnx/.tflite paths.
        auto_denoise: the thresholds of 'auto'.
    """

    deblur: DeblurConfig = field(default_factory=DeblurConfig)
    denoise: str | float = "off"
    denoise_strength: float = 1.0
    upscale: int = 1
    upscale_strength: float = 1.0
    denoise_model: str | Path = DENOISE_MODEL
    upscale_model: str | Path = UPSCALE_MODEL
    auto_denoise: AutoDenoise = AutoDenoise()

    def __post_init__(self) -> None:
        object.__setattr__(self, "denoise", parse_denoise(self.denoise))
        object.__setattr__(self, "denoise_strength", check_strength(self.denoise_strength, "denoise_strength"))
        if self.denoise_strength != 1 and self.denoise != "auto":
            raise ConfigError(f"`denoise_strength` applies to `denoise` auto; with `denoise` {self.denoise} give "
                              "the strength as `denoise` itself (e.g. `denoise` 0.5)")
        if isinstance(self.upscale, bool) or self.upscale not in UPSCALE_FACTORS:
            raise ConfigError(f"`upscale` {self.upscale!r} must be 1, 2 or 4 (4 = the x2 model twice)")
        object.__setattr__(self, "upscale_strength", check_strength(self.upscale_strength, "upscale_strength"))
        for name in ("denoise_model", "upscale_model"):
            if not str(getattr(self, name)).strip():
                raise ConfigError(f"`{name}` is empty; give a shipped name (see `edgedeblur models`) or a file")

    @property
    def tiles(self) -> TileConfig:
        """Tile geometry of every link."""
        return self.deblur.tiles

    @property
    def chained(self) -> bool:
        """Whether anything runs after the deblur link."""
        return self.denoise != "off" or self.upscale != 1

    def chain_models(self) -> dict[str, str | Path]:
        """The models the links after deblurring may run: link name -> model name or path."""
        used: dict[str, str | Path] = {}
        if self.denoise not in ("off", 0.0):
            used["denoise"] = self.denoise_model
        if self.upscale > 1 and self.upscale_strength > 0:
            used["upscale"] = self.upscale_model
        return used


def parse_denoise(value: object) -> str | float:
    """'off', 'auto' or a strength in [0, 1] (numbers may come as text, from a flag)."""
    if isinstance(value, str) and value.strip().lower() in DENOISE_CHOICES:
        return value.strip().lower()
    try:
        number = float(value) if isinstance(value, str) and not isinstance(value, bool) else value
    except ValueError:
        number = None
    if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number) \
            and 0 <= number <= 1:
        return float(number)
    near = closest(value, DENOISE_CHOICES)
    hint = f"; did you mean {near!r}?" if near else ""
    raise ConfigError(f"`denoise` {value!r} must be off, auto or a strength in [0, 1]{hint}")


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What one link did: ``label`` names the model (or why it was skipped), ``strength`` is
    the blend used (0 = skipped), ``ms`` its wall time."""

    link: str
    label: str
    strength: float
    ms: float


@dataclass(frozen=True, slots=True, eq=False)
class RestoreResult:
    """One restored photo: ``image`` (H * upscale, W * upscale, 3) float32 RGB [0, 1]; the
    links in order; ``noise_sigma`` measured after deblurring (None unless denoise 'auto')."""

    image: NDArray[np.float32]
    links: tuple[LinkReport, ...]
    noise_sigma: float | None = None
    written: Path | None = None

    @property
    def label(self) -> str:
        """What produced ``image``, e.g. 'small.fp32.onnx -> denoise.fp32.onnx 0.42 -> x2.fp32.onnx x2'."""
        return " -> ".join(r.label for r in self.links)

    @property
    def timings_ms(self) -> dict[str, float]:
        """Milliseconds per link."""
        return {r.link: r.ms for r in self.links}


def _open(ref: ModelRef, models_dir: Path, config: EngineConfig) -> tuple[Engine, bool]:
    """The engine for ``ref`` and whether we opened it (and so must close it)."""
    if isinstance(ref, (str, Path)):
        return create_engine(ref, config, models_dir=models_dir), True
    return ref, False


def _check_scale(engine: Engine, scale: int, link: str) -> None:
    if engine.info.scale != scale:
        what = "a same-size model (task 'denoise')" if scale == 1 else f"an x{scale} upscaler (task 'upscale')"
        raise ConfigError(f"`{link}_model` {engine.info.id} has scale {engine.info.scale}; the {link} link needs "
                          f"{what}, e.g. {DENOISE_MODEL if scale == 1 else UPSCALE_MODEL!r}")


def deblur_link(image_rgb: NDArray[np.float32], config: DeblurConfig = DeblurConfig(),
                engine: Engine | None = None, progress: Progress | None = None) -> NDArray[np.float32]:
    """The deblur link: ``runtime.photo.deblur.deblur_image`` (policy, gate, strength) as is.

    Returns:
        (H, W, 3) float32 RGB [0, 1].
    """
    return deblur_image(image_rgb, config, engine, progress).image


def denoise_link(image_rgb: NDArray[np.float32], strength: float | str = "auto", engine: ModelRef = DENOISE_MODEL,
                 *, auto: AutoDenoise = AutoDenoise(), tiles: TileConfig = TileConfig(),
                 models_dir: Path = SHIPPED_DIR, engine_config: EngineConfig = EngineConfig(),
                 progress: Progress | None = None) -> NDArray[np.float32]:
    """The denoise link: ``image + s * (denoiser(image) - image)``.

    Args:
        image_rgb: (H, W, 3) float32 RGB [0, 1].
        strength: in [0, 1], or 'auto': ``auto.strength(noise_sigma(image))``.
        engine: a loaded same-size engine, or a model name/path opened (and closed) here.

    Returns:
        (H, W, 3) float32 RGB [0, 1].

    Raises:
        ConfigError: bad strength, or the model is not same-size.
        ModelLoadError, EngineError, ImageError: as ``run_tiled``.
    """
    img = check_image(image_rgb, clip=True)
    s = parse_denoise(strength)
    s = auto.strength(noise_sigma(img)) if s == "auto" else 0.0 if s == "off" else float(s)
    if s == 0:
        return img
    model, owned = _open(engine, models_dir, engine_config)
    try:
        _check_scale(model, 1, "denoise")
        out = run_tiled(model, img, tiles, progress)
    finally:
        if owned:
            model.close()
    if s < 1:
        out -= img
        out *= np.float32(s)
        out += img
    return out


def _lanczos_blend(src: NDArray[np.float32], out: NDArray[np.float32], factor: int, strength: float) -> None:
    """``out = lanczos(src) + strength * (out - lanczos(src))`` in place, band by band: each
    band resizes its input rows plus a margin, which gives exactly the whole-image resize."""
    h, w = src.shape[:2]
    for y0 in range(0, h, LANCZOS_BAND_PX):
        y1 = min(h, y0 + LANCZOS_BAND_PX)
        a, b = max(0, y0 - _LANCZOS_MARGIN), min(h, y1 + _LANCZOS_MARGIN)
        big = cv2.resize(src[a:b], (w * factor, (b - a) * factor), interpolation=cv2.INTER_LANCZOS4)
        band = big[(y0 - a) * factor:(y1 - a) * factor]
        target = out[y0 * factor:y1 * factor]
        target -= band
        target *= np.float32(strength)
        target += band
    np.clip(out, 0, 1, out=out)


def upscale_link(image_rgb: NDArray[np.float32], factor: int = 2, strength: float = 1.0,
                 engine: ModelRef = UPSCALE_MODEL, *, tiles: TileConfig = TileConfig(),
                 models_dir: Path = SHIPPED_DIR, engine_config: EngineConfig = EngineConfig(),
                 progress: Progress | None = None) -> NDArray[np.float32]:
    """The upscale link: the x2 model once (``factor`` 2) or twice (4), blended with a
    Lanczos upscale of the input at ``strength`` (0 = Lanczos only, no model run).

    Args:
        image_rgb: (H, W, 3) float32 RGB [0, 1].
        engine: a loaded x2 engine, or a model name/path opened (and closed) here.

    Returns:
        (H * factor, W * factor, 3) float32 RGB [0, 1].

    Raises:
        ConfigError: bad factor or strength, or the model is not an x2 upscaler.
        ModelLoadError, EngineError, ImageError: as ``run_tiled``.
    """
    img = check_image(image_rgb, clip=True)
    if isinstance(factor, bool) or factor not in UPSCALE_FACTORS:
        raise ConfigError(f"`upscale` {factor!r} must be 1, 2 or 4 (4 = the x2 model twice)")
    s = check_strength(strength, "upscale_strength")
    if factor == 1:
        return img
    if s == 0:
        out = np.zeros((img.shape[0] * factor, img.shape[1] * factor, 3), np.float32)
        _lanczos_blend(img, out, factor, 0.0)
        return out
    model, owned = _open(engine, models_dir, engine_config)
    try:
        _check_scale(model, 2, "upscale")
        out = img
        for _ in range(factor // 2):
            out = run_tiled(model, out, tiles, progress)
    finally:
        if owned:
            model.close()
    if s < 1:
        _lanczos_blend(img, out, factor, s)
    return out


class Restorer:
    """Runs the chain over many photos with one config, keeping every engine loaded.

    The link methods (``deblur``, ``denoise``, ``upscale``) run one link with the loaded
    engines, in any order; ``restore_image`` runs the configured chain.

    Example:
        >>> with Restorer(RestoreConfig(denoise="auto", upscale=2)) as r:
        ...     for src in photos:
        ...         r.restore_file(src, src.with_suffix(".print.png"))
    """

    def __init__(self, config: RestoreConfig = RestoreConfig()) -> None:
        self.config = config
        self.deblurer = Deblurer(config.deblur)
        self._engines: dict[str, Engine] = {}

    def engine(self, model: str | Path) -> Engine:
        """The loaded engine for a model name or path (loaded on first use)."""
        key = str(model)
        if key not in self._engines:
            d = self.config.deblur
            self._engines[key] = create_engine(model, d.engine, models_dir=d.models_dir)
        return self._engines[key]

    def load(self) -> None:
        """Load every model the config may use now, not on the first photo.

        Raises:
            ModelLoadError: a model cannot be found or loaded.
        """
        self.deblurer.load()
        for model in self.config.chain_models().values():
            self.engine(model)

    def deblur(self, image_rgb: NDArray[np.float32], progress: Progress | None = None) -> NDArray[np.float32]:
        """The deblur link with the configured ``DeblurConfig``."""
        return self.deblurer.deblur_image(image_rgb, progress).image

    def denoise(self, image_rgb: NDArray[np.float32], strength: float | str = "auto",
                progress: Progress | None = None) -> NDArray[np.float32]:
        """The denoise link with the configured model and 'auto' thresholds (model loaded only
        if it runs)."""
        cfg = self.config
        s = parse_denoise(strength)
        if s == "auto":
            s = cfg.auto_denoise.strength(noise_sigma(check_image(image_rgb)))
        if s in ("off", 0):
            return check_image(image_rgb, clip=True)
        return denoise_link(image_rgb, s, self.engine(cfg.denoise_model), tiles=cfg.tiles, progress=progress)

    def upscale(self, image_rgb: NDArray[np.float32], factor: int = 2, strength: float = 1.0,
                progress: Progress | None = None) -> NDArray[np.float32]:
        """The upscale link with the configured model (loaded only if it runs)."""
        runs = factor in (2, 4) and strength > 0
        engine = self.engine(self.config.upscale_model) if runs else self.config.upscale_model
        return upscale_link(image_rgb, factor, strength, engine, tiles=self.config.tiles, progress=progress)

    def restore_image(self, image_rgb: NDArray[np.float32], progress: ChainProgress | None = None) -> RestoreResult:
        """Run deblur -> denoise -> upscale on one (H, W, 3) float32 RGB [0, 1] image.

        Raises:
            ImageError: not an RGB float image, or NaN/Inf in it.
            ModelLoadError, EngineError: a model cannot be loaded or run.
        """
        cfg = self.config
        step = (lambda link: partial(progress, link)) if progress is not None else (lambda link: None)
        t = time.perf_counter()
        deblurred = self.deblurer.deblur_image(image_rgb, step("deblur"))
        links = [LinkReport("deblur", deblurred.label if cfg.deblur.strength > 0 else "deblur off",
                            cfg.deblur.strength, (time.perf_counter() - t) * 1e3)]
        image, sigma = deblurred.image, None
        del deblurred
        if cfg.denoise != "off":
            t = time.perf_counter()
            if cfg.denoise == "auto":
                sigma = noise_sigma(image)
                s = cfg.denoise_strength * cfg.auto_denoise.strength(sigma)
            else:
                s = float(cfg.denoise)
            image = self.denoise(image, s, step("denoise"))
            label = f"{self.engine(cfg.denoise_model).info.id} {s:.2f}" if s > 0 else "denoise skipped"
            if sigma is not None:
                label += f" (noise {sigma * 255:.1f}/255)"
            links.append(LinkReport("denoise", label, s, (time.perf_counter() - t) * 1e3))
        if cfg.upscale > 1:
            t = time.perf_counter()
            image = self.upscale(image, cfg.upscale, cfg.upscale_strength, step("upscale"))
            name = self.engine(cfg.upscale_model).info.id if cfg.upscale_strength > 0 else "lanczos"
            links.append(LinkReport("upscale", f"{name} x{cfg.upscale}", cfg.upscale_strength,
                                    (time.perf_counter() - t) * 1e3))
        return RestoreResult(image, tuple(links), sigma)

    def restore_file(self, src: Path, dst: Path, overwrite: bool = False, progress: ChainProgress | None = None,
                     *, exclusive: bool = False) -> RestoreResult:
        """Read ``src``, restore, write ``dst`` atomically as the input was stored (alpha upscaled
        with the photo). ``exclusive``: as ``Deblurer.deblur_file``.

        Raises:
            ConfigError: ``dst`` is ``src`` and ``overwrite`` is False.
            ImageError: unreadable input, unsupported or unwritable output.
        """
        loaded = read_for(src, dst, overwrite=overwrite)
        result = self.restore_image(loaded.rgb, progress)
        return replace(result, written=write_like(dst, result.image, loaded, exclusive=exclusive))

    def close(self) -> None:
        """Close every engine this object loaded."""
        self.deblurer.close()
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()

    def __enter__(self) -> Restorer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def restore(image_rgb: NDArray[np.float32], config: RestoreConfig = RestoreConfig(),
            progress: ChainProgress | None = None) -> RestoreResult:
    """Run the chain on one image (see ``Restorer.restore_image``)."""
    with Restorer(config) as r:
        return r.restore_image(image_rgb, progress)


def restore_file(src: Path, dst: Path, config: RestoreConfig = RestoreConfig(), overwrite: bool = False) -> RestoreResult:
    """Restore one image file into ``dst`` (see ``Restorer.restore_file``)."""
    with Restorer(config) as r:
        return r.restore_file(src, dst, overwrite)
