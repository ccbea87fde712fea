"""The restore chain's side of ``edgedeblur deblur``: its flags, presets, the settings file, the summary.

Settings come from three places, later ones winning: the defaults, ``--preset``, and the
flags given on the command line (their argparse defaults are None, so a flag that was not
typed never overrides the preset).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.errors import ConfigError

if TYPE_CHECKING:
    from runtime.engines.base import EngineConfig
    from runtime.photo.chain import RestoreConfig
    from runtime.photo.presets import Preset

DEBLUR_FLAGS = ("model", "strength", "mode", "method", "tile", "overlap")
"""The deblur flags a preset can set (argparse's defaults are None; ``DeblurConfig``'s apply)."""


def add_chain_flags(p: argparse.ArgumentParser) -> None:
    """``--preset``, ``--denoise``, ``--upscale`` and their strengths and models."""
    p.add_argument("--preset", metavar="NAME|FILE.toml",
                   help="settings for a kind of photo: portrait | action | old-scan | low-light, one of yours, or a "
                        ".toml file (see `edgedeblur presets`); flags given here override it")
    p.add_argument("--denoise", default=None, metavar="off|auto|S",
                   help="after deblurring: off (default), auto (by the noise left after deblurring) or a strength "
                        "in [0, 1]")
    p.add_argument("--denoise-strength", type=float, default=None, metavar="S",
                   help="with --denoise auto: the strength at full noise (default 1; 0.5 = gentler)")
    p.add_argument("--upscale", type=int, default=None, metavar="N",
                   help="last: 1 (default), 2 or 4 (the x2 model twice)")
    p.add_argument("--upscale-strength", type=float, default=None, metavar="S",
                   help="0 = a plain Lanczos upscale ... 1 = the model's (default 1)")
    p.add_argument("--denoise-model", default=None, metavar="NAME|PATH", help="denoiser (default: denoise)")
    p.add_argument("--upscale-model", default=None, metavar="NAME|PATH", help="x2 upscaler (default: x2)")


def chain_config(args: argparse.Namespace, engine: EngineConfig) -> tuple[RestoreConfig, Preset | None]:
    """The chain config of a ``deblur`` run and its preset; fills the deblur flags the user
    did not give (``args.model``...) from the preset or the defaults, for the code after.

    Raises:
        ConfigError: a bad preset or setting (one line naming it).
    """
    from runtime.photo.deblur import DeblurConfig, load_kernel
    from runtime.photo.presets import KEYS, build_config, load_preset, merge_settings

    preset = load_preset(args.preset) if args.preset else None
    given = {k: v for k in KEYS if (v := getattr(args, k, None)) is not None}
    settings = merge_settings(preset.settings if preset else {}, given)
    defaults = DeblurConfig()
    for key in DEBLUR_FLAGS:
        default = getattr(defaults, key)
        setattr(args, key, settings.get(key, getattr(default, "value", default)))
    kernel = load_kernel(args.kernel) if args.kernel else None
    return build_config(settings, engine=engine, models_dir=args.models_dir, kernel=kernel), preset


def refuse_with_faces(config: RestoreConfig) -> None:
    """``--faces`` runs face priority alone."""
    if config.chained:
        raise ConfigError("--faces runs face priority alone; drop --denoise/--upscale (or a --preset that sets "
                          "them) or drop --faces")


def write_settings(folders: list[Path], config: RestoreConfig, preset: Preset | None) -> list[Path]:
    """Record the run's settings in each output folder (``SETTINGS_NAME``), atomically.

    A folder that already holds the same settings keeps its file; other settings go to the
    next free ``edgedeblur-settings.N.toml``, so an earlier run's record is never lost.

    Returns:
        The files that hold the settings.

    Raises:
        ModelLoadError: a model cannot be resolved.
        ImageError: a folder is not writable.
    """
    from runtime.catalog import package_version
    from runtime.photo.imageio import atomic_write_bytes
    from runtime.photo.presets import SETTINGS_NAME, settings_toml

    text = settings_toml(config, preset=preset, version=package_version()).encode()
    written: list[Path] = []
    for folder in dict.fromkeys(folders):
        same = [p for p in sorted(folder.glob("edgedeblur-settings*.toml")) if p.is_file() and p.read_bytes() == text]
        written.append(same[0] if same else atomic_write_bytes(folder / SETTINGS_NAME, text, exclusive=True))
    return written


def duration(seconds: float) -> str:
    """'42.0 s' or '3 min 05 s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
