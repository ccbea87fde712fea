"""The links of the restore chain, each its own function: RGB in, RGB out, any order.

``deblur_link``, ``denoise_link`` and ``upscale_link`` take an (H, W, 3) float32 sRGB [0, 1]
image and a model (a loaded engine, or a name or path opened and closed for the call), so a
benchmark can run them in other orders; ``runtime.photo.chain`` runs them in the default
order and keeps their engines loaded. The upscaler is x2 (4 = twice); its strength blends
with a Lanczos upscale computed in bands, and tiles add straight into the output
(``run_tiled``), so memory stays at about one output.

Example:
    >>> with create_engine("x2") as x2:
    ...     big = upscale_link(denoise_link(photo, "auto"), 4, 0.8, x2)     # (4H, 4W, 3)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.catalog import SHIPPED_DIR
from runtime.engines import create_engine
from runtime.engines.base import Engine, EngineConfig
from runtime.engines.tiling import Progress, TileConfig, run_tiled
from runtime.errors import ConfigError, closest
from runtime.photo.deblur import DeblurConfig, deblur_image
from runtime.photo.gate import noise_sigma
from runtime.photo.imageio import check_image

DENOISE_MODEL = "denoise"
"""The shipped blind denoiser (manifest task 'denoise')."""
UPSCALE_MODEL = "x2"
"""The shipped x2 upscaler (manifest task 'upscale', scale 2)."""
UPSCALE_FACTORS = (1, 2, 4)
"""1 = keep the size; 4 = the x2 model twice."""
DENOISE_CHOICES = ("off", "auto")
LANCZOS_BAND_PX = 128
"""Input rows per band of the Lanczos blend (with a margin of ``_LANCZOS_MARGIN`` rows)."""
_LANCZOS_MARGIN = 8

ModelRef = Engine | str | Path
"""A loaded engine, a shipped model name, or a model file path."""
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
    there the strength rises linearly to 1 at ``full_at``. Set on 24 training photos
    (``benchmarks/denoise_auto_calibration.py``, ``benchmarks/results/denoise_auto/``): the
    shipped deblur model already removes much of the fine noise, so after it clean photos
    read 0.04-0.93/255 (p10-p90, sharp or soft, JPEG q90), sRGB noise of 2-4/255 at most 0.98,
    8/255 reads 0.62-1.59 and 16/255 reads 1.60-3.16. The shipped denoiser at full strength
    gains nothing below a reading of 1.25 (-0.07 to +0.07 dB; half strength +0.1 dB, mostly
    by smoothing texture a clean photo should keep) and +0.17 to +0.42 dB from 1.5 up, where
    full strength beats half.
    """

    skip_at: float = 1.0 / 255
    """Above the p90 of clean and lightly noisy photos after deblurring: they are left alone."""
    full_at: float = 2.0 / 255
    """Where full strength clearly pays (readings of 1.5-3); heavy noise (16/255) reads ~2."""

    def __post_init__(self) -> None:
        if not 0 <= self.skip_at < self.full_at <= 1:
            raise ConfigError(f"auto denoise needs 0 <= skip_at ({self.skip_at}) < full_at ({self.full_at}) <= 1")

    def strength(self, sigma: float) -> float:
        """Denoise strength in [0, 1] for a measured noise sigma."""
        return float(np.clip((sigma - self.skip_at) / (self.full_at - self.skip_at), 0.0, 1.0))


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


def unit_range(image_rgb: NDArray[np.float32]) -> NDArray[np.float32]:
    """The checked image in [0, 1]: the array itself when it already is (no copy of a big photo)."""
    img = check_image(image_rgb)
    return img if img.size == 0 or (img.min() >= 0 and img.max() <= 1) else np.clip(img, 0, 1)


def _open(ref: ModelRef, models_dir: Path, config: EngineConfig) -> tuple[Engine, bool]:
    """The engine for ``ref`` and whether we opened it (and so must close it)."""
    if isinstance(ref, (str, Path)):
        return create_engine(ref, config, models_dir=models_dir), True
    return ref, False


def check_scale(engine: Engine, scale: int, link: str) -> None:
    """Raise a ConfigError naming ``{link}_model`` unless the engine's output is ``scale`` times its input."""
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
    img = unit_range(image_rgb)
    s = parse_denoise(strength)
    s = auto.strength(noise_sigma(img)) if s == "auto" else 0.0 if s == "off" else float(s)
    if s == 0:
        return img
    model, owned = _open(engine, models_dir, engine_config)
    try:
        check_scale(model, 1, "denoise")
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
    """``out = L + strength * (out - L)`` in place, ``L`` the Lanczos upscale of ``src`` clipped
    to [0, 1], band by band: each band resizes its input rows plus a margin, which gives
    exactly the whole-image resize."""
    h, w = src.shape[:2]
    for y0 in range(0, h, LANCZOS_BAND_PX):
        y1 = min(h, y0 + LANCZOS_BAND_PX)
        a, b = max(0, y0 - _LANCZOS_MARGIN), min(h, y1 + _LANCZOS_MARGIN)
        big = cv2.resize(src[a:b], (w * factor, (b - a) * factor), interpolation=cv2.INTER_LANCZOS4)
        band = big[(y0 - a) * factor:(y1 - a) * factor]
        np.clip(band, 0, 1, out=band)
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
    img = unit_range(image_rgb)
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
        check_scale(model, 2, "upscale")
        out = img
        for _ in range(factor // 2):
            out = run_tiled(model, out, tiles, progress)
    finally:
        if owned:
            model.close()
    if s < 1:
        _lanczos_blend(img, out, factor, s)
    return out
