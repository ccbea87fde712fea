"""The model manifest: one JSON file listing every shipped artifact and how to feed it.

``runtime/models/manifest.json`` is written by the convert side (export, quantise,
validate) and read by the runtime (catalog, engines, ``edgedeblur models``). Paths inside
are relative to the manifest's folder so the folder can move. Saving is atomic and the
JSON is sorted and stable, so a re-export that changes nothing leaves a clean git diff.

Example:
    >>> m = Manifest.load(Path("runtime/models/manifest.json"))
    >>> m.find("small.fp32.onnx").input.layout
    <Layout.NCHW: 'NCHW'>
"""
from __future__ import annotations

import enum
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from facemask.files import atomic_write
from runtime.errors import ConfigError, ModelLoadError, parse_choice

SCHEMA_VERSION = 1
"""Bump when a field changes meaning; readers refuse newer versions."""


class Layout(str, enum.Enum):
    """Memory order of a 4-D image tensor."""

    NCHW = "NCHW"
    NHWC = "NHWC"


class DType(str, enum.Enum):
    """Element type of a model's input or output tensor."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"
    UINT8 = "uint8"

    @property
    def quantized(self) -> bool:
        """True for integer types that carry a scale and zero-point."""
        return self in (DType.INT8, DType.UINT8)


class ArtifactFormat(str, enum.Enum):
    """File format of an artifact; also its file suffix."""

    ONNX = "onnx"
    TFLITE = "tflite"


class Precision(str, enum.Enum):
    """Numeric precision an artifact was produced at."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"
    INT8_DYNAMIC = "int8-dynamic"


TASKS = ("deblur", "denoise", "upscale")
"""The restore chain's links, in the order the chain runs them."""


class Status(str, enum.Enum):
    """Whether an artifact passed its quality gate (rejected ones are kept for the record)."""

    OK = "ok"
    REJECTED = "rejected"


_NUMBER = (int, float)
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "model": (str,), "path": (str,), "format": (str,), "precision": (str,),
    "sha256": (str,), "input": (dict,), "output": (dict,), "parent_sha256": (str, type(None)),
    "multiple_of": (int,), "task": (str,), "scale": (int,), "target": (str, type(None)), "status": (str,), "params": (int, type(None)),
    "macs_256": (*_NUMBER, type(None)), "metrics": (dict,), "notes": (dict,)}
_SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "layout": (str,), "dtype": (str,), "scale": (*_NUMBER, type(None)),
    "zero_point": (int, type(None)), "size_hw": (list, type(None))}
_TYPE_NAMES = {str: "a string", dict: "an object", int: "an integer", float: "a number",
               list: "a list", type(None): "null"}


def _check_types(data: dict[str, Any], types: dict[str, tuple[type, ...]], what: str) -> None:
    """JSON values of the wrong type get a message naming the field (not Python's TypeError);
    ``what`` prefixes the field name ('input ')."""
    for key, allowed in types.items():
        if key in data and (not isinstance(data[key], allowed) or isinstance(data[key], bool)):
            want = " or ".join(dict.fromkeys(_TYPE_NAMES[float if t is int and float in allowed else t]
                                             for t in allowed))
            raise ConfigError(f"{what}field {key!r} must be {want}, got {type(data[key]).__name__} "
                              f"{str(data[key])[:40]!r}")


def _check_maps(data: dict[str, Any]) -> None:
    """``metrics`` values are numbers, ``notes`` values text (numbers are written as text)."""
    if not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in data.get("metrics", {}).values()):
        raise ConfigError("field 'metrics' must map names to numbers")
    if not all(isinstance(v, (str, *_NUMBER)) for v in data.get("notes", {}).values()):
        raise ConfigError("field 'notes' must map names to strings")


