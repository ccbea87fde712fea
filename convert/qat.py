"""Quantisation-aware fine-tuning: the last repair step for our own (PyTorch) models.

The model is fine-tuned for a few hundred steps with int8 simulated in the forward pass
(per-channel symmetric weights, per-tensor activations with moving min/max, straight-through
gradients), distilled from the original float model and pulled towards the clean
targets (blur pairs for the deblur nets, the task's own pairs for the denoiser and upscaler). The float weights it ends with sit where rounding hurts least; they are then
exported and quantised with the ordinary post-training pipeline.

Example:
    >>> tuned = finetune(model, QatConfig(steps=200))
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver
from torch.nn.utils import parametrize

from convert.artifact import Artifact
from convert.quantize import CalibMethod
from convert.source import SourceModel
from convert.targets import PlannedArtifact
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat, Precision


@dataclass(frozen=True, slots=True)
class QatConfig:
    """Fine-tuning settings.

    Args:
        steps: optimiser steps (>= 1).
        batch: pairs per step.
        crop: training crop side in pixels (multiple of 8).
        lr: Adam learning rate (small: the model is already trained).
        seed: data and initialisation seed (differs from training and calibration seeds).
    """

    steps: int = 300
    batch: int = 8
    crop: int = 64
    lr: float = 5e-5
    seed: int = 4242

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1:
            raise ConfigError(f"--qat-steps {self.steps} and batch {self.batch} must be >= 1")
        if self.crop < 8 or self.crop % 8:
            raise ConfigError(f"QAT crop {self.crop} must be a multiple of 8")


class _WeightFakeQuant(nn.Module):
    """Parametrisation: the weight as int8 per-output-channel symmetric would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.fq = FakeQuantize(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
                               dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.fq(w)


def _act_fake_quant() -> FakeQuantize:
    return FakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8,
                        qscheme=torch.per_tensor_affine)


def _instrument(model: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Fake-quantise every conv's weight and output in place; returns the output hooks."""
    handles = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            parametrize.register_parametrization(mod, "weight", _WeightFakeQuant())
            mod.add_module("out_fq", _act_fake_quant())
            handles.append(mod.register_forward_hook(lambda m, _i, out: m.out_fq(out)))
    return handles


def _strip(model: nn.Module, handles: list[torch.utils.hooks.RemovableHandle]) -> None:
    """Back to a plain float model, keeping the fine-tuned weights."""
    for h in handles:
        h.remove()
    for mod in model.modules():
        if parametrize.is_parametrized(mod, "weight"):
            parametrize.remove_parametrizations(mod, "weight", leave_parametrized=False)
        if hasattr(mod, "out_fq"):
            del mod.out_fq


def finetune(model: nn.Module, config: QatConfig, task: str = "deblur") -> nn.Module:
    """A copy of ``model`` fine-tuned with simulated int8 (the input is not modified).

    Args:
        model: NCHW float image model (zoo architecture or any conv net).
        config: steps, batch, crop (the input's side), learning rate.
        task: 'deblur', 'denoise' or 'upscale': which (input, target) pairs it sees.

    Returns:
        The fine-tuned float model in eval mode.
    """
    from tqdm import tqdm

    from convert.data import DataConfig, PairSampler
    from convert.task_data import TASK_SCALE, check_task, degrade_crops

    check_task(task)
    torch.manual_seed(config.seed)
    teacher = copy.deepcopy(model).eval()
    student = copy.deepcopy(model).train()
    for p in student.parameters():
        p.requires_grad_(True)
    handles = _instrument(student)
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=config.lr)
    data = (DataConfig(crop=config.crop, pool_dead_leaves=8) if task == "deblur"  # photos only: as trained
            else DataConfig(crop=config.crop, dead_leaves_fraction=0.0, pool_dead_leaves=0))
    sampler = PairSampler(data, config.seed)
    for step in tqdm(range(config.steps), desc="QAT fine-tune", unit="step", file=sys.stderr, leave=False):
        pair = sampler.batch(config.batch) if task == "deblur" else degrade_crops(
            task, sampler.sharp_crops(config.batch, config.crop * TASK_SCALE[task]), config.seed + step)
        inp, clean = (torch.from_numpy(a).permute(0, 3, 1, 2).contiguous() for a in pair)
        with torch.no_grad():
            target = teacher(inp)
        out = student(inp)
        loss = (out - target).abs().mean() + 0.5 * (out - clean).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _strip(student, handles)
    return student.eval()


def qat_quantize(src: SourceModel, spec: PlannedArtifact, size_hw: tuple[int, int], calib: NDArray[np.float32],
                 config: QatConfig, method: CalibMethod, out: Path, work: Path) -> Artifact:
    """Fine-tune ``src`` with QAT, export it like ``spec`` and quantise it to int8 at ``out``.

    Raises:
        ConfigError: ``src`` is not a PyTorch model.
    """
    if not src.is_torch:
        raise ConfigError(f"{src.path} is an ONNX file: quantisation-aware fine-tuning needs the PyTorch model")
    tuned = replace(src, module=finetune(src.module, config, src.task))  # type: ignore[arg-type]
    work.mkdir(parents=True, exist_ok=True)
    if spec.format is ArtifactFormat.ONNX:
        from convert.export import ExportConfig, export_onnx
        from convert.quantize import OnnxQuantConfig, OnnxQuantizer

        fp32 = export_onnx(tuned, work / "qat.fp32.onnx",
                           ExportConfig(opset=spec.opset, size_hw=size_hw if spec.static else None,
                                        shuffle_as_conv=spec.shuffle_as_conv))
        q = OnnxQuantizer(fp32, calib, work)
        art = q.quantize(out, OnnxQuantConfig(Precision.INT8, spec.activation_dtype, spec.symmetric_activations,
                                              method=method))
    else:
        from convert.litert import TfliteExportConfig, TfliteQuantConfig, TfliteQuantizer, export_tflite

        fp32 = export_tflite(tuned, work / "qat.fp32.tflite", TfliteExportConfig(size_hw, spec.shuffle_as_conv))
        art = TfliteQuantizer(fp32, calib).quantize(out, TfliteQuantConfig(Precision.INT8, method))
    return replace(art, provenance={**art.provenance, "qat_steps": str(config.steps)})
