"""What a finished build hands back: one record per artifact and the build as a whole.

Apart from ``build`` so that the report writer and the bundler read results without
importing the builder (which imports the report writer).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from convert.artifact import Artifact
from convert.calib import ImagePairs
from convert.opcheck import OpCheckReport
from convert.repair import RepairResult
from convert.targets import PlannedArtifact
from convert.validate import Latency, ValidationReport
from runtime.manifest import Status


@dataclass(frozen=True, slots=True)
class BuiltArtifact:
    """One artifact of a finished build.

    Attributes:
        id: manifest id (``nano.int8.tflite``).
        spec: what was planned.
        targets: targets that use it ('reference' for the fp32 reference).
        artifact: the file.
        report: quality gate verdict.
        repair: the int8 repair record (None for other precisions).
        opchecks: per target, the operator check.
        latency: measured on this machine (None when not measured).
        status: OK, or REJECTED (gate failed, or op offenders with ``strict_ops``).
        fallback: why this float file stands in for an int8 one that missed the gate
            (``repair`` holds the int8 attempts); None otherwise.
    """

    id: str
    spec: PlannedArtifact
    targets: tuple[str, ...]
    artifact: Artifact
    report: ValidationReport
    repair: RepairResult | None
    opchecks: dict[str, OpCheckReport]
    latency: Latency | None
    status: Status
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A finished build."""

    model: str
    folder: Path
    size_hw: tuple[int, int]
    calibration: str
    gate_db: float
    artifacts: tuple[BuiltArtifact, ...]
    pairs: ImagePairs = field(repr=False)
    reference_outputs: NDArray[np.float32] = field(repr=False)
    task: str = "deblur"
    """What the model restores ('deblur', 'denoise', 'upscale')."""

    @property
    def ok(self) -> bool:
        """True when no artifact was rejected."""
        return all(a.status is Status.OK for a in self.artifacts)

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def report_path(self) -> Path:
        return self.folder / "report.md"
