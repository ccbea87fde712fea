"""Batched training degradations for the restore chain's other links: noise and downscaling.

The denoiser sees what reaches it in the chain: sensor noise (Poisson-Gaussian in linear
light, so shadows get more after the sRGB curve), plain sRGB noise, colour noise smeared by
demosaicing (spatially correlated), noise that a deblur step amplified (high-passed and
boosted), each at a random level, then JPEG for some; a tenth stay clean, so clean input
stays clean. The upscaler sees photos made small the ways cameras and resizers make them
small (Gaussian optics, area averaging, bicubic with and without antialiasing, all sampled
on the same half-pixel grid so the net learns one alignment), with rare light noise and
some JPEG: in the chain it runs after deblur and denoise have done the heavy lifting, and an
upscaler that also denoises flattens the fine texture of clean photos (measured: trained
with noise on every sample, it lost 0.9 dB to Lanczos on clean area-downscaled frames).
Every step is a tensor op over the whole batch except the real JPEG codec (per sample).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from convert.degrade_torch import codec_batch, gaussian_kernels, linear_to_srgb, srgb_to_linear, uniform
from runtime.errors import ConfigError


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    """Noise mix for denoiser pairs (fractions of a batch; the rest is sensor noise)."""

    clean_fraction: float = 0.10
    srgb_fraction: float = 0.30
    chroma_fraction: float = 0.15
    amplified_fraction: float = 0.15
    max_sigma: float = 0.08
    jpeg_probability: float = 0.4

    def __post_init__(self) -> None:
        parts = (self.clean_fraction, self.srgb_fraction, self.chroma_fraction, self.amplified_fraction)
        if min(parts) < 0 or sum(parts) > 1 or not 0 < self.max_sigma < 0.5:
            raise ConfigError("noise fractions must be >= 0 and sum to <= 1; max_sigma in (0, 0.5)")


@dataclass(frozen=True, slots=True)
class DownscaleConfig:
    """How low-resolution inputs are made from high-resolution crops."""

    max_sigma: float = 1.0
    """Largest extra optical blur (Gaussian sigma in high-res px) on top of the resize filter."""
    blur_probability: float = 0.5
    max_noise: float = 0.006
    noise_probability: float = 0.25
    jpeg_probability: float = 0.3

    def __post_init__(self) -> None:
        if self.max_sigma < 0 or not 0 <= self.max_noise < 0.2:
            raise ConfigError("max_sigma must be >= 0 and max_noise in [0, 0.2)")
        if not (0 <= self.blur_probability <= 1 and 0 <= self.noise_probability <= 1):
            raise ConfigError("blur_probability and noise_probability must be in [0, 1]")


def _blur_same(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample Gaussian blur of (B, C, H, W) with reflect padding (same size)."""
    side = 2 * int(torch.ceil(3 * sigma.max()).clamp_min(1)) + 1
    k = gaussian_kernels(sigma.clamp_min(1e-3), side)                # (B, K, K)
    b, c, h, w = x.shape
    pad = side // 2
    xp = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode="reflect")
    weight = k[:, None].repeat_interleave(c, dim=0)                  # (B*C, 1, K, K)
    return F.conv2d(xp, weight, groups=b * c).reshape(b, c, h, w)


