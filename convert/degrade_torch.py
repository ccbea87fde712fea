"""Batched camera degradations on the training device: (sharp crops) -> (blurry, sharp) pairs.

Everything a batch needs is a tensor op over the whole batch: kernels are gathered from a
bank, blur is one FFT convolution ("valid" borders: every output pixel saw real content),
half the batch is blurred in linear light (what a sensor integrates) and half in sRGB
(what most public blur sets and phone pipelines effectively did), 30 % get a blur that
varies across the crop (two kernels blended along a random ramp: rotation and depth make
real blur non-uniform; half of these blend with the sharp crop itself, as when only a
moving object is smeared and the still background stays sharp), some get saturated highlights (scene light above the sensor's
clip), then Poisson-Gaussian sensor noise, 8-bit rounding, and for a fraction JPEG or H.264
round trips (these two run per sample through the real codecs, on the CPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from runtime.errors import ConfigError
from runtime.lab.degradations import h264_intra


@dataclass(frozen=True, slots=True)
class DegradeConfig:
    """Probabilities and ranges of each degradation (fractions of a batch)."""

    linear_fraction: float = 0.5
    nonuniform_fraction: float = 0.3
    sharp_fraction: float = 0.10
    mild_fraction: float = 0.08
    highlight_fraction: float = 0.15
    max_read_noise: float = 0.015
    max_shot_gain: float = 0.008
    max_srgb_noise: float = 0.012
    jpeg_probability: float = 0.35
    h264_probability: float = 0.08

    def __post_init__(self) -> None:
        fractions = (self.linear_fraction, self.nonuniform_fraction, self.sharp_fraction, self.mild_fraction,
                     self.highlight_fraction, self.jpeg_probability, self.h264_probability)
        if not all(0 <= f <= 1 for f in fractions) or self.sharp_fraction + self.mild_fraction > 1:
            raise ConfigError("degradation fractions must be in [0, 1] (sharp + mild <= 1)")


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def uniform(n: int, lo: float, hi: float, gen: torch.Generator, dev: torch.device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=dev)


def gaussian_kernels(sigma: torch.Tensor, side: int) -> torch.Tensor:
    ar = torch.arange(side, device=sigma.device, dtype=torch.float32) - side // 2
    r2 = ar[None, :, None] ** 2 + ar[None, None, :] ** 2
    k = torch.exp(-r2 / (2 * sigma[:, None, None] ** 2))
    return k / k.sum(dim=(1, 2), keepdim=True)


def fft_blur_valid(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """True convolution of (B, C, H, W) by per-sample (B, K, K) kernels; valid part, (H-K+1)."""
    _, _, h, w = x.shape
    side = k.shape[-1]
    kx = torch.fft.rfft2(k[:, None], s=(h, w))
    out = torch.fft.irfft2(torch.fft.rfft2(x) * kx, s=(h, w))
    return out[..., side - 1:, side - 1:]


def _ramp_mask(n: int, size: int, gen: torch.Generator, dev: torch.device) -> torch.Tensor:
    """(n, 1, size, size) weights in [0, 1] changing smoothly along a random direction."""
    a = uniform(n, 0, 2 * math.pi, gen, dev)
    ar = (torch.arange(size, device=dev, dtype=torch.float32) / size) - 0.5
    proj = ar[None, None, :] * torch.cos(a)[:, None, None] + ar[None, :, None] * torch.sin(a)[:, None, None]
    width = uniform(n, 0.1, 0.5, gen, dev)[:, None, None]
    return torch.sigmoid(proj / width)[:, None]


def _codec_roundtrip(img: np.ndarray, rng: np.random.Generator, h264: bool, min_quality: int) -> np.ndarray:
    """One HxWx3 uint8 RGB image through JPEG (q min_quality-95) or an H.264 intra frame (CRF 20-36)."""
    if not h264:
        quality = int(rng.integers(min_quality, 96))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1] if ok else img
    # only H.264 needs PyAV (checked by convert.train): a machine without it trains with h264 off
    out = h264_intra(img, int(rng.integers(20, 37)), {"preset": "ultrafast", "tune": "zerolatency"})
    return out if out is not None else img


def degrade_batch(src: torch.Tensor, bank: torch.Tensor, cfg: DegradeConfig, gen: torch.Generator,
                  codec_rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, S+K-1, S+K-1) sharp sRGB crops -> (blurry, sharp), each (B, 3, S, S) in [0, 1].

    ``K`` is the bank's kernel side; the sharp target is the centre S x S of ``src``.
    """
    n, dev, side = src.shape[0], src.device, bank.shape[-1]
    c = side // 2
    size = src.shape[-1] - side + 1
    if size < 8:
        raise ConfigError(f"crops of {src.shape[-1]} px leave nothing after a {side} px kernel")
    u = torch.rand(n, generator=gen, device=dev)
    sharp_s = u < cfg.sharp_fraction
    mild = (u >= cfg.sharp_fraction) & (u < cfg.sharp_fraction + cfg.mild_fraction)
    k1 = bank[torch.randint(len(bank), (n,), generator=gen, device=dev)]
    k2 = bank[torch.randint(len(bank), (n,), generator=gen, device=dev)]
    gauss = gaussian_kernels(uniform(n, 0.3, 0.8, gen, dev), side)
    delta = torch.zeros_like(k1)
    delta[:, c, c] = 1
    k1 = torch.where(sharp_s[:, None, None], delta, torch.where(mild[:, None, None], gauss, k1))
    nonuni = (torch.rand(n, generator=gen, device=dev) < cfg.nonuniform_fraction) & ~(sharp_s | mild)
    partly_sharp = torch.rand(n, generator=gen, device=dev) < 0.5
    k2 = torch.where(nonuni[:, None, None], torch.where(partly_sharp[:, None, None], delta, k2), k1)

    linear = torch.rand(n, generator=gen, device=dev) < cfg.linear_fraction
    hi = linear & (torch.rand(n, generator=gen, device=dev) < cfg.highlight_fraction)
    gain = torch.where(hi, uniform(n, 1.3, 3.0, gen, dev), torch.ones(n, device=dev))[:, None, None, None]
    lin = srgb_to_linear(src) * gain
    work = torch.where(linear[:, None, None, None], lin, src)  # the space the blur happens in
    blurred = fft_blur_valid(work, k1)
    ramp = _ramp_mask(n, size, gen, dev)
    if bool(nonuni.any()):  # the second blur only where it is used
        b2 = fft_blur_valid(work[nonuni], k2[nonuni])
        blurred[nonuni] = torch.lerp(b2, blurred[nonuni], ramp[nonuni])

    read = uniform(n, 0, cfg.max_read_noise, gen, dev)[:, None, None, None]
    shot = uniform(n, 0, cfg.max_shot_gain, gen, dev)[:, None, None, None]
    noise = torch.randn(blurred.shape, generator=gen, device=dev)
    sensor = blurred.clamp(0, 1) + noise * torch.sqrt(read ** 2 + shot * blurred.clamp(0, 1))
    srgb_noise = uniform(n, 0, cfg.max_srgb_noise, gen, dev)[:, None, None, None]
    blurry = torch.where(linear[:, None, None, None], linear_to_srgb(sensor),
                         blurred + noise * srgb_noise)
    blurry = torch.round(blurry.clamp(0, 1) * 255) / 255

    crop = (slice(None), slice(None), slice(c, c + size), slice(c, c + size))
    sharp = torch.where(linear[:, None, None, None], linear_to_srgb(lin[crop]), src[crop])
    return codec_batch(blurry, cfg.jpeg_probability, cfg.h264_probability, codec_rng), sharp.clamp(0, 1)


def codec_batch(blurry: torch.Tensor, jpeg: float, h264: float, rng: np.random.Generator,
                min_quality: int = 55) -> torch.Tensor:
    """JPEG (probability ``jpeg``) / H.264 (``h264``) round trips for a random subset of a
    batch (real codecs, so per sample on the CPU)."""
    picks = [(i, rng.random() < h264 / max(jpeg + h264, 1e-9))
             for i in range(len(blurry)) if rng.random() < jpeg + h264]
    if not picks:
        return blurry
    out = blurry.clone()
    for i, video in picks:
        img = (blurry[i].permute(1, 2, 0) * 255).round().to(torch.uint8).cpu().numpy()
        res = _codec_roundtrip(img, rng, video, min_quality)
        out[i] = torch.from_numpy(np.ascontiguousarray(res)).to(blurry.device).permute(2, 0, 1).float() / 255
    return out
