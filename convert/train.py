"""Train a zoo model on procedural + package images with on-the-fly blur synthesis.

One script for CPU and GPU (``--device cuda``), resumable: every ``--ckpt-every`` steps it
atomically writes ``RUN/NAME/last.pt`` (model, EMA weights, optimiser, step, RNG states)
and appends validation PSNR to ``RUN/NAME/curve.jsonl``; rerunning the same command
resumes from there. Fixed seeds make a run reproducible up to floating-point
non-determinism of the kernels used.

Recipe: Charbonnier + FFT-amplitude loss, AdamW with cosine decay, EMA weights, a
curriculum of blur extent (small kernels first), mixed blur families and noise levels.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facemask.files import atomic_path
from convert.data import DataConfig, PairSampler
from convert.zoo import create_model, get_spec
from runtime.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint)."""

    model: str = "nano"
    steps: int = 20000
    batch: int = 16
    crop: int = 96
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.999
    fft_weight: float = 0.05
    curriculum_fraction: float = 0.3
    min_extent_px: float = 7.0
    max_extent_px: float = 25.0
    sharp_fraction: float = 0.0
    dead_leaves_fraction: float = 0.5
    jpeg_probability: float = 0.3
    max_scale: float = 1.0
    soft_fraction: float = 0.0
    seed: int = 0
    device: str = "cpu"
    threads: int = 2
    ckpt_every: int = 200
    val_every: int = 500

    def __post_init__(self) -> None:
        get_spec(self.model)
        if self.steps <= 0 or self.batch <= 0:
            raise ConfigError("--steps and --batch must be positive")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device {self.device!r}: use cpu or cuda[:N]")


MILD_VALIDATION = DataConfig(crop=128, max_extent_px=9.0, sharp_fraction=0.25, dead_leaves_fraction=0.2,
                             jpeg_probability=0.5, max_scale=1.5, soft_fraction=0.3)
"""The second validation set: sharp, softened and mildly blurred (<= 9 px) compressed input,
as in video frames; a net must not lose PSNR here (it did: 'cartoon' faces)."""


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps * eps).mean()


