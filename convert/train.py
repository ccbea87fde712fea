"""Train a zoo model on real photos with blur (or noise, or downscaling) synthesised on the training device.

One command for CPU and GPU (``--device cuda``): photos from ``--data`` folders (faces from
``--face-data``, drawn with ``--face-fraction``) are pooled into one tensor of patches;
blur, noise and codecs are applied to whole batches (``convert.pairs``). ``--minutes``
gives a wall-clock budget and the LR schedule (warm-up, cosine) runs over it, so a short
and a long run both end annealed. bf16 autocast and channels_last on CUDA.

Resumable: every ``--ckpt-every`` steps ``RUN/NAME/last.pt`` is written atomically (model,
EMA, optimiser, step, elapsed time, RNG states as tensors and plain values, config as a
dict) and loaded back with ``torch.load(weights_only=True)``, so no code runs from a
checkpoint file. Validation rows go to ``RUN/NAME/curve.jsonl``; with ``--val-real DIR``
(camera-made blur pairs) the EMA weights with the best gain there are kept as
``RUN/NAME/best.pt``: the checkpoint to ship. The denoiser and the upscaler (the restore
chain's other links) train on the same photos with their own degradations; with
``--val-real`` they validate on that folder's sharp frames, noised or downscaled with a
fixed seed (never trained on), and keep the best gain over the input (over bicubic for
the upscaler) as ``best.pt``.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convert.data import DataConfig, PairSampler
from convert.degrade_torch import DegradeConfig
from convert.errors import report_errors
from convert.grow import grow_state
from convert.kernel_bank import BankConfig
from convert.pairs import PairsConfig, TrainPairs
from convert.photos import PoolConfig
from convert.realval import gain_db, load_crops, psnr_each
from convert.zoo import create_model, get_spec, load_checkpoint, load_torch_file, save_torch_file
from runtime.commands import flags
from runtime.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint)."""

    model: str = "nano"
    steps: int = 20000
    minutes: float = 0.0
    """Wall-clock budget; > 0 ends the run (and shapes the LR schedule) by time, not steps."""
    batch: int = 16
    crop: int = 96
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.999
    fft_weight: float = 0.05
    max_extent_px: float = 45.0
    bank_size: int = 4000
    sharp_fraction: float = 0.10
    jpeg_probability: float = 0.35
    h264_probability: float = 0.08
    data: tuple[str, ...] = ()
    face_data: tuple[str, ...] = ()
    face_fraction: float = 0.3
    val_real: str = ""
    synthetic_val: bool = True
    """Validate on package photos blurred by our generator too (they need scikit-image)."""
    seed: int = 0
    device: str = "cpu"
    threads: int = 2
    ckpt_every: int = 200
    val_every: int = 500

    def __post_init__(self) -> None:
        get_spec(self.model)
        if self.steps <= 0 or self.batch <= 0 or self.minutes < 0:
            raise ConfigError("--steps and --batch must be positive, --minutes >= 0")
        if self.crop % 8:
            raise ConfigError(f"--crop {self.crop} must be a multiple of 8")
        scale = get_spec(self.model).scale
        if scale * self.crop > 256:
            raise ConfigError(f"--crop {self.crop}: the {self.model} net's targets would exceed the 256 px "
                              f"patches; use --crop <= {256 // scale}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device {self.device!r}: use cpu or cuda[:N]")
        if self.h264_probability > 0 and importlib.util.find_spec("av") is None:
            raise ConfigError("H.264 round trips need PyAV (pip install av); without it train with "
                              "--h264-probability 0")

    def pairs(self) -> PairsConfig:
        bank = BankConfig(size=self.bank_size, max_extent_px=self.max_extent_px)
        patch = max(256, self.crop + bank.side - 1)
        return PairsConfig(data=self.data, face_data=self.face_data, face_fraction=self.face_fraction,
                           pool=PoolConfig(patch=patch, long_side=max(512, patch)), bank=bank,
                           task=get_spec(self.model).task,
                           degrade=DegradeConfig(sharp_fraction=self.sharp_fraction,
                                                 jpeg_probability=self.jpeg_probability,
                                                 h264_probability=self.h264_probability))


