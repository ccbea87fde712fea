"""Model-name resolution: shipped names and aliases, or a model file path, to one file.

Names come from ``runtime/models/manifest.json``: an exact id (``small.int8.tflite``), a
``<model>.<precision>`` alias (``small.int8``: the ONNX file if there is one, else the
TFLite one) or a bare model name (``small``: its fp32 artifact, ONNX preferred). Anything
path-like that exists is used as given. Shipped files are checked against their sha256
so a corrupt or hand-edited file is caught before it produces garbage.

Example:
    >>> resolve_model("small").path.name
    'small.fp32.onnx'
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from runtime.errors import ModelLoadError, closest
from runtime.manifest import ArtifactEntry, ArtifactFormat, Manifest, Precision, Status, sha256_file

SHIPPED_DIR = Path(__file__).resolve().parent / "models"
"""The folder of shipped models and their manifest."""

MANIFEST_NAME = "manifest.json"
DEFAULT_MODEL = "small.int8+nano.int8"
"""Photos: the mean of the int8 small and nano nets (``runtime.engines.ensemble``). Side by
side on camera-made blur (``val_realblur``, 2026-12-05, the auto path) it gained +0.13 dB where
fp32 small gained +0.12 (GoPro +0.41 / +0.37, worst pair -0.07 / -0.10), on 27 training faces
with shake and defocus +2.35 / +2.30, and it ran faster (0.81 against 0.98-1.38 s/MP in
those runs): int8 costs each net a little, the pair's independent mistakes average out."""
LIVE_VIDEO_MODEL = "nano.int8.tflite"
"""Cameras and streams: the int8 face-crop model, at camera rate on a Pi-class CPU (91 FPS
end to end for one 720p face here, within 0.1 dB of full-frame processing)."""
FILE_VIDEO_MODEL = "small"
"""Video files and image folders: nothing is dropped while the model runs, so quality comes
first (fp32 ``small``, run on every face crop). On the real-face clips
of ``benchmarks/results/runtime/real`` it gained +0.78 / +0.75 / +1.04 dB on shaken /
defocused / soft faces with its stage-9 weights (2026-12-06; stage 6: +0.79 / +0.78 / +0.95);
with reused crops (stage 6) +0.75 / +0.71 / +0.87, and the ``small.int8`` of
2026-12-04 with reused crops +0.66 / +0.62 / +0.78 (twice as fast again, a third more frame-to-frame
flicker); the camera default ``nano.int8.tflite`` +0.42 / +0.49 / +0.71 (its file of 2026-12-05,
calibrated with sharp photos), four to five times as fast. The photo default's ensemble with
nano lost there (2026-12-05, side by side: +0.65 / +0.69 / +0.97 for ``small.int8+nano.int8``,
+0.64 / +0.70 / +0.99 for ``small+nano``, +0.80 / +0.78 / +0.95 for ``small``): on these H.264
face crops nano alone gains about half what small does, so averaging it in dilutes small."""
MODEL_SUFFIXES: tuple[str, ...] = (".onnx", ".tflite")
ENSEMBLE_SEPARATOR = "+"
"""Joins the names of an ensemble's members (``small.int8+nano.int8``, ``runtime.engines.ensemble``)."""

_FORMAT_ORDER = {ArtifactFormat.ONNX: 0, ArtifactFormat.TFLITE: 1}
_verified: dict[tuple[Path, int, int], str] = {}


def video_model(live: bool) -> str:
    """The default model of ``run`` for a live source (camera, stream) or a recorded one."""
    return LIVE_VIDEO_MODEL if live else FILE_VIDEO_MODEL


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model file on disk plus its manifest entry (None for a user-given file)."""

    path: Path
    entry: ArtifactEntry | None

    @property
    def id(self) -> str:
        """The manifest id, or the file name for a user-given file."""
        return self.entry.id if self.entry is not None else self.path.name

    @property
    def format(self) -> ArtifactFormat:
        """File format: from the manifest, else sniffed (TFLite files carry ``TFL3``)."""
        if self.entry is not None:
            return self.entry.format
        return sniff_format(self.path)


def sniff_format(path: Path) -> ArtifactFormat:
    """Guess a model file's format from its suffix, then its magic bytes."""
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return ArtifactFormat.TFLITE
    if suffix == ".onnx":
        return ArtifactFormat.ONNX
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return ArtifactFormat.ONNX
    return ArtifactFormat.TFLITE if head[4:8] == b"TFL3" else ArtifactFormat.ONNX


def load_shipped_manifest(models_dir: Path = SHIPPED_DIR) -> Manifest:
    """The manifest of ``models_dir``, or an empty one when the folder has none yet."""
    path = Path(models_dir) / MANIFEST_NAME
    if not path.exists():
        return Manifest([], root=Path(models_dir))
    return Manifest.load(path)


def known_names(manifest: Manifest, *, include_rejected: bool = False) -> list[str]:
    """Every name ``resolve_model`` accepts for this manifest: ids, aliases, model names."""
    names: set[str] = set()
    for e in manifest.artifacts:
        if e.status is Status.OK:
            names.update((e.alias, e.model if e.precision is Precision.FP32 else e.alias))
        if e.status is Status.OK or include_rejected:
            names.add(e.id)
    return sorted(names)


