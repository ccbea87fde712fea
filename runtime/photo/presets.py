"""Presets: named settings of the restore chain, built in or in TOML files, for whole albums.

A preset is a flat TOML table of the ``edgedeblur deblur`` options it sets, each named as
its flag without the dashes (``upscale_strength`` is ``--upscale-strength``), plus an
optional ``description``:

    # my.toml
    description = "soft portraits for printing"
    mode = "focus"
    strength = 0.8
    denoise = "auto"
    denoise_strength = 0.6
    upscale = 2

Options it leaves out keep their defaults, and flags given on the command line override it.
``--preset NAME`` looks in the user's presets folder (``presets_dir()``: one ``NAME.toml``
each; a user preset replaces a built-in of the same name), then the built-ins;
``--preset FILE.toml`` reads that file. A folder run records its settings as a preset file
next to the outputs (``settings_toml``; its ``[recorded]`` table, with the edgedeblur
version and model ids, is ignored when it is read back), so ``--preset
printed/edgedeblur-settings.toml`` repeats the run.

Example:
    >>> config = load_preset("portrait").config(engine=EngineConfig(threads=4))
    >>> config.upscale, config.deblur.mode
    (2, <Mode.FOCUS: 'focus'>)
"""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from runtime.catalog import SHIPPED_DIR, resolve_members
from runtime.engines.base import EngineConfig
from runtime.errors import ConfigError, EdgeDeblurError, closest, plain_fields
from runtime.photo.chain import RestoreConfig
from runtime.photo.links import parse_denoise
from runtime.manifest import sha256_file
from runtime.photo.deblur import DeblurConfig, Method

_NUMBER = (int, float)
KEYS: dict[str, tuple[type, ...]] = {
    "model": (str,), "mode": (str,), "method": (str,), "strength": _NUMBER, "tile": (int,), "overlap": (int,),
    "denoise": (str, *_NUMBER), "denoise_strength": _NUMBER, "denoise_model": (str,),
    "upscale": (int,), "upscale_strength": _NUMBER, "upscale_model": (str,)}
"""The settings a preset may hold and their TOML types: the ``deblur`` flags without dashes."""
_DEBLUR_KEYS = ("model", "mode", "method", "strength", "tile", "overlap")
_INFO_KEYS = ("description", "recorded")
SUFFIX = ".toml"
SETTINGS_NAME = "edgedeblur-settings.toml"
"""What a folder run writes next to its outputs."""


class UnknownPreset(ConfigError):
    """No preset has this name; ``names`` are the ones there are, ``how`` says where to look."""

    def __init__(self, name: str, names: list[str], how: str = "Give a name from `edgedeblur presets` or a .toml file"
                 ) -> None:
        near = closest(name, names)
        hint = f"did you mean {near!r}? " if near else ""
        super().__init__(f"unknown preset {name!r}; {hint}presets: {', '.join(names)}. {how}")
        self.name, self.names = name, names


@dataclass(frozen=True, slots=True, eq=False)
class Preset:
    """Named settings: ``settings`` maps ``KEYS`` to values; ``source`` is 'built-in' or the file."""

    name: str
    description: str
    settings: Mapping[str, object] = field(default_factory=dict)
    source: str = "built-in"

    def config(self, overrides: Mapping[str, object] | None = None, *, engine: EngineConfig = EngineConfig(),
               models_dir: Path = SHIPPED_DIR, **deblur: Any) -> RestoreConfig:
        """The chain config: this preset's settings, then ``overrides`` (explicit flags).

        Args:
            overrides: settings by ``KEYS`` name that win over the preset's.
            engine, models_dir, deblur: the rest of ``DeblurConfig`` (e.g. ``kernel``).

        Raises:
            ConfigError: a setting is invalid (naming it).
        """
        return build_config(merge_settings(self.settings, overrides or {}), engine=engine, models_dir=models_dir,
                            **deblur)


def merge_settings(base: Mapping[str, object], overrides: Mapping[str, object]) -> dict[str, object]:
    """``overrides`` (explicit flags or fields) over ``base`` (a preset's settings).

    ``denoise_strength`` only scales 'auto', so a fixed ``denoise`` given over a preset's
    'auto' drops the preset's strength instead of failing on it.

    Raises:
        ConfigError: an overriding ``denoise`` is not off, auto or a strength.
    """
    merged = {**base, **overrides}
    if "denoise" in overrides and "denoise_strength" not in overrides \
            and parse_denoise(overrides["denoise"]) != "auto":
        merged.pop("denoise_strength", None)
    return merged


