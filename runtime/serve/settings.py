"""What a page or an API call asks for: the blur mode, strength, face priority, and the
restore chain's denoise and upscale, optionally starting from a named preset.

Fields win over the preset, as flags do on the command line (``runtime.photo.presets``).
Presets come by name only, from the built-ins and the presets folder of the user who runs
the server: a request never makes the server read a file it names.

Example:
    >>> s = parse_settings({"preset": "portrait", "strength": "0.5"}, DeblurConfig())
    >>> s.strength, s.restore.upscale, s.restore.denoise
    (0.5, 2, 'auto')
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from runtime.errors import ConfigError, closest, plain_fields
from runtime.photo.chain import RestoreConfig
from runtime.photo.deblur import DeblurConfig
from runtime.photo.presets import Preset, UnknownPreset, build_config, load_preset, merge_settings

FIELDS: dict[str, type] = {"mode": str, "strength": float, "denoise": str, "denoise_strength": float,
                           "upscale": int, "upscale_strength": float}
"""What a request may set beside ``preset`` and ``faces``; models, method and tiles come from
the preset or the server (``serve --model``)."""
REQUEST_KEYS = frozenset({"side", "folder", "token"})
"""Keys the endpoints read themselves (preview size, album folder, access token)."""
_ON, _OFF = ("1", "true", "on", "yes"), ("", "0", "false", "off", "no")


@dataclass(frozen=True, slots=True, eq=False)
class PhotoSettings:
    """One request's settings: the chain as the command line would run it, and face priority."""

    restore: RestoreConfig
    faces: bool = False

    @property
    def strength(self) -> float:
        return self.restore.deblur.strength

    @property
    def full_strength(self) -> DeblurConfig:
        """The deblur link at strength 1: what the server computes once and blends per strength."""
        return replace(self.restore.deblur, strength=1.0)


def web_preset(name: str) -> Preset:
    """A preset by name (the server user's folder first, then the built-ins).

    Raises:
        ConfigError: a path instead of a name, or an unknown name (with a suggestion).
    """
    if any(c in name for c in "/\\") or name.lower().endswith(".toml"):
        raise ConfigError(f"preset {name!r}: give a preset name (GET /api/presets lists them), not a file")
    try:
        return load_preset(name)
    except UnknownPreset as e:
        raise UnknownPreset(name, e.names, "GET /api/presets lists them") from e


def _field(key: str, value: object) -> object:
    """A form value (text) or a JSON value as the type ``build_config`` takes."""
    kind = FIELDS[key]
    if kind is str or not isinstance(value, str):
        return value
    try:
        return kind(value)
    except ValueError as e:
        want = "1, 2 or 4" if key == "upscale" else "a number from 0 to 1"
        raise ConfigError(f"{key} {value!r} is not a number; use {want}") from e


def parse_settings(values: Mapping[str, object], base: DeblurConfig) -> PhotoSettings:
    """Settings from form or JSON values over ``base`` (the server's model, models folder and
    threads); empty values count as not given.

    Raises:
        ConfigError: an unknown preset, a bad value (one line naming the field), or face
            priority with denoise or upscale (it runs alone, as ``deblur --faces`` does).
    """
    known = {*FIELDS, "preset", "faces", *REQUEST_KEYS}
    for key in values:
        if key not in known:           # a typo would otherwise be ignored without a word
            near = closest(key, known)
            hint = f"did you mean {near!r}? " if near else ""
            raise ConfigError(f"unknown setting {key!r}; {hint}settings: preset, faces, {', '.join(FIELDS)}")
    given = {k: _field(k, v) for k in FIELDS if (v := values.get(k)) not in (None, "")}
    name = str(values.get("preset") or "")
    preset = web_preset(name) if name else None
    try:
        settings = merge_settings({"model": str(base.model), **(preset.settings if preset else {})}, given)
        restore = build_config(settings, engine=base.engine, models_dir=base.models_dir)
    except ConfigError as e:
        raise ConfigError(plain_fields(str(e))) from e
    raw = values.get("faces")
    faces = "" if raw is None else str(raw).lower()
    if faces not in _ON + _OFF:
        raise ConfigError(f"faces {raw!r} must be on or off (true/false, 1/0, yes/no)")
    if faces in _ON and restore.chained:
        raise ConfigError("face priority runs alone: set denoise off and upscale 1, or turn face priority off")
    return PhotoSettings(restore, faces in _ON)
