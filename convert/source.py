"""What the user brings: a zoo model by name, a PyTorch checkpoint, or an ONNX file.

``load_source`` checks everything that can be checked before any work starts: the file
exists and is what it claims to be, an ONNX model is image to image (one NCHW or NHWC
3-channel image in, one image of the same size out), and dynamic sizes come with
``--input-size``.

Example:
    >>> src = load_source("nano")  # the shipped weights in convert/weights/nano.pt
    >>> src.kind, src.multiple_of
    (<SourceKind.ZOO: 'zoo'>, 8)
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto

from runtime.errors import ConfigError, ModelLoadError
from runtime.manifest import Layout

if TYPE_CHECKING:
    from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Frozen weights of the shipped zoo models (written by ``convert.ship``)."""
ONNX_SUFFIXES = (".onnx",)
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
_FLOAT_TYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16"}


class SourceKind(str, enum.Enum):
    """Where the model came from; only PyTorch sources can be fine-tuned (QAT)."""

    ZOO = "zoo"
    CHECKPOINT = "checkpoint"
    ONNX = "onnx"


@dataclass(frozen=True, slots=True, eq=False)
class SourceModel:
    """A model ready for export.

    Attributes:
        name: model name used in artifact ids (zoo name or the file's stem).
        kind: zoo name, checkpoint or ONNX file.
        path: the checkpoint or ONNX file (None for a zoo model with no checkpoint).
        arch: zoo architecture for PyTorch sources (None for ONNX).
        module: the PyTorch model (``torch.nn.Module``, eval mode; None for ONNX).
        layout: ONNX input layout (PyTorch sources are NCHW).
        size_hw: static (height, width) of an ONNX model, or None if dynamic.
        multiple_of: H and W must be multiples of this.
    """

    name: str
    kind: SourceKind
    path: Path | None
    arch: str | None
    module: nn.Module | None
    layout: Layout = Layout.NCHW
    size_hw: tuple[int, int] | None = None
    multiple_of: int = 1

    @property
    def is_torch(self) -> bool:
        """True when the PyTorch model is at hand (LiteRT export and QAT need it)."""
        return self.module is not None


def parse_size(text: str) -> tuple[int, int]:
    """``"256"`` or ``"256x320"`` (height x width) as a (height, width) tuple.

    Raises:
        ConfigError: not one or two positive integers.
    """
    parts = text.lower().replace(",", "x").split("x")
    try:
        hw = tuple(int(p) for p in parts)
    except ValueError as e:
        raise ConfigError(f"--input-size {text!r} must be N or HxW in pixels, e.g. 256 or 256x320") from e
    if len(hw) == 1:
        hw = (hw[0], hw[0])
    if len(hw) != 2 or min(hw) < 8:
        raise ConfigError(f"--input-size {text!r} must be N or HxW with both at least 8 px, e.g. 256")
    return hw[0], hw[1]


def _dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    shape = vi.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim]


def _image_layout(dims: list[int | str]) -> Layout | None:
    if len(dims) != 4:
        return None
    if dims[1] == 3:
        return Layout.NCHW
    if dims[3] == 3:
        return Layout.NHWC
    return None


def _hw(dims: list[int | str], layout: Layout) -> tuple[int | str, int | str]:
    return (dims[2], dims[3]) if layout is Layout.NCHW else (dims[1], dims[2])


def inspect_onnx(path: Path, input_size: tuple[int, int] | None) -> tuple[Layout, tuple[int, int] | None]:
    """Check that an ONNX file is an image-to-image model and return its layout and static size.

    Raises:
        ModelLoadError: not an ONNX file, or not image to image (the message says why).
        ConfigError: dynamic H/W without ``input_size``, or ``input_size`` contradicting
            the file's static size.
    """
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError, RuntimeError, ...
        raise ModelLoadError(f"{path} is not an ONNX model ({type(e).__name__}); give a .onnx file "
                             "exported with torch.onnx.export or a zoo name (nano, small)") from e
    graph = model.graph
    if not graph.node:
        raise ModelLoadError(f"{path} is not an ONNX model (no graph nodes); give a .onnx file "
                             "exported with torch.onnx.export or a zoo name (nano, small)")
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelLoadError(f"{path} is not an image-to-image model: it has {len(inputs)} inputs and "
                             f"{len(graph.output)} outputs, expected one image in and one image out")
    src, dst = inputs[0], graph.output[0]
    for vi, what in ((src, "input"), (dst, "output")):
        elem = vi.type.tensor_type.elem_type
        if elem not in _FLOAT_TYPES:
            raise ModelLoadError(f"{path} is not an image-to-image model: its {what} {vi.name!r} has "
                                 f"type {TensorProto.DataType.Name(elem)}; expected float32 or float16")
    in_dims, out_dims = _dims(src), _dims(dst)
    layout = _image_layout(in_dims)
    if layout is None:
        raise ModelLoadError(f"{path} is not an image-to-image model: input {src.name!r} has shape "
                             f"{in_dims}; expected (N, 3, H, W) or (N, H, W, 3)")
    out_layout = _image_layout(out_dims)
    if len(out_dims) != 4 or (out_layout is not None and out_layout is not layout):
        raise ModelLoadError(f"{path} is not an image-to-image model: output {dst.name!r} has shape "
                             f"{out_dims} for input shape {in_dims}; expected an image of the same size")
    h, w = _hw(in_dims, layout)
    static = (h, w) if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0 else None
    if static is None and input_size is None:
        raise ConfigError(f"{path} has dynamic input dims {in_dims}; pass --input-size HxW "
                          "(e.g. --input-size 256) so it can be calibrated, validated and fixed for NPUs")
    if static is not None and input_size is not None and tuple(input_size) != static:
        raise ConfigError(f"--input-size {input_size[0]}x{input_size[1]} contradicts {path}'s static "
                          f"input size {static[0]}x{static[1]}; leave --input-size out or re-export the model")
    _check_runs_same_size(path, layout, static or input_size)
    return layout, static


