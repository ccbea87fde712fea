"""The restore chain: deblur -> denoise -> upscale, with the engines loaded over an album.

Deblurring first recovers edges; it also amplifies noise and JPEG banding, so a light
denoise follows; upscaling last keeps the upscaler from enlarging blur and noise into smear.
Each link is a function of its own in ``runtime.photo.links`` (RGB in, RGB out, any
order); ``restore`` and ``Restorer`` run them in the default order:

- deblur: the photo pipeline of ``runtime.photo.deblur`` as is (auto policy, kernel path,
  sharpness gate); its ``strength`` 0 skips it.
- denoise: the blind denoiser (shipped as ``denoise``), blended with its input at a
  strength: a number, or 'auto': the noise left after deblurring
  (``runtime.photo.gate.noise_sigma``) sets it (``AutoDenoise``).
- upscale: the x2 upscaler (shipped as ``x2``) once (x2) or twice (x4), blended with a
  Lanczos upscale of its input at ``upscale_strength``. Memory stays at about one output.

Example:
    >>> cfg = RestoreConfig(denoise="auto", upscale=2)
    >>> result = restore(read_image(Path("photo.jpg")).rgb, cfg)
    >>> result.image.shape, result.label        # (2H, 2W, 3)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from runtime.engines import create_engine
from runtime.engines.base import Engine
from runtime.engines.tiling import Progress, TileConfig
from runtime.errors import ConfigError
from runtime.photo.deblur import DeblurConfig, Deblurer
from runtime.photo.gate import noise_sigma
from runtime.photo.imageio import check_image, read_for, write_like
from runtime.photo.links import (DENOISE_MODEL, UPSCALE_FACTORS, UPSCALE_MODEL, AutoDenoise, check_scale,
                                 check_strength, denoise_link, parse_denoise, unit_range, upscale_link)

ChainProgress = Callable[[str, int, int], None]
"""Called as ``progress(link, tiles_done, tiles_total)``; ``link`` is 'deblur', 'denoise' or 'upscale'."""


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
            ConfigError: a model does not fit its link (an upscaler as the denoiser...).
        """
        self.deblurer.load()
        for link, model in self.config.chain_models().items():
            check_scale(self.engine(model), 1 if link == "denoise" else 2, link)

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
            return unit_range(image_rgb)
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
        image = deblurred.image
        del deblurred
        image, more, sigma = finish(image, cfg, self.engine, progress)
        return RestoreResult(image, tuple(links + more), sigma)

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


def finish(image_rgb: NDArray[np.float32], config: RestoreConfig, engine: Callable[[str | Path], Engine],
           progress: ChainProgress | None = None) -> tuple[NDArray[np.float32], list[LinkReport], float | None]:
    """The links after deblurring, denoise then upscale, as ``config`` sets them.

    ``engine`` returns a loaded engine for a model name, so a caller that keeps engines over
    many photos (``Restorer``, the web app) keeps them here too.

    Returns:
        the image, a report per link configured, and the noise read after deblurring (None
        unless ``denoise`` is 'auto').
    """
    step = (lambda link: partial(progress, link)) if progress is not None else (lambda link: None)
    image, sigma, links = image_rgb, None, []
    if config.denoise != "off":
        t = time.perf_counter()
        if config.denoise == "auto":
            sigma = noise_sigma(image)
            s = config.denoise_strength * config.auto_denoise.strength(sigma)
        else:
            s = float(config.denoise)
        label = "denoise skipped"
        if s > 0:
            model = engine(config.denoise_model)
            image = denoise_link(image, s, model, tiles=config.tiles, progress=step("denoise"))
            label = f"{model.info.id} {s:.2f}"
        if sigma is not None:
            label += f" (noise {sigma * 255:.1f}/255)"
        links.append(LinkReport("denoise", label, s, (time.perf_counter() - t) * 1e3))
    if config.upscale > 1:
        t = time.perf_counter()
        runs = config.upscale_strength > 0
        model_ref = engine(config.upscale_model) if runs else config.upscale_model
        image = upscale_link(image, config.upscale, config.upscale_strength, model_ref, tiles=config.tiles,
                             progress=step("upscale"))
        name = model_ref.info.id if isinstance(model_ref, Engine) else "lanczos"
        links.append(LinkReport("upscale", f"{name} x{config.upscale}", config.upscale_strength,
                                (time.perf_counter() - t) * 1e3))
    return image, links, sigma


def restore(image_rgb: NDArray[np.float32], config: RestoreConfig = RestoreConfig(),
            progress: ChainProgress | None = None) -> RestoreResult:
    """Run the chain on one image (see ``Restorer.restore_image``)."""
    with Restorer(config) as r:
        return r.restore_image(image_rgb, progress)


def restore_file(src: Path, dst: Path, config: RestoreConfig = RestoreConfig(), overwrite: bool = False) -> RestoreResult:
    """Restore one image file into ``dst`` (see ``Restorer.restore_file``)."""
    with Restorer(config) as r:
        return r.restore_file(src, dst, overwrite)
