"""Training pairs on the training device: photo pool + kernel bank + batched degradations.

``TrainPairs.batch(n, size)`` returns (degraded, target) NCHW float tensors on the device:
blurred for the deblur nets, noisy for the denoiser, or half-size input and a 2x target
for the upscaler (``PairsConfig.task``).
Its random state is two plain objects (a torch generator state tensor and a numpy
bit-generator dict), so a checkpoint can store them and still load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from convert.degrade_restore import DownscaleConfig, NoiseConfig, degrade_task
from convert.degrade_torch import DegradeConfig, degrade_batch
from convert.kernel_bank import BankConfig, make_bank
from convert.photos import PoolConfig, crop_batch, load_folder_pool, pool_from_images
from runtime.errors import ConfigError
from runtime.manifest import TASKS
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample


@dataclass(frozen=True, slots=True)
class PairsConfig:
    """Where photos come from and how they are degraded."""

    data: tuple[str, ...] = ()
    """Folders of training photos; empty: the package's TRAIN_IMAGES (tests, no data at hand)."""
    face_data: tuple[str, ...] = ()
    face_fraction: float = 0.3
    pool: PoolConfig = PoolConfig()
    bank: BankConfig = BankConfig()
    degrade: DegradeConfig = DegradeConfig()
    task: str = "deblur"
    """'deblur', 'denoise' or 'upscale' (x2)."""
    noise: NoiseConfig = NoiseConfig()
    downscale: DownscaleConfig = DownscaleConfig()

    def __post_init__(self) -> None:
        if not 0 <= self.face_fraction <= 1:
            raise ConfigError(f"face_fraction {self.face_fraction} must be in [0, 1]")
        if self.task not in TASKS:
            raise ConfigError(f"task {self.task!r}: use one of {', '.join(TASKS)}")



class TrainPairs:
    """Draws degraded training pairs; deterministic for a seed (on one device kind)."""

    def __init__(self, cfg: PairsConfig, seed: int, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        if cfg.data:
            general = load_folder_pool([Path(d) for d in cfg.data], cfg.pool)
        else:
            general = pool_from_images([load_sample(n) for n in TRAIN_IMAGES], cfg.pool)
        self.general = general.to(device)
        self.faces = (load_folder_pool([Path(d) for d in cfg.face_data], cfg.pool).to(device)
                      if cfg.face_data else None)
        # the kernel bank (seconds to build) only where blur is made
        self.bank = make_bank(cfg.bank, seed).to(device) if cfg.task == "deblur" else None
        self.gen, self.codec_rng = self._generators(seed)

    def _generators(self, seed: int) -> tuple[torch.Generator, np.random.Generator]:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed)
        return gen, np.random.default_rng(seed + 7)

    def batch(self, n: int, size: int, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` (degraded, target) pairs with ``size`` x ``size`` inputs, NCHW float32 on the
        device (targets are 2x larger for the upscaler). ``seed`` draws a fixed held-out set
        from the same photos without touching the training draws."""
        gen, codec_rng = (self.gen, self.codec_rng) if seed is None else self._generators(seed)
        task = self.cfg.task
        side = self.bank.shape[-1] if self.bank is not None else 1
        src_size = {"deblur": size + side - 1, "denoise": size, "upscale": 2 * size}[task]
        n_face = 0
        if self.faces is not None:
            n_face = int((torch.rand(n, generator=gen, device=self.device) < self.cfg.face_fraction).sum())
        parts = [crop_batch(self.general, n - n_face, src_size, gen)]
        if n_face:
            parts.append(crop_batch(self.faces, n_face, src_size, gen))
        src = torch.cat(parts)
        jitter = 0.85 + 0.25 * torch.rand(n, 3, 1, 1, generator=gen, device=self.device)
        return self._degrade((src * jitter).clamp(0, 1), gen, codec_rng)

    def degrade(self, src: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(degraded, target) from given sharp NCHW crops on the device, with the task's
        degradations drawn from ``seed`` (a fixed validation set)."""
        return self._degrade(src, *self._generators(seed))

    def _degrade(self, src: torch.Tensor, gen: torch.Generator, codec_rng: np.random.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        if self.bank is not None:
            return degrade_batch(src, self.bank, cfg.degrade, gen, codec_rng)
        return degrade_task(cfg.task, src, gen, codec_rng, cfg.noise, cfg.downscale)

    def state(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "codec_rng": self.codec_rng.bit_generator.state}

    def load_state(self, state: dict[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        self.codec_rng.bit_generator.state = state["codec_rng"]
