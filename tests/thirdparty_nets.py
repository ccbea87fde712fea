"""Tiny deblur nets built the way other projects build theirs (imported by name by tests and benchmarks).

Nobody here designed these: each mirrors the operator mix of a published family, shrunk
to a few thousand parameters so it converts in seconds on a CPU.

- ``nafnet``: LayerNorm over channels written out by hand (mean, pow, sqrt, div),
  SimpleGate, simplified channel attention, pixel shuffle, and the pad-to-a-multiple
  preamble every NAFNet/Restormer export carries (Shape, Gather, Mod, Pad, Slice).
- ``restormer``: ``F.layer_norm`` over channels, GELU, transposed (channel) self-attention
  with softmax, a 7x7 depthwise conv (large kernels), a transposed conv to upsample.
- ``mimo``: multi-scale input and outputs (bilinear Resize down and up); three outputs of
  which only the last is the full-size image.

``export(name, path)`` writes one as a user would: ``torch.onnx.export``, opset 17,
dynamic batch/height/width.
"""
from __future__ import annotations

import io
import contextlib
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("nafnet", "restormer", "mimo")
OPSET = 17


class LayerNorm2d(nn.Module):
    """NAFNet's channel LayerNorm, written with the ops its export produces."""

    def __init__(self, c: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = LayerNorm2d(c), LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        self.conv3 = nn.Conv2d(c, c, 1)
        self.conv4, self.conv5 = nn.Conv2d(c, 2 * c, 1), nn.Conv2d(c, c, 1)
        self.gate = SimpleGate()
        self.beta = nn.Parameter(torch.full((1, c, 1, 1), 0.1))
        self.gamma = nn.Parameter(torch.full((1, c, 1, 1), 0.1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.gate(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(self.gate(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class TinyNAFNet(nn.Module):
    """Two-level NAFNet (width 8): the input is padded to a multiple of 4 and cropped back."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.intro, self.ending = nn.Conv2d(3, w, 3, padding=1), nn.Conv2d(w, 3, 3, padding=1)
        self.enc0, self.down0 = NAFBlock(w), nn.Conv2d(w, 2 * w, 2, stride=2)
        self.enc1, self.down1 = NAFBlock(2 * w), nn.Conv2d(2 * w, 4 * w, 2, stride=2)
        self.middle = NAFBlock(4 * w)
        self.up1, self.dec1 = nn.Sequential(nn.Conv2d(4 * w, 8 * w, 1, bias=False), nn.PixelShuffle(2)), NAFBlock(2 * w)
        self.up0, self.dec0 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 1, bias=False), nn.PixelShuffle(2)), NAFBlock(w)
        self.multiple = 4

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        h, w = inp.shape[-2:]
        padded = F.pad(inp, (0, (self.multiple - w % self.multiple) % self.multiple,
                             0, (self.multiple - h % self.multiple) % self.multiple))
        e0 = self.enc0(self.intro(padded))
        e1 = self.enc1(self.down0(e0))
        m = self.middle(self.down1(e1))
        d1 = self.dec1(self.up1(m) + e1)
        d0 = self.dec0(self.up0(d1) + e0)
        return (self.ending(d0) + padded)[:, :, :h, :w]


class ChannelAttention(nn.Module):
    """Restormer's MDTA: attention across channels (C x C), so its cost is linear in pixels."""

    def __init__(self, c: int, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.qkv_dw = nn.Conv2d(3 * c, 3 * c, 3, padding=1, groups=3 * c)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dw(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)
        return self.proj((attn @ v).reshape(b, c, h, w))


class LargeKernelBlock(nn.Module):
    """LayerNorm (F.layer_norm on NHWC) -> channel attention; LayerNorm -> 7x7 depthwise + GELU MLP."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.attn = ChannelAttention(c)
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.mlp = nn.Sequential(nn.Conv2d(c, 2 * c, 1), nn.GELU(), nn.Conv2d(2 * c, c, 1))

    def _norm(self, norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
        return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self._norm(self.n1, x))
        return x + self.mlp(self.dw(self._norm(self.n2, x)))


class TinyRestormer(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.embed = nn.Conv2d(3, w, 3, padding=1)
        self.enc, self.down = LargeKernelBlock(w), nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.mid = LargeKernelBlock(2 * w)
        self.up = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec = LargeKernelBlock(w)
        self.out = nn.Conv2d(w, 3, 3, padding=1)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        e = self.enc(self.embed(inp))
        d = self.dec(self.up(self.mid(self.down(e))) + e)
        return inp + self.out(d)


class TinyMIMO(nn.Module):
    """MIMO-UNet's idea: the image enters at three scales and leaves at three scales."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.heads = nn.ModuleList(nn.Conv2d(3, w, 3, padding=1) for _ in range(3))
        self.bodies = nn.ModuleList(nn.Sequential(nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(w, w, 3, padding=1)) for _ in range(3))
        self.tails = nn.ModuleList(nn.Conv2d(w, 3, 3, padding=1) for _ in range(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x2 = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        x4 = F.interpolate(x2, scale_factor=0.5, mode="bilinear", align_corners=False)
        outs, feat = [], None
        for i, xi in enumerate((x4, x2, x)):
            f = self.heads[i](xi)
            if feat is not None:
                f = f + F.interpolate(feat, size=xi.shape[-2:], mode="bilinear", align_corners=False)
            feat = self.bodies[i](f)
            outs.append(xi + self.tails[i](feat))
        return outs[0], outs[1], outs[2]


def make(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised tiny net (weights scaled down so outputs stay near the input)."""
    torch.manual_seed(seed)
    net = {"nafnet": TinyNAFNet, "restormer": TinyRestormer, "mimo": TinyMIMO}[name]()
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 4:
                p.mul_(0.5)
    return net.eval()


def export(name: str, path: Path, *, seed: int = 0, size: int = 32, dynamic: bool = True) -> Path:
    """Export ``make(name)`` to ONNX the usual way (TorchScript exporter, opset 17)."""
    net = make(name, seed)
    outputs = ["small", "mid", "image"] if name == "mimo" else ["image"]
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in ["input", *outputs]} if dynamic else None
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.rand(1, 3, size, size),), str(path), dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=outputs, dynamic_axes=axes)
    return path
