"""Blur synthesis: random kernels, sensor noise and a camera pipeline, for training,
calibration, tests and benchmarks (the kernels themselves are :mod:`runtime.photo.kernels`).

Convention: images are float32 HxWx3 sRGB in [0, 1]. Blur is applied in **linear light**
(sRGB decoded with the standard transfer curve), because light from a moving scene or an
out-of-focus lens adds linearly on the sensor; read/shot noise is added in linear light
too, then the image is re-encoded to sRGB and clipped (saturation), optionally JPEG'd.
Boundaries: ``blur`` pads by reflection before convolving, so no dark frame appears at the
edges; ``blur_valid`` returns only the pixels that saw real image content (training).
Kernels are float32, odd-sized, sum to 1, with their centroid at the centre pixel unless
``recentre=False``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError
from runtime.photo.kernels import (BlurFamily, FloatImage, camera_shake_kernel, defocus_kernel, gaussian_kernel,
                                   linear_motion_kernel, linear_to_srgb, srgb_to_linear)


@dataclass(frozen=True, slots=True)
class BlurSpec:
    """One sampled blur: its family, size parameter and kernel."""

    family: BlurFamily
    size_px: float
    kernel: FloatImage


def random_kernel(rng: np.random.Generator, family: BlurFamily, max_extent_px: float = 25.0) -> BlurSpec:
    """Sample a kernel of ``family`` with a size parameter up to ``max_extent_px``."""
    hi = max(max_extent_px, 3.0)
    if family is BlurFamily.CAMERA_SHAKE:
        s = rng.uniform(3, hi)
        k = camera_shake_kernel(rng, s)
    elif family is BlurFamily.LINEAR_MOTION:
        s = rng.uniform(3, hi)
        k = linear_motion_kernel(s, rng.uniform(0, 180))
    elif family is BlurFamily.DEFOCUS:
        s = rng.uniform(1.0, min(hi / 2, 8.0))
        k = defocus_kernel(s)
    else:
        s = rng.uniform(0.5, min(hi / 6, 3.0))
        k = gaussian_kernel(s)
    return BlurSpec(family, float(s), k)


def convolve(image: FloatImage, kernel: FloatImage) -> FloatImage:
    """True convolution of each channel with ``kernel``, reflect-padded at the borders."""
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return cv2.filter2D(image.astype(np.float32), -1, flipped, borderType=cv2.BORDER_REFLECT_101)


def blur(image_srgb: FloatImage, kernel: FloatImage) -> FloatImage:
    """Blur an sRGB image in linear light; same size out, reflect-padded borders."""
    return linear_to_srgb(convolve(srgb_to_linear(image_srgb), kernel))


def blur_valid(image_srgb: FloatImage, kernel: FloatImage) -> FloatImage:
    """Blur in linear light and keep only the pixels whose footprint lies inside the image.

    Output shape is (H - kh + 1, W - kw + 1, C): no boundary assumption leaks in.
    """
    return _crop_valid(blur(image_srgb, kernel), kernel)


def _crop_valid(image: FloatImage, kernel: FloatImage) -> FloatImage:
    """Drop the border whose convolution footprint reaches outside the image."""
    kh, kw = kernel.shape
    return image[kh // 2: image.shape[0] - (kh - 1) // 2, kw // 2: image.shape[1] - (kw - 1) // 2]


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    """Sensor noise in linear light: Gaussian read noise plus signal-dependent shot noise.

    Total variance per pixel = read_sigma**2 + shot_gain * value.
    """

    read_sigma: float = 0.0
    shot_gain: float = 0.0

    def __post_init__(self) -> None:
        if self.read_sigma < 0 or self.shot_gain < 0:
            raise ConfigError("noise read_sigma and shot_gain must be >= 0")


def add_noise(linear: FloatImage, noise: NoiseConfig, rng: np.random.Generator) -> FloatImage:
    """Add Poisson-Gaussian sensor noise (Gaussian approximation) to a linear image."""
    var = noise.read_sigma ** 2 + noise.shot_gain * np.clip(linear, 0, 1)
    return (linear + rng.normal(size=linear.shape).astype(np.float32) * np.sqrt(var)).astype(np.float32)


def jpeg_roundtrip(image_srgb: FloatImage, quality: int) -> FloatImage:
    """Compress and decompress with JPEG at ``quality`` (camera / messenger artifacts)."""
    u8 = (np.clip(image_srgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ConfigError(f"JPEG quality {quality} rejected by OpenCV; use 1..100")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


def h264_intra(image_u8: NDArray[np.uint8], crf: int, options: dict[str, str] | None = None) -> NDArray[np.uint8] | None:
    """One HxWx3 uint8 RGB image (even size) through an H.264 intra frame at ``crf`` with
    further x264 ``options``; None when the decoder gives no frame back."""
    import av  # only video-like degradations need PyAV

    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = image_u8.shape[1], image_u8.shape[0], "yuv420p"
    enc.options = {"crf": str(int(crf)), **(options or {})}
    packets = enc.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image_u8), format="rgb24")) + enc.encode(None)
    dec = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in dec.decode(p)] + list(dec.decode(None))
    return frames[0].to_ndarray(format="rgb24") if frames else None


def h264_roundtrip(image_srgb: FloatImage, crf: int) -> FloatImage:
    """Compress and decompress as one H.264 intra frame at ``crf`` (video artifacts; even size
    needed by 4:2:0, so an odd last row or column is cut)."""
    u8 = (np.clip(image_srgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    out = h264_intra(u8[: u8.shape[0] // 2 * 2, : u8.shape[1] // 2 * 2], crf, {"preset": "veryfast"})
    if out is None:
        raise ConfigError(f"H.264 at CRF {crf} returned no frame for a {u8.shape[1]}x{u8.shape[0]} image")
    return out.astype(np.float32) / 255.0


def degrade(image_srgb: FloatImage, kernel: FloatImage, rng: np.random.Generator, *,
            noise: NoiseConfig = NoiseConfig(), srgb_noise_sigma: float = 0.0,
            jpeg_quality: int | None = None, exposure: float = 1.0,
            valid: bool = False) -> FloatImage:
    """The camera pipeline: linear blur -> exposure -> sensor noise -> sRGB + clip -> JPEG.

    ``srgb_noise_sigma`` adds Gaussian noise after encoding (the benchmark convention,
    sigma 0.01 on sRGB values, as in the project's reference measurements).
    """
    lin = srgb_to_linear(image_srgb) * np.float32(exposure)
    lin = convolve(lin, kernel)
    if valid:
        lin = _crop_valid(lin, kernel)
    lin = add_noise(lin, noise, rng) if (noise.read_sigma or noise.shot_gain) else lin
    out = linear_to_srgb(lin)
    if srgb_noise_sigma > 0:
        out = np.clip(out + rng.normal(scale=srgb_noise_sigma, size=out.shape).astype(np.float32), 0, 1)
    if jpeg_quality is not None:
        out = jpeg_roundtrip(out, jpeg_quality)
    return out.astype(np.float32)