def _check_runs_same_size(path: Path, layout: Layout, size_hw: tuple[int, int]) -> None:
    """Run the model once on zeros: the output must be a 3-channel image of the input's size."""
    import onnxruntime as ort

    h, w = size_hw
    shape = (1, 3, h, w) if layout is Layout.NCHW else (1, h, w, 3)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed_type = np.float16 if "float16" in sess.get_inputs()[0].type else np.float32
        out = sess.run(None, {sess.get_inputs()[0].name: np.zeros(shape, feed_type)})[0]
    except Exception as e:  # onnxruntime raises its own assorted types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{path} does not run on a {h}x{w} input in ONNX Runtime ({first[:200]}); "
                             "check --input-size") from e
    if out.shape != shape:
        raise ModelLoadError(f"{path} is not an image-to-image model: a {list(shape)} input gives a "
                             f"{list(out.shape)} output; expected the same shape")


def _torch_source(name: str, kind: SourceKind, arch: str, checkpoint: Path) -> SourceModel:
    from convert.zoo import MULTIPLE_OF, load_checkpoint

    module = load_checkpoint(arch, checkpoint)
    return SourceModel(name=name, kind=kind, path=checkpoint, arch=arch, module=module,
                       multiple_of=MULTIPLE_OF)


def _checkpoint_arch(path: Path) -> str | None:
    """The architecture a training checkpoint records in its config, if any."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a checkpoint: load_checkpoint reports it properly later
        return None
    config = state.get("config") if isinstance(state, dict) else None
    return config.get("model") if isinstance(config, dict) else None


def load_source(spec: str, *, arch: str | None = None, checkpoint: Path | None = None,
                input_size: tuple[int, int] | None = None) -> SourceModel:
    """Resolve the model argument of ``edgedeblur convert``.

    Args:
        spec: a zoo name (``nano``), a checkpoint (``.pt``/``.pth``/``.ckpt``) or an ONNX file.
        arch: zoo architecture of a checkpoint (read from the checkpoint when omitted).
        checkpoint: weights for a zoo name (else the shipped ``convert/weights/NAME.pt``).
        input_size: (height, width); required for ONNX files with dynamic H/W.

    Raises:
        ModelLoadError: missing or malformed file, or an ONNX model that is not image to image.
        ConfigError: unknown zoo name (with a suggestion), missing ``--arch``, or dynamic
            dims without ``--input-size``.
    """
    from convert.zoo import MODELS, get_spec

    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES or (path.is_file() and suffix not in CHECKPOINT_SUFFIXES):
        if not path.is_file():
            raise ModelLoadError(f"cannot open {spec}: not found; give an existing .onnx file or a zoo "
                                 f"name ({', '.join(MODELS)})")
        layout, static = inspect_onnx(path, input_size)
        return SourceModel(name=path.stem.split(".")[0], kind=SourceKind.ONNX, path=path, arch=None,
                           module=None, layout=layout, size_hw=static, multiple_of=1)
    if suffix in CHECKPOINT_SUFFIXES:
        if not path.is_file():
            raise ModelLoadError(f"cannot open checkpoint {spec}: not found")
        arch = arch or _checkpoint_arch(path)
        if arch is None:
            raise ConfigError(f"{spec} does not record its architecture; pass --arch "
                              f"({' | '.join(MODELS)})")
        get_spec(arch)
        return _torch_source(arch, SourceKind.CHECKPOINT, arch, path)
    get_spec(spec)  # unknown names get a suggestion here
    if checkpoint is None:
        checkpoint = WEIGHTS_DIR / f"{spec}.pt"
        if not checkpoint.is_file():
            raise ModelLoadError(f"no weights for zoo model {spec!r} at {checkpoint}: pass --checkpoint PATH "
                                 f"(a .pt written by `edgedeblur train {spec}`)")
    return _torch_source(spec, SourceKind.ZOO, spec, checkpoint)