def fft_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between 2-D spectra: penalises lost high frequencies that pixel losses underweight."""
    fa, fb = torch.fft.rfft2(a, norm="ortho"), torch.fft.rfft2(b, norm="ortho")
    return (fa - fb).abs().mean()


def extent_at(cfg: TrainConfig, step: int) -> float:
    """Curriculum: blur extent grows linearly from min to max over the first fraction of steps."""
    ramp = max(1, int(cfg.steps * cfg.curriculum_fraction))
    t = min(1.0, step / ramp)
    return cfg.min_extent_px + t * (cfg.max_extent_px - cfg.min_extent_px)


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))


class Trainer:
    """Owns model, EMA copy, optimiser and data; ``run()`` trains to ``cfg.steps``."""

    def __init__(self, cfg: TrainConfig, run_dir: Path) -> None:
        self.cfg = cfg
        self.dir = run_dir / cfg.model
        self.dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        self.model = create_model(cfg.model).to(self.device)
        self.ema = create_model(cfg.model).to(self.device).eval()
        self.ema.load_state_dict(self.model.state_dict())
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sampler = PairSampler(DataConfig(
            crop=cfg.crop, max_extent_px=cfg.max_extent_px, sharp_fraction=cfg.sharp_fraction,
            dead_leaves_fraction=cfg.dead_leaves_fraction, jpeg_probability=cfg.jpeg_probability,
            max_scale=cfg.max_scale, soft_fraction=cfg.soft_fraction), cfg.seed)
        val = PairSampler(DataConfig(crop=128, max_extent_px=cfg.max_extent_px), cfg.seed + 1000)
        vb, vs = val.batch(32)
        self.val = (_to_tensor(vb, self.device), _to_tensor(vs, self.device))
        mild = PairSampler(MILD_VALIDATION, cfg.seed + 2000)
        mb, ms = mild.batch(32)
        self.val_mild = (_to_tensor(mb, self.device), _to_tensor(ms, self.device))
        self.step = 0

    def lr_at(self, step: int) -> float:
        warm = 200
        if step < warm:
            return self.cfg.lr * (step + 1) / warm
        t = (step - warm) / max(1, self.cfg.steps - warm)
        return 1e-5 + 0.5 * (self.cfg.lr - 1e-5) * (1 + math.cos(math.pi * min(1.0, t)))

    def init_from(self, weights: Path) -> None:
        """Start from trained weights (fine-tuning): model and EMA both take them."""
        from convert.zoo import load_checkpoint

        state = load_checkpoint(self.cfg.model, weights).state_dict()
        self.model.load_state_dict(state)
        self.ema.load_state_dict(state)

    def resume(self) -> bool:
        path = self.dir / "last.pt"
        if not path.is_file():
            return False
        ck = torch.load(path, map_location=self.device, weights_only=False)
        if ck["config"]["model"] != self.cfg.model:
            raise ConfigError(f"{path} holds a {ck['config']['model']!r} run, not {self.cfg.model!r}")
        self.model.load_state_dict(ck["model"])
        self.ema.load_state_dict(ck["ema"])
        self.opt.load_state_dict(ck["opt"])
        self.step = ck["step"]
        self.sampler.rng.bit_generator.state = ck["data_rng"]
        torch.set_rng_state(ck["torch_rng"])
        log.info("resumed %s at step %d", path, self.step)
        return True

    def checkpoint(self) -> None:
        state = {
            "config": asdict(self.cfg), "step": self.step, "model": self.model.state_dict(),
            "ema": self.ema.state_dict(), "opt": self.opt.state_dict(),
            "data_rng": self.sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }
        with atomic_path(self.dir / "last.pt") as tmp:
            torch.save(state, tmp)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        row: dict[str, float] = {"step": self.step}
        for suffix, (blurry, sharp) in (("", self.val), ("_mild", self.val_mild)):
            out = torch.cat([self.ema(blurry[i:i + 8]) for i in range(0, len(blurry), 8)])
            row |= {f"psnr_input{suffix}": _psnr(blurry, sharp), f"psnr_ema{suffix}": _psnr(out, sharp)}
        return row

    def train_step(self) -> float:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(self.step)
        b, s = self.sampler.batch(cfg.batch, extent_at(cfg, self.step))
        blurry, sharp = _to_tensor(b, self.device), _to_tensor(s, self.device)
        out = self.model(blurry)
        loss = charbonnier(out, sharp) + cfg.fft_weight * fft_loss(out, sharp)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        with torch.no_grad():
            d = cfg.ema_decay if self.step > 500 else 0.9
            for pe, pm in zip(self.ema.parameters(), self.model.parameters()):
                pe.lerp_(pm, 1 - d)
        self.step += 1
        return float(loss.detach())

    def run(self) -> None:
        curve = self.dir / "curve.jsonl"
        t0, losses = time.time(), []
        while self.step < self.cfg.steps:
            losses.append(self.train_step())
            if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                self.checkpoint()
            if self.step % self.cfg.val_every == 0 or self.step == self.cfg.steps:
                row = self.validate() | {"loss": float(np.mean(losses)), "lr": self.lr_at(self.step),
                                         "extent_px": extent_at(self.cfg, self.step),
                                         "steps_per_s": len(losses) / (time.time() - t0)}
                with curve.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                log.warning("%s step %d loss %.4f val %.2f dB (input %.2f), mild %.2f dB (input %.2f), "
                            "%.1f steps/s", self.cfg.model, self.step, row["loss"], row["psnr_ema"],
                            row["psnr_input"], row["psnr_ema_mild"], row["psnr_input_mild"], row["steps_per_s"])
                t0, losses = time.time(), []


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, Path, Path | None]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="zoo architecture: nano | small")
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    d = TrainConfig()
    for f in ("steps", "batch", "crop", "seed", "threads", "ckpt_every", "val_every"):
        ap.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(d, f))
    for f in ("lr", "ema_decay", "fft_weight", "max_extent_px", "sharp_fraction", "dead_leaves_fraction",
              "jpeg_probability", "max_scale", "soft_fraction"):
        ap.add_argument("--" + f.replace("_", "-"), type=float, default=getattr(d, f))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--init", type=Path, default=None,
                    help="fine-tune: start from these weights (ignored when resuming)")
    a = ap.parse_args(argv)
    cfg = TrainConfig(model=a.model, steps=a.steps, batch=a.batch, crop=a.crop, lr=a.lr,
                      ema_decay=a.ema_decay, fft_weight=a.fft_weight, max_extent_px=a.max_extent_px,
                      sharp_fraction=a.sharp_fraction, dead_leaves_fraction=a.dead_leaves_fraction,
                      jpeg_probability=a.jpeg_probability, max_scale=a.max_scale, soft_fraction=a.soft_fraction,
                      seed=a.seed, device=a.device, threads=a.threads, ckpt_every=a.ckpt_every,
                      val_every=a.val_every)
    return cfg, a.run_dir, a.init


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    cfg, run_dir, init = parse_args(argv)
    trainer = Trainer(cfg, run_dir)
    if not trainer.resume() and init is not None:
        trainer.init_from(init)
    trainer.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
