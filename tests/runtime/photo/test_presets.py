"""Presets: the built-ins, user files, one-line errors naming the file and the fix, the settings record."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from runtime.catalog import DEFAULT_MODEL
from runtime.errors import ConfigError
from runtime.photo.deblur import Mode
from runtime.photo.presets import (BUILTIN, Preset, build_config, load_preset, merge_settings, parse_preset,
                                   preset_toml, read_preset, settings_of, settings_toml, user_presets)


pytestmark = pytest.mark.usefixtures("user_dir")     # every test: its own empty user presets folder


def test_builtins_are_valid_and_match_their_purpose() -> None:
    assert set(BUILTIN) == {"portrait", "action", "old-scan", "low-light"}
    configs = {name: p.config() for name, p in BUILTIN.items()}
    assert configs["portrait"].deblur.mode is Mode.FOCUS and configs["portrait"].upscale == 2
    assert configs["portrait"].denoise == "auto" and configs["portrait"].denoise_strength < 1
    assert configs["action"].deblur.mode is Mode.MOTION and configs["action"].upscale == 1
    assert configs["old-scan"].upscale == 2 and isinstance(configs["old-scan"].denoise, float)
    assert configs["low-light"].denoise == "auto" and configs["low-light"].denoise_strength == 1
    assert all(p.description for p in BUILTIN.values())


def test_overrides_win_and_defaults_fill_in() -> None:
    cfg = load_preset("portrait").config({"upscale": 1, "strength": 0.3}, tile=128)
    assert cfg.upscale == 1 and cfg.deblur.strength == 0.3 and cfg.deblur.mode is Mode.FOCUS
    assert cfg.deblur.tile == 128 and str(cfg.deblur.model) == DEFAULT_MODEL and cfg.upscale_model == "x2"


def test_a_fixed_denoise_over_an_auto_preset_drops_its_auto_strength() -> None:
    portrait = load_preset("portrait")                  # denoise auto at strength 0.6
    assert portrait.config({"denoise": 0.5}).denoise == 0.5
    assert portrait.config({"denoise": "off"}).denoise == "off"
    kept = portrait.config({"denoise": "AUTO"})
    assert kept.denoise == "auto" and kept.denoise_strength == 0.6
    assert merge_settings({"denoise": "auto", "denoise_strength": 0.6}, {"denoise": 0.5}) == {"denoise": 0.5}
    with pytest.raises(ConfigError, match="denoise_strength"):         # given together, they still conflict
        portrait.config({"denoise": 0.5, "denoise_strength": 0.3})
    with pytest.raises(ConfigError, match="must be off, auto"):
        portrait.config({"denoise": "lots"})


def test_user_presets_by_name_and_replacing_a_builtin(user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text('description = "mine"\nupscale = 4\ndenoise = 0.3\n')
    (user_dir / "portrait.toml").write_text("upscale = 1\n")
    (user_dir / "broken.toml").write_text("upscale = \n")
    assert load_preset("mine").config().upscale == 4
    assert load_preset("portrait").settings == {"upscale": 1}
    found, broken = user_presets()
    assert [p.name for p in found] == ["mine", "portrait"]
    assert len(broken) == 1 and broken[0][0].name == "broken.toml" and "not valid TOML" in broken[0][1]


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "my.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_preset(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize("text, expected", [
    ("upscale = \n", "is not valid TOML (Invalid value (at line 1, column 11)); write one `key = value` per line"),
    ("strenght = 0.5\n", "unknown key 'strenght'; did you mean 'strength'?"),
    ('strength = "0.5"\n', 'strength must be a number, got "0.5"; fix the file'),
    ("upscale = 2.0\n", "upscale must be a whole number, got 2.0"),
    ("mode = 3\n", "mode must be text in quotes, got 3"),
    ("denoise = true\n", "denoise must be off, auto or a number, got true"),
    ("upscale = 3\n", "upscale 3 must be 1, 2 or 4 (4 = the x2 model twice); fix the file"),
    ('denoise = "sometimes"\n', "denoise 'sometimes' must be off, auto or a strength in [0, 1]; fix the file"),
    ("strength = 1.5\n", "strength 1.5 is outside [0, 1]"),
    ('mode = "focs"\n', "mode 'focs' is not one of auto, motion, focus; did you mean 'focus'?"),
    ("denoise_strength = 0.5\n", "denoise_strength applies to denoise auto"),
    ("description = 3\n", "description must be text in quotes"),
])
def test_bad_files_get_one_line_naming_the_file(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_missing_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="preset file .*nope.toml not found; check the path"):
        load_preset(str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="is a folder"):
        read_preset(tmp_path)
    with pytest.raises(ConfigError, match="unknown preset 'portrit'; did you mean 'portrait'\\? presets: action, "
                                          "low-light, old-scan, portrait"):
        load_preset("portrit")
    with pytest.raises(ConfigError, match="unknown setting"):
        build_config({"colour": 1})


def test_preset_toml_round_trips() -> None:
    for preset in BUILTIN.values():
        back = parse_preset(preset_toml(preset), preset.name, "x.toml")
        assert back.settings == preset.settings and back.description == preset.description


def test_settings_record_is_a_preset_that_repeats_the_run(tmp_path: Path, restore_models: Path) -> None:
    config = load_preset("old-scan").config({"upscale_strength": 0.8}, models_dir=restore_models)
    text = settings_toml(config, preset=load_preset("old-scan"), version="9.9")
    recorded = tomllib.loads(text)["recorded"]
    assert recorded["edgedeblur"] == "9.9" and recorded["preset"] == "old-scan (built-in)"
    assert recorded["deblur_model"].startswith("small.int8.onnx sha256:")     # the default ensemble's members
    assert " + nano.int8.onnx sha256:" in recorded["deblur_model"]
    assert recorded["denoise_model"].startswith("denoise.fp32.onnx sha256:")
    assert recorded["upscale_model"].startswith("x2.fp32.onnx sha256:")
    assert "models_manifest" in recorded
    path = tmp_path / "edgedeblur-settings.toml"
    path.write_text(text)
    again = read_preset(path).config(models_dir=restore_models)
    assert settings_of(again) == settings_of(config)


def test_config_of_a_preset_needs_no_models() -> None:
    """Reading and validating a preset resolves no model (names are checked when they run)."""
    cfg = Preset("p", "", {"denoise_model": "not-shipped-yet", "upscale": 2}).config()
    assert cfg.denoise_model == "not-shipped-yet"
