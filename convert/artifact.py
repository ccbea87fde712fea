"""The file every conversion stage passes to the next, and how it is written.

Stages look like ``stage(artifact_in, path_out, config) -> Artifact``: each writes one file
atomically (temp file + ``os.replace``), stamps provenance into ONNX ``metadata_props``
(the runtime reads ``precision``, ``multiple_of`` and ``scale`` from there for unregistered files),
and returns an ``Artifact`` describing it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import onnx

from facemask.files import atomic_path
from runtime.manifest import (ArtifactEntry, ArtifactFormat, Precision, Status, TensorSpec,
                              sha256_file)

PRODUCER = "edgedeblur convert"


@dataclass(frozen=True, slots=True)
class Artifact:
    """One model file produced by a stage.

    Attributes:
        path: the file.
        model: model name (``small``, or a user file's stem).
        format: ONNX or TFLite.
        precision: numeric precision.
        input: input tensor spec (layout, dtype, int8 scale/zero-point, static size).
        output: output tensor spec.
        multiple_of: the net's stride: H and W must be multiples of it when the size is
            dynamic; static-size tiles and crops start on multiples of it.
        parent_sha256: sha256 of the file this one was derived from (None for exports).
        provenance: what the stage did (calibration method, layers kept in float, ...).
        task: what the model restores ('deblur', 'denoise', 'upscale').
        scale: output size over input size (2 for an x2 upscaler).
    """

    path: Path
    model: str
    format: ArtifactFormat
    precision: Precision
    input: TensorSpec
    output: TensorSpec
    multiple_of: int = 1
    parent_sha256: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    task: str = "deblur"
    scale: int = 1

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes."""
        return sha256_file(self.path)

    @property
    def size_bytes(self) -> int:
        """File size in bytes."""
        return self.path.stat().st_size

    @property
    def size_hw(self) -> tuple[int, int] | None:
        """Static input (height, width), or None when any multiple of ``multiple_of`` works."""
        return self.input.size_hw

    def derived(self, path: Path, precision: Precision, *, input: TensorSpec | None = None,
                output: TensorSpec | None = None, **provenance: str) -> Artifact:
        """The description of a file derived from this one (same model, new precision)."""
        return replace(self, path=path, precision=precision, input=input or self.input,
                       output=output or self.output, parent_sha256=self.sha256,
                       provenance={**self.provenance, **provenance})

    def entry(self, artifact_id: str, root: Path, *, target: str | None, status: Status,
              metrics: dict[str, float], notes: dict[str, str], params: int | None = None,
              macs_256: float | None = None) -> ArtifactEntry:
        """This artifact as a manifest entry whose path is relative to ``root``."""
        return ArtifactEntry(
            id=artifact_id, model=self.model, path=os.path.relpath(self.path, root),
            format=self.format, precision=self.precision, sha256=self.sha256,
            parent_sha256=self.parent_sha256, input=self.input, output=self.output,
            multiple_of=self.multiple_of, task=self.task, scale=self.scale, target=target, status=status, params=params,
            macs_256=macs_256, metrics=metrics, notes={**self.provenance, **notes},
        )


def umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stamp_onnx(model: onnx.ModelProto, *, name: str, precision: Precision, multiple_of: int,
               parent_sha256: str | None, extra: dict[str, str] | None = None, task: str = "deblur",
               scale: int = 1) -> onnx.ModelProto:
    """Write provenance into ``model.metadata_props`` (in place; returns the model).

    ``task`` and ``scale`` are written only when they differ from a same-size deblur net
    ('deblur', 1), so the deblur nets' files keep their bytes.
    """
    props = {"producer": PRODUCER, "model": name, "precision": precision.value,
             "multiple_of": str(multiple_of), **(extra or {})}
    if task != "deblur":
        props["task"] = task
    if scale != 1:
        props["scale"] = str(scale)
    if parent_sha256:
        props["parent_sha256"] = parent_sha256
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for k, v in sorted(props.items()):
        model.metadata_props.add(key=k, value=v)
    model.producer_name = "edgedeblur"
    return model


def save_onnx(model: onnx.ModelProto, path: Path) -> None:
    """Save an ONNX model as one self-contained file, atomically."""
    with atomic_path(path, parents=True) as tmp:
        onnx.save_model(model, str(tmp), save_as_external_data=False)