def _inside(path: str) -> bool:
    """True for a relative path that stays inside its folder (no ``..`` parts, not absolute)."""
    p = Path(path)
    return not p.is_absolute() and not p.anchor and ".." not in p.parts


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorSpec:
    """How one model tensor maps to NHWC float32 RGB in [0, 1].

    A quantised tensor holds ``q`` with ``real = (q - zero_point) * scale``.
    ``size_hw`` is the static (height, width) in pixels, or None when dynamic.
    """

    name: str
    layout: Layout = Layout.NCHW
    dtype: DType = DType.FLOAT32
    scale: float | None = None
    zero_point: int | None = None
    size_hw: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", parse_choice(Layout, self.layout, f"tensor {self.name!r} layout"))
        object.__setattr__(self, "dtype", parse_choice(DType, self.dtype, f"tensor {self.name!r} dtype"))
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"tensor {self.name!r} scale {self.scale} must be a positive number")
        if self.size_hw is not None:
            hw = tuple(int(v) for v in self.size_hw)
            if len(hw) != 2 or min(hw) < 1:
                raise ConfigError(f"tensor {self.name!r} size_hw {self.size_hw} must be two positive ints")
            object.__setattr__(self, "size_hw", hw)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactEntry:
    """One model file and everything needed to run and describe it.

    ``id`` is ``<model>.<precision>.<format>`` by convention (``small.int8.tflite``);
    ``path`` is relative to the manifest's folder. ``macs_256`` counts multiply-
    accumulates for one 256x256 RGB input. ``notes`` holds free text such as
    ``description`` and ``specialty`` ('motion' | 'focus'). ``task`` says which link of
    the restore chain the model is ('deblur', 'denoise', 'upscale'); ``scale`` is its
    output size over its input size (2 for an x2 upscaler).
    """

    id: str
    model: str
    path: str
    format: ArtifactFormat
    precision: Precision
    sha256: str
    input: TensorSpec
    output: TensorSpec
    parent_sha256: str | None = None
    multiple_of: int = 1
    task: str = "deblur"
    scale: int = 1
    target: str | None = None
    status: Status = Status.OK
    params: int | None = None
    macs_256: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or not self.model:
            raise ConfigError("artifact id and model must be non-empty")
        object.__setattr__(self, "format", parse_choice(ArtifactFormat, self.format, f"artifact {self.id!r} format"))
        object.__setattr__(self, "precision", parse_choice(Precision, self.precision, f"artifact {self.id!r} precision"))
        object.__setattr__(self, "status", parse_choice(Status, self.status, f"artifact {self.id!r} status"))
        if not _inside(self.path):
            raise ConfigError(f"artifact {self.id!r} path {self.path!r} must be inside the manifest folder "
                              "(relative, no '..')")
        if len(self.sha256) != 64:
            raise ConfigError(f"artifact {self.id!r} sha256 must be 64 hex digits, got {self.sha256!r}")
        if self.multiple_of < 1:
            raise ConfigError(f"artifact {self.id!r} multiple_of {self.multiple_of} must be >= 1")
        if self.task not in TASKS:
            raise ConfigError(f"artifact {self.id!r} task {self.task!r} must be one of {', '.join(TASKS)}")
        if not 1 <= self.scale <= 8:
            raise ConfigError(f"artifact {self.id!r} scale {self.scale} must be 1 (same size) to 8")
        for name in ("input", "output"):
            spec = getattr(self, name)
            if isinstance(spec, dict):
                object.__setattr__(self, name, _spec_from_json(spec, f"{self.id!r} {name}"))
        object.__setattr__(self, "metrics", {str(k): float(v) for k, v in self.metrics.items()})
        object.__setattr__(self, "notes", {str(k): str(v) for k, v in self.notes.items()})

    @property
    def alias(self) -> str:
        """The short name ``<model>.<precision>`` (``small.int8``)."""
        return f"{self.model}.{self.precision.value}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with enums as their string values."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, TensorSpec):
                v = {g.name: _plain(getattr(v, g.name)) for g in fields(v)}
            out[f.name] = _plain(v)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactEntry:
        """Build an entry from its JSON dict.

        Raises:
            ConfigError: a field is missing, unknown or has an invalid value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        _check_types(data, _ENTRY_TYPES, "")
        _check_maps(data)
        for name in ("input", "output"):
            if name in data:
                _check_types(data[name], _SPEC_TYPES, f"{name} ")
        try:
            return cls(**data)
        except TypeError as e:
            raise ConfigError(str(e).replace("__init__() ", "")) from e


def _spec_from_json(data: dict[str, Any], what: str) -> TensorSpec:
    known = {f.name for f in fields(TensorSpec)}
    unknown = sorted(set(data) - known)
    if unknown or "name" not in data:
        raise ConfigError(f"tensor {what} needs 'name' and only the fields {', '.join(sorted(known))}")
    return TensorSpec(**data)


def _plain(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, tuple):
        return list(v)
    return v


@dataclass(slots=True)
class Manifest:
    """The list of artifacts in one models folder (mutable: ``upsert`` then ``save``).

    ``root`` is the folder that entry paths are relative to (set by ``load``).
    """

    artifacts: list[ArtifactEntry] = field(default_factory=list)
    root: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest file.

        Raises:
            ModelLoadError: the file is missing, not JSON, from a newer schema, or has a
                malformed entry (the message names the file and the entry).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ModelLoadError(f"cannot open {path}: not found. Export a model with the convert "
                                 "tools or pass a model file path") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ModelLoadError(f"cannot read {path}: {e}") from e
        except json.JSONDecodeError as e:
            raise ModelLoadError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: "
                                 f"{e.msg}); restore it from git or re-export the models") from e
        except RecursionError as e:
            raise ModelLoadError(f"{path} is nested too deeply to be a model manifest; restore it from "
                                 "git or re-export the models") from e
        if not isinstance(data, dict) or not isinstance(data.get("artifacts"), list):
            raise ModelLoadError(f"{path} is not a model manifest: expected an object with an "
                                 "'artifacts' list; restore it from git")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ModelLoadError(f"{path} has schema_version {version!r}; this edgedeblur reads "
                                 f"up to {SCHEMA_VERSION}. Upgrade edgedeblur")
        entries: list[ArtifactEntry] = []
        for i, raw in enumerate(data["artifacts"]):
            label = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
            if not isinstance(raw, dict):
                raise ModelLoadError(f"{path}: artifact {label} is not an object; fix or re-export it")
            try:
                entries.append(ArtifactEntry.from_json(raw))
            except ConfigError as e:
                raise ModelLoadError(f"{path}: artifact {label}: {e}; fix the entry or re-export it") from e
        return cls(entries, root=path.parent)

    def save(self, path: Path) -> None:
        """Write the manifest atomically as sorted, stable JSON (sets ``root``).

        Raises:
            OSError: the folder is missing or not writable.
        """
        path = Path(path)
        doc = {"schema_version": SCHEMA_VERSION,
               "artifacts": [e.to_json() for e in sorted(self.artifacts, key=lambda e: e.id)]}
        text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        atomic_write(path, text)
        self.root = path.parent

    def find(self, model_id: str) -> ArtifactEntry | None:
        """The entry with exactly this id, or None."""
        return next((e for e in self.artifacts if e.id == model_id), None)

    def upsert(self, entry: ArtifactEntry) -> Manifest:
        """Add ``entry`` or replace the one with the same id, in place; returns self."""
        self.artifacts = [e for e in self.artifacts if e.id != entry.id] + [entry]
        return self

    def path_of(self, entry: ArtifactEntry) -> Path:
        """Absolute path of an entry's file (needs ``root``, set by ``load``/``save``)."""
        if self.root is None:
            raise ConfigError("manifest has no folder yet: load() or save() it first")
        path = self.root / entry.path
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise ModelLoadError(f"manifest in {self.root}: artifact {entry.id!r} path {entry.path!r} leads "
                                 f"outside {self.root} (a link?); model files must be inside the manifest folder")
        return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
