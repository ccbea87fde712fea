"""Edge restoration architectures (PyTorch), registered by name: deblur, denoise, x2 upscale.

``EdgeUNet``: pixel-unshuffle(2) stem so most work runs at 1/2 resolution and below, a
3-level UNet of plain 3x3 convs + ReLU residual blocks, dilated blocks at 1/8 resolution
for a receptive field wide enough for ~25 px blur kernels, pixel-shuffle upsampling
(DepthToSpace maps to NPUs; no transposed convs, which tflite-runtime cannot run int8), and
a global residual (output = input + correction). No normalisation layers (LayerNorm breaks
on some GPU delegates), no attention: every op is int8-friendly and static-shape friendly.
Inputs: NCHW float32 RGB in [0, 1], H and W multiples of 8.

The denoiser is an EdgeUNet too (blind: it sees the noise, not a noise-level input).
``EdgeSR`` upscales x2 with the same ingredients at the low resolution: plain 3x3 convs,
residual blocks, a 3x3 head to 12 channels and pixel-shuffle(2), added to the input
repeated onto the 2x2 sub-pixels (nearest upsampling as a fixed 1x1 conv followed by the
same pixel-shuffle), so it also starts as a plain upscaler and learns only the correction.
"""
from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemask.files import atomic_write
from runtime.errors import ConfigError, ModelLoadError, closest, write_error