def _candidates(manifest: Manifest, name: str) -> list[ArtifactEntry]:
    exact = manifest.find(name)
    if exact is not None:
        return [exact]
    ok = [e for e in manifest.artifacts if e.status is Status.OK]
    found = [e for e in ok if e.alias == name]
    if not found:
        found = [e for e in ok if e.model == name and e.precision is Precision.FP32]
    return sorted(found, key=lambda e: (_FORMAT_ORDER[e.format], e.id))


def _verify(path: Path, entry: ArtifactEntry) -> None:
    """Check the file exists and matches its sha256 (cached by size and mtime)."""
    try:
        st = path.stat()
    except OSError as e:
        raise ModelLoadError(f"cannot open {path} (manifest entry {entry.id}): not found. Reinstall "
                             "edgedeblur or re-export the model with the convert tools") from e
    key = (path, st.st_size, st.st_mtime_ns)
    digest = _verified.get(key) or sha256_file(path)
    if digest != entry.sha256:
        raise ModelLoadError(f"{path} does not match its manifest sha256 (entry {entry.id}): the file is "
                             "corrupt or was changed. Restore it from git or re-export it")
    _verified[key] = digest


def resolve_model(name_or_path: str | Path, *, models_dir: Path = SHIPPED_DIR) -> ResolvedModel:
    """Turn a shipped model name or a model file path into a verified file.

    Args:
        name_or_path: an id, alias or model name from the manifest in ``models_dir``, or
            the path of a ``.onnx``/``.tflite`` file.
        models_dir: the folder holding ``manifest.json`` (tests point it elsewhere).

    Returns:
        The file and its manifest entry (None for a path given by the user).

    Raises:
        ModelLoadError: unknown name (with a suggestion), missing file, or sha256 mismatch.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text:
        return _resolve_path(text)
    manifest = load_shipped_manifest(models_dir)
    found = _candidates(manifest, text)
    if found:
        entry = found[0]
        path = manifest.path_of(entry)
        _verify(path, entry)
        return ResolvedModel(path, entry)
    if Path(text).expanduser().exists() or text.lower().endswith(MODEL_SUFFIXES):
        return _resolve_path(text)
    names = known_names(manifest)
    if not names:
        raise ModelLoadError(f"unknown model {text!r}: no models are shipped in {models_dir} yet "
                             f"({MANIFEST_NAME} is missing or empty); pass a .onnx/.tflite file path")
    near = closest(text, names)
    hint = f"did you mean {near!r}? " if near else ""
    raise ModelLoadError(f"unknown model {text!r}; {hint}known: {', '.join(names)}. "
                         "Run `edgedeblur models` for details or pass a .onnx/.tflite file path")


def member_names(model: str) -> list[str]:
    """The members of an ensemble name, in order (a single name is a one-member list).

    Raises:
        ModelLoadError: an empty member (``small+``) or a repeated one.
    """
    names = [n.strip() for n in model.split(ENSEMBLE_SEPARATOR)]
    if not all(names):
        raise ModelLoadError(f"model {model!r} has an empty member; join model names with "
                             f"{ENSEMBLE_SEPARATOR!r}, e.g. small.int8+nano.int8")
    if len(set(names)) < len(names):
        raise ModelLoadError(f"model {model!r} names a member twice; an ensemble needs different models")
    return names


def resolve_members(name_or_path: str | Path, *, models_dir: Path = SHIPPED_DIR) -> list[ResolvedModel]:
    """The file of a model, or the files of an ensemble's members (names joined by ``+``);
    an existing file whose name holds a ``+`` is one model.

    Raises:
        ModelLoadError: as :func:`resolve_model`, for any member; members of different tasks.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or ENSEMBLE_SEPARATOR not in text or Path(text).expanduser().is_file():
        return [resolve_model(name_or_path, models_dir=models_dir)]
    members = [resolve_model(n, models_dir=models_dir) for n in member_names(text)]
    tasks = {m.entry.task for m in members if m.entry is not None}
    if len(tasks) > 1:
        raise ModelLoadError(f"model {text!r} mixes tasks ({', '.join(sorted(tasks))}); an ensemble's members "
                             "must do one job, e.g. small.int8+nano.int8")
    return members


def _resolve_path(text: str) -> ResolvedModel:
    path = Path(text).expanduser()
    if path.is_file():
        return ResolvedModel(path, None)
    if path.is_dir():
        raise ModelLoadError(f"`model` {text} is a folder; give a .onnx or .tflite file")
    raise ModelLoadError(f"cannot open {text}: not found. Give an existing .onnx/.tflite file or "
                         "a shipped name (run `edgedeblur models` to list them)")


def package_version() -> str:
    """The installed edgedeblur version ('unknown' in a bare checkout), recorded next to
    results with the models' ids so a run can be reproduced."""
    try:
        return version("edgedeblur")
    except PackageNotFoundError:
        return "unknown"
