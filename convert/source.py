"""What the user brings: a zoo model by name, a PyTorch checkpoint, or an ONNX file.

``load_source`` checks everything that can be checked before any work starts: the file
exists and is what it claims to be, an ONNX model is image to image (one NCHW or NHWC
3-channel image in, one image of the same size, or twice the size for an x2 upscaler, out),
and dynamic sizes come with ``--input-size``. Zoo models carry their task ('deblur',
'denoise', 'upscale'), scale and stride from their ``convert.zoo.ModelSpec``.

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
ONNX_SCALES = (1, 2)
"""Output/input size ratios accepted from ONNX files: same-size restorers and x2 upscalers
(the only scale the validation data can be made for)."""


class SourceKind(str, enum.Enum):
    """Where the model came from; only PyTorch sources can be fine-tuned (QAT)."""

    ZOO = "zoo"
    CHECKPOINT = "checkpoint"
    ONNX = "onnx"
    MODULE = "module"
    """A user's own ``nn.Module`` class (``--arch module:Class``) and its checkpoint."""


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
        output: ONNX: the image output (others, e.g. coarser scales, are dropped).
        task: what the model restores ('deblur', 'denoise', 'upscale'): picks the
            calibration and validation data.
        scale: output size over input size (2 for an x2 upscaler).
    """

    name: str
    kind: SourceKind
    path: Path | None
    arch: str | None
    module: nn.Module | None
    layout: Layout = Layout.NCHW
    size_hw: tuple[int, int] | None = None
    multiple_of: int = 1
    output: str | None = None
    task: str = "deblur"
    scale: int = 1

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


@dataclass(frozen=True, slots=True)
class OnnxImage:
    """What ``inspect_onnx`` learns about an ONNX file."""

    layout: Layout
    size_hw: tuple[int, int] | None
    output: str
    """The image output (multi-output nets: the first output the size of the input, else twice it)."""
    scale: int = 1
    """Output size over input size (``ONNX_SCALES``)."""


def _model_error(path: Path, why: str) -> ModelLoadError:
    return ModelLoadError(f"{path} is not an image-to-image model: {why}")


def inspect_onnx(path: Path, input_size: tuple[int, int] | None) -> OnnxImage:
    """Check that an ONNX file is an image-to-image model and return its layout, static size and image output.

    Nets with several outputs (multi-scale or multi-stage) are accepted when at least one
    output is an image of the input's size (or of twice its size: an x2 upscaler); that one
    is converted, the others are dropped.

    Raises:
        ModelLoadError: not an ONNX file, or not image to image (the message says why).
        ConfigError: dynamic H/W without ``input_size``, or ``input_size`` contradicting
            the file's static size.
    """
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError, RuntimeError, ...
        raise ModelLoadError(f"{path} is not an ONNX model ({type(e).__name__}); give a .onnx file "
                             "exported with torch.onnx.export or a zoo name (nano, small, denoise, x2)") from e
    graph = model.graph
    if not graph.node:
        raise ModelLoadError(f"{path} is not an ONNX model (no graph nodes); give a .onnx file "
                             "exported with torch.onnx.export or a zoo name (nano, small, denoise, x2)")
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1 or not graph.output:
        raise _model_error(path, f"it has {len(inputs)} inputs and {len(graph.output)} outputs, expected one "
                           "image in and at least one image out")
    src = inputs[0]
    for vi, what in ((src, "input"), *((o, "output") for o in graph.output)):
        elem = vi.type.tensor_type.elem_type
        if elem not in _FLOAT_TYPES:
            raise _model_error(path, f"its {what} {vi.name!r} has type {TensorProto.DataType.Name(elem)}; "
                               "expected float32 or float16")
    in_dims = _dims(src)
    layout = _image_layout(in_dims)
    if layout is None:
        raise _model_error(path, f"input {src.name!r} has shape {in_dims}; expected (N, 3, H, W) or (N, H, W, 3)")
    h, w = _hw(in_dims, layout)
    static = (h, w) if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0 else None
    if static is None and input_size is None:
        raise ConfigError(f"{path} has dynamic input dims {in_dims}; pass --input-size HxW "
                          "(e.g. --input-size 256) so it can be calibrated, validated and fixed for NPUs")
    if static is not None and input_size is not None and tuple(input_size) != static:
        raise ConfigError(f"--input-size {input_size[0]}x{input_size[1]} contradicts {path}'s static "
                          f"input size {static[0]}x{static[1]}; leave --input-size out or re-export the model")
    output, scale = _image_output(path, layout, static or input_size)
    return OnnxImage(layout, static, output, scale)


def _image_output(path: Path, layout: Layout, size_hw: tuple[int, int]) -> tuple[str, int]:
    """Run the model once on zeros; the first output that is a 3-channel image of the input's
    size (else of ``s`` times it, s in ``ONNX_SCALES``) and that scale."""
    import onnxruntime as ort

    h, w = size_hw
    shape = (1, 3, h, w) if layout is Layout.NCHW else (1, h, w, 3)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed_type = np.float16 if "float16" in sess.get_inputs()[0].type else np.float32
        outs = sess.run(None, {sess.get_inputs()[0].name: np.zeros(shape, feed_type)})
    except Exception as e:  # onnxruntime raises its own assorted types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{path} does not run on a {h}x{w} input in ONNX Runtime ({first[:200]}); "
                             "check --input-size") from e
    names = [o.name for o in sess.get_outputs()]
    for s in ONNX_SCALES:
        want = (1, 3, h * s, w * s) if layout is Layout.NCHW else (1, h * s, w * s, 3)
        for name, out in zip(names, outs):
            if out.shape == want:
                return name, s
    got = ", ".join(f"{n} {list(o.shape)}" for n, o in zip(names, outs))
    raise _model_error(path, f"outputs {got} for a {list(shape)} input; expected one of the same shape "
                       "(or twice the height and width: an x2 upscaler)")


def zoo_source(name: str, kind: SourceKind, arch: str, checkpoint: Path) -> SourceModel:
    """A zoo architecture with weights from ``checkpoint``, carrying its spec's task, scale and stride."""
    from convert.zoo import get_spec, load_checkpoint

    spec = get_spec(arch)
    module = load_checkpoint(arch, checkpoint)
    return SourceModel(name=name, kind=kind, path=checkpoint, arch=arch, module=module,
                       multiple_of=spec.multiple_of, task=spec.task, scale=spec.scale)