def noisy_batch(clean: torch.Tensor, cfg: NoiseConfig, gen: torch.Generator,
                codec_rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, S, S) clean sRGB crops -> (noisy, clean), both (B, 3, S, S) in [0, 1]."""
    n, dev = clean.shape[0], clean.device
    u = torch.rand(n, generator=gen, device=dev)
    edges = np.cumsum([cfg.clean_fraction, cfg.srgb_fraction, cfg.chroma_fraction, cfg.amplified_fraction])
    kind = torch.bucketize(u, torch.tensor(edges, device=dev, dtype=u.dtype), right=True)
    # 0 clean, 1 sRGB, 2 chroma (correlated), 3 amplified (high-passed), 4 sensor (linear light)
    sigma = uniform(n, 0.003, cfg.max_sigma, gen, dev)[:, None, None, None]
    white = torch.randn(clean.shape, generator=gen, device=dev)
    smear = uniform(n, 0.5, 1.2, gen, dev)
    chroma = _blur_same(white, smear)
    chroma = chroma / chroma.flatten(1).std(dim=1).clamp_min(1e-6)[:, None, None, None]
    boost = uniform(n, 1.0, 4.0, gen, dev)[:, None, None, None]
    high = white + boost * (white - _blur_same(white, smear))
    high = high / high.flatten(1).std(dim=1).clamp_min(1e-6)[:, None, None, None]
    k = kind[:, None, None, None]
    pattern = torch.where(k == 2, chroma, torch.where(k == 3, high, white))
    srgb_noisy = clean + sigma * pattern
    lin = srgb_to_linear(clean)
    read, shot = sigma / 2, uniform(n, 0, cfg.max_sigma / 4, gen, dev)[:, None, None, None]
    sensor = linear_to_srgb(lin + white * torch.sqrt(read ** 2 + shot * lin))
    noisy = torch.where(k == 0, clean, torch.where(k == 4, sensor, srgb_noisy))
    noisy = torch.round(noisy.clamp(0, 1) * 255) / 255
    return codec_batch(noisy, cfg.jpeg_probability, 0.0, codec_rng, min_quality=40), clean


def degrade_task(task: str, src: torch.Tensor, gen: torch.Generator, codec_rng: np.random.Generator,
                 noise: NoiseConfig = NoiseConfig(), downscale: DownscaleConfig = DownscaleConfig()
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) for the denoiser ('denoise') or the upscaler ('upscale') from clean crops.

    Raises:
        ConfigError: any other task (deblur pairs need a kernel bank: ``convert.degrade_torch``).
    """
    if task == "denoise":
        return noisy_batch(src, noise, gen, codec_rng)
    if task == "upscale":
        return lowres_batch(src, downscale, gen, codec_rng)
    raise ConfigError(f"task {task!r} has no restore degradations; use 'denoise' or 'upscale'")


def lowres_batch(high: torch.Tensor, cfg: DownscaleConfig, gen: torch.Generator,
                 codec_rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, 2S, 2S) sharp sRGB crops -> (low (B, 3, S, S), high (B, 3, 2S, 2S)) in [0, 1]."""
    n, dev = high.shape[0], high.device
    sigma = uniform(n, 0.3, max(cfg.max_sigma, 0.3), gen, dev)
    blurred = torch.rand(n, generator=gen, device=dev) < cfg.blur_probability
    optics = torch.where(blurred[:, None, None, None], _blur_same(high, sigma), high)
    area = F.avg_pool2d(optics, 2)
    smooth = F.interpolate(optics, scale_factor=0.5, mode="bicubic", antialias=True, align_corners=False)
    aliased = F.interpolate(optics, scale_factor=0.5, mode="bicubic", antialias=False, align_corners=False)
    gauss = F.avg_pool2d(_blur_same(optics, torch.full((n,), 0.6, device=dev)), 2)  # same phase as area
    u = torch.rand(n, generator=gen, device=dev)[:, None, None, None]
    low = torch.where(u < 0.3, area, torch.where(u < 0.6, smooth, torch.where(u < 0.8, aliased, gauss)))
    noisy = torch.rand(n, generator=gen, device=dev) < cfg.noise_probability
    noise = torch.where(noisy, uniform(n, 0, cfg.max_noise, gen, dev), 0.0)[:, None, None, None]
    low = low + noise * torch.randn(low.shape, generator=gen, device=dev)
    low = torch.round(low.clamp(0, 1) * 255) / 255
    return codec_batch(low, cfg.jpeg_probability, 0.0, codec_rng, min_quality=70), high