MULTIPLE_OF = 8


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A registered architecture variant."""

    name: str
    description: str
    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    dilations: tuple[int, ...]
    task: str = "deblur"
    """What the net restores: 'deblur', 'denoise' or 'upscale' (its training pairs and checks)."""
    scale: int = 1
    """Output size / input size (2 for the upscaler)."""
    multiple_of: int = MULTIPLE_OF
    """Input height and width must be multiples of this (the net's total stride)."""
    grows_from: str = ""
    """A smaller registered net whose trained weights can start this one (``convert.grow``)."""
    params: int = field(default=0)
    macs_256: float = field(default=0.0)


class ResBlock(nn.Module):
    """conv-ReLU-conv with an identity skip; ``dilation`` widens the receptive field cheaply."""

    def __init__(self, ch: int, dilation: int = 1) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(self.act(self.c1(x)))


class Up(nn.Module):
    """1x1 conv to 4x channels, then pixel-shuffle(2): upsampling without transposed convs."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class EdgeUNet(nn.Module):
    """The edgedeblur network family; see the module docstring."""

    def __init__(self, widths: tuple[int, int, int], blocks: tuple[int, int, int],
                 dilations: tuple[int, ...]) -> None:
        super().__init__()
        c1, c2, c3 = widths
        act = nn.ReLU(inplace=True)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.stem = nn.Sequential(nn.Conv2d(12, c1, 3, padding=1), act)
        self.enc1 = nn.Sequential(*[ResBlock(c1) for _ in range(blocks[0])])
        self.down1 = nn.Sequential(nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(inplace=True))
        self.enc2 = nn.Sequential(*[ResBlock(c2) for _ in range(blocks[1])])
        self.down2 = nn.Sequential(nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.ReLU(inplace=True))
        self.mid = nn.Sequential(*[ResBlock(c3, d) for d in dilations])
        self.up2 = Up(c3, c2)
        self.dec2 = nn.Sequential(*[ResBlock(c2) for _ in range(blocks[1])])
        self.up1 = Up(c2, c1)
        self.dec1 = nn.Sequential(*[ResBlock(c1) for _ in range(blocks[2])])
        self.head = nn.Conv2d(c1, 12, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        nn.init.zeros_(self.head.weight)  # start as the identity map: output = input
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(self.stem(self.unshuffle(x)))
        e2 = self.enc2(self.down1(e1))
        m = self.mid(self.down2(e2))
        d2 = self.dec2(self.up2(m) + e2)
        d1 = self.dec1(self.up1(d2) + e1)
        return x + self.shuffle(self.head(d1))


class EdgeSR(nn.Module):
    """x2 upscaler working at the input resolution; see the module docstring."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True))
        self.body = nn.Sequential(*[ResBlock(width) for _ in range(blocks)])
        self.head = nn.Conv2d(width, 12, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        repeat = torch.zeros(12, 3, 1, 1)          # PixelShuffle reads channel c*4 + sub-pixel
        for c in range(3):
            repeat[4 * c:4 * c + 4, c] = 1.0
        self.register_buffer("repeat", repeat)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = nn.functional.conv2d(x, self.repeat)
        return self.shuffle(skip + self.head(self.body(self.stem(x))))


_SPECS: dict[str, ModelSpec] = {
    "nano": ModelSpec(
        name="nano",
        description="fast: face crops at camera rate on a Pi-class CPU",
        widths=(16, 32, 64), blocks=(1, 1, 1), dilations=(1, 2, 4, 8),
    ),
    "small": ModelSpec(
        name="small",
        description="quality: photos and face crops where a few more ms are fine",
        widths=(24, 48, 96), blocks=(1, 2, 2), dilations=(1, 2, 4, 8, 1, 2),
    ),
    "small-wide": ModelSpec(
        name="small-wide",
        description="capacity variant: small with 4/3 the channels at every level; trained from small's weights",
        widths=(32, 64, 128), blocks=(1, 2, 2), dilations=(1, 2, 4, 8, 1, 2), grows_from="small",
    ),
    "small-deep": ModelSpec(
        name="small-deep",
        description="capacity variant: small with 6 more residual blocks (2 of them dilated, at 1/8 resolution); "
                    "trained from small's weights",
        widths=(24, 48, 96), blocks=(2, 3, 3), dilations=(1, 2, 4, 8, 1, 2, 4, 8), grows_from="small",
    ),
    "denoise": ModelSpec(
        name="denoise",
        description="blind denoiser for the restore chain: sensor noise, JPEG, noise a deblur amplified",
        widths=(16, 32, 64), blocks=(1, 1, 1), dilations=(1, 2), task="denoise",
    ),
    "x2": ModelSpec(
        name="x2",
        description="x2 upscaler for the restore chain (run twice for x4)",
        widths=(24,), blocks=(4,), dilations=(), task="upscale", scale=2, multiple_of=1,
    ),
}


def _build(spec: ModelSpec) -> nn.Module:
    if spec.task == "upscale":
        return EdgeSR(spec.widths[0], spec.blocks[0])
    return EdgeUNet(spec.widths, spec.blocks, spec.dilations)  # type: ignore[arg-type]


def count_macs(model: nn.Module, size_hw: tuple[int, int] = (256, 256), only: set[str] | None = None) -> int:
    """Multiply-accumulates of every conv (or of the convs whose module names are in ``only``)
    for one NCHW input of ``size_hw`` (adds ignored)."""
    total = 0

    def hook(mod: nn.Conv2d, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = mod.kernel_size
        total += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for name, m in model.named_modules()
               if isinstance(m, nn.Conv2d) and (only is None or name in only)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *size_hw))
    finally:
        for h in handles:
            h.remove()
    return total


def _with_costs(spec: ModelSpec) -> ModelSpec:
    m = _build(spec).eval()
    params = sum(p.numel() for p in m.parameters())
    return dataclasses.replace(spec, params=params, macs_256=float(count_macs(m)))


class _Registry(dict[str, ModelSpec]):
    """Specs with params/MACs filled in lazily (building a model costs ~50 ms)."""

    def __getitem__(self, name: str) -> ModelSpec:
        spec = super().__getitem__(name)
        if spec.params == 0:
            spec = _with_costs(spec)
            super().__setitem__(name, spec)
        return spec


MODELS: dict[str, ModelSpec] = _Registry(_SPECS)


def get_spec(name: str) -> ModelSpec:
    """Look up a registered architecture.

    Raises:
        ConfigError: unknown name (lists the registered ones, with a close match).
    """
    if name not in MODELS:
        near = closest(name, MODELS)
        extra = f" Did you mean {near!r}?" if near else ""
        raise ConfigError(f"unknown model architecture {name!r}; registered: {', '.join(MODELS)}.{extra}")
    return MODELS[name]


def create_model(name: str) -> nn.Module:
    """A freshly initialised model of architecture ``name`` (starts as the identity map, or
    nearest-neighbour upscaling for the upscaler)."""
    return _build(get_spec(name))


def load_torch_file(path: Path) -> Any:
    """``torch.load`` for a file someone may have handed us: tensors and plain values only
    (``weights_only=True``), never the arbitrary pickled objects that run code on load.

    Raises:
        ModelLoadError: the file holds other objects, or is not a torch file at all.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for foreign files
        if "Unsupported global" in str(e):     # a pickle naming classes or functions: could run code
            raise ModelLoadError(f"{path} holds Python objects besides tensors and plain values; it is "
                                 "refused because loading it could run code. Save checkpoints as state dicts "
                                 "with plain config values") from e
        raise ModelLoadError(f"{path} is not a PyTorch checkpoint ({type(e).__name__}); pass a .pt written "
                             "by `edgedeblur train`") from e


def save_torch_file(obj: Any, path: Path, *, field: str = "path") -> None:
    """``torch.save`` to ``path`` atomically (missing folders created). The file is serialised
    in memory first: torch's own writer reported a full disk as a RuntimeError about zip
    offsets (a traceback in ``edgedeblur train``), the OS write says what happened.

    Raises:
        ImageError: the file cannot be written (DiskFullError on a full disk); ``field``
            names the option that chose the place.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        atomic_write(path, buffer.getvalue(), parents=True)
    except OSError as e:
        raise write_error(path, e, field=field) from e


def load_checkpoint(name: str, path: str | Path, *, ema: bool = True) -> nn.Module:
    """Build ``name`` and load weights from a training checkpoint or a bare state dict.

    Raises:
        ModelLoadError: the file is missing, not a torch checkpoint, or for another architecture.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"cannot open checkpoint {p}: not found; train one with `edgedeblur train {name}`")
    state = load_torch_file(p)
    if isinstance(state, dict) and "model" in state:
        state = state["ema"] if ema and state.get("ema") is not None else state["model"]
    model = create_model(name)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as e:
        raise ModelLoadError(f"{p} does not hold weights for architecture {name!r}: {str(e).splitlines()[0]}") from e
    return model.eval()