def build_config(settings: Mapping[str, object], *, engine: EngineConfig = EngineConfig(),
                 models_dir: Path = SHIPPED_DIR, **deblur: Any) -> RestoreConfig:
    """A ``RestoreConfig`` from flat settings (``KEYS``); the ones left out keep their defaults.

    Raises:
        ConfigError: an unknown key or an invalid value.
    """
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    d = {k: v for k, v in settings.items() if k in _DEBLUR_KEYS}
    chain = {k: v for k, v in settings.items() if k not in _DEBLUR_KEYS}
    return RestoreConfig(deblur=DeblurConfig(**d, engine=engine, models_dir=models_dir, **deblur), **chain)


BUILTIN: dict[str, Preset] = {p.name: p for p in (
    Preset("portrait", "soft or low-resolution portraits for printing: defocus-friendly deblur at 0.8 (skin "
           "stays natural), a light automatic denoise, x2",
           {"mode": "focus", "strength": 0.8, "denoise": "auto", "denoise_strength": 0.6, "upscale": 2}),
    Preset("action", "sports, pets, moving subjects: motion deblur at full strength, automatic denoise "
           "(fast shutters mean high ISO), original size",
           {"mode": "motion", "strength": 1.0, "denoise": "auto", "upscale": 1}),
    Preset("old-scan", "scanned prints and film: a gentle defocus deblur (scanner and print softness), grain "
           "and JPEG denoise at 0.8 on every photo, x2",
           {"mode": "focus", "strength": 0.6, "denoise": 0.8, "upscale": 2}),
    Preset("low-light", "night and indoor phone photos: hand-shake deblur at 0.7 (noise limits what it can "
           "recover), full automatic denoise, original size",
           {"mode": "motion", "strength": 0.7, "denoise": "auto", "upscale": 1}),
)}
"""The built-in presets, by name."""


def presets_dir() -> Path:
    """The user's presets folder: ``$EDGEDEBLUR_PRESETS``, else
    ``$XDG_CONFIG_HOME/edgedeblur/presets`` (``~/.config/edgedeblur/presets``)."""
    if os.environ.get("EDGEDEBLUR_PRESETS"):
        return Path(os.environ["EDGEDEBLUR_PRESETS"]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "edgedeblur" / "presets"


def _check_types(data: dict[str, Any], where: str) -> None:
    for key, value in data.items():
        if key in _INFO_KEYS:
            continue
        if key not in KEYS:
            near = closest(key, [*KEYS, "description"])
            hint = f"; did you mean {near!r}?" if near else "."
            raise ConfigError(f"preset {where}: unknown key {key!r}{hint} Keys: description, {', '.join(KEYS)}")
        allowed = KEYS[key]
        if isinstance(value, bool) or not isinstance(value, allowed):
            want = "text in quotes" if allowed == (str,) else "a whole number" if allowed == (int,) else \
                "a number" if allowed == _NUMBER else "off, auto or a number"
            raise ConfigError(f"preset {where}: {key} must be {want}, got {json.dumps(value, default=str)}; "
                              "fix the file")
    if not isinstance(data.get("description", ""), str):
        raise ConfigError(f"preset {where}: description must be text in quotes; fix the file")


def parse_preset(text: str, name: str, source: str) -> Preset:
    """A preset from TOML text (``source`` names it in messages).

    Raises:
        ConfigError: not TOML, unknown keys, wrong types or invalid values; one line naming
            ``source`` and the fix.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"preset {source} is not valid TOML ({e}); write one `key = value` per line, "
                          "text in quotes") from e
    _check_types(data, source)
    settings = {k: v for k, v in data.items() if k not in _INFO_KEYS}
    try:
        build_config(settings)
    except ConfigError as e:
        raise ConfigError(f"preset {source}: {plain_fields(str(e))}; fix the file") from e
    return Preset(name, str(data.get("description", "")), settings, source)


def read_preset(path: Path) -> Preset:
    """Read a preset file; its name is the file name without ``.toml``.

    Raises:
        ConfigError: missing, unreadable or invalid (see ``parse_preset``).
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"preset file {path} not found; check the path, or run `edgedeblur presets` "
                          "for the preset names") from e
    except IsADirectoryError as e:
        raise ConfigError(f"preset {path} is a folder; give a .toml file or a preset name") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read preset {path} ({getattr(e, 'strerror', None) or e}); "
                          "check the file") from e
    return parse_preset(text, path.name.removesuffix(SUFFIX), str(path))