def _checkpoint_arch(path: Path) -> str | None:
    """The architecture a training checkpoint records in its config, if any."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a checkpoint: load_checkpoint reports it properly later
        return None
    config = state.get("config") if isinstance(state, dict) else None
    return config.get("model") if isinstance(config, dict) else None


def _user_source(spec: str | None, arch: str, checkpoint: Path | None, arch_args: dict[str, object],
                 input_size: tuple[int, int] | None) -> SourceModel:
    from convert.user_module import build_module, image_output

    weights = Path(spec).expanduser() if spec else checkpoint
    if weights is not None and not weights.is_file():
        raise ModelLoadError(f"cannot open checkpoint {weights}: not found")
    module = image_output(build_module(arch, weights, arch_args), input_size or (64, 64))
    name = weights.stem.split(".")[0] if weights else arch.rpartition(":")[2].lower()
    return SourceModel(name=name, kind=SourceKind.MODULE, path=weights, arch=None, module=module)


def load_source(spec: str | None, *, arch: str | None = None, checkpoint: Path | None = None,
                input_size: tuple[int, int] | None = None, arch_args: dict[str, object] | None = None
                ) -> SourceModel:
    """Resolve the model argument of ``edgedeblur convert``.

    Args:
        spec: a zoo name (``nano``), a checkpoint (``.pt``/``.pth``/``.ckpt``) or an ONNX file;
            None with a user ``arch`` (weights from ``checkpoint``).
        arch: zoo architecture of a checkpoint (read from the checkpoint when omitted), or a
            user class ``module:Class`` / ``file.py:Class`` (``convert.user_module``).
        checkpoint: weights for a zoo name or user class (zoo default: the shipped
            ``convert/weights/NAME.pt``).
        input_size: (height, width); required for ONNX files with dynamic H/W.
        arch_args: keyword arguments of a user class.

    Raises:
        ModelLoadError: missing or malformed file, or an ONNX model that is not image to image.
        ConfigError: unknown zoo name (with a suggestion), missing ``--arch``, or dynamic
            dims without ``--input-size``.
    """
    from convert.user_module import is_user_arch
    from convert.zoo import MODELS, get_spec

    if arch is not None and is_user_arch(arch):
        return _user_source(spec, arch, checkpoint, arch_args or {}, input_size)
    if spec is None:
        raise ConfigError("give a MODEL: a zoo name (nano, small, denoise, x2), a .pt checkpoint, a .onnx file, or "
                          "--arch module:Class --checkpoint weights.pth")
    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES or (path.is_file() and suffix not in CHECKPOINT_SUFFIXES):
        if not path.is_file():
            raise ModelLoadError(f"cannot open {spec}: not found; give an existing .onnx file or a zoo "
                                 f"name ({', '.join(MODELS)})")
        image = inspect_onnx(path, input_size)
        return SourceModel(name=path.stem.split(".")[0], kind=SourceKind.ONNX, path=path, arch=None,
                           module=None, layout=image.layout, size_hw=image.size_hw, multiple_of=1,
                           output=image.output, task="upscale" if image.scale > 1 else "deblur",
                           scale=image.scale)
    if suffix in CHECKPOINT_SUFFIXES:
        if not path.is_file():
            raise ModelLoadError(f"cannot open checkpoint {spec}: not found")
        arch = arch or _checkpoint_arch(path)
        if arch is None:
            raise ConfigError(f"{spec} does not record its architecture; pass --arch "
                              f"({' | '.join(MODELS)})")
        get_spec(arch)
        return zoo_source(arch, SourceKind.CHECKPOINT, arch, path)
    get_spec(spec)  # unknown names get a suggestion here
    if checkpoint is None:
        checkpoint = WEIGHTS_DIR / f"{spec}.pt"
        if not checkpoint.is_file():
            raise ModelLoadError(f"no weights for zoo model {spec!r} at {checkpoint}: pass --checkpoint PATH "
                                 f"(a .pt written by `edgedeblur train {spec}`)")
    return zoo_source(spec, SourceKind.ZOO, spec, checkpoint)
