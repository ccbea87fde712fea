"""A user's own PyTorch architecture and checkpoint as a source: ``--arch module:Class``.

    edgedeblur convert nafnet.pth --arch nafnet_arch:NAFNet --arch-args '{"width": 16}'

The class is imported from a module on the Python path (the current folder first) or from
a ``.py`` file (``--arch path/to/arch.py:Class``), built with ``--arch-args`` (a JSON
object of keyword arguments) and loaded with the checkpoint's weights. Common checkpoint
wrappers are unwrapped (``params_ema``, ``params``, ``state_dict``, ``model``, ``net``)
and a ``module.`` prefix left by DataParallel is dropped. Nets that return several
outputs (multi-scale, multi-stage) are wrapped to return their image output.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from runtime.errors import ConfigError, ModelLoadError

WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net")
"""Keys under which training frameworks (BasicSR, Lightning, plain scripts) store the weights."""


def is_user_arch(arch: str | None) -> bool:
    """``module:Class`` or ``file.py:Class``, as opposed to a zoo architecture name."""
    return arch is not None and ":" in arch


def parse_arch_args(text: str | None) -> dict[str, Any]:
    """``--arch-args`` as keyword arguments.

    Raises:
        ConfigError: not a JSON object.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--arch-args {text!r} is not JSON ({e.msg}); give an object, e.g. "
                          "'{\"width\": 16}'") from e
    if not isinstance(value, dict):
        raise ConfigError(f"--arch-args {text!r} must be a JSON object of keyword arguments, e.g. '{{\"width\": 16}}'")
    return value


def import_class(spec: str) -> type:
    """The class named by ``module.path:Class`` or ``path/to/file.py:Class``.

    Raises:
        ConfigError: the module or class cannot be found or imported (the message says which).
    """
    where, _, name = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(f"--arch {spec}: {where} not found")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")  # the current folder, as `python -m` would
            module = importlib.import_module(where)
    except ConfigError:
        raise
    except Exception as e:  # an arbitrary user module can raise anything on import
        raise ConfigError(f"--arch {spec}: importing {where} failed ({type(e).__name__}: {e}); give "
                          "module.path:Class on the Python path or path/to/file.py:Class") from e
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"--arch {spec}: {where} has no class {name!r}")
    return cls


def _state_dict(path: Path) -> dict[str, Any]:
    import torch

    from convert.zoo import load_torch_file

    state = load_torch_file(path)
    while isinstance(state, dict):
        inner = next((state[k] for k in WRAPPER_KEYS if isinstance(state.get(k), dict)), None)
        if inner is None:
            break
        state = inner
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path} holds no state dict of tensors; save model.state_dict()")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def build_module(arch: str, checkpoint: Path | None, arch_args: dict[str, Any]) -> Any:
    """The user's model in eval mode with the checkpoint's weights (random weights without one).

    Raises:
        ConfigError: bad ``--arch`` or arguments the class does not take.
        ModelLoadError: the checkpoint is unreadable or does not fit the class (keys named).
    """
    cls = import_class(arch)
    try:
        model = cls(**arch_args)
    except TypeError as e:
        raise ConfigError(f"--arch {arch} --arch-args {json.dumps(arch_args)}: {e}") from e
    if checkpoint is not None:
        state = _state_dict(checkpoint)
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            detail = next((line.strip() for line in str(e).splitlines() if "size mismatch" in line), str(e)[:200])
            raise ModelLoadError(f"{checkpoint} does not fit {arch} {json.dumps(arch_args)}: {detail}; "
                                 "check --arch-args") from e
        if result.missing_keys or result.unexpected_keys:
            raise ModelLoadError(
                f"{checkpoint} does not fit {arch} {json.dumps(arch_args)}: missing "
                f"{', '.join(result.missing_keys[:4]) or 'none'}; unexpected "
                f"{', '.join(result.unexpected_keys[:4]) or 'none'}; check --arch-args")
    return model.eval()


def image_output(model: Any, size_hw: tuple[int, int]) -> Any:
    """``model`` itself if it returns one tensor, else a wrapper returning its first output
    of the input's shape (multi-scale nets list coarse outputs too).

    Raises:
        ModelLoadError: no output is an image of the input's size.
    """
    import torch
    from torch import nn

    x = torch.rand(1, 3, *size_hw)
    with torch.no_grad():
        out = model(x)
    if isinstance(out, torch.Tensor):
        if out.shape != x.shape:
            raise ModelLoadError(f"{type(model).__name__} turns a {list(x.shape)} input into {list(out.shape)}; "
                                 "expected an image of the same size")
        return model
    outs = list(out) if isinstance(out, (list, tuple)) else []
    index = next((i for i, o in enumerate(outs) if isinstance(o, torch.Tensor) and o.shape == x.shape), None)
    if index is None:
        raise ModelLoadError(f"no output of {type(model).__name__} is a {list(x.shape)} image")

    class ImageOutput(nn.Module):
        """Output ``index`` of a multi-output net."""

        def __init__(self) -> None:
            super().__init__()
            self.net = model

        def forward(self, inp: torch.Tensor) -> torch.Tensor:
            return self.net(inp)[index]

    return ImageOutput().eval()
