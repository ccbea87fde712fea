"""One build: a source model -> validated artifacts for every requested target, a manifest and a report.

Everything is written into a hidden temp folder next to the destination and moved into
place only when the build finishes, so a failed or interrupted build (error, Ctrl-C,
SIGTERM) leaves nothing behind; the folder of a build that was killed outright is removed
by the next build of that model (``runtime.video.leftovers`` tells dead from running).
Artifacts that miss the quality gate are kept, marked ``rejected`` in the manifest, and
make the build report failure (``BuildResult.ok`` is False).

Layout of ``OUT/MODEL/``: one file per artifact (``nano.int8.tflite``), ``manifest.json``
(``runtime.manifest``), ``report.md`` and ``strips/*.png``.

Example:
    >>> result = build(load_source("nano", checkpoint=ck), Path("build"),
    ...                BuildConfig(targets=("rpi5", "x86-cpu")))
    >>> [a.id for a in result.artifacts if a.status is Status.OK]
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from convert.artifact import Artifact, umask
from convert.calib import CalibConfig, calibration_images, validation_pairs, validation_photos
from convert.export import ExportConfig, export_onnx
from convert.opcheck import check_ops
from convert.quantize import CalibMethod, OnnxQuantConfig, OnnxQuantizer, OnnxRepairTarget
from convert.repair import (SENSITIVITY_IMAGES, RepairConfig, RepairResult, RepairTarget, quantize_with_gate,
                            scratch_entry)
from convert.report import write_report
from convert.results import BuildResult, BuiltArtifact
from convert.source import SourceModel
from convert.targets import DEFAULT_SIZE_HW, PlannedArtifact, get_target
from convert.task_data import TASK_WORDS
from convert.validate import ValidationConfig, measure_latencies, run_artifact, validate
from runtime.errors import ConfigError
from runtime.manifest import ArtifactEntry, ArtifactFormat, Manifest, Precision, Status
from runtime.video.leftovers import make_partial, stale_partials

log = logging.getLogger(__name__)

REFERENCE = PlannedArtifact(format=ArtifactFormat.ONNX, precision=Precision.FP32, static=False)
"""The fp32 ONNX every artifact is validated against (always part of a build)."""


@dataclass(frozen=True, slots=True)
class BuildConfig:
    """What to build.

    Args:
        targets: target names (``convert.targets.TARGETS``).
        precisions: requested precisions (empty: each target's defaults).
        formats: requested formats (empty: each target's defaults).
        input_size: static (height, width) for static targets and validation (default 256x256).
        calib: calibration source (its size is set to the build's size).
        val_count: validation pairs.
        validation: gate settings.
        repair: what the int8 repair loop may try.
        strict_ops: reject artifacts with operators a target cannot map.
        latency_rounds: timed calls per artifact for the report.
    """

    targets: tuple[str, ...] = ("x86-cpu",)
    precisions: tuple[Precision, ...] = ()
    formats: tuple[ArtifactFormat, ...] = ()
    input_size: tuple[int, int] | None = None
    calib: CalibConfig = CalibConfig()
    val_count: int = 16
    validation: ValidationConfig = ValidationConfig()
    repair: RepairConfig = RepairConfig()
    strict_ops: bool = False
    latency_rounds: int = 10

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("give at least one --target")
        self.plans()  # unknown targets and disallowed options fail here, before any work
        if self.val_count < 1 or self.latency_rounds < 0:
            raise ConfigError("--val-count must be >= 1 and latency rounds >= 0")

    def plans(self) -> dict[PlannedArtifact, list[str]]:
        """Each distinct file to build and the targets that use it, in request order."""
        out: dict[PlannedArtifact, list[str]] = {}
        for name in dict.fromkeys(self.targets):
            for spec in get_target(name).plan(self.precisions, self.formats):
                out.setdefault(spec, []).append(name)
        return out


def _ids(model: str, plans: dict[PlannedArtifact, list[str]]) -> dict[PlannedArtifact, str]:
    """``model.precision.format``; files that would share an id get their first target in it."""
    base = {s: f"{model}.{s.precision.value}.{s.format.value}" for s in plans}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    return {s: (n if counts[n] == 1 or t == ["reference"] else
                f"{model}.{s.precision.value}.{t[0]}.{s.format.value}")
            for (s, t), n in zip(plans.items(), base.values())}


def check_writable(out_dir: Path) -> None:
    """Fail early (before any work) if ``out_dir`` cannot hold a build.

    Raises:
        ConfigError: the folder cannot be created or written.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"-o {out_dir} is a file; give a folder for the build (it holds several files)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise ConfigError(f"-o {out_dir} is not writable ({e.strerror or e}); choose a folder you can "
                          "write to") from e


class _Builder:
    """State of one build: the fp32 reference and its outputs, caches of float parents,
    calibration and validation data."""

    def __init__(self, src: SourceModel, config: BuildConfig, work: Path, reference_path: Path) -> None:
        self.src, self.config, self.work = src, config, work
        self.size_hw = config.input_size or src.size_hw or DEFAULT_SIZE_HW
        self.calib_config = replace(config.calib, size_hw=self.size_hw, task=src.task)
        self._onnx_fp32: dict[tuple[int, bool, bool], Artifact] = {}
        self._tflite_fp32: dict[bool, Artifact] = {}
        self._float_calib: dict[Path, NDArray[np.float32]] = {}
        self.calib = calibration_images(self.calib_config)
        self.pairs = validation_pairs(config.val_count, self.size_hw, task=src.task,
                                      photos=validation_photos(self.calib_config, config.val_count))
        self.reference = self.onnx_fp32(REFERENCE, reference_path)
        self.reference_outputs, _ = run_artifact(scratch_entry(self.reference), reference_path, self.pairs.inputs,
                                                 config.validation.threads)

    def onnx_fp32(self, spec: PlannedArtifact, path: Path | None = None) -> Artifact:
        torch_src = self.src.is_torch
        key = (spec.opset if torch_src else 0, spec.static, spec.shuffle_as_conv and torch_src)
        if key not in self._onnx_fp32:
            out = path or self.work / f"{self.src.name}.fp32.{len(self._onnx_fp32)}.onnx"
            cfg = ExportConfig(opset=spec.opset, size_hw=self.size_hw if spec.static else None,
                               shuffle_as_conv=spec.shuffle_as_conv)
            self._onnx_fp32[key] = export_onnx(self.src, out, cfg)
        return self._onnx_fp32[key]

    def tflite_fp32(self, spec: PlannedArtifact) -> Artifact:
        from convert.litert import TfliteExportConfig, export_tflite

        if spec.shuffle_as_conv not in self._tflite_fp32:
            out = self.work / f"{self.src.name}.fp32.{len(self._tflite_fp32)}.tflite"
            cfg = TfliteExportConfig(self.size_hw, shuffle_as_conv=spec.shuffle_as_conv)
            self._tflite_fp32[spec.shuffle_as_conv] = export_tflite(self.src, out, cfg)
        return self._tflite_fp32[spec.shuffle_as_conv]

    def float_calib_outputs(self, fp32: Artifact) -> NDArray[np.float32]:
        """The float parent's outputs on the sensitivity images (repair loop)."""
        if fp32.path not in self._float_calib:
            out, _ = run_artifact(scratch_entry(fp32), fp32.path, self.calib[:SENSITIVITY_IMAGES],
                                  self.config.validation.threads)
            self._float_calib[fp32.path] = out
        return self._float_calib[fp32.path]

    def make(self, spec: PlannedArtifact, out: Path) -> tuple[Artifact, RepairResult | None]:
        """Build one planned file at ``out``."""
        if spec.format is ArtifactFormat.ONNX:
            fp32 = self.onnx_fp32(spec)
            if spec.precision is Precision.FP32:
                return _copy(fp32, out), None
            quantizer = OnnxQuantizer(fp32, self.calib, self.work / f"q-{out.stem}")
            base = OnnxQuantConfig(precision=spec.precision, activation_dtype=spec.activation_dtype,
                                   symmetric_activations=spec.symmetric_activations)
            if spec.precision is Precision.FP16:
                return quantizer.quantize(out, base), None
            target: RepairTarget = OnnxRepairTarget(quantizer, base)
        else:
            from convert.litert import TfliteQuantConfig, TfliteQuantizer, TfliteRepairTarget

            fp32 = self.tflite_fp32(spec)
            if spec.precision is Precision.FP32:
                return _copy(fp32, out), None
            quantizer_t = TfliteQuantizer(fp32, self.calib)
            if spec.precision is not Precision.INT8:
                return quantizer_t.quantize(out, TfliteQuantConfig(spec.precision)), None
            target = TfliteRepairTarget(quantizer_t)
        rconfig = self.config.repair if spec.float_islands else replace(self.config.repair, max_float_fraction=0.0)
        result = quantize_with_gate(target, out, self.pairs, self.reference_outputs, self.calib,
                                    self.float_calib_outputs(fp32), self.config.validation,
                                    rconfig, qat=self._qat(spec))
        return result.artifact, result

    def _qat(self, spec: PlannedArtifact) -> Callable[[Path, CalibMethod], Artifact] | None:
        """Quantisation-aware fine-tuning as a last repair step (PyTorch sources only)."""
        if not (self.src.is_torch and self.config.repair.qat_steps):
            return None
        from convert.qat import QatConfig, qat_quantize

        cfg = QatConfig(steps=self.config.repair.qat_steps, crop=min(96, *self.size_hw) // 8 * 8)
        return lambda path, method: qat_quantize(self.src, spec, self.size_hw, self.calib, cfg, method, path,
                                                 self.work / f"qat-{path.stem}")


def _copy(artifact: Artifact, out: Path) -> Artifact:
    shutil.copyfile(artifact.path, out)
    return replace(artifact, path=out)


def build(src: SourceModel, out_dir: Path, config: BuildConfig) -> BuildResult:
    """Build, validate and document every artifact ``config`` asks for.

    Args:
        src: the loaded source model.
        out_dir: parent folder; the build lands in ``out_dir / src.name``.
        config: targets, precisions, calibration, gate and repair settings.

    Returns:
        The finished build (check ``ok``: rejected artifacts are kept but marked).

    Raises:
        ConfigError: unwritable output folder or invalid options.
        ExportError, QuantizationError, ModelLoadError: a stage failed (nothing is left behind).
    """
    from tqdm import tqdm


    check_writable(out_dir)
    requested = config.plans()
    plans = {REFERENCE: ["reference", *requested.pop(REFERENCE, [])], **requested}
    tflite_targets = [t for s, ts in plans.items() if s.format is ArtifactFormat.TFLITE for t in ts]
    if not src.is_torch and tflite_targets:
        import onnx

        from convert.onnx_import import check_convertible

        check_convertible(onnx.load(str(src.path), load_external_data=False), str(src.path),  # before any work
                          "--target " + ", ".join(dict.fromkeys(tflite_targets)))
    ids = _ids(src.name, plans)
    final = out_dir / src.name
    for stale in stale_partials(final):
        log.info("removing %s, left by a build that was killed", stale)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = make_partial(final, folder=True)
    try:
        work = tmp / ".work"
        builder = _Builder(src, config, work, tmp / ids[REFERENCE])
        built: list[BuiltArtifact] = []
        with tqdm(total=len(plans) + 1, desc=f"convert {src.name}", unit="file", file=sys.stderr,
                  leave=False) as bar:
            for spec, targets in plans.items():
                bar.set_postfix_str(ids[spec])
                one = _one(builder, spec, tuple(targets), ids[spec], tmp)
                if not one.report.passed and one.repair is not None and config.repair.enabled:
                    one = _float_fallback(builder, one, set(ids.values()), tmp)
                built.append(one)
                bar.update()
            bar.set_postfix_str("latency")
            built = _with_latency(built, builder)
            bar.update()
        shutil.rmtree(work, ignore_errors=True)
        result = BuildResult(src.name, tmp, builder.size_hw, _calib_label(builder.calib_config),
                             config.validation.gate_db, tuple(built), builder.pairs, builder.reference_outputs,
                             src.task)
        _write_manifest(result, src)
        write_report(result)
        _commit(tmp, final)
        moved = tuple(replace(b, artifact=replace(b.artifact, path=final / b.artifact.path.name))
                      for b in result.artifacts)
        return replace(result, folder=final, artifacts=moved)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _one(builder: _Builder, spec: PlannedArtifact, targets: tuple[str, ...], artifact_id: str,
         folder: Path) -> BuiltArtifact:
    out = folder / artifact_id
    artifact, repair = (builder.reference, None) if "reference" in targets else builder.make(spec, out)
    report = repair.report if repair else validate(scratch_entry(artifact), out, builder.pairs,
                                                   builder.reference_outputs, builder.config.validation)
    checks = {t: check_ops(out, spec.format, get_target(t).op_support(spec.format),
                           require_static=get_target(t).static) for t in targets if t != "reference"}
    bad_ops = builder.config.strict_ops and any(not c.ok for c in checks.values())
    status = Status.OK if report.passed and not bad_ops else Status.REJECTED
    if not report.passed:
        log.warning("%s rejected: %s", artifact_id, report.reason)
    return BuiltArtifact(artifact_id, spec, targets, artifact, report, repair, checks, None, status)


def _float_fallback(builder: _Builder, failed: BuiltArtifact, taken: set[str], folder: Path) -> BuiltArtifact:
    """The float file every target of ``failed`` runs, in place of an int8 file that missed the
    gate after every repair; ``failed`` itself if the targets run no float model (Edge TPU)."""
    spec = failed.spec
    choices = {get_target(t).float_fallback(spec.format) for t in failed.targets}
    if len(choices) != 1 or None in choices:
        return failed
    precision = choices.pop()
    assert precision is not None
    artifact_id = failed.id.replace(f".{spec.precision.value}.", f".{precision.value}.", 1)
    if artifact_id in taken:
        artifact_id = artifact_id.replace(f".{precision.value}.", f".{precision.value}-fallback.", 1)
    fallback = _one(builder, replace(spec, precision=precision), failed.targets, artifact_id, folder)
    if fallback.status is not Status.OK:
        fallback.artifact.path.unlink(missing_ok=True)
        return failed
    failed.artifact.path.unlink(missing_ok=True)
    why = (f"int8 missed the gate ({failed.report.reason}) after {len(failed.repair.attempts)} attempts "
           f"(best: {failed.repair.chosen.label}); {precision.value} ships instead" if failed.repair else "")
    log.warning("%s: %s", failed.id, why)
    return replace(fallback, repair=failed.repair, fallback=why)


def _with_latency(built: list[BuiltArtifact], builder: _Builder) -> list[BuiltArtifact]:
    if builder.config.latency_rounds == 0:
        return built
    models = {b.id: (scratch_entry(b.artifact), b.artifact.path) for b in built
              if np.isfinite(b.report.outputs).any()}  # a file the engine refuses to run has no latency
    lat = measure_latencies(models, builder.size_hw, builder.config.latency_rounds,
                            builder.config.validation.threads)
    return [replace(b, latency=lat.get(b.id)) for b in built]


def _calib_label(cfg: CalibConfig) -> str:
    word = TASK_WORDS[cfg.task][0]
    if cfg.folder is None:
        sources = "dead leaves + package photos" if cfg.task == "deblur" else "package photos"
        return f"{cfg.count} synthetic {word} crops ({sources}, seed {cfg.seed})"
    how = {"deblur": "blurred with the training camera model", "denoise": "noised like the training pairs",
           "upscale": "downscaled x2 like the training pairs"}[cfg.task]
    return f"{cfg.count} crops of {cfg.folder} ({'as given' if cfg.blurred else how})"


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def portable_source(src: SourceModel) -> str:
    """Where a build came from, without the builder's machine in it: a path relative to the
    project (``convert/weights/nano.pt``), else the file's name."""
    if src.path is None:
        return src.name
    path = Path(src.path).resolve()
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else path.name


def manifest_entry(b: BuiltArtifact, root: Path, src: SourceModel) -> ArtifactEntry:
    """The manifest entry of a built artifact: I/O specs, provenance, metrics and verdicts."""
    metrics = {**b.report.metrics.as_dict(), "drop_vs_fp32_db": round(b.report.drop_db, 3),
               "reference_psnr_db": round(b.report.reference_psnr_db, 3),
               "size_bytes": float(b.artifact.size_bytes)}
    if b.latency is not None:
        metrics["latency_ms"] = round(b.latency.median_ms, 3)
    notes = {"gate": "passed" if b.report.passed else f"failed: {b.report.reason}",
             "targets": ",".join(b.targets), "source": portable_source(src)}
    for target, check in b.opchecks.items():
        notes[f"ops.{target}"] = check.summary()
    if b.fallback is not None:
        notes["float_fallback"] = b.fallback
    elif b.repair is not None and b.repair.chosen.kept_in_float:
        notes["kept_in_float"] = ",".join(b.repair.chosen.kept_in_float)
    params = macs = None
    if src.arch is not None:
        from convert.zoo import get_spec

        spec = get_spec(src.arch)
        params, macs = spec.params, spec.macs_256
        notes["description"] = spec.description
    return b.artifact.entry(b.id, root, target=",".join(t for t in b.targets if t != "reference") or None,
                            status=b.status, metrics=metrics, notes=notes, params=params, macs_256=macs)


def _write_manifest(result: BuildResult, src: SourceModel) -> None:
    manifest = Manifest([], root=result.folder)
    for b in result.artifacts:
        manifest.upsert(manifest_entry(b, result.folder, src))
    manifest.save(result.manifest_path)


def _commit(tmp: Path, final: Path) -> None:
    """Move the finished build into place, replacing an older build of the same model."""
    os.chmod(tmp, 0o777 & ~umask())
    old = None
    if final.exists():
        old = make_partial(final, folder=True)
        final.rename(old / final.name)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
