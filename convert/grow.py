"""Start a wider or deeper EdgeUNet from trained weights of a smaller one, computing exactly
what the smaller net computed.

Capacity only pays if it is trained, and a larger net trained from scratch needs far more
steps than a fine-tune before it even matches the net it would replace. Growing instead
gives the larger net the trained weights on step 0, so "does more capacity help?" becomes
a comparison at equal extra training (``benchmarks/capacity.py``). How:

- every conv of the larger net holds the smaller net's kernel in its leading output and
  input channels; the weights from new input channels to old output channels start at 0,
  so the old channels never see the new ones (their own weights start random, at half the
  usual scale, so they carry signal and get gradients);
- the head reads only the old channels at first, so the output is unchanged;
- a residual block the smaller net lacks starts with its second conv at 0: the identity.
Widths and block counts may only grow; ``grow_state`` refuses anything else.
"""
from __future__ import annotations

import torch
from torch import nn

from runtime.errors import ConfigError


def grow_state(source: nn.Module, target: nn.Module) -> dict[str, torch.Tensor]:
    """``target``'s state dict, filled from ``source`` so that ``target`` computes what
    ``source`` does (up to float rounding). ``target`` keeps its own random init where new.

    Raises:
        ConfigError: a tensor of ``source`` is larger than its place in ``target``, or
            ``target`` lacks it (the target is not a grown version of the source).
    """
    old = source.state_dict()
    state = {k: v.clone() for k, v in target.state_dict().items()}
    for key, src in old.items():
        dst = state.get(key)
        if dst is None or dst.dim() != src.dim() or any(s > d for s, d in zip(src.shape, dst.shape)):
            raise ConfigError(f"cannot grow {key} of shape {tuple(src.shape)} into "
                              f"{None if dst is None else tuple(dst.shape)}: the target net must be at "
                              "least as wide and as deep as the source, block for block")
        if dst.dim() == 4:
            out_old, in_old = src.shape[:2]
            dst[:, in_old:] *= 0.5
            dst[:out_old, in_old:] = 0
            dst[:out_old, :in_old] = src
        else:
            dst[:src.shape[0]] = src
    for key, dst in state.items():
        if key not in old and key.split(".")[-2] == "c2":    # a new residual block: start as the identity
            dst.zero_()
    return state