MILD_VALIDATION = DataConfig(crop=128, max_extent_px=9.0, sharp_fraction=0.25, dead_leaves_fraction=0.2,
                             jpeg_probability=0.5, max_scale=1.5, soft_fraction=0.3)
"""The second synthetic validation set: sharp, softened and mildly blurred (<= 9 px)
compressed input, as in video frames; a net must not lose PSNR here."""


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps * eps).mean()


def fft_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between 2-D spectra: penalises lost high frequencies that pixel losses underweight."""
    fa, fb = torch.fft.rfft2(a, norm="ortho"), torch.fft.rfft2(b, norm="ortho")
    return (fa - fb).abs().mean()


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))


class Trainer:
    """Owns model, EMA copy, optimiser and data; ``run()`` trains to the step or time budget."""

    def __init__(self, cfg: TrainConfig, run_dir: Path) -> None:
        self.cfg = cfg
        self.dir = run_dir / cfg.model   # created at the first write: a refused start leaves nothing
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        self.cuda = self.device.type == "cuda"
        fmt = torch.channels_last if self.cuda else torch.contiguous_format
        self.model = create_model(cfg.model).to(self.device, memory_format=fmt)
        self.ema = create_model(cfg.model).to(self.device, memory_format=fmt).eval()
        self.ema.load_state_dict(self.model.state_dict())
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.spec = get_spec(cfg.model)
        self.pairs = TrainPairs(cfg.pairs(), cfg.seed, self.device)
        self.val = self.val_mild = None
        if self.spec.task == "deblur" and cfg.synthetic_val:
            val = PairSampler(DataConfig(crop=128, max_extent_px=min(cfg.max_extent_px, 25)), cfg.seed + 1000)
            self.val = tuple(_to_tensor(a, self.device) for a in val.batch(32))
            self.val_mild = tuple(_to_tensor(a, self.device) for a in PairSampler(MILD_VALIDATION, cfg.seed + 2000).batch(32))
        elif self.spec.task != "deblur":
            self.val = self._restore_validation()
        self.val_real = load_crops(Path(cfg.val_real)) if cfg.val_real and self.spec.task == "deblur" else None
        self.step, self.elapsed_s, self.best_real = 0, 0.0, float("-inf")

    def _restore_validation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed (input, target) set for the denoiser or upscaler: ``--val-real`` sharp frames
        degraded with a fixed seed, else held-out draws from the training pool."""
        cfg, scale = self.cfg, self.spec.scale
        size = 128 // scale
        if not cfg.val_real:
            return self.pairs.batch(32, size, seed=cfg.seed + 1000)
        _, sharp = load_crops(Path(cfg.val_real), size=size * scale, per_pair=3)
        return self.pairs.degrade(sharp.to(self.device), seed=cfg.seed + 1000)

    def progress(self) -> float:
        """Fraction of the budget (time with ``--minutes``, else steps) spent, in [0, 1]."""
        if self.cfg.minutes > 0:
            return min(1.0, self.elapsed_s / (60 * self.cfg.minutes))
        return min(1.0, self.step / self.cfg.steps)

    def done(self) -> bool:
        return self.progress() >= 1.0 if self.cfg.minutes > 0 else self.step >= self.cfg.steps

    def lr_now(self) -> float:
        warm = 0.02
        t = self.progress()
        if t < warm:
            return self.cfg.lr * max(t / warm, 0.01)
        return 1e-5 + 0.5 * (self.cfg.lr - 1e-5) * (1 + math.cos(math.pi * (t - warm) / (1 - warm)))

    def init_from(self, weights: Path) -> None:
        """Start from trained weights (fine-tuning): model and EMA both take them. Weights of
        the net this one ``grows_from`` are grown into it (``convert.grow``)."""
        try:
            state = load_checkpoint(self.cfg.model, weights).state_dict()
        except ModelLoadError as own:
            if not self.spec.grows_from or not weights.is_file():
                raise
            try:
                source = load_checkpoint(self.spec.grows_from, weights)
            except ModelLoadError:
                raise ModelLoadError(f"{weights} holds weights of neither {self.cfg.model!r} nor "
                                     f"{self.spec.grows_from!r} (which it grows from); pass one of those") from own
            state = grow_state(source, self.model)
            log.info("grew %s weights from %s into %s", self.spec.grows_from, weights, self.cfg.model)
        self.model.load_state_dict(state)
        self.ema.load_state_dict(state)

    def resume(self) -> bool:
        path = self.dir / "last.pt"
        if not path.is_file():
            return False
        ck = load_torch_file(path)     # tensors and plain values only: no code runs from the file
        try:
            if ck["config"]["model"] != self.cfg.model:
                raise ConfigError(f"{path} holds a {ck['config']['model']!r} run, not {self.cfg.model!r}; "
                                  "pass another --run-dir")
            self.model.load_state_dict(ck["model"])
            self.ema.load_state_dict(ck["ema"])
            self.opt.load_state_dict(ck["opt"])
            self.pairs.load_state(ck["pairs"])
        except (KeyError, TypeError, RuntimeError) as e:
            raise ConfigError(f"{path} is not a checkpoint of this trainer ({type(e).__name__}); "
                              "pass another --run-dir or delete it") from e
        torch.set_rng_state(ck["torch_rng"].cpu())
        self.step, self.elapsed_s = int(ck["step"]), float(ck["elapsed_s"])
        self.best_real = float(ck["best_real"])
        log.info("resumed %s at step %d", path, self.step)
        return True

    def _state(self) -> dict[str, Any]:
        cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.cfg).items()}
        return {"config": cfg, "step": self.step, "elapsed_s": self.elapsed_s, "best_real": self.best_real,
                "model": self.model.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict(),
                "pairs": self.pairs.state(), "torch_rng": torch.get_rng_state()}

    def checkpoint(self, name: str = "last.pt") -> None:
        save_torch_file(self._state(), self.dir / name, field="run_dir")

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        row: dict[str, float] = {"step": self.step, "minutes": round(self.elapsed_s / 60, 2)}
        if self.spec.task != "deblur":
            return row | self._validate_restore()
        for suffix, (blurry, sharp) in (("", self.val), ("_mild", self.val_mild)) if self.val else ():
            out = torch.cat([self.ema(blurry[i:i + 8]) for i in range(0, len(blurry), 8)])
            row |= {f"psnr_input{suffix}": _psnr(blurry, sharp), f"psnr_ema{suffix}": _psnr(out, sharp)}
        if self.val_real is not None:
            row["gain_real"] = gain_db(self.ema, *self.val_real)
            if row["gain_real"] > self.best_real:
                self.best_real = row["gain_real"]
                self.checkpoint("best.pt")
        return row

    def _validate_restore(self) -> dict[str, float]:
        """PSNR of the EMA net and of its baseline (the input, bicubic-upscaled for x2)."""
        inp, target = self.val
        out = torch.cat([self.ema(inp[i:i + 8]) for i in range(0, len(inp), 8)])
        base = inp if self.spec.scale == 1 else F.interpolate(
            inp, scale_factor=self.spec.scale, mode="bicubic", align_corners=False)
        # capped: a clean input scores ~inf dB against itself, and 50 dB is already invisible
        gain = float((psnr_each(out, target).clamp(max=50) - psnr_each(base.clamp(0, 1), target).clamp(max=50)).mean())
        row = {"psnr_input": _psnr(base, target), "psnr_ema": _psnr(out, target), "gain_real": gain}
        if self.cfg.val_real and gain > self.best_real:
            self.best_real = gain
            self.checkpoint("best.pt")
        return row

    def train_step(self) -> float:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = self.lr_now()
        blurry, sharp = self.pairs.batch(cfg.batch, cfg.crop)
        if self.cuda:
            blurry, sharp = (t.contiguous(memory_format=torch.channels_last) for t in (blurry, sharp))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cuda):
            out = self.model(blurry)
        out = out.float()
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
        self.dir.mkdir(parents=True, exist_ok=True)
        curve = self.dir / "curve.jsonl"
        t0, losses = time.time(), []
        while not self.done():
            tick = time.time()
            losses.append(self.train_step())
            self.elapsed_s += time.time() - tick
            last = self.done()
            if self.step % self.cfg.val_every == 0 or last:
                row = self.validate() | {"loss": float(np.mean(losses)), "lr": self.lr_now(),
                                         "steps_per_s": len(losses) / (time.time() - t0)}
                with curve.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                val = f" val {row['psnr_ema']:.2f} dB (input {row['psnr_input']:.2f})" if "psnr_ema" in row else ""
                real = f", real {row['gain_real']:+.3f} dB" if "gain_real" in row else ""
                mild = (f", mild {row['psnr_ema_mild']:.2f} dB (input {row['psnr_input_mild']:.2f})"
                        if "psnr_ema_mild" in row else "")
                log.warning("%s step %d (%.1f min) loss %.4f%s%s%s, %.1f steps/s", self.cfg.model, self.step,
                            row["minutes"], row["loss"], val, mild, real, row["steps_per_s"])
                t0, losses = time.time(), []
            if self.step % self.cfg.ckpt_every == 0 or last:
                self.checkpoint()


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, Path, Path | None]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="zoo architecture: nano | small (deblur), denoise, x2 (upscale); "
                                  "small-wide | small-deep (capacity variants: --init small's weights)")
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    d = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for f in ("steps", "batch", "crop", "bank_size", "seed", "threads", "ckpt_every", "val_every"):
        ap.add_argument("--" + f.replace("_", "-"), type=int, default=d[f])
    for f in ("minutes", "lr", "ema_decay", "fft_weight", "max_extent_px", "sharp_fraction",
              "jpeg_probability", "h264_probability", "face_fraction"):
        ap.add_argument("--" + f.replace("_", "-"), type=float, default=d[f])
    ap.add_argument("--data", action="append", default=[], help="folder tree of training photos (repeatable)")
    ap.add_argument("--face-data", action="append", default=[], help="folder of face photos (repeatable)")
    ap.add_argument("--val-real", default="", help="folder of camera-blur pairs (PAIRS.tsv): picks best.pt")
    ap.add_argument("--no-synthetic-val", dest="synthetic_val", action="store_false",
                    help="skip the validation on package photos (where scikit-image is not installed)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--init", type=Path, default=None,
                    help="fine-tune: start from these weights (ignored when resuming); a variant also "
                         "takes those of the net it grows from")
    a = ap.parse_args(argv)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(a).items() if k in names}
    cfg = TrainConfig(**(values | {"data": tuple(a.data), "face_data": tuple(a.face_data)}))
    return cfg, a.run_dir, a.init


TRAIN_FLAGS = flags("run_dir")
"""The options that messages name by field (``runtime.errors.with_flags``)."""


def train(argv: list[str] | None = None) -> None:
    """Parse the options, resume ``RUN/NAME/last.pt`` or start (from ``--init``), and train.

    Raises:
        EdgeDeblurError: bad options or data; the caller prints it (``edgedeblur --debug``
            shows the traceback).
    """
    cfg, run_dir, init = parse_args(argv)
    trainer = Trainer(cfg, run_dir)
    if not trainer.resume() and init is not None:
        trainer.init_from(init)
    trainer.run()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    return report_errors("convert.train", lambda: train(argv), TRAIN_FLAGS)


if __name__ == "__main__":
    raise SystemExit(main())