def user_presets(folder: Path | None = None) -> tuple[list[Preset], list[tuple[Path, str]]]:
    """The presets in the user's folder (sorted by name) and the files there that are broken
    (path, one-line reason)."""
    folder = presets_dir() if folder is None else folder
    found: list[Preset] = []
    broken: list[tuple[Path, str]] = []
    files = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    for path in files:
        try:
            found.append(read_preset(path))
        except EdgeDeblurError as e:
            broken.append((path, str(e)))
    return found, broken


def available_presets(folder: Path | None = None) -> tuple[list[Preset], list[tuple[Path, str]]]:
    """The presets a name can pick: the built-ins not replaced by the user's, then the user's
    (``user_presets``), and the user's files that are broken."""
    mine, broken = user_presets(folder)
    replaced = {p.name for p in mine}
    return [p for p in BUILTIN.values() if p.name not in replaced] + mine, broken


def load_preset(name_or_path: str | Path) -> Preset:
    """A preset by name (the user's folder first, then the built-ins) or by ``.toml`` path.

    Raises:
        ConfigError: unknown name (with a suggestion) or a bad file.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.lower().endswith(SUFFIX) or "/" in text or os.sep in text:
        return read_preset(Path(text))
    user = presets_dir() / f"{text}{SUFFIX}"
    if user.is_file():
        return read_preset(user)
    if text in BUILTIN:
        return BUILTIN[text]
    raise UnknownPreset(text, sorted({*BUILTIN, *(p.name for p in user_presets()[0])}))


def settings_of(config: RestoreConfig) -> dict[str, object]:
    """Every ``KEYS`` setting of a config, as a preset holds them."""
    d = config.deblur
    return {"model": str(d.model), "mode": d.mode.value, "method": d.method.value, "strength": d.strength,
            "tile": d.tile, "overlap": d.overlap, "denoise": config.denoise,
            "denoise_strength": config.denoise_strength, "denoise_model": str(config.denoise_model),
            "upscale": config.upscale, "upscale_strength": config.upscale_strength,
            "upscale_model": str(config.upscale_model)}


def _toml(value: object) -> str:
    """A TOML value for text, numbers and lists of text (JSON's string escapes are TOML's)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(str(value))


def preset_toml(preset: Preset) -> str:
    """A preset as the TOML file that defines it (what ``edgedeblur presets NAME`` prints)."""
    lines = [f"description = {_toml(preset.description)}"] if preset.description else []
    lines += [f"{k} = {_toml(v)}" for k, v in preset.settings.items()]
    return "\n".join(lines) + "\n"


def model_record(config: RestoreConfig) -> dict[str, str]:
    """The model files the config's links use, as ``<link>_model = 'id sha256:...'`` (an
    ensemble's members joined by ' + '); deblur's
    ``mode`` may pick shipped specialists per photo, so the manifest's own hash is recorded too."""
    d = config.deblur
    runs_model = d.strength > 0 and d.method in (Method.AUTO, Method.MODEL, Method.KERNEL)
    used = {**({"deblur": d.model} if runs_model else {}), **config.chain_models()}
    out: dict[str, str] = {}
    for link, model in used.items():
        files = [f"{r.id} sha256:{r.entry.sha256 if r.entry is not None else sha256_file(r.path)}"
                 for r in resolve_members(model, models_dir=d.models_dir)]
        out[f"{link}_model"] = " + ".join(files)
    manifest = Path(d.models_dir) / "manifest.json"
    if used and manifest.is_file():
        out["models_manifest"] = f"{manifest.name} sha256:{sha256_file(manifest)}"
    return out


def settings_toml(config: RestoreConfig, *, preset: Preset | None, version: str) -> str:
    """The settings file of a folder run: a preset that repeats it, plus a ``[recorded]``
    table (edgedeblur version, the preset it came from, model ids and hashes).

    Raises:
        ModelLoadError: a model cannot be resolved (the run would fail anyway).
    """
    head = ["# The settings these photos were restored with. Repeat them on other photos with",
            f"#   edgedeblur deblur PHOTOS --preset {SETTINGS_NAME} -o OUT",
            "# (flags given there override these; the [recorded] table is for the record)."]
    desc = preset.description if preset is not None else "settings of an edgedeblur folder run"
    body = [f"description = {_toml(desc)}"]
    body += [f"{k} = {_toml(v)}" for k, v in settings_of(config).items()]
    recorded = {"edgedeblur": version, "preset": f"{preset.name} ({preset.source})" if preset else "none",
                **model_record(config)}
    body += ["", "[recorded]", *(f"{k} = {_toml(v)}" for k, v in recorded.items())]
    return "\n".join(head + body) + "\n"
