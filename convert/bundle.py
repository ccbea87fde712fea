"""Put a build's validated int8 and fp16 artifacts into the package's model folder.

``edgedeblur convert small --ship`` (or ``denoise``, ``x2``) builds ONNX (x86, dynamic size)
and LiteRT (static 256x256 input, int8 I/O) files at int8 and fp16, then copies those that passed the gate into
``runtime/models/`` and upserts their entries into its ``manifest.json``. Other entries
(the fp32 models written by ``convert.ship``) are left alone, so ``--model small.int8``
works offline.

Example:
    >>> result = build(src, Path("build"), ship_config(BuildConfig()))
    >>> bundle(result, SHIPPED_DIR)
    ['small.int8.onnx', 'small.fp16.onnx', 'small.int8.tflite', 'small.fp16.tflite']
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import onnx

from convert.build import BuildConfig
from convert.errors import ValidationFailed
from convert.results import BuildResult
from facemask.files import atomic_path
from runtime.manifest import Manifest, Precision, Status

SHIP_TARGETS = ("x86-cpu", "rpi5")
"""x86-cpu gives the ONNX files (u8 activations, dynamic size), rpi5 the LiteRT ones."""
SHIP_PRECISIONS = (Precision.INT8, Precision.FP16)
SHIP_GATE_DB = 0.08
"""The shipped int8 files may lose at most this much ground-truth PSNR: tighter than the
0.3 dB default, so the repair loop picks percentile calibration (or keeps a layer in
float) instead of plain min/max, which cost up to 0.3 dB on faces in video. The denoiser
and the x2 upscaler keep the same gate (same relative error budget). All four shipped nets
are calibrated on 48 training photos (``--calib``) and gated on others held out from
calibration: there plain min/max int8 of x2 passes (0.05-0.06 dB), and the denoiser ships
with 4 of its most sensitive layers in float (0.06 dB); calibrated on package photos its
int8 missed the gate (0.10-0.11 dB)."""


def ship_config(config: BuildConfig, gate_db: float | None = None) -> BuildConfig:
    """``config`` with the shipped targets, precisions and gate (``SHIP_GATE_DB`` unless
    ``gate_db`` is given); calibration kept."""
    validation = replace(config.validation, gate_db=SHIP_GATE_DB if gate_db is None else gate_db)
    return replace(config, targets=SHIP_TARGETS, precisions=SHIP_PRECISIONS, formats=(), validation=validation)


def bundle(result: BuildResult, models_dir: Path) -> list[str]:
    """Copy the build's int8/fp16 artifacts into ``models_dir`` and register them.

    Returns:
        The ids shipped.

    Raises:
        ValidationFailed: an artifact to ship was rejected by the gate (nothing is shipped).
    """
    built = Manifest.load(result.manifest_path)
    chosen = [e for e in built.artifacts if e.precision in SHIP_PRECISIONS]
    rejected = [e.id for e in chosen if e.status is not Status.OK]
    if rejected:
        raise ValidationFailed(f"not shipping {result.model}: {', '.join(rejected)} failed the quality gate; "
                               f"see {result.report_path}")
    fell_back = [e.id for e in built.artifacts if "float_fallback" in e.notes]
    if fell_back:  # the package promises int8 in both formats: a float stand-in would leave the old int8 files
        raise ValidationFailed(f"not shipping {result.model}: its int8 missed the gate ({', '.join(fell_back)} "
                               f"stand in); calibrate on photos like its inputs (--calib DIR) or pass a looser "
                               f"--gate-db; see {result.report_path}")
    path = models_dir / "manifest.json"
    shipped = Manifest.load(path) if path.exists() else Manifest([], root=models_dir)
    parent = _shipped_parent(built, shipped, result.model)
    for entry in chosen:
        with atomic_path(models_dir / entry.id, parents=True) as tmp:
            shutil.copyfile(built.path_of(entry), tmp)
        reference = built.find(f"{result.model}.fp32.onnx")
        if parent is not None and reference is not None and entry.parent_sha256 == reference.sha256:
            entry = replace(entry, parent_sha256=parent)
        shipped.upsert(replace(entry, path=entry.id))
    shipped.save(path)
    return [e.id for e in chosen]


def _graph_bytes(path: Path) -> bytes:
    """Nodes, weights and I/O: what computes (metadata and inferred shape names may differ)."""
    graph = onnx.load(str(path)).graph
    del graph.value_info[:]
    return graph.SerializeToString()


def _shipped_parent(built: Manifest, shipped: Manifest, model: str) -> str | None:
    """sha256 of the shipped fp32 ONNX when the build's reference is the same graph and weights.

    The ONNX artifacts then name the shipped file as their parent. A shipped fp32 with other
    weights means the int8/fp16 files would not match it: refuse.

    Raises:
        ValidationFailed: the shipped fp32 model differs from the one this build used.
    """
    mine, theirs = built.find(f"{model}.fp32.onnx"), shipped.find(f"{model}.fp32.onnx")
    if mine is None or theirs is None:
        return None
    if _graph_bytes(built.path_of(mine)) != _graph_bytes(shipped.path_of(theirs)):
        raise ValidationFailed(f"{shipped.path_of(theirs)} holds other weights than this build of {model}; "
                               f"ship the fp32 model first (python -m convert.ship {model}) or pass the same "
                               "--checkpoint")
    return theirs.sha256
