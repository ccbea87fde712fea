"""``edgedeblur convert`` and ``edgedeblur train``: registered through the ``edgedeblur.commands`` entry points.

    edgedeblur convert small --target rpi5 --target android-npu --calib photos/ -o build/
    edgedeblur convert model.onnx --input-size 256 --precision int8 --target coral-edgetpu
    edgedeblur convert nafnet.pth --arch nafnet_arch:NAFNet --arch-args '{"width": 16}' --target rpi5
    edgedeblur convert nano --ship          # rebuild the shipped int8/fp16 artifacts
    edgedeblur convert --list-targets
    edgedeblur train nano --steps 20000     # options of python -m convert.train

Heavy libraries (torch, litert-torch, onnxruntime.quantization) load inside the handlers.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from convert.errors import ValidationFailed
from runtime.commands import flags
from runtime.errors import ConfigError, parse_choice
from runtime.manifest import ArtifactFormat, Precision, Status

if TYPE_CHECKING:
    from convert.build import BuildConfig


def _split(values: list[str] | None) -> list[str]:
    """Repeated options, each possibly comma-separated."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``convert`` subcommand."""
    p = sub.add_parser("convert", help="convert a restoration model (deblur, denoise, x2 upscale) to validated "
                       "fp32/fp16/int8 edge artifacts",
                       description="Convert a restoration model to fp32, fp16 and int8 ONNX and LiteRT files "
                                   "for edge targets;\neach is validated against the float model and ground "
                                   "truth, with a report per target.",
                       epilog="examples:\n" + __doc__.split("\n\n")[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="zoo name (nano, small, denoise, x2), PyTorch checkpoint (.pt) or "
                   "ONNX file")
    p.add_argument("-o", "--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    p.add_argument("--target", action="append", metavar="NAME", help="edge target, repeatable (default: x86-cpu)")
    p.add_argument("--precision", action="append", metavar="P", help="fp32 | fp16 | int8 | int8-dynamic (repeatable)")
    p.add_argument("--format", action="append", metavar="F", help="onnx | tflite (repeatable)")
    p.add_argument("--input-size", metavar="N|HxW", help="static input size (needed for dynamic ONNX; default 256)")
    p.add_argument("--arch", help="zoo architecture of a checkpoint that does not record it, or your own "
                   "class: module.path:Class or path/to/file.py:Class")
    p.add_argument("--arch-args", metavar="JSON", help="keyword arguments of an --arch class, e.g. '{\"width\": 16}'")
    p.add_argument("--checkpoint", type=Path, help="weights for a zoo name (default: the shipped ones) or an "
                   "--arch class")
    p.add_argument("--calib", type=Path, metavar="DIR", help="calibration photos, degraded like the model's inputs "
                   "(blurred, noised or downscaled; default: synthetic over package photos)")
    p.add_argument("--calib-blurred", action="store_true", help="the --calib photos are already degraded like "
                   "the model's inputs (blurry, noisy or low-res): use them as they are")
    p.add_argument("--calib-count", type=int, default=32, help="calibration crops (default 32)")
    p.add_argument("--val-count", type=int, default=16, help="held-out validation pairs (default 16)")
    p.add_argument("--gate-db", type=float, default=None,
                   help="max PSNR drop vs fp32, dB (default 0.3; 0.08 with --ship)")
    p.add_argument("--no-repair", action="store_true", help="report plain int8 without repairing it")
    p.add_argument("--qat-steps", type=int, default=0, help="allow quantisation-aware fine-tuning (zoo/checkpoint "
                   "models) for this many steps as the last repair (default 0: off)")
    p.add_argument("--strict-ops", action="store_true", help="reject artifacts with ops a target cannot map")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for validation and latency")
    p.add_argument("--latency-rounds", type=int, default=10, help="timed calls per artifact (0: skip)")
    p.add_argument("--ship", action="store_true", help="build int8/fp16 ONNX + LiteRT and install them into "
                   "runtime/models (the shipped models)")
    p.add_argument("--list-targets", action="store_true", help="list the edge targets and exit")
    p.set_defaults(handler=run_convert)


def register_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` subcommand: a thin wrapper over ``python -m convert.train``."""
    p = sub.add_parser("train", help="train a zoo model (options: edgedeblur train nano --help)",
                       description="Train a zoo model; every option after MODEL goes to convert.train.")
    p.add_argument("model", help="zoo architecture (all of them: edgedeblur train nano --help)")
    p.add_argument("options", nargs=argparse.REMAINDER, help="options of convert.train (--steps, --device, ...)")
    p.set_defaults(handler=run_train, flags=flags("run_dir"))   # as convert.train.TRAIN_FLAGS


def run_train(args: argparse.Namespace) -> int:
    """Delegate to ``convert.train.train``; its errors reach the CLI's one-line handler (or
    a traceback with ``--debug``)."""
    from convert.train import train

    train([args.model, *args.options])
    return 0


def _list_targets() -> int:
    from convert.targets import TARGETS

    for t in TARGETS.values():
        pairs = ", ".join(f"{f.value} {p.value}" for f, p in t.allowed)
        default = ", ".join(f"{f.value} {p.value}" for f, p in t.defaults)
        print(f"{t.name:14} {t.description}\n{'':14} allowed: {pairs}; default: {default}; "
              f"static shapes: {'yes' if t.static else 'no'}\n{'':14} {t.notes}")
    return 0


def _config(args: argparse.Namespace) -> BuildConfig:
    from convert.build import BuildConfig
    from convert.calib import CalibConfig
    from convert.repair import RepairConfig
    from convert.source import parse_size
    from convert.validate import ValidationConfig

    return BuildConfig(
        targets=tuple(_split(args.target)) or ("x86-cpu",),
        precisions=tuple(parse_choice(Precision, p, "--precision") for p in _split(args.precision)),
        formats=tuple(parse_choice(ArtifactFormat, f, "--format") for f in _split(args.format)),
        input_size=parse_size(args.input_size) if args.input_size else None,
        calib=CalibConfig(folder=args.calib, count=args.calib_count, blurred=args.calib_blurred),
        val_count=args.val_count,
        validation=ValidationConfig(threads=args.threads) if args.gate_db is None
        else ValidationConfig(gate_db=args.gate_db, threads=args.threads),
        repair=RepairConfig(enabled=not args.no_repair, qat_steps=args.qat_steps),
        strict_ops=args.strict_ops, latency_rounds=args.latency_rounds)


def _quiet_libraries() -> None:
    """Keep TensorFlow's, absl's and torch's chatter (torch.export and torchao deprecation
    notes, TF info lines) off stderr: the CLI's own lines and the progress bar stay.

    Importing torch resets the level of its loggers, so the levels are set after it; the
    native libraries' load-time notices are kept out where they load (``convert.litert``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import torch  # noqa: F401  (resets the 'torch' logger levels on import)

    for name in ("torch", "torchao", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_convert(args: argparse.Namespace) -> int:
    """Plan, build, validate, report; exit 1 if an artifact was rejected.

    Raises:
        ConfigError: bad options (before any work).
        ValidationFailed: an artifact failed the quality gate (the build is kept, marked).
    """
    if args.list_targets:
        return _list_targets()
    from convert.user_module import is_user_arch, parse_arch_args

    if not args.model and not is_user_arch(args.arch):
        raise ConfigError("give a MODEL: a zoo name (nano, small, denoise, x2), a .pt checkpoint, a .onnx file, or "
                          "--arch module:Class --checkpoint weights.pth")
    arch_args = parse_arch_args(args.arch_args)
    if args.ship and (args.target or args.precision or args.format):
        raise ConfigError("--ship builds a fixed set (ONNX + LiteRT at int8 and fp16); drop --target, "
                          "--precision and --format")
    config = _config(args)
    if not args.debug:
        _quiet_libraries()
    from convert.build import build, check_writable
    from convert.calib import list_images
    from convert.source import load_source

    if args.calib is not None:
        list_images(args.calib)
    check_writable(args.out)
    src = load_source(args.model, arch=args.arch, checkpoint=args.checkpoint, input_size=config.input_size,
                      arch_args=arch_args)
    if args.ship:
        from convert.bundle import bundle, ship_config
        from convert.source import SourceKind
        from runtime.catalog import SHIPPED_DIR

        if src.kind is not SourceKind.ZOO:
            raise ConfigError(f"--ship installs the zoo models (nano, small, denoise, x2) into the package, not "
                              f"{args.model}; drop --ship")
        config = ship_config(config, args.gate_db)
    result = build(src, args.out, config)
    for b in result.artifacts:
        m = b.report.metrics
        lat = f"{b.latency.median_ms:7.2f} ms" if b.latency else "      n/a"
        print(f"{b.status.value:8} {b.id:34} {b.artifact.size_bytes / 1024:7.0f} KiB {lat}  "
              f"PSNR vs fp32 {m.psnr_vs_float_db:6.2f} dB  drop {b.report.drop_db:+.2f} dB")
    print(f"report: {result.report_path}\nmanifest: {result.manifest_path}")
    if not result.ok:
        bad = [f"{b.id} ({b.report.reason or 'ops a target cannot map'})" for b in result.artifacts
               if b.status is not Status.OK]
        raise ValidationFailed(f"{len(bad)} artifact(s) rejected: {'; '.join(bad)}; they are kept, marked "
                               f"rejected, in {result.folder}")
    if args.ship:
        shipped = bundle(result, SHIPPED_DIR)
        print(f"shipped into {SHIPPED_DIR}: {', '.join(shipped)}", file=sys.stderr)
    return 0
